/*
 * test_card_load.h - shared by the scorecard fit suites: a fitted card's YAML loaded as riskd
 * loads card files, the test failing with the diagnostics and the YAML when it does not load.
 */
#ifndef RISKD_TEST_CARD_LOAD_H
#define RISKD_TEST_CARD_LOAD_H

#include <criterion/criterion.h>

#include "../../rules/scorecard_load.h"

static inline struct scorecard *card_from_yaml(const struct rbuf *yaml)
{
	struct rules_diags diags = {0};
	struct scorecard *card = NULL;
	int rc = scorecard_load_text("fitted.yaml", yaml->data, yaml->len, &card, &diags);
	struct rbuf text = {0};
	rules_diags_render(&diags, &text);
	rbuf_append(&text, "", 1);
	cr_assert_eq(rc, 0, "%s\n%.*s", text.data, (int)yaml->len, yaml->data);
	rbuf_free(&text);
	rules_diags_free(&diags);
	return card;
}

#endif
