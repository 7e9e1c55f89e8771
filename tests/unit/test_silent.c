/*
 * test_silent.c - silent meters (detector/silent.h): the days of a meter that stops reporting
 * close once its partition's watermark has passed their end plus days.lateness_s, the partial
 * day first, then one empty day after another; a silent day that the theft rules leave below
 * their threshold raises no_data, one whose area carries its usual load on the silent
 * regressor raises theft (rules/theft.yaml, silent_meter_area_loss); a meter back within the
 * lateness closes nothing; a watermark learned again from the state (a restart) closes the
 * same days; a pending score of a build with fewer features reads. The watermark is a
 * quorum's: meters whose clocks run ahead close their own days and no one else's until
 * min(SILENT_QUORUM, ceil(n / 2)) of the partition's n meters have reached a time, and the
 * watermark learned from the state is the live one whatever the readings.
 *
 * A hand-built area: customer C1 (the meter that goes silent, area T1) and C2 (a neighbour
 * whose readings move the watermark), hourly readings from 2026-01-01 in Asia/Shanghai; the
 * quorum's tests add customers C3... without a profile.
 * Runs from the repository root (make test-unit does): the shipped rules/ are read.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "detector/alerts.h"
#include "detector/ingest.h"
#include "detector/rescore.h"
#include "detector/silent.h"

#define D0 20454 /* 2026-01-01 */
#define HOUR 3600
#define MIDNIGHT(day) ((int64_t)(day) * 86400 - 8 * HOUR)
#define LATENESS 7200
#define MAX_CLOSED 1024

/* A day the sweep closed: whose, which, and what it raised. */
struct closed_day {
	char customer[16];
	int32_t day;
	int readings;
	int alert;              /* -1 none, else enum scorer_alert_kind */
	double silent_hours;
	int silent_rule;        /* the alert lists silent_meter_area_loss */
};

struct fixture {
	struct ingest in;
	struct silent_sweep sweep;
	struct ingest_result r;
	struct closed_day closed[MAX_CLOSED];
	int n_closed;
	int normal_no_data;     /* no_data raised by a reading's close (never expected) */
	int32_t partition;      /* the input partition of the next events */
	char err[256];
	int seq;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(localday_init(&f->in.localday, "Asia/Shanghai", f->err, sizeof(f->err)), 0);
	struct rbuf diag = {0};
	f->in.scorer = scorer_new("rules", &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(f->in.scorer, "%s", diag.data);
	rbuf_free(&diag);
	f->in.customers = cstate_table_new(16);
	f->in.transformers = cstate_table_new(16);
	f->in.max_kw_unknown_profile = 10;
	silent_sweep_init(&f->sweep, LATENESS);
}

static void fixture_fini(struct fixture *f)
{
	silent_sweep_free(&f->sweep);
	cstate_table_destroy(f->in.customers);
	cstate_table_destroy(f->in.transformers);
	scorer_free(f->in.scorer);
}

static void on_closed(void *arg, struct ingest_result *r)
{
	struct fixture *f = arg;
	cr_assert_lt(f->n_closed, MAX_CLOSED);
	struct closed_day *c = &f->closed[f->n_closed++];
	snprintf(c->customer, sizeof(c->customer), "%s", cstate_id(r->cs));
	c->day = r->closed.day;
	c->readings = r->closed.readings;
	c->alert = r->has_alert ? (int)r->alert.kind : -1;
	if (r->has_alert) {
		char rules[4096];
		const struct rbuf *json = r->alert.rules_json;
		size_t len = json->len < sizeof(rules) - 1 ? json->len : sizeof(rules) - 1;
		memcpy(rules, json->data, len);
		rules[len] = '\0';
		c->silent_rule = strstr(rules, "\"silent_meter_area_loss\"") != NULL;
	}
	const struct feature_vec *fv = scorer_last_features(f->in.scorer);
	c->silent_hours = fv->value[FEAT_SILENT_HOURS];
	cr_assert(r->silent);
	cr_assert_eq(r->day_result, DAILY_CLOSED_DAY);
}

/* One event through the sweep as the pipeline runs it: learn, apply, sweep. */
static void apply(struct fixture *f, struct event *ev)
{
	int reading = ev->type == EVENT_METER_READING;
	if (reading)
		silent_sweep_before(&f->sweep, &f->in, f->partition);
	ingest_event(&f->in, ev, f->partition, &f->r, f->err, sizeof(f->err));
	cr_assert_eq(f->r.outcome, INGEST_ACCEPTED, "%s", f->err);
	if (f->r.has_alert && f->r.alert.kind == SCORER_KIND_NO_DATA)
		f->normal_no_data++;
	if (reading && f->r.has_usage) {
		const struct silent_hooks hooks = {NULL, on_closed, f};
		silent_sweep_after(&f->sweep, &f->in, f->partition, f->r.cs, &hooks);
	}
}

static void profile(struct fixture *f, const char *customer)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_CUSTOMER;
	ev.ts = MIDNIGHT(D0) - HOUR;
	snprintf(ev.event_id, sizeof(ev.event_id), "p-%s", customer);
	snprintf(ev.entity_id, sizeof(ev.entity_id), "%s", customer);
	ev.u.customer.segment = SEGMENT_RESIDENTIAL;
	snprintf(ev.u.customer.transformer_id, sizeof(ev.u.customer.transformer_id), "T1");
	apply(f, &ev);
}

