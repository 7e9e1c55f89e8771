/*
 * test_scorecard_attrs.c - the scorecard tools on the data people have: tables read with any
 * separator and missing-value tokens (scoring/scorecard_csv.c), customer attributes declared
 * in a schema (scoring/attributes.c, rules/attributes_load.c), categorical columns binned by
 * value (scoring/scorecard_bin.c), and fitted cards and schemas that load back whatever the
 * texts in them.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/attributes_load.h"
#include "../../rules/scorecard_load.h"
#include "../../scoring/scorecard_fit.h"
#include "test_card_load.h"

static char *dup_text(const char *s)
{
	return strcpy(malloc(strlen(s) + 1), s);
}

Test(scorecard_csv, separator_is_detected_outside_quotes)
{
	cr_assert_eq(fit_csv_detect_sep("a,b,c\n1,2,3\n", 12), ',');
	cr_assert_eq(fit_csv_detect_sep("a;b;c\n1,5;2;3\n", 14), ';');
	cr_assert_eq(fit_csv_detect_sep("a\tb\tc\n", 6), '\t');
	cr_assert_eq(fit_csv_detect_sep("\"x,y,z\";b\n", 10), ';', "commas inside quotes do not count");
	cr_assert_eq(fit_csv_detect_sep("only\n", 5), ',');
}

Test(scorecard_csv, na_tokens_become_missing_and_quotes_and_crlf_are_read)
{
	char *text = dup_text("id;\"a;b\";c\r\n1;NA;\"say \"\"hi\"\"\"\r\n2;?;\r\n\r\n3;x;-\r\n");
	struct fit_csv_opts co = {0, "NA,?"};
	struct fit_table t;
	char errstr[256];
	cr_assert_eq(fit_table_parse(text, strlen(text), &co, &t, errstr, sizeof errstr), 0, "%s",
	             errstr);
	cr_assert_eq(t.sep, ';');
	cr_assert_eq(t.n_cols, 3);
	cr_assert_eq(t.n_rows, 3, "the blank line is skipped");
	cr_assert_str_eq(t.names[1], "a;b");
	cr_assert_str_eq(t.cells[1], "", "NA is missing");
	cr_assert_str_eq(t.cells[2], "say \"hi\"");
	cr_assert_str_eq(t.cells[4], "", "? is missing");
	cr_assert_str_eq(t.cells[5], "");
	cr_assert_str_eq(t.cells[7], "x");
	cr_assert_str_eq(t.cells[8], "-", "not a token: kept");
	fit_table_free(&t);
	free(text);

	/* Without tokens NA is text; a row of another width names its line and the separator. */
	text = dup_text("a,b\n1,NA\n2\n");
	struct fit_csv_opts none = {0, NULL};
	cr_assert_eq(fit_table_parse(text, strlen(text), &none, &t, errstr, sizeof errstr),
	             RISKD_ERR_INVALID);
	cr_assert_str_eq(errstr, "line 3: 1 fields, the header has 2 (separator ',', detected: give "
	                         "--sep if it is another)");
	free(text);
	text = dup_text("a\tb\n1\tNA\n");
	struct fit_csv_opts tab = {'\t', NULL};
	cr_assert_eq(fit_table_parse(text, strlen(text), &tab, &t, errstr, sizeof errstr), 0);
	cr_assert_str_eq(t.cells[1], "NA");
	fit_table_free(&t);
	free(text);
}

/* ---- fitting on categories and new attributes ---- */

