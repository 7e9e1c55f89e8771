/*
 * test_duplicates.c - end to end against the local stack: a file of readings sent again after
 * riskd restarted changes no daily usage. riskd runs a generated city to idle and exits; the
 * same file is produced again and a new riskd runs it: every reading is counted as a
 * duplicate (those of closed days through risk.reading_coverage, those of the open day
 * through the restored state) and the daily sums stay as they were. A reading sent again with
 * another energy is dead-lettered with reason `conflict`, or, with `ingest.restatements:
 * apply`, corrects its day's total by exactly the difference.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/e2e.h"

/* What the city file holds. */
struct city {
	char path[1400];
	int64_t readings;             /* meter_reading lines */
	int64_t transformer_readings; /* transformer_reading lines */
	char first[2][1024];          /* the first two meter_reading lines */
};

static void make_city(struct e2e_world *w, struct city *c)
{
	char line[1024];
	snprintf(c->path, sizeof(c->path), "%s/city.jsonl", w->dir);
	e2e_sh("'%s/riskctl' gen --customers 12 --days 3 --seed 11 --interval-s 1800 > '%s'"
	       " 2>/dev/null", w->env.bin, c->path);
	FILE *f = fopen(c->path, "r");
	cr_assert_not_null(f);
	c->readings = c->transformer_readings = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"type\":\"meter_reading\"")) {
			if (c->readings < 2) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(c->first[c->readings], sizeof(c->first[0]), "%s", line);
			}
			c->readings++;
		} else if (strstr(line, "\"type\":\"transformer_reading\"")) {
			c->transformer_readings++;
		}
	}
	fclose(f);
	cr_assert_gt(c->readings, 1000);
	cr_assert_gt(c->transformer_readings, 100);
}

/* A digest of every stored energy sum: daily usage, transformer days, hourly sums. */
static void usage_digest(const char *dsn, char *out, size_t size)
{
	e2e_query_text(dsn,
	               "select (select md5(coalesce(string_agg(concat_ws('|', customer_id, day,"
	               " kwh_uwh, readings, covered_s), ',' order by customer_id, day), ''))"
	               " from risk.daily_usage) || ' ' ||"
	               " (select md5(coalesce(string_agg(concat_ws('|', transformer_id, day,"
	               " kwh_uwh, readings, covered_s), ',' order by transformer_id, day), ''))"
	               " from risk.transformer_daily) || ' ' ||"
	               " (select md5(coalesce(string_agg(concat_ws('|', customer_id, day, uwh::text),"
	               " ',' order by customer_id, day), '')) from risk.hourly_usage)",
	               out, size);
}

static int64_t counted(const char *dsn, const char *type, const char *outcome)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select coalesce(sum(count), 0) from risk.ingest_counts"
	         " where event_type = '%s' and outcome = '%s'", type, outcome);
	return e2e_query_int(dsn, sql);
}

/* line with its "kwh":X replaced by "kwh":X + add (three decimals), into out. */
static void change_kwh(const char *line, double add, char *out, size_t size)
{
	const char *at = strstr(line, "\"kwh\":");
	cr_assert_not_null(at, "%s", line);
	char *end;
	double kwh = strtod(at + 6, &end);
	snprintf(out, size, "%.*s\"kwh\":%.3f%s", (int)(at - line), line, kwh + add, end);
}

/* Writes one line to dir/name and produces it. */
static void produce_line(struct e2e_world *w, const char *name, const char *line)
{
	char path[1400];
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", line);
	fclose(f);
	e2e_produce_file(w, path);
}

/* The customer_id and local day ('YYYY-MM-DD') of a generated reading line. */
static void reading_key(const char *line, char *customer, size_t csize, char *day, size_t dsize)
{
	const char *c = strstr(line, "\"customer_id\":\"");
	const char *t = strstr(line, "\"ts\":\"");
	cr_assert(c && t, "%s", line);
	c += strlen("\"customer_id\":\"");
	t += strlen("\"ts\":\"");
	snprintf(customer, csize, "%.*s", (int)strcspn(c, "\""), c);
	snprintf(day, dsize, "%.10s", t); /* generated in +08:00, riskd's default zone */
}

static int64_t day_uwh(const char *dsn, const char *customer, const char *day,
                       const char *column)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "select %s from risk.daily_usage where customer_id = '%s' and day = '%s'", column,
	         customer, day);
	return e2e_query_int(dsn, sql);
}