static void reading(struct fixture *f, const char *customer, int64_t ts, double kwh)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_METER_READING;
	ev.ts = ts;
	ev.ts_utc_offset_s = 8 * HOUR;
	snprintf(ev.event_id, sizeof(ev.event_id), "r-%d", ++f->seq);
	snprintf(ev.entity_id, sizeof(ev.entity_id), "%s", customer);
	snprintf(ev.u.reading.meter_id, sizeof(ev.u.reading.meter_id), "M-%s", customer);
	ev.u.reading.kwh = kwh;
	ev.u.reading.interval_s = HOUR;
	apply(f, &ev);
}

/* Hourly readings of C2 from hour `from` to hour `to` (exclusive) after D0's midnight, and of
 * C1 too while its hour is before c1_until (hours after D0's midnight). With forget_at >= 0,
 * the watermark is forgotten before that hour, as a restart leaves it. */
static void run(struct fixture *f, int from, int to, int c1_until, int forget_at)
{
	for (int h = from; h < to; h++) {
		if (h == forget_at)
			silent_sweep_forget(&f->sweep);
		int64_t ts = MIDNIGHT(D0) + (int64_t)h * HOUR;
		double kwh = 0.3 + 0.2 * ((h % 24) >= 18); /* the evening uses more */
		if (h < c1_until)
			reading(f, "C1", ts, kwh);
		reading(f, "C2", ts, kwh);
	}
}

/* The area T1 attributed at hourly resolution, with C1's finding (NULL: none). */
static void area_with(struct fixture *f, const struct attrib_finding *c1)
{
	struct area_table *t = scorer_areas(f->in.scorer);
	struct area_balance b;
	memset(&b, 0, sizeof(b));
	snprintf(b.transformer_id, sizeof(b.transformer_id), "T1");
	b.loss_rate = 0.05;
	b.loss_excess = NAN;
	b.last_day = D0 + 30;
	for (int i = 0; i < AREA_SERIES_DAYS; i++)
		b.rate[i] = NAN;
	b.attrib_resolution_s = 3600;
	b.attrib_end_day = D0 + 30;
	area_table_reset(t);
	area_table_add(t, &b);
	if (c1)
		area_table_add_finding(t, "C1", c1);
}

#define SILENT_FROM (30 * 24 + 10) /* C1's last reading starts at 09:00 of day D0 + 30 */

/* C1 silent from 10:00 of day 30 with its area's loss flat: its partial day closes at 02:00
 * of day 31 (silent_hours 14, no alert), then each empty day at 02:00 of the next, with
 * silent_hours 24 a day and a no_data alert. */
