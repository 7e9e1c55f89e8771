/*
 * riskctl_scorecard.c - `riskctl scorecard`: the credit analyst's tools.
 *
 *   check PATH...     load scorecards (files or directories) and print every error
 *   features          turn an event history (JSONL) into one CSV row per customer: the
 *                     payment features as of a day, and optionally whether the customer
 *                     went 90+ days past due in the days after it (the target to fit)
 *   fit               fit a scorecard to such a CSV and print its YAML
 *   eval              grade such a CSV with cards and print AUC, KS, Gini and bad rates
 *
 * The computation lives in scoring/ (payments.c, scorecard.c, scorecard_fit.c); this file
 * reads and writes files and prints. docs/credit.md shows the whole workflow.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../detector/grader.h"
#include "../rules/attributes_load.h"
#include "../rules/ruleset.h"
#include "../rules/scorecard_load.h"
#include "../scoring/cstate.h"
#include "../scoring/localday.h"
#include "../scoring/operating.h"
#include "../scoring/payments.h"
#include "../scoring/scorecard.h"
#include "../scoring/scorecard_fit.h"
#include "../streams/event.h"
#include "riskctl.h"

#define SC_CSV_MAX ((size_t)1 << 31)

static void scorecard_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl scorecard check [--attributes FILE] PATH...\n"
	        "           load scorecards (files, or directories of *.yaml) and print every error;\n"
	        "           with an attribute schema, check it and the cards' attributes against it\n"
	        "       riskctl scorecard features --events FILE.jsonl --as-of DATE [--tz ZONE]\n"
	        "                                  [--outcome-days N] [--dpd D] [--operating]\n"
	        "                                  [--attributes FILE] > table.csv\n"
	        "           one row per customer: payment features as of DATE; with --outcome-days,\n"
	        "           a column 'bad': 1 when the customer reached D (90) days past due in the\n"
	        "           N days after DATE, empty when it already was on DATE; --operating adds\n"
	        "           the operating features (businesses' weeks, from their readings);\n"
	        "           --attributes a column per attribute of the schema, from the profiles\n"
	        "       riskctl scorecard fit --csv FILE --target COLUMN [--bad-value V] [--sep S]\n"
	        "                             [--na LIST] [--attributes FILE] [--attributes-out FILE]\n"
	        "                             [--bins N] [--segment LIST]\n"
	        "                             [--ignore COLS] [--name NAME] [--version V] [--default]\n"
	        "                             [--pdo P] [--base-odds O] [--base-points B]\n"
	        "                             [--grade-pd AAA,AA,A,B] [--l2 X] [--min-iv X]\n"
	        "                             [--min-bin-share X] [--max-characteristics N]\n"
	        "                             [--max-correlation R] > card.yaml\n"
	        "           every column: a riskd feature, an attribute declared in --attributes, or a\n"
	        "           new attribute (number or category); bin, weigh (WoE, IV), fit a\n"
	        "           regularised logistic regression, scale to points; notes go to stderr.\n"
	        "           --sep , ; or tab (detected by default); --na NA,? cells meaning missing\n"
	        "           (an empty cell always does); --bad-value: the target's text for bad\n"
	        "       riskctl scorecard eval --card PATH [--card PATH...] --csv FILE --target COLUMN\n"
	        "                              [--bad-value V] [--sep S] [--na LIST] [--rules PATH]\n"
	        "                              [--attributes FILE] [--json]\n"
	        "           grade every row with the card of its segment: AUC, KS, Gini, and rows and\n"
	        "           bad rate per grade (--rules applies credit caps and floors; with\n"
	        "           --attributes the rules may read the attributes the schema declares,\n"
	        "           each from the column of its name)\n"
	        "exit status: 0 success, 1 errors, 2 usage\n");
}

/* ---- options ---- */

struct opt {
	const char *name;
	int takes_value;
	const char *value;
	int seen;
	int repeat;          /* may be given several times: values collected in list */
	const char *list[16];
	int n_list;
};

/* Parses argv[1..] against opts. Returns 0, or 2 after printing what is wrong. */
static int parse_opts(const char *cmd, int argc, char **argv, struct opt *opts, size_t n_opts)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			scorecard_usage(stdout);
			return 1;
		}
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		size_t k;
		for (k = 0; k < n_opts; k++)
			if (strlen(opts[k].name) == len && strncmp(opts[k].name, arg, len) == 0)
				break;
		if (k == n_opts) {
			char name[RISKCTL_SHOWN_MAX], shown[RISKCTL_SHOWN_MAX];
			snprintf(name, sizeof(name), "%.*s", (int)len, arg);
			fprintf(stderr, "riskctl scorecard %s: unknown option '%s'\n", cmd,
			        riskctl_shown(name, shown, sizeof(shown)));
			return 2;
		}
		struct opt *o = &opts[k];
		if (o->seen && !o->repeat) {
			fprintf(stderr, "riskctl scorecard %s: %s given twice\n", cmd, o->name);
			return 2;
		}
		o->seen = 1;
		if (!o->takes_value) {
			if (eq) {
				fprintf(stderr, "riskctl scorecard %s: %s takes no value\n", cmd, o->name);
				return 2;
			}
			continue;
		}
		const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!value) {
			fprintf(stderr, "riskctl scorecard %s: %s: missing value\n", cmd, o->name);
			return 2;
		}
		o->value = value;
		if (o->repeat) {
			if (o->n_list == (int)(sizeof o->list / sizeof o->list[0])) {
				fprintf(stderr, "riskctl scorecard %s: too many %s\n", cmd, o->name);
				return 2;
			}
			o->list[o->n_list++] = value;
		}
	}
	return 0;
}