Test(duplicates, a_file_resent_after_a_restart_changes_no_daily_usage, .timeout = 600)
{
	struct e2e_world w;
	struct city city;
	char before[256], after[256], changed[1100], customer[64], day[16];

	e2e_world_new(&w, "dups_resend", 2, 500);
	make_city(&w, &city);
	e2e_produce_file(&w, city.path);
	e2e_riskd_run_until_idle(&w, 3, 240);
	usage_digest(w.dsn, before, sizeof(before));
	cr_assert_eq(counted(w.dsn, "meter_reading", "duplicate"), 0);
	cr_assert_eq(counted(w.dsn, "meter_reading", "accepted"), city.readings);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.reading_coverage"), 0,
	             "closed days keep their coverage");

	/* the same file again, read by a new riskd: every reading is a duplicate */
	e2e_produce_file(&w, city.path);
	e2e_riskd_run_until_idle(&w, 3, 240);
	usage_digest(w.dsn, after, sizeof(after));
	cr_assert_str_eq(after, before, "daily usage changed by the resent file");
	cr_assert_eq(counted(w.dsn, "meter_reading", "duplicate"), city.readings);
	cr_assert_eq(counted(w.dsn, "transformer_reading", "duplicate"), city.transformer_readings);
	cr_assert_eq(counted(w.dsn, "meter_reading", "accepted"), city.readings);
	cr_assert_eq(counted(w.dsn, "meter_reading", "dead_letter"), 0);

	/* one reading of the first (closed) day again with another energy: a conflict */
	change_kwh(city.first[0], 0.5, changed, sizeof(changed));
	produce_line(&w, "changed.jsonl", changed);
	e2e_riskd_run_until_idle(&w, 3, 120);
	usage_digest(w.dsn, after, sizeof(after));
	cr_assert_str_eq(after, before, "a conflicting reading changed daily usage");
	cr_assert_eq(counted(w.dsn, "meter_reading", "dead_letter"), 1);
	struct e2e_dead_letter *dl;
	size_t n = e2e_read_dead_letters(&w, &dl);
	cr_assert_eq(n, 1, "dead letters: %zu", n);
	cr_assert_str_eq(dl[0].payload, changed, "the original bytes");
	cr_assert_not_null(strstr(dl[0].error, "conflict"), "x-error: %s", dl[0].error);
	cr_assert_str_eq(dl[0].source_topic, w.topics[0]);
	e2e_dead_letters_free(dl, n);

	/* applied as a correction: the day's total moves by exactly the difference */
	FILE *f = fopen(w.config, "a");
	cr_assert_not_null(f);
	fprintf(f, "ingest:\n  restatements: apply\n");
	fclose(f);
	reading_key(city.first[1], customer, sizeof(customer), day, sizeof(day));
	int64_t uwh = day_uwh(w.dsn, customer, day, "kwh_uwh");
	int64_t readings = day_uwh(w.dsn, customer, day, "readings");
	change_kwh(city.first[1], 0.25, changed, sizeof(changed));
	produce_line(&w, "restated.jsonl", changed);
	e2e_riskd_run_until_idle(&w, 3, 120);
	cr_assert_eq(day_uwh(w.dsn, customer, day, "kwh_uwh"), uwh + 250000);
	cr_assert_eq(day_uwh(w.dsn, customer, day, "readings"), readings, "no reading added");
	cr_assert_eq(counted(w.dsn, "meter_reading", "dead_letter"), 1, "no new dead letter");
	/* and the correction, sent once more, is a duplicate */
	produce_line(&w, "restated-again.jsonl", changed);
	e2e_riskd_run_until_idle(&w, 3, 120);
	cr_assert_eq(day_uwh(w.dsn, customer, day, "kwh_uwh"), uwh + 250000);
	cr_assert_eq(counted(w.dsn, "meter_reading", "duplicate"), city.readings + 1);
}

/* The open day: its coverage travels with the state snapshot, so a reading of the day riskd
 * was still filling when it stopped is caught after the restart too. */
Test(duplicates, the_open_days_readings_are_caught_after_a_restart, .timeout = 300)
{
	struct e2e_world w;
	char path[1400], before[256], after[256];
	e2e_world_new(&w, "dups_open", 1, 100);
	snprintf(path, sizeof(path), "%s/day.jsonl", w.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int half = 0; half < 6; half++)
		fprintf(f,
		        "{\"type\":\"meter_reading\",\"event_id\":\"o-%d\",\"ts\":\"2026-02-01T0%d:%s:00"
		        "+08:00\",\"customer_id\":\"C1\",\"meter_id\":\"M1\",\"kwh\":0.%d25,"
		        "\"interval_s\":1800}\n",
		        half, half / 2, half % 2 ? "30" : "00", half + 1);
	fclose(f);
	e2e_produce_file(&w, path);
	e2e_riskd_run_until_idle(&w, 2, 120);
	usage_digest(w.dsn, before, sizeof(before));
	cr_assert_eq(day_uwh(w.dsn, "C1", "2026-02-01", "readings"), 6, "the open day is stored");
	e2e_produce_file(&w, path);
	e2e_riskd_run_until_idle(&w, 2, 120);
	usage_digest(w.dsn, after, sizeof(after));
	cr_assert_str_eq(after, before);
	cr_assert_eq(counted(w.dsn, "meter_reading", "duplicate"), 6);
	cr_assert_eq(day_uwh(w.dsn, "C1", "2026-02-01", "kwh_uwh"), 2250000);
}