Test(silent, flat_area_loss_raises_no_data)
{
	struct fixture f;
	fixture_init(&f);
	profile(&f, "C1");
	area_with(&f, NULL);
	run(&f, 0, SILENT_FROM, SILENT_FROM, -1);
	cr_assert_eq(f.n_closed, 0, "nothing silent while C1 reports");
	run(&f, SILENT_FROM, 31 * 24 + 2, SILENT_FROM, -1);
	cr_assert_eq(f.n_closed, 0, "day 30 ends at midnight: the lateness runs to 02:00");
	run(&f, 31 * 24 + 2, 33 * 24 + 3, SILENT_FROM, -1);
	cr_assert_eq(f.n_closed, 3);
	cr_assert_str_eq(f.closed[0].customer, "C1");
	cr_assert_eq(f.closed[0].day, D0 + 30);
	cr_assert_eq(f.closed[0].readings, 10);
	cr_assert_float_eq(f.closed[0].silent_hours, 14.0, 1e-9);
	cr_assert_eq(f.closed[0].alert, -1, "a day with readings is not no_data");
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(f.closed[i].day, D0 + 30 + i);
		cr_assert_eq(f.closed[i].readings, 0);
		cr_assert_float_eq(f.closed[i].silent_hours, 24.0 * i, 1e-9);
		cr_assert_eq(f.closed[i].alert, SCORER_KIND_NO_DATA);
	}
	cr_assert_eq(f.closed[1].silent_rule, 0);
	cr_assert_eq(f.normal_no_data, 0);
	fixture_fini(&f);
}

/* The same silence, with the area's attribution carrying C1's usual load on its silent
 * regressor: the empty days are theft (silent_meter_area_loss), not no_data. */
Test(silent, area_loss_of_its_usual_load_raises_theft)
{
	struct fixture f;
	fixture_init(&f);
	profile(&f, "C1");
	const struct attrib_finding c1 = {.window_end_day = D0 + 30, .resolution_s = 3600,
	                                  .share = 0.9f, .kwh_day = 8.0f, .stolen_kwh = 224.0f,
	                                  .z = 9.0f, .carrier = ATTRIB_REG_SILENT};
	area_with(&f, &c1);
	run(&f, 0, 33 * 24 + 3, SILENT_FROM, -1);
	cr_assert_eq(f.n_closed, 3);
	cr_assert_eq(f.closed[0].alert, -1);
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(f.closed[i].alert, SCORER_KIND_THEFT, "day %d", i);
		cr_assert(f.closed[i].silent_rule, "day %d: silent_meter_area_loss", i);
	}
	fixture_fini(&f);
}

/* C1 skips the last hours of day 30 and is back at 01:00 of day 31, before the watermark
 * passes 02:00: its day closes with that reading, nothing closes silent, nothing is raised. */
Test(silent, back_within_the_lateness_closes_nothing)
{
	struct fixture f;
	fixture_init(&f);
	profile(&f, "C1");
	area_with(&f, NULL);
	run(&f, 0, 30 * 24 + 22, 30 * 24 + 22, -1);
	run(&f, 30 * 24 + 22, 31 * 24 + 1, 0, -1);   /* C2 only */
	run(&f, 31 * 24 + 1, 34 * 24, 34 * 24, -1);  /* both again */
	cr_assert_eq(f.n_closed, 0);
	cr_assert_eq(f.normal_no_data, 0);
	const struct cstate *c1 = cstate_table_get(f.in.customers, "C1", 2);
	cr_assert_not_null(c1);
	cr_assert_eq(c1->flags & CSTATE_F_SILENT, 0);
	cr_assert_eq(c1->open_day, D0 + 33);
	fixture_fini(&f);
}

/* A meter that comes back after its days closed silent opens its own day; the late reading
 * of a closed day is late. */