static int opt_number(const char *cmd, const struct opt *o, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(o->value, &end);
	if (errno || end == o->value || *end || !isfinite(v) || v < min || v > max) {
		char shown[RISKCTL_SHOWN_MAX];
		fprintf(stderr, "riskctl scorecard %s: %s '%s': must be a number %g .. %g\n", cmd,
		        o->name, riskctl_shown(o->value, shown, sizeof(shown)), min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- CSV ---- */

struct csv {
	struct fit_table t;
	char *text;            /* the file, cells split in place */
};

static void csv_free(struct csv *c)
{
	fit_table_free(&c->t);
	free(c->text);
	memset(c, 0, sizeof *c);
}

static char *read_all(FILE *fp, size_t *len)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0 || n > SC_CSV_MAX)
			break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The table options of fit and eval: --sep (',', ';', 'tab' or a tab) and --na. Returns 0,
 * or 2 after printing a usage error. */
static int csv_opts(const char *cmd, const struct opt *sep, const struct opt *na,
                    struct fit_csv_opts *co)
{
	memset(co, 0, sizeof *co);
	co->na = na->seen ? na->value : NULL;
	if (!sep->seen)
		return 0;
	const char *v = sep->value;
	if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0 || strcmp(v, "\t") == 0)
		co->sep = '\t';
	else if (strcmp(v, ",") == 0 || strcmp(v, ";") == 0)
		co->sep = v[0];
	else {
		char shown[RISKCTL_SHOWN_MAX];
		fprintf(stderr, "riskctl scorecard %s: --sep '%s': give ',', ';' or tab\n", cmd,
		        riskctl_shown(v, shown, sizeof(shown)));
		return 2;
	}
	return 0;
}

/* Reads a CSV file (fit_table_parse) with a header row. Returns 0 or -1 after printing the
 * problem. */
static int csv_read(const char *path, const struct fit_csv_opts *co, struct csv *c)
{
	memset(c, 0, sizeof *c);
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "riskctl scorecard: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t len;
	c->text = read_all(fp, &len);
	int read_error = ferror(fp);
	if (fp != stdin)
		fclose(fp);
	char errstr[512];
	if (read_error || len > SC_CSV_MAX) {
		fprintf(stderr, "riskctl scorecard: %s: %s\n", path,
		        read_error ? "read error" : "larger than 2 GiB");
	} else if (fit_table_parse(c->text, len, co, &c->t, errstr, sizeof errstr) < 0) {
		fprintf(stderr, "riskctl scorecard: %s: %s\n", path, errstr);
	} else {
		return 0;
	}
	csv_free(c);
	return -1;
}

/* The credit rule set's limits for one row (scorecard_eval_table's limits). */
static void credit_limits(void *arg, const struct feature_vec *fv, const struct attr_vec *av,
                          struct grade_limits *out)
{
	grader_limits_attrs(arg, fv, av, out);
}

static void print_diags(struct rules_diags *diags)
{
	struct rbuf text = {0};
	rules_diags_render(diags, &text);
	fwrite(text.data, 1, text.len, stderr);
	fprintf(stderr, "%zu error%s\n", diags->count, diags->count == 1 ? "" : "s");
	rbuf_free(&text);
}

static int load_cards(const char *const *paths, size_t n, struct scorecard_set **set)
{
	struct rules_diags diags = {0};
	int rc = scorecard_set_load_paths(paths, n, set, &diags);
	if (rc < 0)
		print_diags(&diags);
	rules_diags_free(&diags);
	return rc;
}

/* ---- check ---- */

/* Loads the declared attribute schema of --attributes. Returns 0 or -1 after printing. */
static int load_attributes(const char *path, struct attr_schema **out)
{
	struct rules_diags diags = {0};
	int rc = attributes_load_path(path, out, &diags);
	if (rc < 0)
		print_diags(&diags);
	rules_diags_free(&diags);
	return rc < 0 ? -1 : 0;
}

/* With a schema: binds every card of set to it. Returns 0, or -1 after printing what does
 * not match. */
static int check_bind(struct scorecard_set *set, const char *schema_path,
                      const struct attr_schema *schema)
{
	int rc = 0;
	char errstr[256];
	for (size_t i = 0; i < set->n_cards; i++)
		if (scorecard_bind_attributes(set->cards[i], schema, errstr, sizeof errstr) < 0) {
			fprintf(stderr, "%s: %s (schema %s)\n", scorecard_path(set->cards[i]), errstr,
			        schema_path);
			rc = -1;
		}
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct scorecard_set *set;
	struct attr_schema *schema = NULL;
	const char *schema_path = NULL;
	if (argc >= 3 && strcmp(argv[1], "--attributes") == 0) {
		schema_path = argv[2];
		argc -= 2;
		argv += 2;
		if (load_attributes(schema_path, &schema) < 0)
			return 1;
		printf("%s: attribute schema: %zu attributes\n", schema_path, schema->count);
	}
	if (argc < 2) {
		attr_schema_free(schema);
		scorecard_usage(stderr);
		return 2;
	}
	if (load_cards((const char *const *)argv + 1, (size_t)argc - 1, &set) < 0) {
		attr_schema_free(schema);
		return 1;
	}
	int bound = schema ? check_bind(set, schema_path, schema) : 0;
	attr_schema_free(schema);
	if (bound < 0) {
		scorecard_set_free(set);
		return 1;
	}
	size_t nsym;
	const char *const *names = feature_symbols(FEAT_SEGMENT, &nsym);
	for (size_t i = 0; i < scorecard_set_count(set); i++) {
		const struct scorecard *card = scorecard_set_card(set, i);
		printf("%s: scorecard %s version %s hash %s: %zu characteristics, segments", 
		       scorecard_path(card), scorecard_name(card), scorecard_version(card),
		       scorecard_hash(card), scorecard_char_count(card));
		for (size_t s = 0; s < nsym; s++)
			if (scorecard_has_segment(card, (enum segment)(s + 1)))
				printf(" %s", names[s]);
		printf("%s; cut-offs AAA %g, AA %g, A %g, B %g\n",
		       scorecard_is_default(card) ? " (default)" : "",
		       scorecard_cutoff(card, RULE_GRADE_AAA), scorecard_cutoff(card, RULE_GRADE_AA),
		       scorecard_cutoff(card, RULE_GRADE_A), scorecard_cutoff(card, RULE_GRADE_B));
	}
	scorecard_set_free(set);
	return 0;
}

/* ---- fit ---- */

enum { FIT_CSV, FIT_TARGET, FIT_BINS, FIT_SEGMENT, FIT_IGNORE, FIT_NAME, FIT_VERSION,
       FIT_DEFAULT, FIT_PDO, FIT_ODDS, FIT_BASE, FIT_GRADE_PD, FIT_L2, FIT_MIN_IV, FIT_MIN_SHARE,
       FIT_MAX_CHARS, FIT_MAX_CORR, FIT_SEP, FIT_NA, FIT_BAD, FIT_ATTRS, FIT_ATTRS_OUT,
       FIT_N_OPTS };

/* The numbers of fit's options into fo. Returns 0, or 2 after printing a usage error. */
static int fit_numbers(struct opt *opts, struct scorecard_fit_opts *fo)
{
	double v;
	if (opts[FIT_BINS].seen) {
		if (opt_number("fit", &opts[FIT_BINS], 1, 20, &v) < 0)
			return 2;
		fo->bins = (int)v;
	}
	if (opts[FIT_MAX_CHARS].seen) {
		if (opt_number("fit", &opts[FIT_MAX_CHARS], 1, SCORECARD_CHARS_MAX, &v) < 0)
			return 2;
		fo->max_chars = (int)v;
	}
	if ((opts[FIT_PDO].seen && opt_number("fit", &opts[FIT_PDO], 1e-6, 1e4, &fo->pdo) < 0) ||
	    (opts[FIT_ODDS].seen && opt_number("fit", &opts[FIT_ODDS], 1e-6, 1e9, &fo->base_odds) < 0) ||
	    (opts[FIT_BASE].seen &&
	     opt_number("fit", &opts[FIT_BASE], -1e5, 1e5, &fo->base_points) < 0) ||
	    (opts[FIT_L2].seen && opt_number("fit", &opts[FIT_L2], 0, 1e9, &fo->l2) < 0) ||
	    (opts[FIT_MIN_IV].seen && opt_number("fit", &opts[FIT_MIN_IV], 0, 100, &fo->min_iv) < 0) ||
	    (opts[FIT_MIN_SHARE].seen &&
	     opt_number("fit", &opts[FIT_MIN_SHARE], 0, 0.5, &fo->min_bin_share) < 0) ||
	    (opts[FIT_MAX_CORR].seen &&
	     opt_number("fit", &opts[FIT_MAX_CORR], 0.01, 1, &fo->max_correlation) < 0))
		return 2;
	if (opts[FIT_GRADE_PD].seen) {
		const char *p = opts[FIT_GRADE_PD].value;
		for (int g = 0; g < RULE_GRADE_C; g++) {
			char *end;
			fo->grade_pd[g] = strtod(p, &end);
			if (end == p || (g < RULE_GRADE_C - 1 ? *end != ',' : *end != '\0')) {
				char shown[RISKCTL_SHOWN_MAX];
				fprintf(stderr, "riskctl scorecard fit: --grade-pd '%s': four probabilities "
				        "AAA,AA,A,B such as 0.01,0.02,0.05,0.15\n",
				        riskctl_shown(opts[FIT_GRADE_PD].value, shown, sizeof(shown)));
				return 2;
			}
			p = end + 1;
		}
	}
	return 0;
}

/* Prints the fit's notes to stderr, one line each. */
static void print_notes(const struct rbuf *notes)
{
	for (const char *p = notes->data, *end = notes->data + notes->len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fprintf(stderr, "riskctl scorecard fit: note: %.*s\n", (int)len, p);
		p += len + 1;
	}
}

/* Writes len bytes to path. Returns 0 or -1 after printing the problem. */
static int write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "riskctl scorecard fit: %s: %s\n", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	return 0;
}

