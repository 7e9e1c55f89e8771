/*
 * riskctl_eval_credit.c - `riskctl eval --credit`: the early warning of operating risk
 * measured on a generated city. The generator (riskctl gen --business-distress) runs in a
 * child process and streams the city through a pipe; every line is decoded with riskd's own
 * decoder, a business customer's readings are rolled up into local days and folded into its
 * operating state (scoring/operating.h), its bills and payments into riskd's payment
 * arithmetic (scoring/payments.h), and after each closed day the operating rules
 * (rules/operating.yaml, kind operating) are evaluated on its features. The first day they
 * raise a warning is compared with the first day the customer's oldest unpaid bill is 30 days
 * past due: warned at least 30 days before that day, healthy customers warned, the median
 * lead, per segment and per business story. With --attributes FILE the rules may read the
 * customer attributes the schema declares, and a profile's attributes are read against it as
 * riskd reads them (a profile it refuses counts as rejected).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/ruleset.h"
#include "../scoring/attributes.h"
#include "../scoring/localday.h"
#include "../scoring/operating.h"
#include "../scoring/payments.h"
#include "../streams/event.h"
#include "gen.h"
#include "riskctl.h"

#define CREDIT_DEFAULT_DAYS "730"
#define CREDIT_DEFAULT_RATE "0.2"
#define CREDIT_DEFAULT_INTERVAL "3600"
/* Arrears that count as default, and the lead a warning must have. */
#define CREDIT_DPD 30
#define CREDIT_LEAD_DAYS 30
/* The goals of docs/credit.md. */
#define GOAL_WARNED_BEFORE 0.60
#define GOAL_HEALTHY_WARNED 0.05
#define CREDIT_DIGITS 6

/* One business customer followed through the run. */
struct biz_track {
	uint8_t segment;           /* enum segment; SEGMENT_UNKNOWN until the profile */
	double capacity_kw;
	int32_t open_day;          /* local day being rolled up; INT32_MIN none */
	double open_kwh;
	int32_t first_default;     /* first day CREDIT_DPD days past due; 0 never */
	int32_t warn_day;          /* first day warned; 0 never */
	struct op_state *op;       /* in the eval's op_table */
	struct pay_state pay;
	struct attr_vec *attrs;    /* --attributes: its profile's, when it gave any; else NULL */
};

/* Counts of one group of customers (a segment, a story, or all). */
struct credit_group {
	size_t defaulted, warned_before, healthy, healthy_warned;
	int32_t *leads;            /* lead days of the defaulted customers warned before default */
	size_t n_leads;
};

struct credit_eval {
	struct gen_options opts;
	struct ruleset *rules;
	struct attr_schema *schema; /* --attributes; NULL: profiles' attributes ignored */
	struct localday ld;
	struct biz_track *tracks;  /* by customer number */
	struct op_table *ops;
	struct feature_vec fv;
	struct rule_hits hits;
	uint64_t lines, rejected;
};

static void credit_usage(FILE *out)
{
	fprintf(out,
	        "usage: riskctl eval --credit --seed S --customers N [--days D]\n"
	        "                    [--business-distress R] [--interval-s S] [--start YYYY-MM-DD]\n"
	        "                    [--rules DIR] [--json] [--per-business FILE]\n"
	        "                    [--attributes FILE]\n"
	        "Generates a city whose businesses have stories (riskctl gen --business-distress R,\n"
	        "default " CREDIT_DEFAULT_RATE "; --days default " CREDIT_DEFAULT_DAYS ", --interval-s default "
	        CREDIT_DEFAULT_INTERVAL "), follows every commercial\n"
	        "and industrial customer's weeks and bills through riskd's code, runs the operating\n"
	        "rules (kind operating, in --rules DIR, default rules) after each closed day and\n"
	        "reports: of the businesses whose oldest unpaid bill reaches %d days past due, the\n"
	        "share warned at least %d days before (warned_before_default_share); of the others,\n"
	        "the share warned at all (healthy_warned_share); the median lead in days; per\n"
	        "segment and per business story. --per-business writes one CSV row per business:\n"
	        "customer_id,segment,story,default_day,warn_day (local days YYYY-MM-DD; empty:\n"
	        "never), to compare with riskd's operating_risk warnings of the same city.\n"
	        "--attributes FILE: the customer attribute schema (scoring/attributes.yaml): the\n"
	        "rules may read the attributes it declares, read from the profiles as riskd reads\n"
	        "them (a profile it refuses is rejected); without it they are ignored.\n"
	        "exit status: 0 done, 1 failure, 2 usage\n", CREDIT_DPD, CREDIT_LEAD_DAYS);
}