Test(silent, a_meter_back_after_the_lateness_opens_its_day)
{
	struct fixture f;
	fixture_init(&f);
	profile(&f, "C1");
	area_with(&f, NULL);
	run(&f, 0, 32 * 24 + 5, SILENT_FROM, -1);
	cr_assert_eq(f.n_closed, 2); /* day 30 (partial) and day 31 (empty) */
	reading(&f, "C1", MIDNIGHT(D0 + 32) + 5 * HOUR, 0.4);
	cr_assert_eq(f.r.day_result, DAILY_SAME_DAY, "back: its day opens, nothing closes");
	const struct cstate *c1 = cstate_table_get(f.in.customers, "C1", 2);
	cr_assert_eq(c1->open_day, D0 + 32);
	cr_assert_eq(c1->flags & CSTATE_F_SILENT, 0);
	reading(&f, "C1", MIDNIGHT(D0 + 31) + 5 * HOUR, 0.4);
	cr_assert_eq(f.r.day_result, DAILY_LATE);
	fixture_fini(&f);
}

/* A restart forgets the watermark; learned again from the state before the next reading, it
 * closes the same days with the same outcomes as a run that never stopped. */
Test(silent, a_restart_closes_the_same_days)
{
	struct fixture a, b;
	fixture_init(&a);
	fixture_init(&b);
	profile(&a, "C1");
	profile(&b, "C1");
	area_with(&a, NULL);
	area_with(&b, NULL);
	run(&a, 0, 35 * 24, SILENT_FROM, -1);
	run(&b, 0, 35 * 24, SILENT_FROM, 31 * 24 + 1);
	/* forgotten just before the hour that passes the lateness: learned, then swept */
	cr_assert_eq(a.n_closed, 4); /* days 30 (partial) to 33: 34 ends after the run */
	cr_assert_eq(b.n_closed, a.n_closed);
	for (int i = 0; i < a.n_closed; i++) {
		cr_assert_str_eq(a.closed[i].customer, b.closed[i].customer);
		cr_assert_eq(a.closed[i].day, b.closed[i].day);
		cr_assert_eq(a.closed[i].alert, b.closed[i].alert);
		cr_assert_float_eq(a.closed[i].silent_hours, b.closed[i].silent_hours, 0);
	}
	fixture_fini(&a);
	fixture_fini(&b);
}

/* The id of the quorum tests' customer c: C01, C02, ... (in id order as in number order). */
static const char *meter(int c)
{
	static char id[16];
	snprintf(id, sizeof(id), "C%02d", c);
	return id;
}

/* Hourly readings of customers C01..Cn for the hours [from, to) after D0's midnight. */
static void run_meters(struct fixture *f, int n, int from, int to)
{
	for (int h = from; h < to; h++)
		for (int c = 1; c <= n; c++)
			reading(f, meter(c), MIDNIGHT(D0) + (int64_t)h * HOUR, 0.3);
}

#define AHEAD_FROM (5 * 24 + 10) /* 10:00 of day 5 */
#define AHEAD_S (20 * 86400)     /* how far the wrong clocks run ahead */

/* Eight meters; from 10:00 of day 5 on, C03's clock runs 20 days ahead, then C05's (day 6)
 * and C06's (day 7) too: three meters, one fewer than the quorum. Each closes its own days
 * through its own readings (C03's first reading ahead closes its day 5 at once), and no
 * other meter's day closes silent or raises no_data. */