static int cmd_fit(int argc, char **argv)
{
	struct opt opts[FIT_N_OPTS] = {
		[FIT_CSV] = {"--csv", 1},          [FIT_TARGET] = {"--target", 1},
		[FIT_BINS] = {"--bins", 1},        [FIT_SEGMENT] = {"--segment", 1},
		[FIT_IGNORE] = {"--ignore", 1},    [FIT_NAME] = {"--name", 1},
		[FIT_VERSION] = {"--version", 1},  [FIT_DEFAULT] = {"--default", 0},
		[FIT_PDO] = {"--pdo", 1},          [FIT_ODDS] = {"--base-odds", 1},
		[FIT_BASE] = {"--base-points", 1}, [FIT_GRADE_PD] = {"--grade-pd", 1},
		[FIT_L2] = {"--l2", 1},            [FIT_MIN_IV] = {"--min-iv", 1},
		[FIT_MIN_SHARE] = {"--min-bin-share", 1}, [FIT_MAX_CHARS] = {"--max-characteristics", 1},
		[FIT_MAX_CORR] = {"--max-correlation", 1}, [FIT_SEP] = {"--sep", 1},
		[FIT_NA] = {"--na", 1},            [FIT_BAD] = {"--bad-value", 1},
		[FIT_ATTRS] = {"--attributes", 1}, [FIT_ATTRS_OUT] = {"--attributes-out", 1},
	};
	int rc = parse_opts("fit", argc, argv, opts, FIT_N_OPTS);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (!opts[FIT_CSV].seen || !opts[FIT_TARGET].seen) {
		fprintf(stderr, "riskctl scorecard fit: --csv and --target are required\n");
		return 2;
	}
	struct scorecard_fit_opts fo;
	struct fit_csv_opts co;
	scorecard_fit_opts_init(&fo);
	fo.load_card = scorecard_load_yaml;
	fo.target = opts[FIT_TARGET].value;
	fo.source = opts[FIT_CSV].value;
	fo.segments = opts[FIT_SEGMENT].value;
	fo.ignore = opts[FIT_IGNORE].value;
	fo.name = opts[FIT_NAME].value;
	fo.version = opts[FIT_VERSION].value;
	fo.is_default = opts[FIT_DEFAULT].seen;
	fo.bad_value = opts[FIT_BAD].value;
	if ((rc = fit_numbers(opts, &fo)) != 0 ||
	    (rc = csv_opts("fit", &opts[FIT_SEP], &opts[FIT_NA], &co)) != 0)
		return rc;
	struct attr_schema *declared = NULL;
	if (opts[FIT_ATTRS].seen && load_attributes(opts[FIT_ATTRS].value, &declared) < 0)
		return 1;
	fo.attributes = declared;
	struct csv csv;
	if (csv_read(opts[FIT_CSV].value, &co, &csv) < 0) {
		attr_schema_free(declared);
		return 1;
	}
	struct rbuf card = {0}, notes = {0}, schema = {0};
	char errstr[512];
	fo.attributes_out = opts[FIT_ATTRS_OUT].seen ? &schema : NULL;
	rc = scorecard_fit(&csv.t, &fo, &card, &notes, errstr, sizeof errstr);
	print_notes(&notes);
	if (rc < 0) {
		fprintf(stderr, "riskctl scorecard fit: %s\n", errstr);
	} else if (opts[FIT_ATTRS_OUT].seen &&
	           write_file(opts[FIT_ATTRS_OUT].value, schema.data, schema.len) < 0) {
		rc = -1;
	} else {
		fwrite(card.data, 1, card.len, stdout);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "riskctl scorecard fit: writing the card: %s\n", strerror(errno));
			rc = -1;
		}
	}
	rbuf_free(&card);
	rbuf_free(&notes);
	rbuf_free(&schema);
	csv_free(&csv);
	attr_schema_free(declared);
	return rc < 0 ? 1 : 0;
}