/* Writes lines[0..n) to dir/name and produces them. */
static void produce_lines(struct e2e_world *w, const char *name, const char *const *lines,
                          size_t n)
{
	char path[1400];
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
	e2e_produce_file(w, path);
}

#define BILLING_LINE(type, id, day, rest)                                                      \
	"{\"type\":\"" type "\",\"event_id\":\"" id "\",\"ts\":\"2026-03-" day "T10:00:00+08:00\"," \
	"\"customer_id\":\"C7\"," rest "}"

/* Bills, payments and reversals are unique by their ids for ever: sent again after a restart,
 * past what the customer's state remembers, each is counted as a duplicate and changes no
 * payment figure. */
Test(duplicates, bills_payments_and_reversals_are_unique_for_ever, .timeout = 300)
{
	static const char *const first[] = {
	    BILLING_LINE("bill", "b1", "01", "\"bill_id\":\"B1\",\"amount\":100,"
	                                     "\"due_date\":\"2026-03-15\""),
	    BILLING_LINE("payment", "p1", "02", "\"amount\":60"),
	    BILLING_LINE("payment_reversal", "r1", "03", "\"amount\":60,\"payment_event_id\":\"p1\""),
	    /* more billing events than the state's recent event ids remember */
	    BILLING_LINE("payment", "p2", "04", "\"amount\":5"),
	    BILLING_LINE("payment", "p3", "05", "\"amount\":5"),
	    BILLING_LINE("payment", "p4", "06", "\"amount\":5"),
	    BILLING_LINE("payment", "p5", "07", "\"amount\":5"),
	    BILLING_LINE("payment", "p6", "08", "\"amount\":5"),
	};
	static const char *const again[] = {
	    /* the same bill under a new event_id, the same payment, the same reversal */
	    BILLING_LINE("bill", "b1-resent", "01", "\"bill_id\":\"B1\",\"amount\":100,"
	                                            "\"due_date\":\"2026-03-15\""),
	    BILLING_LINE("payment", "p1", "02", "\"amount\":60"),
	    BILLING_LINE("payment_reversal", "r1-resent", "03",
	                 "\"amount\":60,\"payment_event_id\":\"p1\""),
	    /* and a new payment, which counts */
	    BILLING_LINE("payment", "p7", "09", "\"amount\":5"),
	};
	const char *owed_sql = "select (balance_owed * 100)::bigint from risk.customer_credit";
	struct e2e_world w;
	e2e_world_new(&w, "dups_billing", 2, 100);
	produce_lines(&w, "first.jsonl", first, sizeof(first) / sizeof(first[0]));
	e2e_riskd_run_until_idle(&w, 2, 120);
	/* graded through the day before the newest billing day (docs/credit.md): 100 billed, 60
	 * paid and reversed, 4 x 5 paid (p6, on the newest day, is not graded yet) */
	cr_assert_eq(e2e_query_int(w.dsn, owed_sql), 8000);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.billing_event_ids"), 8);

	produce_lines(&w, "again.jsonl", again, sizeof(again) / sizeof(again[0]));
	e2e_riskd_run_until_idle(&w, 2, 120);
	cr_assert_eq(counted(w.dsn, "bill", "duplicate"), 1);
	cr_assert_eq(counted(w.dsn, "payment", "duplicate"), 1);
	cr_assert_eq(counted(w.dsn, "payment_reversal", "duplicate"), 1);
	cr_assert_eq(counted(w.dsn, "payment", "accepted"), 7);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.ingest_counts"
	                                  " where outcome = 'dead_letter'"), 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.billing_event_ids"), 9);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.billing_repeats"), 3);
	/* graded through p7's day before: p6 counts now; the repeats would have billed 100 more
	 * and paid nothing */
	cr_assert_eq(e2e_query_int(w.dsn, owed_sql), 7500);
	produce_lines(&w, "again2.jsonl", again, 3);
	e2e_riskd_run_until_idle(&w, 2, 120);
	cr_assert_eq(counted(w.dsn, "payment", "duplicate"), 2, "and again after another restart");
	cr_assert_eq(counted(w.dsn, "payment", "accepted"), 7);
	cr_assert_eq(e2e_query_int(w.dsn, owed_sql), 7500);
}
