/*
 * credit_fixture.c - see credit_fixture.h.
 */
#include "credit_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scoring/payments.h"

void fixture_paying_customer(struct cstate *cs, int seg, int months)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, "C1");
	cs->segment = (uint8_t)seg;
	payments_start(&cs->pay, 20000);
	for (int m = 0; m < months; m++) {
		int32_t issued = 20400 + 30 * m;
		char id[16];
		snprintf(id, sizeof(id), "B%d", m);
		payments_bill(&cs->pay, id, strlen(id), 80, issued + 20, issued);
		payments_payment(&cs->pay, 80, id, strlen(id), issued + 10);
	}
}

struct grader *fixture_shipped_grader(double margin)
{
	struct rbuf diag = {0};
	struct grader *g = grader_new("rules", "scoring/cards", margin, &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(g, "%s", diag.data);
	rbuf_free(&diag);
	return g;
}