/* ---- eval ---- */

static int cmd_eval(int argc, char **argv)
{
	enum { CARD, CSV, TARGET, RULES, JSON, SEP, NA, BAD, ATTRS, N_OPTS };
	struct opt opts[N_OPTS] = {
		[CARD] = {"--card", 1, .repeat = 1}, [CSV] = {"--csv", 1}, [TARGET] = {"--target", 1},
		[RULES] = {"--rules", 1, .repeat = 1}, [JSON] = {"--json", 0}, [SEP] = {"--sep", 1},
		[NA] = {"--na", 1}, [BAD] = {"--bad-value", 1}, [ATTRS] = {"--attributes", 1},
	};
	int rc = parse_opts("eval", argc, argv, opts, N_OPTS);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (!opts[CARD].seen || !opts[CSV].seen || !opts[TARGET].seen) {
		fprintf(stderr, "riskctl scorecard eval: --card, --csv and --target are required\n");
		return 2;
	}
	struct fit_csv_opts co;
	if ((rc = csv_opts("eval", &opts[SEP], &opts[NA], &co)) != 0)
		return rc;
	struct scorecard_set *set = NULL;
	struct ruleset *rules = NULL;
	struct attr_schema *schema = NULL;
	struct csv csv = {0};
	struct scorecard_eval ev;
	char errstr[512];
	rc = 1;
	if (load_cards(opts[CARD].list, (size_t)opts[CARD].n_list, &set) < 0)
		goto done;
	if (opts[ATTRS].seen) {
		if (load_attributes(opts[ATTRS].value, &schema) < 0)
			goto done;
		ruleset_use_attributes(schema); /* before the rules load */
	}
	if (opts[RULES].seen) {
		struct rules_diags diags = {0};
		if (ruleset_load_paths(opts[RULES].list, (size_t)opts[RULES].n_list, RULE_KIND_CREDIT,
		                       &rules, &diags) < 0) {
			print_diags(&diags);
			rules_diags_free(&diags);
			goto done;
		}
		rules_diags_free(&diags);
	}
	if (csv_read(opts[CSV].value, &co, &csv) < 0)
		goto done;
	if (scorecard_eval_table(set, &csv.t, opts[TARGET].value, opts[BAD].value,
	                         rules ? credit_limits : NULL, rules,
	                         rules ? ruleset_attributes(rules) : NULL, &ev, errstr,
	                         sizeof errstr) < 0) {
		fprintf(stderr, "riskctl scorecard eval: %s\n", errstr);
		goto done;
	}
	if (opts[JSON].seen) {
		printf("{\"rows\": %zu, \"bads\": %zu, \"skipped\": %zu, \"auc\": %.4f, \"ks\": %.4f, "
		       "\"gini\": %.4f, \"grades\": {", ev.rows, ev.bads, ev.skipped, ev.auc, ev.ks,
		       ev.gini);
		for (int g = 0; g < RULE_GRADE__COUNT; g++) {
			printf("%s\"%s\": {\"count\": %zu, \"bads\": %zu, \"bad_rate\": ", g ? ", " : "",
			       credit_grade_name((enum rule_grade)g), ev.grade_rows[g], ev.grade_bads[g]);
			if (ev.grade_rows[g])
				printf("%.4f}", (double)ev.grade_bads[g] / (double)ev.grade_rows[g]);
			else
				printf("null}");
		}
		printf("}}\n");
	} else {
		for (size_t i = 0; i < scorecard_set_count(set); i++) {
			const struct scorecard *card = scorecard_set_card(set, i);
			printf("card %s version %s hash %s\n", scorecard_name(card),
			       scorecard_version(card), scorecard_hash(card));
		}
		printf("rows %zu, bad %zu (%.2f%%), skipped %zu%s\n", ev.rows, ev.bads,
		       100.0 * (double)ev.bads / (double)ev.rows, ev.skipped,
		       rules ? ", credit rules applied" : "");
		printf("AUC %.3f  KS %.3f  Gini %.3f\n", ev.auc, ev.ks, ev.gini);
		printf("grade      rows   share     bad   bad rate\n");
		for (int g = 0; g < RULE_GRADE__COUNT; g++) {
			printf("%-5s %9zu %6.1f%% %7zu", credit_grade_name((enum rule_grade)g),
			       ev.grade_rows[g], 100.0 * (double)ev.grade_rows[g] / (double)ev.rows,
			       ev.grade_bads[g]);
			if (ev.grade_rows[g])
				printf(" %9.2f%%\n", 100.0 * (double)ev.grade_bads[g] / (double)ev.grade_rows[g]);
			else
				printf("          -\n");
		}
	}
	rc = 0;
done:
	scorecard_set_free(set);
	ruleset_free(rules);
	ruleset_use_attributes(NULL);
	attr_schema_free(schema);
	csv_free(&csv);
	return rc;
}