static int is_business(uint8_t segment)
{
	return segment == SEGMENT_COMMERCIAL || segment == SEGMENT_INDUSTRIAL;
}

/* The customer number of a generated id ("C000042" is 41), or -1. */
static long customer_number(const struct credit_eval *ev, const char *id)
{
	if (id[0] != 'C')
		return -1;
	char *end;
	long n = strtol(id + 1, &end, 10);
	return *end || n < 1 || (unsigned long)n > ev->opts.customers ? -1 : n - 1;
}

/* Records the first day a business is CREDIT_DPD days past due (as of `day`). */
static void track_arrears(struct biz_track *tr, int32_t day)
{
	if (tr->first_default)
		return;
	int32_t dpd = payments_days_past_due(&tr->pay, day);
	if (dpd >= CREDIT_DPD)
		tr->first_default = day - (dpd - CREDIT_DPD);
}

/* Closes a business's open day: folds it, checks its arrears and runs the rules. */
static void track_day_close(struct credit_eval *ev, struct biz_track *tr)
{
	if (tr->open_day == INT32_MIN)
		return;
	int32_t day = tr->open_day;
	op_state_day(tr->op, day, tr->open_kwh, op_state_day_peak(tr->op, day), tr->capacity_kw);
	track_arrears(tr, day);
	if (!tr->warn_day) {
		feature_vec_clear(&ev->fv);
		op_state_features(tr->op, &ev->fv);
		ruleset_eval_attrs(ev->rules, &ev->fv, tr->attrs, &ev->hits);
		if (ev->hits.alert)
			tr->warn_day = day;
	}
	tr->open_day = INT32_MIN;
}

/* Keeps a profile's attributes (av) for its customer's rules. */
static void keep_attributes(struct biz_track *tr, const struct attr_vec *av)
{
	if (!tr->attrs && !av->known)
		return;
	if (!tr->attrs)
		tr->attrs = xmalloc(sizeof(*tr->attrs));
	*tr->attrs = *av;
}

/* Follows one decoded event e (av: a profile's attributes, or NULL). */
static void credit_event(struct credit_eval *ev, const struct event *e, const struct attr_vec *av)
{
	long n = customer_number(ev, e->entity_id);
	if (n < 0)
		return;
	struct biz_track *tr = &ev->tracks[n];
	int32_t day = localday_of(&ev->ld, e->ts);
	switch (e->type) {
	case EVENT_CUSTOMER:
		tr->segment = (uint8_t)e->u.customer.segment;
		tr->capacity_kw = e->has & EVENT_HAS_CAPACITY_KW ? e->u.customer.capacity_kw : 0.0;
		if (e->has & EVENT_HAS_SINCE)
			payments_start(&tr->pay, e->u.customer.since);
		if (is_business(tr->segment) && !tr->op)
			tr->op = op_table_get(ev->ops, tr, 1);
		if (av)
			keep_attributes(tr, av);
		break;
	case EVENT_METER_READING:
		if (!tr->op)
			break;
		if (day != tr->open_day) {
			track_day_close(ev, tr);
			tr->open_day = day;
			tr->open_kwh = 0.0;
		}
		tr->open_kwh += e->u.reading.kwh;
		op_state_reading(tr->op, day, e->u.reading.kwh * 3600.0 / e->u.reading.interval_s);
		break;
	case EVENT_BILL:
		if (tr->op)
			track_arrears(tr, day);
		payments_bill(&tr->pay, e->u.bill.bill_id, strlen(e->u.bill.bill_id), e->u.bill.amount,
		              e->u.bill.due_date, day);
		break;
	case EVENT_PAYMENT:
		if (tr->op)
			track_arrears(tr, day);
		payments_payment(&tr->pay, e->u.payment.amount, e->u.payment.bill_id,
		                 strlen(e->u.payment.bill_id), day);
		break;
	case EVENT_PAYMENT_REVERSAL:
		if (tr->op)
			track_arrears(tr, day);
		payments_reversal(&tr->pay, e->u.reversal.amount, day);
		break;
	default:
		break;
	}
}