static uint64_t rng_state;
static double rng_unit(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * A German-credit style table: `status` A11 (bad), A12, A13, A14 (good) plus the rare A15
 * and A16 (20 rows each); `years` a number with '?' for missing; `class` 2 bad, 1 good.
 */
static char *make_table(size_t n, uint64_t seed, const char *sep)
{
	static const char *const status[] = {"A11", "A12", "A13", "A14"};
	static const double effect[] = {1.2, 0.4, -0.3, -1.2};
	struct rbuf b = {0};
	rng_state = seed;
	rbuf_printf(&b, "status%syears%sclass\n", sep, sep);
	for (size_t i = 0; i < n; i++) {
		int k = (int)(rng_unit() * 4);
		const char *st = i % 100 == 7 ? "A15" : i % 100 == 8 ? "A16" : status[k];
		double eff = i % 100 == 7 || i % 100 == 8 ? 0.8 : effect[k];
		int years = (int)(rng_unit() * 30);
		double p = 1 / (1 + exp(-(-1.0 + eff - 0.05 * (years - 15))));
		if (rng_unit() < 0.05)
			rbuf_printf(&b, "%s%s?%s%d\n", st, sep, sep, rng_unit() < p ? 2 : 1);
		else
			rbuf_printf(&b, "%s%s%d%s%d\n", st, sep, years, sep, rng_unit() < p ? 2 : 1);
	}
	rbuf_append(&b, "", 1);
	return b.data;
}

static int fit_text(char *text, const struct scorecard_fit_opts *o, struct rbuf *yaml,
                    struct rbuf *notes, char *errstr, size_t errstr_size)
{
	struct fit_csv_opts co = {0, "?"};
	struct fit_table t;
	cr_assert_eq(fit_table_parse(text, strlen(text), &co, &t, errstr, errstr_size), 0);
	int rc = scorecard_fit(&t, o, yaml, notes, errstr, errstr_size);
	fit_table_free(&t);
	return rc;
}

Test(scorecard_attrs, categories_are_binned_by_value_with_rare_ones_pooled)
{
	char *text = make_table(8000, 3, ";");
	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "class";
	struct rbuf yaml = {0}, notes = {0}, schema = {0};
	char errstr[512];
	cr_assert_eq(fit_text(text, &o, &yaml, &notes, errstr, sizeof errstr), RISKD_ERR_INVALID);
	cr_assert(strstr(errstr, "--bad-value") && (strstr(errstr, "'1' and '2'") || strstr(errstr, "'2' and '1'")), "%s", errstr);
	free(text);

	text = make_table(8000, 3, ";");
	o.bad_value = "2";
	o.attributes_out = &schema;
	cr_assert_eq(fit_text(text, &o, &yaml, &notes, errstr, sizeof errstr), 0, "%s", errstr);
	rbuf_append(&yaml, "", 1);
	yaml.len--;
	cr_assert(strstr(notes.data, "status: a new attribute status, a category of 6 values"),
	          "%.*s", (int)notes.len, notes.data);
	cr_assert(strstr(notes.data, "years: a new attribute years, a number"));
	cr_assert(strstr(notes.data, "no 'segment' column: the card is the default card"));
	struct scorecard *card = card_from_yaml(&yaml);
	cr_assert(scorecard_is_default(card), "a table without segments grades every row");
	cr_assert_str_eq(scorecard_name(card), "default");
	const struct scorecard_char *ch = &card->chars[0];
	cr_assert(ch->is_attr);
	cr_assert_str_eq(ch->attr, "status");
	cr_assert_eq(ch->type, FEATURE_SYM);
	cr_assert(ch->has_other, "a bin for values the fit never saw");
	/* The two rare values (1% of rows each, under the 5% bin share) share one bin. */
	const char *rare = strstr(yaml.data, "\"A15\", \"A16\"");
	cr_assert_not_null(rare, "%s", yaml.data);

	/* Graded through a schema: A14 scores above A11, an unseen value its other bin. */
	struct attr_schema *s = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(attributes_load_text("out.yaml", schema.data, schema.len, &s, &diags), 0);
	cr_assert_eq(scorecard_bind_attributes(card, s, errstr, sizeof errstr), 0, "%s", errstr);
	int slot = attr_schema_find(s, "status", 6);
	cr_assert_geq(slot, 0);
	struct feature_vec fv;
	struct attr_vec av;
	struct credit_grade g11, g14, gnew;
	feature_vec_clear(&fv);
	attr_vec_clear(&av);
	attr_vec_set(&av, slot, attr_def_code(&s->defs[slot], "A11", 3));
	scorecard_grade_attrs(card, &fv, &av, NULL, RULE_GRADE_NONE, 0, &g11);
	attr_vec_set(&av, slot, attr_def_code(&s->defs[slot], "A14", 3));
	scorecard_grade_attrs(card, &fv, &av, NULL, RULE_GRADE_NONE, 0, &g14);
	cr_assert_gt(g14.points, g11.points + 20);
	cr_assert_str_eq(g11.reasons[0].code, "STATUS");
	attr_vec_set(&av, slot, 50); /* a code no bin lists */
	scorecard_grade_attrs(card, &fv, &av, NULL, RULE_GRADE_NONE, 0, &gnew);
	cr_assert_float_eq(gnew.points - g14.points, ch->other_points - ch->bins[0].points, 1e-9);

	/* eval reads the same file shape: '?' missing, unseen values in the other bin. */
	struct scorecard_set *set = scorecard_set_new();
	scorecard_set_add(set, card);
	char *test = make_table(4000, 4, "\t");
	char *a17 = strstr(test, "A12");
	memcpy(a17, "A17", 3);
	struct fit_csv_opts co = {0, "?"};
	struct fit_table t;
	cr_assert_eq(fit_table_parse(test, strlen(test), &co, &t, errstr, sizeof errstr), 0);
	struct scorecard_eval ev;
	cr_assert_eq(scorecard_eval_table(set, &t, "class", "2", NULL, NULL, NULL, &ev, errstr,
	                                  sizeof errstr), 0, "%s", errstr);
	cr_assert_eq(ev.rows, 4000);
	cr_assert_gt(ev.auc, 0.68, "AUC %f", ev.auc);
	fit_table_free(&t);
	free(test);
	scorecard_set_free(set);
	attr_schema_free(s);
	rules_diags_free(&diags);
	rbuf_free(&yaml);
	rbuf_free(&notes);
	rbuf_free(&schema);
	free(text);
}

Test(scorecard_attrs, hostile_texts_are_quoted_so_the_card_and_schema_load)
{
	static const char *const hostile[] = {
		"Bad: very # not a comment", "\"quoted\" and 'single'", "line\nbreak: here",
		"- dash", "{brace: 1}", "tab\there \\ back",
	};
	for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
		/* A declared category whose reason, description and values are hostile; the table's
		 * column names and the source path too. */
		struct attr_schema *declared = attr_schema_new();
		int slot = attr_schema_add(declared, "status", ATTR_CATEGORY);
		struct attr_def *def = &declared->defs[slot];
		for (int k = 1; k <= 6; k++) {
			char v[64];
			snprintf(v, sizeof v, "%s A1%d", k == 1 ? "x: y #" : "v", k);
			attr_def_add_value(def, v, strlen(v));
		}
		attr_def_set_reason(def, hostile[h]);
		attr_def_set_description(def, hostile[h]);
		char *text = make_table(3000, 5 + h, ",");
		struct rbuf b = {0};
		/* rename the values A1k to the hostile ones, and the years column */
		for (char *p = text; *p; p++) {
			if (p[0] == 'A' && p[1] == '1' && p[2] >= '1' && p[2] <= '6') {
				rbuf_printf(&b, "\"%s A1%c\"", p[2] == '1' ? "x: y #" : "v", p[2]);
				p += 2;
			} else if (strncmp(p, "years,", 6) == 0) {
				rbuf_puts(&b, "\"Years: at # address\",");
				p += 5;
			} else {
				rbuf_append(&b, p, 1);
			}
		}
		rbuf_append(&b, "", 1);
		struct scorecard_fit_opts o;
		scorecard_fit_opts_init(&o);
		o.load_card = scorecard_load_yaml;
		o.target = "class";
		o.bad_value = "2";
		o.attributes = declared;
		o.source = hostile[h];
		o.version = "2026.1-x";
		struct rbuf yaml = {0}, notes = {0}, schema = {0};
		o.attributes_out = &schema;
		char errstr[512];
		cr_assert_eq(fit_text(b.data, &o, &yaml, &notes, errstr, sizeof errstr), 0, "%s",
		             errstr);
		struct scorecard *card = card_from_yaml(&yaml);
		int found = 0;
		for (size_t i = 0; i < card->n_chars; i++)
			if (card->chars[i].is_attr && strcmp(card->chars[i].attr, "status") == 0) {
				char want[SCORECARD_TEXT_MAX + 1];
				attr_text_line(want, sizeof want, hostile[h]);
				cr_assert_str_eq(card->chars[i].text, want);
				found = 1;
			}
		cr_assert(found, "%.*s", (int)yaml.len, yaml.data);
		struct attr_schema *back = NULL;
		struct rules_diags diags = {0};
		struct rbuf shown = {0};
		int rc = attributes_load_text("schema.yaml", schema.data, schema.len, &back, &diags);
		rules_diags_render(&diags, &shown);
		rbuf_append(&shown, "", 1);
		cr_assert_eq(rc, 0, "%s\n%.*s", shown.data, (int)schema.len, schema.data);
		int s2 = attr_schema_find(back, "status", 6);
		cr_assert_geq(s2, 0);
		cr_assert_str_eq(back->defs[s2].description, hostile[h]);
		cr_assert_eq(back->defs[s2].n_values, 6);
		cr_assert_str_eq(back->defs[s2].values[0], "x: y # A11");
		cr_assert_geq(attr_schema_find(back, "years_at_address", 16), 0);
		cr_assert_eq(scorecard_bind_attributes(card, back, errstr, sizeof errstr), 0, "%s",
		             errstr);
		scorecard_free(card);
		attr_schema_free(back);
		attr_schema_free(declared);
		rules_diags_free(&diags);
		rbuf_free(&shown);
		rbuf_free(&yaml);
		rbuf_free(&notes);
		rbuf_free(&schema);
		rbuf_free(&b);
		free(text);
	}
}