/* ---- features ---- */

struct customer {
	struct cstate cs;           /* id, segment, duplicate detection, payment state */
	char id[RISKD_ID_MAX + 1];  /* customer_id (cs refers to it: cstate_id_bind) */
	struct feature_vec fv;      /* features as of the as-of day */
	struct pay_outcome outcome;
	int snapped;                /* fv taken */
	int seen_by_as_of;          /* had an event on or before the as-of day */
	struct attr_vec av;         /* --attributes: the latest profile's */
	struct op_state *op;        /* --operating, businesses: their weeks (in the map's table) */
	int32_t op_day;             /* the day being rolled up; INT32_MIN none */
	double op_kwh;
	int op_snapped;             /* the operating features as of the as-of day are in fv */
};

struct customer_map {
	struct op_table *ops;       /* --operating: the businesses' weeks */
	struct customer **items;    /* in first-seen order */
	size_t count, cap;
	uint32_t *index;            /* item number + 1; 0 empty */
	size_t slots;
};

/* The customer of id, created with the outcome window outcome when new; outcome NULL: only
 * looked up (NULL when absent). */
static struct customer *customer_get(struct customer_map *m, const char *id, const struct
                                     pay_outcome *outcome)
{
	size_t len = strlen(id);
	uint64_t h = cstate_hash(id, len);
	if (m->count * 10 >= m->slots * 7) {
		size_t slots = m->slots ? m->slots * 2 : 4096;
		uint32_t *index = xcalloc(slots, sizeof *index);
		for (size_t i = 0; i < m->count; i++) {
			const char *key = m->items[i]->id;
			size_t s = cstate_hash(key, strlen(key)) & (slots - 1);
			while (index[s])
				s = (s + 1) & (slots - 1);
			index[s] = (uint32_t)(i + 1);
		}
		free(m->index);
		m->index = index;
		m->slots = slots;
	}
	size_t s = h & (m->slots - 1);
	while (m->index[s]) {
		struct customer *c = m->items[m->index[s] - 1];
		if (strcmp(c->id, id) == 0)
			return c;
		s = (s + 1) & (m->slots - 1);
	}
	if (!outcome)
		return NULL;
	struct customer *c = xcalloc(1, sizeof *c);
	memcpy(c->id, id, len + 1);
	cstate_id_bind(&c->cs, c->id);
	c->op_day = INT32_MIN;
	c->outcome = *outcome;
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 4096;
		m->items = xrealloc(m->items, m->cap * sizeof *m->items);
	}
	m->items[m->count++] = c;
	m->index[s] = (uint32_t)m->count;
	return c;
}

static int customer_cmp(const void *a, const void *b)
{
	return strcmp((*(struct customer *const *)a)->id, (*(struct customer *const *)b)->id);
}