/* Decodes and follows the generated lines. */
static int credit_consume(FILE *in, void *arg)
{
	struct credit_eval *ev = arg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct event e;
	struct attr_vec av;
	char why[256];
	while ((len = getline(&line, &cap, in)) > 0) {
		size_t n = (size_t)len - (line[len - 1] == '\n');
		ev->lines++;
		if (event_decode(line, n, &e, why, sizeof(why)) != EVENT_REJECT_NONE) {
			ev->rejected++;
			continue;
		}
		int has_attributes =
		    ev->schema && e.type == EVENT_CUSTOMER && (e.has & EVENT_HAS_ATTRIBUTES);
		if (has_attributes && event_attributes_read(line, n, ev->schema, &av, why,
		                                            sizeof(why)) != EVENT_REJECT_NONE) {
			ev->rejected++; /* riskd dead-letters the profile */
			continue;
		}
		credit_event(ev, &e, has_attributes ? &av : NULL);
	}
	free(line);
	return 0;
}

/* Generates the city in a child process, follows it as it streams in, and closes every
 * business's last day. */
static int credit_stream(struct credit_eval *ev, char *errstr, size_t errstr_size)
{
	int rc = eval_generate(&ev->opts, credit_consume, ev, errstr, errstr_size);
	if (rc)
		return rc;
	int32_t last = ev->opts.start_day + (int32_t)ev->opts.days - 1;
	for (uint32_t c = 0; c < ev->opts.customers; c++) {
		struct biz_track *tr = &ev->tracks[c];
		if (!tr->op)
			continue;
		track_day_close(ev, tr);
		track_arrears(tr, last);
	}
	return 0;
}

static void group_add(struct credit_group *g, const struct biz_track *tr)
{
	if (tr->first_default) {
		g->defaulted++;
		if (tr->warn_day && tr->warn_day <= tr->first_default - CREDIT_LEAD_DAYS)
			g->warned_before++;
		if (tr->warn_day && tr->warn_day < tr->first_default) {
			g->leads = xrealloc(g->leads, (g->n_leads + 1) * sizeof(*g->leads));
			g->leads[g->n_leads++] = tr->first_default - tr->warn_day;
		}
	} else {
		g->healthy++;
		g->healthy_warned += tr->warn_day != 0;
	}
}

static int cmp_int32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static double share(size_t part, size_t whole)
{
	return whole ? (double)part / (double)whole : NAN;
}

static double group_median_lead(struct credit_group *g)
{
	if (!g->n_leads)
		return NAN;
	qsort(g->leads, g->n_leads, sizeof(*g->leads), cmp_int32);
	size_t m = g->n_leads / 2;
	return g->n_leads % 2 ? g->leads[m] : (g->leads[m - 1] + g->leads[m]) / 2.0;
}

static void group_json(struct rbuf *out, struct credit_group *g)
{
	rbuf_printf(out, "\"defaulted\":%zu,\"warned_before_default\":%zu,"
	            "\"warned_before_default_share\":", g->defaulted, g->warned_before);
	rbuf_json_number(out, share(g->warned_before, g->defaulted), CREDIT_DIGITS);
	rbuf_printf(out, ",\"healthy\":%zu,\"healthy_warned\":%zu,\"healthy_warned_share\":",
	            g->healthy, g->healthy_warned);
	rbuf_json_number(out, share(g->healthy_warned, g->healthy), CREDIT_DIGITS);
	rbuf_puts(out, ",\"median_lead_days\":");
	rbuf_json_number(out, group_median_lead(g), CREDIT_DIGITS);
}