Test(scorecard_attrs, columns_that_cannot_be_written_are_left_out_with_a_note)
{
	/* days_past_due twice, a category with a tab in a value, one with a byte that is not
	 * UTF-8, one missing everywhere: the card still loads, each column noted. */
	struct rbuf b = {0};
	rng_state = 9;
	rbuf_puts(&b, "days_past_due,Days Past Due,tabbed,latin1,empty,bad\n");
	for (int i = 0; i < 2000; i++) {
		int dpd = rng_unit() < 0.7 ? 0 : (int)(rng_unit() * 100);
		double p = 1 / (1 + exp(-(-2.5 + 0.04 * dpd)));
		rbuf_printf(&b, "%d,%d,\"%s\",%s,,%d\n", dpd, dpd, i % 2 ? "a\tb" : "c",
		            i % 2 ? "caf\xe9" : "tea", rng_unit() < p);
	}
	rbuf_append(&b, "", 1);
	struct scorecard_fit_opts o;
	scorecard_fit_opts_init(&o);
	o.load_card = scorecard_load_yaml;
	o.target = "bad";
	o.min_iv = 0;
	struct rbuf yaml = {0}, notes = {0};
	char errstr[512];
	cr_assert_eq(fit_text(b.data, &o, &yaml, &notes, errstr, sizeof errstr), 0, "%s", errstr);
	rbuf_append(&notes, "", 1);
	cr_assert(strstr(notes.data, "Days Past Due: a second column for feature days_past_due"),
	          "%s", notes.data);
	cr_assert(strstr(notes.data, "tabbed: not a number, and not a category"), "%s", notes.data);
	cr_assert(strstr(notes.data, "latin1: not a number, and not a category"), "%s", notes.data);
	cr_assert(strstr(notes.data, "empty: missing on every row: left out"), "%s", notes.data);
	struct scorecard *card = card_from_yaml(&yaml);
	cr_assert_eq(card->n_chars, 1);
	scorecard_free(card);
	rbuf_free(&yaml);
	rbuf_free(&notes);
	rbuf_free(&b);
}