static void put_csv_text(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void put_csv_value(const struct feature_vec *fv, enum feature_id id)
{
	putchar(',');
	if (!feature_known(fv, id))
		return;
	double v = fv->value[id];
	if (v == floor(v) && fabs(v) < 1e15)
		printf("%.0f", v);
	else if (id == FEAT_ARREARS_AMOUNT)
		printf("%.2f", v);
	else
		printf("%.6g", v);
}

static const enum feature_id csv_features[] = {
	FEAT_DAYS_PAST_DUE,     FEAT_MAX_DAYS_PAST_DUE_12M, FEAT_LATE_PAYMENTS_12M,
	FEAT_ON_TIME_SHARE_12M, FEAT_ARREARS_AMOUNT,        FEAT_ARREARS_RATIO,
	FEAT_REVERSALS_12M,     FEAT_TENURE_MONTHS,         FEAT_MONTHS_SINCE_LAST_LATE,
	FEAT_BILLS_12M,         FEAT_DAYS_SINCE_REVERSAL,
};

/* Whether needle occurs in the n bytes at s. */
static int has_text(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
			return 1;
	return 0;
}

/* What `scorecard features` was asked for. */
struct features_req {
	const char *events;         /* path of the event history, "-" for stdin */
	const char *as_of_text;     /* --as-of as given */
	int32_t as_of;              /* local day the features are taken on */
	double outcome_days;        /* whole days of the outcome window; 0: no 'bad' column */
	double dpd;                 /* days past due that make a customer bad */
	struct localday ld;         /* the local calendar of --tz */
	int operating;              /* --operating */
	struct attr_schema *schema; /* --attributes; NULL: none */
};

/* What the replay and the table counted, for the summary. */
struct features_tally {
	size_t invalid, duplicates; /* lines rejected by the decoder; events seen before */
	int32_t last_day;           /* latest local day of a credit event */
	size_t written, later;      /* rows written; customers first seen after the as-of day */
	size_t bads, defaulted;     /* bad within the window; already in default on the as-of day */
};

/* Reads the options into rq. Returns 0, 1 after --help, or 2 after printing a usage error. */
static int features_parse(int argc, char **argv, struct features_req *rq)
{
	enum { EVENTS, AS_OF, TZ, OUTCOME, DPD, OPERATING, ATTRIBUTES, N_OPTS };
	struct opt opts[N_OPTS] = {
		[EVENTS] = {"--events", 1}, [AS_OF] = {"--as-of", 1}, [TZ] = {"--tz", 1},
		[OUTCOME] = {"--outcome-days", 1}, [DPD] = {"--dpd", 1},
		[OPERATING] = {"--operating", 0}, [ATTRIBUTES] = {"--attributes", 1},
	};
	int rc = parse_opts("features", argc, argv, opts, N_OPTS);
	if (rc)
		return rc;
	if (!opts[EVENTS].seen || !opts[AS_OF].seen) {
		fprintf(stderr, "riskctl scorecard features: --events and --as-of are required\n");
		return 2;
	}
	rq->events = opts[EVENTS].value;
	rq->as_of_text = opts[AS_OF].value;
	if (event_parse_date(rq->as_of_text, strlen(rq->as_of_text), &rq->as_of) < 0) {
		char shown[RISKCTL_SHOWN_MAX];
		fprintf(stderr, "riskctl scorecard features: --as-of '%s': not a date YYYY-MM-DD\n",
		        riskctl_shown(rq->as_of_text, shown, sizeof(shown)));
		return 2;
	}
	rq->outcome_days = 0;
	rq->dpd = 90;
	if ((opts[OUTCOME].seen &&
	     opt_number("features", &opts[OUTCOME], 1, 3660, &rq->outcome_days) < 0) ||
	    (opts[DPD].seen && opt_number("features", &opts[DPD], 1, 3660, &rq->dpd) < 0))
		return 2;
	rq->outcome_days = floor(rq->outcome_days);
	rq->operating = opts[OPERATING].seen;
	rq->schema = NULL;
	if (opts[ATTRIBUTES].seen && load_attributes(opts[ATTRIBUTES].value, &rq->schema) < 0)
		return 2;
	char errstr[512];
	const char *tz = opts[TZ].seen ? opts[TZ].value : "Asia/Shanghai";
	if (config_timezone_check(tz, errstr, sizeof errstr) < 0 ||
	    localday_init(&rq->ld, tz, errstr, sizeof errstr) < 0) {
		fprintf(stderr, "riskctl scorecard features: --tz: %s\n", errstr);
		attr_schema_free(rq->schema);
		rq->schema = NULL;
		return 2;
	}
	return 0;
}

/* The operating features a table carries with --operating. */
static const enum feature_id op_features[] = {
	FEAT_YOY_CHANGE_8W,   FEAT_YOY_DOWN_WEEKS_8W,  FEAT_QUARTER_CHANGE_4W, FEAT_WORK_DAYS_4W,
	FEAT_WORK_DAYS_CHANGE, FEAT_CAPACITY_UTIL_4W, FEAT_CAPACITY_UTIL_CHANGE, FEAT_STOP_DAYS,
};

/* Folds a business's day being rolled up into its weeks. */
static void op_fold(struct customer *c)
{
	if (c->op_day != INT32_MIN)
		op_state_day(c->op, c->op_day, c->op_kwh, op_state_day_peak(c->op, c->op_day),
		             c->cs.capacity_kw);
	c->op_day = INT32_MIN;
}

/* Takes a business's operating features as of the as-of day into its fv (once). */
static void op_snap(struct customer *c, int32_t as_of)
{
	if (c->op_snapped || !c->op)
		return;
	if (c->op_day != INT32_MIN && c->op_day <= as_of)
		op_fold(c);
	struct feature_vec fv;
	feature_vec_clear(&fv);
	op_state_features(c->op, &fv);
	for (size_t i = 0; i < sizeof op_features / sizeof op_features[0]; i++)
		if (feature_known(&fv, op_features[i]))
			feature_set(&c->fv, op_features[i], fv.value[op_features[i]]);
	c->op_snapped = 1;
}

/* A reading of a customer (--operating): a business's days up to the as-of day are rolled
 * up into its weeks as riskd does (scoring/operating.h); the first reading of a later day
 * takes its features. */
static void features_reading(struct features_req *rq, struct customer_map *map,
                             const struct event *ev)
{
	struct customer *c = customer_get(map, ev->entity_id, NULL);
	if (!c || !c->op || c->op_snapped)
		return;
	int32_t day = localday_of(&rq->ld, ev->ts);
	if (day > rq->as_of) {
		op_snap(c, rq->as_of);
		return;
	}
	if (day != c->op_day) {
		op_fold(c);
		c->op_day = day;
		c->op_kwh = 0.0;
	}
	c->op_kwh += ev->u.reading.kwh;
	op_state_reading(c->op, day, ev->u.reading.kwh * 3600.0 / ev->u.reading.interval_s);
}

/* Whether a line of len bytes is an interval reading or meter event: nothing for credit, so
 * it is skipped without decoding. */
static int is_reading_line(const char *line, size_t len)
{
	return has_text(line, len, "\"type\":\"meter_reading\"") ||
	       has_text(line, len, "\"type\":\"transformer_reading\"") ||
	       has_text(line, len, "\"type\":\"meter_event\"");
}

/* Feeds a profile, bill, payment or reversal of local day `day` to the customer's state
 * (av: a profile's attributes, read with --attributes). */
static void customer_on_event(struct customer_map *map, struct customer *c,
                              const struct event *ev, int32_t day, const struct attr_vec *av)
{
	switch (ev->type) {
	case EVENT_CUSTOMER:
		c->cs.segment = (uint8_t)ev->u.customer.segment;
		c->cs.capacity_kw =
		    (ev->has & EVENT_HAS_CAPACITY_KW) ? (float)ev->u.customer.capacity_kw : 0.0f;
		payments_on_profile(&c->cs, ev);
		if (av && (ev->has & EVENT_HAS_ATTRIBUTES))
			c->av = *av;
		if (map->ops && !c->op && (ev->u.customer.segment == SEGMENT_COMMERCIAL ||
		                           ev->u.customer.segment == SEGMENT_INDUSTRIAL))
			c->op = op_table_get(map->ops, c, 1);
		break;
	case EVENT_BILL:
		payments_on_bill(&c->cs, ev, day);
		break;
	case EVENT_PAYMENT:
		payments_on_payment(&c->cs, ev, day);
		break;
	default:
		payments_on_reversal(&c->cs, ev, day);
		break;
	}
}

/* Applies one decoded credit event of line line_no: skips a duplicate, takes the customer's
 * features at its first event after the as-of day, follows the outcome window. Returns 0, or
 * -1 after printing an error when the customer's events are out of time order. */
static int features_apply(struct features_req *rq, struct customer_map *map,
                          const struct pay_outcome *outcome0, const struct event *ev,
                          const struct attr_vec *av, size_t line_no, struct features_tally *t)
{
	int32_t day = localday_of(&rq->ld, ev->ts);
	struct customer *c = customer_get(map, ev->entity_id, outcome0);
	if (cstate_seen_event(&c->cs, cstate_hash(ev->event_id, strlen(ev->event_id)))) {
		t->duplicates++;
		return 0;
	}
	if (day > t->last_day)
		t->last_day = day;
	if (day <= rq->as_of) {
		if (c->snapped) {
			fprintf(stderr, "riskctl scorecard features: line %zu: customer %s has an "
			        "event of a day up to --as-of after one of a later day: the events "
			        "must be in time order per customer\n", line_no, c->id);
			return -1;
		}
		c->seen_by_as_of = 1;
	} else {
		if (!c->snapped) {
			payments_features(&c->cs, rq->as_of, &c->fv);
			c->snapped = 1;
		}
		if (rq->outcome_days > 0)
			payments_outcome_before(&c->outcome, &c->cs.pay, day);
	}
	customer_on_event(map, c, ev, day, av);
	return 0;
}

/* Replays the event history fp into map, each new customer starting from outcome0. Returns 0,
 * or -1 after printing an error. */
static int features_replay(FILE *fp, struct features_req *rq, struct customer_map *map,
                           const struct pay_outcome *outcome0, struct features_tally *t)
{
	char *line = NULL;
	size_t line_cap = 0, line_no = 0;
	ssize_t len;
	int rc = 0;
	while ((len = getline(&line, &line_cap, fp)) > 0) {
		line_no++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || (!rq->operating && is_reading_line(line, (size_t)len)))
			continue;
		struct event ev;
		struct attr_vec av;
		char errstr[512];
		if (event_decode(line, (size_t)len, &ev, errstr, sizeof errstr) != EVENT_REJECT_NONE ||
		    (rq->schema && ev.type == EVENT_CUSTOMER && (ev.has & EVENT_HAS_ATTRIBUTES) &&
		     event_attributes_read(line, (size_t)len, rq->schema, &av, errstr, sizeof errstr) !=
		         EVENT_REJECT_NONE)) {
			t->invalid++; /* riskd dead-letters it */
			continue;
		}
		if (ev.type == EVENT_METER_READING) {
			features_reading(rq, map, &ev);
			continue;
		}
		if (ev.type != EVENT_CUSTOMER && ev.type != EVENT_BILL && ev.type != EVENT_PAYMENT &&
		    ev.type != EVENT_PAYMENT_REVERSAL)
			continue;
		if (features_apply(rq, map, outcome0, &ev, rq->schema ? &av : NULL, line_no, t) < 0) {
			rc = -1;
			break;
		}
	}
	free(line);
	if (rc == 0 && ferror(fp)) {
		fprintf(stderr, "riskctl scorecard features: %s: read error\n", rq->events);
		rc = -1;
	}
	return rc;
}