static void group_row(const char *name, struct credit_group *g)
{
	char b1[32] = "-", b2[32] = "-", b3[32] = "-";
	double w = share(g->warned_before, g->defaulted), h = share(g->healthy_warned, g->healthy);
	double lead = group_median_lead(g);
	if (isfinite(w))
		snprintf(b1, sizeof(b1), "%.1f%%", 100 * w);
	if (isfinite(h))
		snprintf(b2, sizeof(b2), "%.1f%%", 100 * h);
	if (isfinite(lead))
		snprintf(b3, sizeof(b3), "%.0f", lead);
	printf("%-16s %9zu %14s %8zu %8s %10s\n", name, g->defaulted, b1, g->healthy, b2, b3);
}

/* Writes one CSV row per business followed to path. Returns 0, or -1 after printing why. */
static int credit_write_per_business(const struct credit_eval *ev, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "riskctl eval --credit: --per-business %s: %s\n", path, strerror(errno));
		return -1;
	}
	int width = 6; /* as the generator writes ids: at least six digits */
	for (uint32_t n = ev->opts.customers; n >= 1000000; n /= 10)
		width++;
	fputs("customer_id,segment,story,default_day,warn_day\n", f);
	for (uint32_t c = 0; c < ev->opts.customers; c++) {
		const struct biz_track *tr = &ev->tracks[c];
		if (!tr->op)
			continue;
		struct gen_business_label label;
		char def[16] = "", warn[16] = "";
		gen_business_of(&ev->opts, c, &label);
		if (tr->first_default)
			event_format_date(tr->first_default, def, sizeof def);
		if (tr->warn_day)
			event_format_date(tr->warn_day, warn, sizeof warn);
		fprintf(f, "C%0*u,%s,%s,%s,%s\n", width, c + 1, segment_name((enum segment)tr->segment),
		        gen_business_name(label.story), def, warn);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "riskctl eval --credit: --per-business %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tallies and prints (or writes as JSON) the figures. */
static void credit_report(struct credit_eval *ev, int json)
{
	struct credit_group all = {0}, seg[2] = {{0}}, story[GEN_BUSINESS__COUNT] = {{0}};
	for (uint32_t c = 0; c < ev->opts.customers; c++) {
		const struct biz_track *tr = &ev->tracks[c];
		if (!tr->op)
			continue;
		struct gen_business_label label;
		gen_business_of(&ev->opts, c, &label);
		group_add(&all, tr);
		group_add(&seg[tr->segment == SEGMENT_INDUSTRIAL], tr);
		group_add(&story[label.story < GEN_BUSINESS__COUNT ? label.story : 0], tr);
	}
	static const char *const seg_names[2] = {"commercial", "industrial"};
	if (json) {
		struct rbuf out = {0};
		rbuf_printf(&out, "{\"seed\":%llu,\"customers\":%u,\"days\":%u,\"business_distress\":",
		            (unsigned long long)ev->opts.seed, ev->opts.customers, ev->opts.days);
		rbuf_json_number(&out, ev->opts.business_distress, CREDIT_DIGITS);
		rbuf_printf(&out, ",\"rules\":");
		rbuf_json_string(&out, ruleset_name(ev->rules));
		rbuf_printf(&out, ",\"rules_hash\":");
		rbuf_json_string(&out, ruleset_hash(ev->rules));
		rbuf_printf(&out, ",\"default_days_past_due\":%d,\"lead_days\":%d,"
		            "\"businesses\":%zu,\"state_bytes_per_business\":%zu,",
		            CREDIT_DPD, CREDIT_LEAD_DAYS, op_table_count(ev->ops),
		            op_table_count(ev->ops) ? op_table_memory(ev->ops) / op_table_count(ev->ops)
		                                    : 0);
		group_json(&out, &all);
		rbuf_puts(&out, ",\"segments\":[");
		for (int s = 0; s < 2; s++) {
			rbuf_puts(&out, s ? ",{\"segment\":" : "{\"segment\":");
			rbuf_json_string(&out, seg_names[s]);
			rbuf_puts(&out, ",");
			group_json(&out, &seg[s]);
			rbuf_puts(&out, "}");
		}
		rbuf_puts(&out, "],\"stories\":[");
		for (int s = 0; s < GEN_BUSINESS__COUNT; s++) {
			rbuf_puts(&out, s ? ",{\"story\":" : "{\"story\":");
			rbuf_json_string(&out, gen_business_name((unsigned)s));
			rbuf_puts(&out, ",");
			group_json(&out, &story[s]);
			rbuf_puts(&out, "}");
		}
		rbuf_puts(&out, "]}\n");
		fwrite(out.data, 1, out.len, stdout);
		rbuf_free(&out);
	} else {
		printf("early warning of operating risk: seed %llu, %u customers, %u days, business "
		       "distress %g\n", (unsigned long long)ev->opts.seed, ev->opts.customers,
		       ev->opts.days, ev->opts.business_distress);
		printf("rules %s (hash %s); %zu businesses, %zu bytes of operating state each; "
		       "%llu events\n", ruleset_name(ev->rules), ruleset_hash(ev->rules),
		       op_table_count(ev->ops),
		       op_table_count(ev->ops) ? op_table_memory(ev->ops) / op_table_count(ev->ops) : 0,
		       (unsigned long long)ev->lines);
		printf("%-16s %9s %14s %8s %8s %10s\n", "group", "defaulted", "warned>=30d", "healthy",
		       "warned", "lead_days");
		group_row("all", &all);
		for (int s = 0; s < 2; s++)
			group_row(seg_names[s], &seg[s]);
		for (int s = 0; s < GEN_BUSINESS__COUNT; s++)
			group_row(gen_business_name((unsigned)s), &story[s]);
		double w = share(all.warned_before, all.defaulted);
		double h = share(all.healthy_warned, all.healthy);
		printf("goal: warned >= %d days before default >= %.0f%%: %s; healthy warned <= %.0f%%: "
		       "%s\n", CREDIT_LEAD_DAYS, 100 * GOAL_WARNED_BEFORE,
		       w >= GOAL_WARNED_BEFORE ? "met" : "MISS", 100 * GOAL_HEALTHY_WARNED,
		       h <= GOAL_HEALTHY_WARNED ? "met" : "MISS");
	}
	free(all.leads);
	for (int s = 0; s < 2; s++)
		free(seg[s].leads);
	for (int s = 0; s < GEN_BUSINESS__COUNT; s++)
		free(story[s].leads);
}

/* Loads the operating rules of `rules`; prints why and returns 1 on failure. */
static int credit_rules(struct credit_eval *ev, const char *rules)
{
	struct rules_diags diags = {0};
	if (ruleset_load_paths(&rules, 1, RULE_KIND_OPERATING, &ev->rules, &diags) == 0 &&
	    ruleset_rule_count(ev->rules) > 0) {
		rules_diags_free(&diags);
		return 0;
	}
	struct rbuf text = {0};
	rules_diags_render(&diags, &text);
	if (text.len)
		fwrite(text.data, 1, text.len, stderr);
	else
		fprintf(stderr, "riskctl eval: %s: no operating rules (kind: operating)\n", rules);
	rbuf_free(&text);
	rules_diags_free(&diags);
	return 1;
}

int eval_credit_main(int argc, char **argv)
{
	static const char *const city_options[] = {
		"--seed", "--customers", "--days", "--business-distress", "--interval-s", "--start",
	};
	const size_t n_city = sizeof(city_options) / sizeof(city_options[0]);
	struct credit_eval ev;
	const char *rules = "rules", *per_business = NULL, *attributes = NULL;
	int json = 0, status = 2;
	int given[sizeof(city_options) / sizeof(city_options[0])] = {0};
	char errstr[512];
	char **gen_argv = xcalloc((size_t)argc + 8, sizeof(char *));
	int gen_argc = 0;

	memset(&ev, 0, sizeof(ev));
	gen_argv[gen_argc++] = "gen";
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		switch (eval_flag_of(arg)) {
		case EVAL_FLAG_HELP:
			credit_usage(stdout);
			status = 0;
			goto done;
		case EVAL_FLAG_JSON:
			json = 1;
			continue;
		case EVAL_FLAG_CREDIT:
			continue;
		case EVAL_FLAG_NONE:
			break;
		}
		size_t k = 0;
		while (k < n_city && strcmp(arg, city_options[k]))
			k++;
		if (k == n_city && strcmp(arg, "--rules") != 0 && strcmp(arg, "--per-business") != 0 &&
		    strcmp(arg, "--attributes") != 0) {
			char shown[RISKCTL_SHOWN_MAX];
			fprintf(stderr, "riskctl eval --credit: unknown option '%s'\n",
			        riskctl_shown(arg, shown, sizeof(shown)));
			credit_usage(stderr);
			goto done;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "riskctl eval --credit: %s needs a value\n", arg);
			goto done;
		}
		if (k == n_city) {
			if (strcmp(arg, "--rules") == 0)
				rules = argv[++i];
			else if (strcmp(arg, "--attributes") == 0)
				attributes = argv[++i];
			else
				per_business = argv[++i];
			continue;
		}
		given[k] = 1;
		gen_argv[gen_argc++] = argv[i];
		gen_argv[gen_argc++] = argv[++i];
	}
	static const char *const defaults[][2] = {
		{"--days", CREDIT_DEFAULT_DAYS},
		{"--business-distress", CREDIT_DEFAULT_RATE},
		{"--interval-s", CREDIT_DEFAULT_INTERVAL},
	};
	for (size_t d = 0; d < sizeof(defaults) / sizeof(defaults[0]); d++) {
		size_t k = 0;
		while (strcmp(city_options[k], defaults[d][0]))
			k++;
		if (!given[k]) {
			gen_argv[gen_argc++] = (char *)defaults[d][0];
			gen_argv[gen_argc++] = (char *)defaults[d][1];
		}
	}
	gen_options_init(&ev.opts);
	if (gen_options_parse(&ev.opts, gen_argc, gen_argv, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval --credit: %s\n", errstr);
		goto done;
	}
	status = 1;
	if (localday_init(&ev.ld, ev.opts.tz_name, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval --credit: %s\n", errstr);
		goto done;
	}
	if (attributes) {
		if (!(ev.schema = riskctl_load_attributes(attributes)))
			goto done;
		ruleset_use_attributes(ev.schema); /* before the rules load */
	}
	if (credit_rules(&ev, rules) != 0)
		goto done;
	ev.tracks = xcalloc(ev.opts.customers, sizeof(*ev.tracks));
	for (uint32_t c = 0; c < ev.opts.customers; c++)
		ev.tracks[c].open_day = INT32_MIN;
	ev.ops = op_table_new();
	if (credit_stream(&ev, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl eval --credit: %s\n", errstr);
		goto done;
	}
	if (per_business && credit_write_per_business(&ev, per_business) != 0)
		goto done;
	credit_report(&ev, json);
	status = fflush(stdout) == 0 ? 0 : 1;
done:
	op_table_free(ev.ops);
	for (uint32_t c = 0; ev.tracks && c < ev.opts.customers; c++)
		free(ev.tracks[c].attrs);
	free(ev.tracks);
	ruleset_free(ev.rules);
	ruleset_use_attributes(NULL);
	attr_schema_free(ev.schema);
	free(gen_argv);
	return status;
}