Test(silent, clocks_ahead_close_only_their_own_days)
{
	struct fixture f;
	fixture_init(&f);
	run_meters(&f, 8, 0, AHEAD_FROM);
	for (int h = AHEAD_FROM; h < 8 * 24 + 5; h++)
		for (int c = 1; c <= 8; c++) {
			int ahead = c == 3 || (c == 5 && h >= 6 * 24) || (c == 6 && h >= 7 * 24);
			reading(&f, meter(c), MIDNIGHT(D0) + (int64_t)h * HOUR + (ahead ? AHEAD_S : 0), 0.3);
			if (c == 3 && h == AHEAD_FROM) {
				cr_assert_eq(f.r.day_result, DAILY_CLOSED_DAY, "C03's own day closes");
				cr_assert_eq(f.r.closed.day, D0 + 5);
				cr_assert_eq(f.r.closed.readings, 10);
			}
			cr_assert_eq(f.n_closed, 0, "hour %d, %s: a meter ahead closed %s's day %d", h,
			             meter(c), f.closed[0].customer, f.closed[0].day - D0);
		}
	cr_assert_eq(f.normal_no_data, 0);
	/* days 0-7, or the days before the clock jumped, its day then and its days ahead */
	static const int32_t days_closed[8] = {8, 8, 5 + 1 + 3, 8, 6 + 2, 7 + 1, 8, 8};
	for (int c = 1; c <= 8; c++) {
		const struct cstate *cs = cstate_table_get(f.in.customers, meter(c), 3);
		int ahead = c == 3 || c == 5 || c == 6;
		cr_assert_eq(cs->open_day, D0 + 8 + (ahead ? 20 : 0), "%s", meter(c));
		cr_assert_eq(cs->flags & CSTATE_F_SILENT, 0, "%s", meter(c));
		cr_assert_eq(cs->days_closed, days_closed[c - 1], "%s: its own days", meter(c));
	}
	fixture_fini(&f);
}

/* n meters read hourly to 10:00 of day 5; then meters C01, C02, ... one after another send a
 * reading three days ahead. The first `quorum` - 1 of them move nothing; the quorum-th moves
 * the watermark past days 5 to 7, whose ends plus the lateness it now passes: every other
 * meter's day 5 (ten readings) closes silent, then its empty days 6 and 7, in id order. */
static void quorum_moves(int n, int quorum)
{
	struct fixture f;
	fixture_init(&f);
	run_meters(&f, n, 0, AHEAD_FROM);
	int64_t ahead = MIDNIGHT(D0 + 8) + 10 * HOUR;
	for (int c = 1; c < quorum; c++) {
		reading(&f, meter(c), ahead, 0.3);
		cr_assert_eq(f.n_closed, 0, "n %d: %d meter(s) ahead of %d moved the watermark", n, c,
		             quorum);
	}
	reading(&f, meter(quorum), ahead, 0.3);
	cr_assert_eq(f.n_closed, 3 * (n - quorum), "n %d: the quorum of %d moves it", n, quorum);
	int i = 0;
	for (int c = quorum + 1; c <= n; c++) /* the quorum reached day 8 itself */
		for (int d = 5; d <= 7; d++, i++) {
			cr_assert_str_eq(f.closed[i].customer, meter(c), "n %d", n);
			cr_assert_eq(f.closed[i].day, D0 + d, "n %d, %s", n, meter(c));
			cr_assert_eq(f.closed[i].readings, d == 5 ? 10 : 0, "n %d, %s", n, meter(c));
		}
	fixture_fini(&f);
}