/* Warns when the events stop before the outcome window ends. */
static void features_warn_cut_short(const struct features_req *rq,
                                    const struct pay_outcome *outcome0, int32_t last_day)
{
	if (rq->outcome_days <= 0 || last_day >= outcome0->end)
		return;
	char end[16], last[16];
	event_format_date(outcome0->end, end, sizeof end);
	event_format_date(last_day, last, sizeof last);
	fprintf(stderr, "riskctl scorecard features: warning: the events end on %s, before the "
	        "outcome window ends on %s: outcomes are cut short\n", last, end);
}

/* Prints the CSV row of customer c (seen by the as-of day) and counts it in t. */
static void features_write_row(struct customer *c, const struct features_req *rq,
                               const char *const *seg_names, struct features_tally *t)
{
	if (!c->snapped)
		payments_features(&c->cs, rq->as_of, &c->fv);
	op_snap(c, rq->as_of);
	put_csv_text(c->id);
	putchar(',');
	if (c->cs.segment > SEGMENT_UNKNOWN && c->cs.segment < SEGMENT__COUNT)
		fputs(seg_names[c->cs.segment - 1], stdout);
	for (size_t f = 0; f < sizeof csv_features / sizeof csv_features[0]; f++)
		put_csv_value(&c->fv, csv_features[f]);
	for (size_t f = 0; rq->operating && f < sizeof op_features / sizeof op_features[0]; f++)
		put_csv_value(&c->fv, op_features[f]);
	for (size_t a = 0; rq->schema && a < rq->schema->count; a++) {
		const struct attr_def *def = &rq->schema->defs[a];
		putchar(',');
		if (!attr_vec_known(&c->av, (int)a))
			continue;
		if (def->type == ATTR_CATEGORY)
			put_csv_text(def->values[(size_t)c->av.value[a]]);
		else
			printf("%.17g", c->av.value[a]);
	}
	if (rq->outcome_days > 0) {
		/* Already in default on the as-of day: not a customer who goes on to default. */
		int in_default = feature_known(&c->fv, FEAT_DAYS_PAST_DUE) &&
		                 c->fv.value[FEAT_DAYS_PAST_DUE] >= rq->dpd;
		payments_outcome_finish(&c->outcome, &c->cs.pay);
		if (in_default) {
			fputs(",", stdout);
			t->defaulted++;
		} else {
			printf(",%d", c->outcome.reached);
			t->bads += (size_t)c->outcome.reached;
		}
	}
	putchar('\n');
	t->written++;
}