/* ---- the schema file ---- */

Test(attributes_load, the_shipped_schema_loads)
{
	struct attr_schema *s = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(attributes_load_path("scoring/attributes.yaml", &s, &diags), 0);
	int bt = attr_schema_find(s, "business_type", 13);
	cr_assert_geq(bt, 0);
	cr_assert_eq(s->defs[bt].type, ATTR_CATEGORY);
	int years = attr_schema_find(s, "years_at_address", 16);
	cr_assert_geq(years, 0);
	double v;
	char errstr[160];
	cr_assert_eq(attr_def_parse(&s->defs[years], "12.5", &v, errstr, sizeof errstr), 0);
	cr_assert_eq(attr_def_parse(&s->defs[years], "-1", &v, errstr, sizeof errstr), -1);
	cr_assert(strstr(errstr, "outside the range"), "%s", errstr);
	attr_schema_free(s);
	rules_diags_free(&diags);
}

Test(attributes_load, errors_name_file_line_and_column)
{
	static const char text[] =
		"attributes:\n"
		"  - name: Business-Type\n"               /* 2:11 bad name */
		"    type: category\n"
		"    values: [a, b]\n"
		"    reason: x\n"
		"  - name: days_past_due\n"               /* 6:11 a registry feature */
		"    type: number\n"
		"    reason: y\n"
		"  - name: shop\n"
		"    type: categroy\n"                    /* 10:11 did you mean */
		"    reason: z\n"
		"  - name: size\n"
		"    type: category\n"
		"    values: [s, m, s]\n"                 /* 14:20 twice */
		"    reason: w\n"
		"  - name: age\n"
		"    type: number\n"
		"    range: {min: 10, max: 5}\n"          /* 18:27 max below min */
		"    values: [x]\n"                       /* 19:13 values on a number */
		"  - name: size\n"                        /* 20:11 twice; 20:5 no reason */
		"    type: number\n";
	struct attr_schema *s = (struct attr_schema *)1;
	struct rules_diags diags = {0};
	cr_assert_eq(attributes_load_text("attrs.yaml", text, sizeof text - 1, &s, &diags),
	             RISKD_ERR_INVALID);
	cr_assert_null(s);
	struct rbuf out = {0};
	rules_diags_render(&diags, &out);
	rbuf_append(&out, "", 1);
	static const char *const want[] = {
		"attrs.yaml:2:11: error: bad attribute name 'Business-Type'",
		"attrs.yaml:6:11: error: 'days_past_due' is a feature riskd computes",
		"attrs.yaml:10:11: error: unknown type 'categroy' (did you mean 'category'?)",
		"attrs.yaml:14:20: error: value 's' is listed twice",
		"attrs.yaml:16:5: error: attribute is missing required key 'reason'",
		"attrs.yaml:18:27: error: 'max' (5) must be above 'min' (10)",
		"attrs.yaml:19:13: error: 'values' is for categories",
		"attrs.yaml:20:11: error: attribute 'size' is declared twice",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		cr_assert(strstr(out.data, want[i]), "missing: %s\nin:\n%s", want[i], out.data);
	rbuf_free(&out);
	rules_diags_free(&diags);
}

/* ---- a customer's values beside its state ---- */

/* A schema read from text (the diagnostics must be empty). */
static struct attr_schema *schema_of(const char *text)
{
	struct attr_schema *s = NULL;
	struct rules_diags diags = {0};
	cr_assert_eq(attributes_load_text("mem.yaml", text, strlen(text), &s, &diags), 0);
	rules_diags_free(&diags);
	return s;
}

Test(attributes_values, a_snapshot_reads_back_by_name_under_an_edited_schema)
{
	struct attr_schema *s = schema_of(
		"attributes:\n"
		"  - {name: business_type, type: category, values: [retail, office, public],"
		" reason: \"Type\"}\n"
		"  - {name: years_at_address, type: number, reason: \"Years\"}\n"
		"  - {name: staff, type: number, reason: \"Staff\"}\n");
	struct attr_vec av, back;
	attr_vec_clear(&av);
	attr_vec_set(&av, 0, 1);      /* office */
	attr_vec_set(&av, 1, 12.75);
	struct rbuf bytes = {0};
	attr_vec_encode(s, &av, &bytes);
	cr_assert_eq(attr_vec_decode(s, (const uint8_t *)bytes.data, bytes.len, &back), 0);
	cr_assert_eq(back.known, av.known);
	cr_assert_eq(back.value[0], 1.0);
	cr_assert_eq(back.value[1], 12.75);

	/* the record a side table keeps: 8 bytes per attribute and the known bits */
	cr_assert_eq(attr_record_size(s), 8 + 3 * 8);
	unsigned char record[8 + 3 * 8];
	attr_record_store(record, s, &av);
	attr_record_load(record, s, &back);
	cr_assert_eq(back.known, av.known);
	cr_assert_eq(back.value[1], 12.75);

	/* values reordered, one gone, the category's value list changed */
	struct attr_schema *edited = schema_of(
		"attributes:\n"
		"  - {name: years_at_address, type: number, range: {min: 0, max: 10}, reason: \"Y\"}\n"
		"  - {name: business_type, type: category, values: [public, office], reason: \"T\"}\n");
	cr_assert_eq(attr_vec_decode(edited, (const uint8_t *)bytes.data, bytes.len, &back), 1,
	             "12.75 is outside the new range");
	cr_assert_eq(back.known, 2u, "business_type is slot 1 now");
	cr_assert_eq(back.value[1], 1.0, "office is code 1 now");

	cr_assert_eq(attr_vec_decode(s, (const uint8_t *)bytes.data, bytes.len - 1, &back), -1);
	cr_assert_eq(attr_vec_decode(s, (const uint8_t *)"\x07", 1, &back), -1);
	rbuf_free(&bytes);
	attr_schema_free(s);
	attr_schema_free(edited);
}