/* The quorum is min(SILENT_QUORUM, ceil(n / 2)) of a partition's n meters with readings. */
Test(silent, a_quorum_of_meters_moves_the_watermark)
{
	static const struct {
		int meters, quorum;
	} cases[] = {{2, 1}, {3, 2}, {4, 2}, {5, 3}, {6, 3}, {7, 4}, {8, 4}, {9, 4}, {12, 4}};
	cr_assert_eq(SILENT_QUORUM, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		quorum_moves(cases[i].meters, cases[i].quorum);
}

/* One meter sending reading after reading ahead counts once: with three meters (quorum 2),
 * C01 alone, however many readings ahead, moves nothing; C02 joining it at 03:00 of day 8
 * closes C03's days 5 to 7. */
Test(silent, a_meter_counts_once_however_many_readings_ahead)
{
	struct fixture f;
	fixture_init(&f);
	run_meters(&f, 3, 0, AHEAD_FROM);
	for (int h = 0; h < 48; h++)
		reading(&f, meter(1), MIDNIGHT(D0 + 8) + (int64_t)h * HOUR, 0.3);
	cr_assert_eq(f.n_closed, 0);
	reading(&f, meter(2), MIDNIGHT(D0 + 8) + 3 * HOUR, 0.3);
	cr_assert_eq(f.n_closed, 3, "C01 and C02 agree: C03's days 5 to 7 close");
	cr_assert_str_eq(f.closed[2].customer, meter(3));
	cr_assert_eq(f.closed[2].day, D0 + 7);
	fixture_fini(&f);
}

/* What the watermark of `partition` must be: the quorum-th newest last_ts of its customers
 * with a reading, counted by brute force over the table. */
struct newest {
	int32_t partition;
	int n;
	int64_t last_ts[64];
};

static int newest_one(struct cstate *cs, void *arg)
{
	struct newest *nw = arg;
	if (cs->partition != nw->partition || cs->last_ts <= 0)
		return 0;
	cr_assert_lt(nw->n, 64);
	int at = nw->n++;
	for (; at > 0 && nw->last_ts[at - 1] < cs->last_ts; at--)
		nw->last_ts[at] = nw->last_ts[at - 1];
	nw->last_ts[at] = cs->last_ts;
	return 0;
}

static int64_t expected_watermark(struct fixture *f, int32_t partition)
{
	struct newest nw = {.partition = partition};
	cstate_table_foreach(f->in.customers, newest_one, &nw);
	if (nw.n == 0)
		return 0;
	int quorum = (nw.n + 1) / 2;
	return nw.last_ts[(quorum < SILENT_QUORUM ? quorum : SILENT_QUORUM) - 1];
}

#define RANDOM_METERS 20
#define RANDOM_PARTITIONS 3

/* A reproducible stream: 20 meters on 3 partitions (C01 on 0, C02 on 1, ...), read in random order
 * around a clock that moves an hour every 20 readings, each meter's readings an hour or more
 * apart; now and then a meter's clock jumps up to ten days ahead and stays there, and some
 * meters fall silent for good. The live watermark of every partition equals the brute-force
 * quorum and the one learned from the state after each reading; a second run that forgets
 * its watermarks every few readings (as restarts do) closes the same days in the same order. */
Test(silent, the_watermark_learned_from_the_state_is_the_live_one)
{
	static struct fixture live, restarted;
	struct silent_sweep learned;
	int64_t last[RANDOM_METERS] = {0};
	int silent_after[RANDOM_METERS];
	uint32_t rnd = 12345;
	fixture_init(&live);
	fixture_init(&restarted);
	silent_sweep_init(&learned, LATENESS);
	for (int c = 0; c < RANDOM_METERS; c++)
		silent_after[c] = c % 4 == 1 ? 300 + 97 * c : 1 << 30;
	for (int32_t p = 0; p < RANDOM_PARTITIONS; p++) {
		silent_sweep_before(&live.sweep, &live.in, p);
		cr_assert_eq(silent_sweep_watermark(&live.sweep, p), 0, "no reading yet");
	}
	for (int i = 0; i < 4000; i++) {
		rnd = rnd * 1103515245u + 12345u;
		int c = (int)((rnd >> 8) % RANDOM_METERS);
		if (i >= silent_after[c])
			continue;
		int64_t clock = MIDNIGHT(D0) + (int64_t)(i / 20) * HOUR;
		int64_t ts = clock - 3 * HOUR + (int64_t)((rnd >> 20) % 5) * HOUR;
		if ((rnd >> 4) % 150 == 0)
			ts = clock + (int64_t)(1 + (rnd >> 12) % 10) * 86400;
		if (ts < last[c] + HOUR)
			ts = last[c] + HOUR;
		last[c] = ts;
		live.partition = restarted.partition = c % RANDOM_PARTITIONS;
		if (i % 37 == 0)
			silent_sweep_forget(&restarted.sweep);
		reading(&live, meter(c + 1), ts, 0.3);
		reading(&restarted, meter(c + 1), ts, 0.3);
		for (int32_t p = 0; p < RANDOM_PARTITIONS; p++) {
			int64_t w = silent_sweep_watermark(&live.sweep, p);
			cr_assert_eq(w, expected_watermark(&live, p), "reading %d, partition %d", i, p);
			silent_sweep_forget(&learned);
			silent_sweep_before(&learned, &live.in, p);
			cr_assert_eq(silent_sweep_watermark(&learned, p), w, "reading %d, partition %d", i,
			             p);
		}
	}
	cr_assert_gt(live.n_closed, 0, "some days closed silent");
	cr_assert_eq(restarted.n_closed, live.n_closed);
	for (int i = 0; i < live.n_closed; i++) {
		cr_assert_str_eq(restarted.closed[i].customer, live.closed[i].customer, "close %d", i);
		cr_assert_eq(restarted.closed[i].day, live.closed[i].day, "close %d", i);
		cr_assert_eq(restarted.closed[i].readings, live.closed[i].readings, "close %d", i);
	}
	silent_sweep_free(&learned);
	fixture_fini(&live);
	fixture_fini(&restarted);
}

/* The no_data alert's rules: one entry shaped as a rule's, with the silence as evidence. */
Test(silent, no_data_evidence)
{
	struct feature_vec fv;
	struct rbuf out = {0};
	feature_vec_clear(&fv);
	feature_set(&fv, FEAT_SILENT_HOURS, 48);
	feature_set(&fv, FEAT_KWH_AVG_14D, 7.5);
	alert_no_data_json(&fv, &out);
	rbuf_append(&out, "", 1);
	cr_assert_str_eq(out.data,
	                 "[{\"id\":\"no_data\",\"title\":\"" ALERT_NO_DATA_TITLE "\",\"score\":0,"
	                 "\"severity\":\"low\",\"evidence\":{\"silent_hours\":48,"
	                 "\"kwh_avg_14d\":7.5,\"area_attrib_carrier\":null,"
	                 "\"area_attrib_kwh_day\":null,\"area_attrib_z\":null,"
	                 "\"area_loss_excess\":null}}]");
	rbuf_free(&out);
}

/* A pending score written by a build whose registry ended one feature earlier (before
 * silent_hours) still reads - the registry only appends -, and one whose features differ
 * does not. */
Test(silent, pending_score_of_fewer_features_reads)
{
	struct scorer_deferred d, back;
	struct rbuf packed = {0};
	char errstr[256];
	memset(&d, 0, sizeof(d));
	d.day = D0 + 3;
	feature_vec_clear(&d.fv);
	feature_set(&d.fv, FEAT_KWH_DAY, 5.5);
	rescore_pack(&d, NULL, &packed);
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)), 0);
	cr_assert(feature_known(&back.fv, FEAT_KWH_DAY));
	/* as the older build wrote it: one feature less, its signature, the same known words
	 * (both counts need two) and no value of the last feature (not known) */
	uint32_t n = FEAT__COUNT - 1;
	cr_assert_eq((n + 63) / 64, (FEAT__COUNT + 63) / 64);
	uint64_t sig = rescore_registry_signature((int)n);
	memcpy(packed.data + 4, &n, sizeof(n));
	memcpy(packed.data + 8, &sig, sizeof(sig));
	cr_assert_eq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)), 0,
	             "%s", errstr);
	cr_assert(feature_known(&back.fv, FEAT_KWH_DAY));
	cr_assert_float_eq(back.fv.value[FEAT_KWH_DAY], 5.5, 0);
	cr_assert(!feature_known(&back.fv, FEAT_SILENT_HOURS));
	/* another registry of as many features: refused */
	sig ^= 2;
	memcpy(packed.data + 8, &sig, sizeof(sig));
	cr_assert_neq(rescore_unpack(packed.data, packed.len, NULL, &back, errstr, sizeof(errstr)), 0);
	rbuf_free(&packed);
}