/* Prints the table to stdout: a header, then the customers seen by the as-of day in id order
 * (map's items are sorted). Returns 0, or -1 after printing an error when stdout fails. */
static int features_write_table(struct customer_map *map, const struct features_req *rq,
                                struct features_tally *t)
{
	size_t nsym;
	const char *const *seg_names = feature_symbols(FEAT_SEGMENT, &nsym);
	if (map->count > 0) /* items is NULL when no customer was seen */
		qsort(map->items, map->count, sizeof *map->items, customer_cmp);
	fputs("customer_id,segment", stdout);
	for (size_t i = 0; i < sizeof csv_features / sizeof csv_features[0]; i++)
		printf(",%s", feature_def(csv_features[i])->name);
	for (size_t i = 0; rq->operating && i < sizeof op_features / sizeof op_features[0]; i++)
		printf(",%s", feature_def(op_features[i])->name);
	for (size_t a = 0; rq->schema && a < rq->schema->count; a++)
		printf(",%s", rq->schema->defs[a].name);
	fputs(rq->outcome_days > 0 ? ",bad\n" : "\n", stdout);
	for (size_t i = 0; i < map->count; i++) {
		if (map->items[i]->seen_by_as_of)
			features_write_row(map->items[i], rq, seg_names, t);
		else
			t->later++;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "riskctl scorecard features: writing: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Prints the one-line summary of a table written to stderr. */
static void features_report(const struct features_req *rq, const struct features_tally *t)
{
	fprintf(stderr, "riskctl scorecard features: %zu customers as of %s", t->written,
	        rq->as_of_text);
	if (rq->outcome_days > 0)
		fprintf(stderr, ", %zu already %.0f+ days past due (bad left empty), %zu of the rest "
		        "bad (reached it within %.0f days)", t->defaulted, rq->dpd, t->bads,
		        rq->outcome_days);
	fprintf(stderr, "; %zu first seen later, %zu invalid lines, %zu duplicates skipped\n",
	        t->later, t->invalid, t->duplicates);
}

static void customer_map_free(struct customer_map *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->items[i]);
	free(m->items);
	free(m->index);
	op_table_free(m->ops);
}

static int cmd_features(int argc, char **argv)
{
	struct features_req rq;
	int rc = features_parse(argc, argv, &rq);
	if (rc)
		return rc == 1 ? 0 : rc;
	FILE *fp = strcmp(rq.events, "-") == 0 ? stdin : fopen(rq.events, "rb");
	if (!fp) {
		fprintf(stderr, "riskctl scorecard features: %s: %s\n", rq.events, strerror(errno));
		attr_schema_free(rq.schema);
		return 1;
	}
	struct customer_map map = {0};
	if (rq.operating)
		map.ops = op_table_new();
	struct pay_outcome outcome0;
	payments_outcome_init(&outcome0, rq.as_of, rq.as_of + (int32_t)rq.outcome_days,
	                      (int32_t)rq.dpd);
	struct features_tally t = {.last_day = INT32_MIN};
	rc = 1;
	if (features_replay(fp, &rq, &map, &outcome0, &t) == 0) {
		features_warn_cut_short(&rq, &outcome0, t.last_day);
		if (features_write_table(&map, &rq, &t) == 0) {
			features_report(&rq, &t);
			rc = 0;
		}
	}
	if (fp != stdin)
		fclose(fp);
	customer_map_free(&map);
	attr_schema_free(rq.schema);
	return rc;
}

int scorecard_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		scorecard_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "fit") == 0)
		return cmd_fit(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "features") == 0)
		return cmd_features(argc - 1, argv + 1);
	fprintf(stderr, "riskctl scorecard: unknown command '%s'\n", argv[1]);
	scorecard_usage(stderr);
	return 2;
}
