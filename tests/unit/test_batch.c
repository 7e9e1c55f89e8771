/*
 * test_batch.c - one batch's effects before its commit (detector/batch.h): energy per
 * (entity, local day) added or set whole, profiles, outcome counts, outbox messages, alerts,
 * grades and payment status, state snapshots encoded when added; what batch_to_store lays
 * out (and leaves to the caller); reset for the next batch; and memory kept across batches so
 * that a warm batch does not allocate.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector/batch.h"

/* 2026-01-01 */
#define D0 20454

static void entity(struct cstate *cs, const char *id)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, id);
}

/* Starts batch b and customer c1 ("C1"). */
static void start_one(struct batch *b, struct cstate *c1)
{
	batch_init(b);
	entity(c1, "C1");
}

static struct store_batch to_store(struct batch *b)
{
	struct store_batch sb;
	memset(&sb, 0, sizeof(sb));
	batch_to_store(b, &sb);
	return sb;
}

/* b holds nothing to commit and lays out no row. */
static void assert_empty(struct batch *b)
{
	cr_assert_not(batch_has_rows(b));
	struct store_batch sb = to_store(b);
	cr_assert_eq(sb.usage_count + sb.transformer_count + sb.profile_count + sb.snapshot_count +
	                 sb.count_count + sb.outbox_count + sb.alert_count + sb.grade_count +
	                 sb.credit_count,
	             0);
}

/* The row of (id, day) among rows, or NULL; fails when there are several. */
static const struct store_usage *find_usage(const struct store_usage *rows, size_t n,
                                            const char *id, int32_t day)
{
	const struct store_usage *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].id, id) == 0 && rows[i].day == day) {
			cr_assert_null(found, "two rows for (%s, %d)", id, day);
			found = &rows[i];
		}
	}
	return found;
}

Test(batch, an_empty_batch_has_nothing_to_commit)
{
	struct batch b;
	batch_init(&b);
	assert_empty(&b);
	batch_free(&b);
	batch_free(&b); /* a freed batch is zeroed: freeing it again is harmless */
}

Test(batch, readings_add_up_per_entity_and_local_day)
{
	struct batch b;
	struct cstate c1, c2, t1;
	batch_init(&b);
	entity(&c1, "C1");
	entity(&c2, "C2");
	entity(&t1, "C1"); /* a transformer may share a customer's id */

	batch_add_usage(&b.usage, &c1, D0, 1000, 900);
	batch_add_usage(&b.usage, &c2, D0, 50, 900);
	batch_add_usage(&b.usage, &c1, D0, 2500, 1800);
	batch_add_usage(&b.usage, &c1, D0 + 1, 7, 60);
	batch_add_usage(&b.usage, &c1, D0 - 3, 0, 900); /* a late reading of nothing */
	batch_add_usage(&b.transformer, &t1, D0, 99, 3600);

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 4);
	const struct store_usage *u = find_usage(sb.usage, sb.usage_count, "C1", D0);
	cr_assert_not_null(u);
	cr_assert_eq(u->id, cstate_id(&c1), "the id is borrowed from the entity");
	cr_assert_eq(u->uwh, 3500);
	cr_assert_eq(u->readings, 2);
	cr_assert_eq(u->covered_s, 2700);
	cr_assert_not(u->whole_day, "additions to the stored row");
	u = find_usage(sb.usage, sb.usage_count, "C1", D0 + 1);
	cr_assert(u && u->uwh == 7 && u->readings == 1 && u->covered_s == 60);
	u = find_usage(sb.usage, sb.usage_count, "C1", D0 - 3);
	cr_assert(u && u->uwh == 0 && u->readings == 1 && u->covered_s == 900);
	u = find_usage(sb.usage, sb.usage_count, "C2", D0);
	cr_assert(u && u->uwh == 50 && u->readings == 1);

	cr_assert_eq(sb.transformer_count, 1, "transformers have their own map");
	cr_assert_eq(sb.transformer[0].id, cstate_id(&t1));
	cr_assert_eq(sb.transformer[0].uwh, 99);
	cr_assert_eq(sb.transformer[0].readings, 1);
	batch_free(&b);
}

Test(batch, hourly_sums_add_up_per_entity_day_beside_the_daily_rows)
{
	struct batch b;
	struct cstate c1, c2;
	batch_init(&b);
	entity(&c1, "C1");
	entity(&c2, "C2");

	/* a daily row first, then hourly sums for its day and for days without a daily row */
	batch_add_usage(&b.usage, &c1, D0, 10, 900);
	batch_add_hours(&b.usage, &c1, D0, 0, 900, 10);
	batch_add_hours(&b.usage, &c1, D0, 900, 900, 20);
	batch_add_hours(&b.usage, &c1, D0, 7200, 7200, 9); /* 02:00-04:00: 4 + 5 */
	batch_add_hours(&b.usage, &c2, D0 + 1, 3600, 3600, 0);
	batch_set_usage(&b.usage, &c1, D0 + 2, 500, 96, 86400);

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 3, "one row per entity-day: C1 D0, C2 D0+1, C1 D0+2");
	cr_assert_eq(sb.hours, b.usage.hours);
	cr_assert_eq(sb.hours_count, sb.usage_count, "hours are parallel to the usage rows");
	cr_assert_eq(sb.transformer_hours_count, 0);
	int with_hours = 0;
	for (size_t i = 0; i < sb.hours_count; i++) {
		const struct store_hours *h = &sb.hours[i];
		if (!h->sums.mask)
			continue;
		with_hours++;
		if (strcmp(h->id, "C1") == 0) {
			cr_assert_eq(h->day, D0);
			cr_assert_eq(h->sums.mask, 0xdu, "hours 0, 2 and 3");
			cr_assert_eq(h->sums.uwh[0], 30);
			cr_assert_eq(h->sums.uwh[2], 4);
			cr_assert_eq(h->sums.uwh[3], 5);
		} else {
			cr_assert_str_eq(h->id, "C2");
			cr_assert_eq(h->day, D0 + 1);
			cr_assert_eq(h->sums.mask, 2u);
			cr_assert_eq(h->sums.uwh[1], 0);
		}
	}
	cr_assert_eq(with_hours, 2, "the whole day set without readings has no hourly sums");
	/* C2's row is there for its hours only: an empty daily addition */
	const struct store_usage *u = find_usage(sb.usage, sb.usage_count, "C2", D0 + 1);
	cr_assert(u && u->readings == 0 && !u->whole_day && u->uwh == 0);

	batch_reset(&b);
	sb = to_store(&b);
	cr_assert_eq(sb.hours_count, 0, "a reset batch has no hourly rows");
	batch_add_usage(&b.usage, &c2, D0, 1, 900);
	sb = to_store(&b);
	cr_assert_eq(sb.hours_count, 0, "a batch without hourly sums lays none out");
	batch_free(&b);
}

Test(batch, a_whole_day_replaces_what_came_before_and_takes_later_additions)
{
	struct batch b;
	struct cstate c1;
	start_one(&b, &c1);

	batch_add_usage(&b.usage, &c1, D0, 500, 900);
	batch_set_usage(&b.usage, &c1, D0, 40000, 96, 86400);
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 1);
	cr_assert_eq(sb.usage[0].uwh, 40000, "the whole day replaces the addition");
	cr_assert_eq(sb.usage[0].readings, 96);
	cr_assert_eq(sb.usage[0].covered_s, 86400);
	cr_assert(sb.usage[0].whole_day);

	batch_add_usage(&b.usage, &c1, D0, 100, 900);
	sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 1);
	cr_assert_eq(sb.usage[0].uwh, 40100, "a later reading adds to the whole day");
	cr_assert_eq(sb.usage[0].readings, 97);
	cr_assert_eq(sb.usage[0].covered_s, 87300);
	cr_assert(sb.usage[0].whole_day, "and it stays whole");

	batch_set_usage(&b.usage, &c1, D0, 7, 1, 900);
	sb = to_store(&b);
	cr_assert_eq(sb.usage[0].uwh, 7, "set again: replaced again");
	cr_assert_eq(sb.usage[0].readings, 1);
	batch_free(&b);
}

Test(batch, many_entities_and_days_each_keep_their_row)
{
	enum { N = 3000, DAYS = 3 };
	struct cstate *cs = calloc(N, sizeof(*cs));
	cr_assert_not_null(cs);
	for (int i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof(id), "C%05d", i);
		cstate_id_bind(&cs[i], id); /* short: copied */
	}
	struct batch b;
	batch_init(&b);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++)
			for (int d = 0; d < DAYS; d++)
				batch_add_usage(&b.usage, &cs[i], D0 + d, (int64_t)i * 10 + d, 900);
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.usage_count, (size_t)N * DAYS);
	for (size_t k = 0; k < sb.usage_count; k++) {
		const struct store_usage *u = &sb.usage[k];
		int i = atoi(u->id + 1), d = u->day - D0;
		cr_assert(i >= 0 && i < N && d >= 0 && d < DAYS, "row %zu: %s %d", k, u->id, u->day);
		cr_assert_eq(u->id, cstate_id(&cs[i]));
		cr_assert_eq(u->uwh, 2 * ((int64_t)i * 10 + d), "row %zu: %s %d", k, u->id, u->day);
		cr_assert_eq(u->readings, 2);
		cr_assert_eq(u->covered_s, 1800);
	}

	/* One entity over many days (a partition replayed in one batch): a row per day. */
	batch_reset(&b);
	for (int d = 0; d < 600; d++)
		batch_add_usage(&b.usage, &cs[0], D0 + d, d, 900);
	for (int d = 0; d < 600; d += 2)
		batch_add_usage(&b.usage, &cs[0], D0 + d, 1, 900);
	sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 600);
	for (size_t k = 0; k < sb.usage_count; k++) {
		int d = sb.usage[k].day - D0;
		cr_assert_eq(sb.usage[k].uwh, d + (d % 2 == 0), "day %d", d);
		cr_assert_eq(sb.usage[k].readings, 1 + (d % 2 == 0), "day %d", d);
	}
	batch_free(&b);
	free(cs);
}

static struct event profile_event(const char *customer, const char *transformer)
{
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_CUSTOMER;
	snprintf(ev.entity_id, sizeof(ev.entity_id), "%s", customer);
	ev.u.customer.segment = SEGMENT_COMMERCIAL;
	snprintf(ev.u.customer.transformer_id, sizeof(ev.u.customer.transformer_id), "%s",
	         transformer);
	return ev;
}

Test(batch, profiles_are_copied_with_their_optional_fields)
{
	struct batch b;
	batch_init(&b);
	struct event full = profile_event("C1", "T1");
	full.has = EVENT_HAS_TARIFF | EVENT_HAS_CAPACITY_KW | EVENT_HAS_SINCE;
	snprintf(full.u.customer.tariff, sizeof(full.u.customer.tariff), "tou-2");
	full.u.customer.capacity_kw = 7.5;
	full.u.customer.since = D0 - 100;
	batch_add_profile(&b, &full);

	struct event bare = profile_event("C2", "T2");
	/* Leftovers in absent optional fields are not taken. */
	snprintf(bare.u.customer.tariff, sizeof(bare.u.customer.tariff), "stale");
	bare.u.customer.capacity_kw = 99;
	bare.u.customer.since = 5;
	batch_add_profile(&b, &bare);
	memset(&full, 0, sizeof(full)); /* copied, not borrowed */

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.profile_count, 2);
	const struct store_profile *p = &sb.profiles[0];
	cr_assert_str_eq(p->customer_id, "C1");
	cr_assert_eq(p->segment, SEGMENT_COMMERCIAL);
	cr_assert_str_eq(p->transformer_id, "T1");
	cr_assert_str_eq(p->tariff, "tou-2");
	cr_assert_float_eq(p->capacity_kw, 7.5, 1e-9);
	cr_assert_eq(p->since, D0 - 100);
	p = &sb.profiles[1];
	cr_assert_str_eq(p->customer_id, "C2");
	cr_assert_str_eq(p->transformer_id, "T2");
	cr_assert_str_eq(p->tariff, "", "not given");
	cr_assert_float_eq(p->capacity_kw, 0, 1e-9, "not given");
	cr_assert_eq(p->since, INT32_MIN, "not given");
	batch_free(&b);
}

Test(batch, counts_add_one_per_key)
{
	static const char *const meter = "meter.readings", *const billing = "billing.events";
	struct batch b;
	batch_init(&b);
	for (int i = 0; i < 5; i++)
		batch_count(&b, meter, 0, "meter_reading", "accepted");
	batch_count(&b, meter, 1, "meter_reading", "accepted");
	batch_count(&b, meter, 0, "meter_reading", "duplicate");
	batch_count(&b, billing, 0, "bill", "accepted");
	batch_count(&b, meter, 0, "-", "dead_letter");
	batch_count(&b, meter, 0, "meter_reading", "accepted"); /* not the latest key */
	batch_count(&b, meter, 0, "meter_reading", "duplicate");

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.count_count, 5);
	static const struct {
		const char *topic;
		int32_t partition;
		const char *type, *outcome;
		int64_t n;
	} want[] = {
	    {"meter.readings", 0, "meter_reading", "accepted", 6},
	    {"meter.readings", 1, "meter_reading", "accepted", 1},
	    {"meter.readings", 0, "meter_reading", "duplicate", 2},
	    {"billing.events", 0, "bill", "accepted", 1},
	    {"meter.readings", 0, "-", "dead_letter", 1},
	};
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		int64_t n = 0;
		int rows = 0;
		for (size_t i = 0; i < sb.count_count; i++) {
			const struct store_count *c = &sb.counts[i];
			if (strcmp(c->topic, want[w].topic) == 0 && c->partition == want[w].partition &&
			    strcmp(c->event_type, want[w].type) == 0 &&
			    strcmp(c->outcome, want[w].outcome) == 0) {
				n += c->n;
				rows++;
			}
		}
		cr_assert_eq(rows, 1, "one row for %s/%d/%s/%s", want[w].topic, want[w].partition,
		             want[w].type, want[w].outcome);
		cr_assert_eq(n, want[w].n, "%s/%d/%s/%s", want[w].topic, want[w].partition,
		             want[w].type, want[w].outcome);
	}
	batch_free(&b);
}

Test(batch, outbox_messages_are_copied_and_stay_valid_as_the_batch_grows)
{
	struct batch b;
	batch_init(&b);
	char key[16] = "C1", payload[64] = "{\"alert_id\":1}", value[32] = "alert";
	const char *names[5] = {"type", "source", "a", "b", "c"};
	const char *values[5] = {value, "riskd", "1", "2", "3"};
	batch_add_outbox(&b, "risk.review-queue", key, 2, payload, strlen(payload), names, values,
	                 2);
	/* The caller's buffers are reused right away. */
	memset(key, 'x', sizeof(key));
	memset(payload, 'x', sizeof(payload));
	memset(value, 'x', sizeof(value) - 1);
	cr_assert(batch_has_rows(&b), "an outbox message is something to commit");

	/* Binary bytes with NULs, no headers; then more than four headers. */
	static const unsigned char blob[] = {0, 1, 2, 0, 255};
	batch_add_outbox(&b, "risk.dead-letter", "", 0, blob, sizeof(blob), NULL, NULL, 0);
	static const char *const five[5] = {"v0", "v1", "v2", "v3", "v4"};
	batch_add_outbox(&b, "risk.credit-grades", "C2", 2, "{}", 2, names, five, 5);
	/* Many large messages: the arena moves; earlier messages must not. */
	char big[4096];
	for (int i = 0; i < 200; i++) {
		memset(big, 'a' + i % 26, sizeof(big));
		char k[16];
		int klen = snprintf(k, sizeof(k), "K%d", i);
		batch_add_outbox(&b, "risk.review-queue", k, (size_t)klen, big, sizeof(big), names,
		                 five + 1, 1);
	}

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.outbox_count, 203);
	const struct store_outbox *o = &sb.outbox[0];
	cr_assert_str_eq(o->topic, "risk.review-queue");
	cr_assert_eq(o->key_len, 2);
	cr_assert_eq(memcmp(o->key, "C1", 2), 0);
	cr_assert_eq(o->len, strlen("{\"alert_id\":1}"));
	cr_assert_eq(memcmp(o->payload, "{\"alert_id\":1}", o->len), 0);
	cr_assert_eq(o->header_count, 2);
	cr_assert_str_eq(o->header_names[0], "type");
	cr_assert_str_eq(o->header_values[0], "alert", "header values are copied, NUL-terminated");
	cr_assert_str_eq(o->header_names[1], "source");
	cr_assert_str_eq(o->header_values[1], "riskd");

	o = &sb.outbox[1];
	cr_assert_eq(o->key_len, 0);
	cr_assert_eq(o->len, sizeof(blob));
	cr_assert_eq(memcmp(o->payload, blob, sizeof(blob)), 0);
	cr_assert_eq(o->header_count, 0);

	o = &sb.outbox[2];
	cr_assert_eq(o->header_count, 4, "at most 4 headers");
	for (int h = 0; h < 4; h++) {
		cr_assert_str_eq(o->header_names[h], names[h]);
		cr_assert_str_eq(o->header_values[h], five[h]);
	}

	for (int i = 0; i < 200; i++) {
		o = &sb.outbox[3 + i];
		char k[16];
		int klen = snprintf(k, sizeof(k), "K%d", i);
		cr_assert_eq(o->key_len, (size_t)klen);
		cr_assert_eq(memcmp(o->key, k, (size_t)klen), 0, "message %d", i);
		cr_assert_eq(o->len, sizeof(big));
		const char *p = o->payload;
		cr_assert(p[0] == 'a' + i % 26 && p[sizeof(big) - 1] == 'a' + i % 26, "message %d", i);
		cr_assert_str_eq(o->header_values[0], "v1");
	}
	batch_free(&b);
}

Test(batch, alerts_keep_a_copy_of_their_evidence)
{
	struct batch b;
	struct cstate c1, c2;
	batch_init(&b);
	entity(&c1, "C1");
	entity(&c2, "C2");
	struct rbuf rules = {0}, curve = {0}, stolen = {0};
	rbuf_puts(&rules, "[{\"id\":\"big_day\"}]");
	rbuf_puts(&curve, "[{\"day\":\"2026-01-01\",\"kwh\":40}]");
	rbuf_puts(&stolen, "{\"method\":\"shortfall\",\"kwh\":12.5}");
	batch_add_alert(&b, &c1, "theft", D0, 80, "critical", &rules, &curve, &stolen, STORE_STAGE_FINAL);
	rbuf_reset(&rules);
	rbuf_puts(&rules, "[{\"id\":\"other\"}]");
	rbuf_reset(&curve);
	rbuf_puts(&curve, "[]");
	rbuf_reset(&stolen);
	rbuf_puts(&stolen, "{\"method\":\"none\"}");
	batch_add_alert(&b, &c2, "theft", D0 + 1, 55.5, "high", &rules, &curve, &stolen, STORE_STAGE_CLOSE);
	rbuf_free(&rules);
	rbuf_free(&curve);
	rbuf_free(&stolen);

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.alert_count, 2);
	cr_assert_eq(sb.alerts[0].customer_id, cstate_id(&c1));
	cr_assert_eq(sb.alerts[0].day, D0);
	cr_assert_float_eq(sb.alerts[0].score, 80, 1e-9);
	cr_assert_str_eq(sb.alerts[0].severity, "critical");
	cr_assert_str_eq(sb.alerts[0].rules_json, "[{\"id\":\"big_day\"}]");
	cr_assert_str_eq(sb.alerts[0].curve_json, "[{\"day\":\"2026-01-01\",\"kwh\":40}]");
	cr_assert_str_eq(sb.alerts[0].stolen_json, "{\"method\":\"shortfall\",\"kwh\":12.5}");
	cr_assert_eq(sb.alerts[1].customer_id, cstate_id(&c2));
	cr_assert_eq(sb.alerts[1].day, D0 + 1);
	cr_assert_str_eq(sb.alerts[1].rules_json, "[{\"id\":\"other\"}]");
	cr_assert_str_eq(sb.alerts[1].curve_json, "[]");
	cr_assert_str_eq(sb.alerts[1].stolen_json, "{\"method\":\"none\"}");
	cr_assert_str_eq(sb.alerts[0].stage, STORE_STAGE_FINAL);
	cr_assert_str_eq(sb.alerts[1].stage, STORE_STAGE_CLOSE, "raised at the close");
	batch_free(&b);
}

/* The progress of each transformer partition is the newest day its transformers closed in
 * the batch, partitions in order; an addition to a day (a late reading) is no progress. */
Test(batch, transformer_progress_by_partition)
{
	struct batch b;
	struct cstate t1, t2, t3;
	batch_init(&b);
	entity(&t1, "T1");
	entity(&t2, "T2");
	entity(&t3, "T3");
	t1.partition = 3;
	t2.partition = 1;
	t3.partition = 3;
	batch_set_usage(&b.transformer, &t1, D0, 1000, 24, 86400);
	batch_set_usage(&b.transformer, &t1, D0 + 1, 1000, 24, 86400);
	batch_set_usage(&b.transformer, &t2, D0, 1000, 24, 86400);
	batch_set_usage(&b.transformer, &t3, D0 - 2, 1000, 24, 86400);
	batch_add_usage(&b.transformer, &t2, D0 + 5, 500, 3600);
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.progress_count, 2);
	cr_assert_eq(sb.progress[0].partition, 1);
	cr_assert_eq(sb.progress[0].day, D0, "D0 + 5 is an open day's reading, not a close");
	cr_assert_eq(sb.progress[1].partition, 3);
	cr_assert_eq(sb.progress[1].day, D0 + 1);
	batch_reset(&b);
	sb = to_store(&b);
	cr_assert_eq(sb.progress_count, 0);
	batch_free(&b);
}

/* A no_data alert keeps its kind and has no stolen-energy estimate (stored as null); a day
 * closed silent keeps its mark, and a later reading added to it leaves the mark. */
Test(batch, no_data_alerts_and_silent_days)
{
	struct batch b;
	struct cstate c1;
	start_one(&b, &c1);
	struct rbuf rules = {0}, curve = {0};
	rbuf_puts(&rules, "[{\"id\":\"no_data\"}]");
	rbuf_puts(&curve, "[]");
	batch_add_alert(&b, &c1, "no_data", D0, 0, "low", &rules, &curve, NULL, STORE_STAGE_FINAL);
	batch_set_usage(&b.usage, &c1, D0, 0, 0, 0);
	batch_set_silent(&b.usage, &c1, D0);
	batch_add_usage(&b.usage, &c1, D0 + 1, 500, 900);
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.alert_count, 1);
	cr_assert_str_eq(sb.alerts[0].kind, "no_data");
	cr_assert_str_eq(sb.alerts[0].stolen_json, "");
	cr_assert_eq(sb.usage_count, 2);
	cr_assert(sb.usage[0].whole_day && sb.usage[0].silent);
	cr_assert(!sb.usage[1].silent, "a day of readings is not silent");
	batch_add_usage(&b.usage, &c1, D0, 100, 900);
	sb = to_store(&b);
	cr_assert(sb.usage[0].silent, "a late reading of a silent day leaves it silent");
	cr_assert_eq(sb.usage[0].uwh, 100);
	rbuf_free(&rules);
	rbuf_free(&curve);
	batch_free(&b);
}

/* A residential customer's first grading, by the shipped files, after one bill paid on time. */
static void graded(struct grader *g, struct cstate *cs, struct grader_result *r)
{
	memset(cs, 0, sizeof(*cs));
	cstate_id_bind(cs, "C1");
	cs->segment = SEGMENT_RESIDENTIAL;
	payments_bill(&cs->pay, "B1", 2, 80, D0 + 20, D0);
	payments_payment(&cs->pay, 80, "B1", 2, D0 + 10);
	cr_assert_eq(grader_grade(g, cs, D0 + 30, r), 1);
}

Test(batch, a_grading_records_payment_status_and_only_changes_of_grade)
{
	struct rbuf diag = {0};
	struct grader *g = grader_new("rules", "scoring/cards", 5, &diag);
	rbuf_append(&diag, "", 1);
	cr_assert_not_null(g, "%s", diag.data);
	rbuf_free(&diag);
	struct cstate cs;
	struct grader_result r;
	graded(g, &cs, &r);
	cr_assert(r.changed && r.has_billing && r.grade.n_reasons > 0);

	struct batch b;
	batch_init(&b);
	batch_add_grade(&b, &cs, &r);
	cr_assert(batch_has_rows(&b), "a grade is something to commit");
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.credit_count, 1);
	const struct store_credit *c = &sb.credit[0];
	cr_assert_eq(c->customer_id, cstate_id(&cs));
	cr_assert_eq(c->as_of, r.as_of);
	cr_assert_eq(c->days_past_due, r.days_past_due);
	cr_assert_float_eq(c->arrears, r.arrears, 1e-9);
	cr_assert_float_eq(c->balance_owed, r.balance_owed, 1e-9);
	cr_assert_eq(c->last_payment_day, r.last_payment_day);

	cr_assert_eq(sb.grade_count, 1);
	const struct store_grade *sg = &sb.grades[0];
	cr_assert_eq(sg->customer_id, cstate_id(&cs));
	cr_assert_str_eq(sg->segment, "residential");
	cr_assert_str_eq(sg->grade, credit_grade_name(r.grade.grade));
	cr_assert_null(sg->previous, "a first grade has none before it");
	cr_assert_str_eq(sg->points_grade, credit_grade_name(r.grade.points_grade));
	cr_assert_float_eq(sg->points, r.grade.points, 1e-9);
	cr_assert_eq(sg->capped, r.grade.capped);
	cr_assert_eq(sg->floored, r.grade.floored);
	cr_assert_eq(sg->as_of, r.as_of);
	cr_assert_str_eq(sg->scorecard, scorecard_name(r.card));
	cr_assert_str_eq(sg->scorecard_version, scorecard_version(r.card));
	cr_assert_str_eq(sg->scorecard_hash, scorecard_hash(r.card));
	struct rbuf reasons = {0};
	grader_reasons_json(&r.grade, &reasons);
	rbuf_append(&reasons, "", 1);
	cr_assert_str_eq(sg->reasons_json, reasons.data);
	json_error_t err;
	json_t *j = json_loads(sg->reasons_json, 0, &err);
	cr_assert(json_is_array(j), "%s", sg->reasons_json);
	cr_assert_eq(json_array_size(j), (size_t)r.grade.n_reasons);
	json_decref(j);

	/* The same grade again: payment status only. A change names the grade before. */
	struct grader_result same = r;
	same.changed = 0;
	same.previous = r.grade.grade;
	same.as_of = r.as_of + 1;
	batch_add_grade(&b, &cs, &same);
	struct grader_result lower = r;
	lower.previous = r.grade.grade;
	lower.grade.grade = RULE_GRADE_C;
	lower.as_of = r.as_of + 2;
	batch_add_grade(&b, &cs, &lower);
	/* A customer graded when a day closed, before any billing event: no payment status. */
	struct grader_result no_billing = r;
	no_billing.has_billing = 0;
	batch_add_grade(&b, &cs, &no_billing);

	sb = to_store(&b);
	cr_assert_eq(sb.credit_count, 3, "one status per grading with billing");
	cr_assert_eq(sb.credit[1].as_of, r.as_of + 1);
	cr_assert_eq(sb.credit[2].as_of, r.as_of + 2);
	cr_assert_eq(sb.grade_count, 3, "a grade row per change only");
	cr_assert_str_eq(sb.grades[1].grade, "C");
	cr_assert_str_eq(sb.grades[1].previous, credit_grade_name(r.grade.grade));
	cr_assert_eq(sb.grades[1].as_of, r.as_of + 2);
	cr_assert_str_eq(sb.grades[0].reasons_json, reasons.data, "earlier rows stay valid");
	cr_assert_str_eq(sb.grades[0].scorecard, scorecard_name(r.card));
	rbuf_free(&reasons);
	batch_free(&b);
	grader_free(g);
}

Test(batch, snapshots_are_encoded_when_added)
{
	struct cstate_table *table = cstate_table_new(4);
	struct cstate *cs = cstate_table_upsert(table, "C1", 2, 7, NULL);
	cs->segment = SEGMENT_INDUSTRIAL;
	cs->capacity_kw = 40;
	cs->open_day = D0;
	cs->open_uwh = 123456;
	cr_assert_eq(cstate_transformer_id_set(table, cs, "T9"), 0);
	struct cstate *t = cstate_table_upsert(table, "T9", 2, 7, NULL);
	t->open_uwh = 42;
	struct cstate saved = *cs;

	struct batch b;
	batch_init(&b);
	batch_add_snapshot(&b, 'c', table, cs);
	batch_add_snapshot(&b, 't', table, t);
	/* The entity goes on changing while the batch commits. */
	cs->open_uwh = 999;
	cs->segment = SEGMENT_RESIDENTIAL;
	cr_assert_eq(cstate_transformer_id_set(table, cs, "T10"), 0);
	/* More arena bytes after the snapshots: they must stay where batch_to_store finds them. */
	for (int i = 0; i < 100; i++)
		batch_add_outbox(&b, "risk.review-queue", "k", 1, "payload", 7, NULL, NULL, 0);

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.snapshot_count, 2);
	const struct store_snapshot *s = &sb.snapshots[0];
	cr_assert_eq(s->kind, 'c');
	cr_assert_eq(s->id, cstate_id(cs));
	cr_assert_eq(s->partition, 7);
	cr_assert_gt(s->len, 0);
	cr_assert_leq(s->len, CSTATE_SNAPSHOT_MAX);

	struct cstate_table *other = cstate_table_new(4);
	struct cstate back;
	char err[128];
	cr_assert_eq(cstate_decode(other, "C1", s->state, s->len, &back, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(back.open_uwh, 123456, "the state as it was when added");
	cr_assert_eq(back.open_day, D0);
	cr_assert_eq(back.segment, SEGMENT_INDUSTRIAL);
	cr_assert_float_eq(back.capacity_kw, 40, 1e-6);
	cr_assert_str_eq(cstate_transformer_id(other, &back), "T9");
	cr_assert_eq(back.partition, saved.partition);

	s = &sb.snapshots[1];
	cr_assert_eq(s->kind, 't');
	cr_assert_eq(s->id, cstate_id(t));
	cr_assert_eq(cstate_decode(other, "T9", s->state, s->len, &back, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(back.open_uwh, 42);
	cstate_table_destroy(other);
	batch_free(&b);
	cstate_table_destroy(table);
}

Test(batch, to_store_leaves_the_callers_fields_alone)
{
	struct batch b;
	struct cstate c1;
	start_one(&b, &c1);
	batch_add_usage(&b.usage, &c1, D0, 1, 1);
	static const struct store_offset offsets[2] = {{"meter.readings", 0, -1, -1, 10, 1, 10},
	                                               {"meter.readings", 1, 5, 3, 9, 0, -1}};
	struct store_batch sb;
	memset(&sb, 0, sizeof(sb));
	sb.consumer_group = "riskd";
	sb.offsets = offsets;
	sb.offset_count = 2;
	sb.ruleset_name = "theft-core";
	sb.alert_threshold = 50;
	sb.review_topic = "risk.review-queue";
	batch_to_store(&b, &sb);
	cr_assert_eq(sb.usage_count, 1);
	cr_assert_eq(sb.offsets, offsets, "offsets are the caller's");
	cr_assert_eq(sb.offset_count, 2);
	cr_assert_str_eq(sb.consumer_group, "riskd");
	cr_assert_str_eq(sb.ruleset_name, "theft-core");
	cr_assert_float_eq(sb.alert_threshold, 50, 1e-9);
	cr_assert_str_eq(sb.review_topic, "risk.review-queue");
	batch_free(&b);
}

/* Fills b with one of everything for each of the entities cs[0..n) of table. */
static void fill(struct batch *b, struct cstate *cs, int n, struct cstate_table *table)
{
	struct event profile = profile_event("C0", "T1");
	struct rbuf json = {0};
	rbuf_puts(&json, "[{\"id\":\"big_day\",\"evidence\":{\"kwh_day\":40}}]");
	static const char *const names[] = {"type"}, *const values[] = {"alert"};
	b->messages += (size_t)n;
	for (int i = 0; i < n; i++) {
		batch_add_usage(&b->usage, &cs[i], D0, 1000 + i, 900);
		batch_add_usage(&b->usage, &cs[i], D0 + 1, 1, 900);
		batch_add_usage(&b->transformer, &cs[i], D0, 5, 900);
		batch_add_profile(b, &profile);
		batch_count(b, "meter.readings", i % 4, "meter_reading", "accepted");
		const char *id = cstate_id(&cs[i]);
		batch_add_outbox(b, "risk.review-queue", id, strlen(id), json.data, json.len, names,
		                 values, 1);
		batch_add_alert(b, &cs[i], "theft", D0, 60, "high", &json, &json, &json, STORE_STAGE_FINAL);
		batch_add_snapshot(b, 'c', table, &cs[i]);
	}
	rbuf_free(&json);
}

/* Starts batch b filled for n entities C0, C1, ... of a new table (returned), copied out
 * into copy[] (the batch keys rows by the entity's address: any struct that outlives it). */
static struct cstate_table *start_filled(struct batch *b, struct cstate *copy, int n)
{
	struct cstate_table *table = cstate_table_new((size_t)n);
	for (int i = 0; i < n; i++) {
		char id[16];
		int len = snprintf(id, sizeof(id), "C%d", i);
		copy[i] = *cstate_table_upsert(table, id, (size_t)len, 0, NULL);
	}
	batch_init(b);
	fill(b, copy, n, table);
	return table;
}

Test(batch, reset_empties_the_batch_for_the_next_one)
{
	enum { N = 100 };
	static struct cstate copy[N];
	struct batch b;
	struct cstate_table *table = start_filled(&b, copy, N);
	b.replayed = 3;
	b.started_ms = 12345;
	cr_assert(batch_has_rows(&b));

	batch_reset(&b);
	cr_assert_eq(b.messages, 0);
	cr_assert_eq(b.replayed, 0);
	cr_assert_eq(b.started_ms, 0);
	assert_empty(&b);
	struct store_batch sb;

	/* After a reset, a (customer, day) of the last batch starts from nothing. */
	batch_add_usage(&b.usage, &copy[0], D0, 7, 60);
	batch_count(&b, "meter.readings", 0, "meter_reading", "accepted");
	sb = to_store(&b);
	cr_assert_eq(sb.usage_count, 1);
	cr_assert_eq(sb.usage[0].uwh, 7);
	cr_assert_eq(sb.usage[0].readings, 1);
	cr_assert_not(sb.usage[0].whole_day);
	cr_assert_eq(sb.count_count, 1);
	cr_assert_eq(sb.counts[0].n, 1);
	batch_free(&b);
	cstate_table_destroy(table);
}

Test(batch, a_warm_batch_reuses_its_memory)
{
	enum { N = 700 };
	static struct cstate copy[N];
	struct batch b;
	struct cstate_table *table = start_filled(&b, copy, N);
	struct store_batch first = to_store(&b);
	struct batch warm = b; /* its pointers and capacities */

	for (int round = 0; round < 3; round++) {
		batch_reset(&b);
		fill(&b, copy, N, table);
		struct store_batch sb = to_store(&b);
		cr_assert_eq(b.usage.rows, warm.usage.rows, "round %d", round);
		cr_assert_eq(b.usage.owners, warm.usage.owners);
		cr_assert_eq(b.usage.index, warm.usage.index);
		cr_assert_eq(b.usage.cap, warm.usage.cap);
		cr_assert_eq(b.usage.index_cap, warm.usage.index_cap);
		cr_assert_eq(b.transformer.rows, warm.transformer.rows);
		cr_assert_eq(b.transformer.index, warm.transformer.index);
		cr_assert_eq(b.profiles, warm.profiles);
		cr_assert_eq(b.counts, warm.counts);
		cr_assert_eq(b.outbox, warm.outbox);
		cr_assert_eq(b.outbox_at, warm.outbox_at);
		cr_assert_eq(b.snapshots, warm.snapshots);
		cr_assert_eq(b.snapshot_at, warm.snapshot_at);
		cr_assert_eq(b.alerts, warm.alerts);
		cr_assert_eq(b.alert_at, warm.alert_at);
		cr_assert_eq(b.arena.data, warm.arena.data, "the arena is not regrown");
		cr_assert_eq(b.arena.cap, warm.arena.cap);
		/* and the same content */
		cr_assert_eq(sb.usage_count, first.usage_count);
		cr_assert_eq(sb.outbox_count, first.outbox_count);
		cr_assert_eq(sb.snapshot_count, first.snapshot_count);
		cr_assert_eq(sb.alert_count, first.alert_count);
		cr_assert_eq(sb.count_count, 4);
		cr_assert_eq(sb.counts[0].n + sb.counts[1].n + sb.counts[2].n + sb.counts[3].n, N);
		const struct store_usage *u = find_usage(sb.usage, sb.usage_count, "C5", D0);
		cr_assert(u && u->uwh == 1005 && u->readings == 1, "round %d", round);
		cr_assert_str_eq(sb.alerts[N - 1].rules_json,
		                 "[{\"id\":\"big_day\",\"evidence\":{\"kwh_day\":40}}]");
		cr_assert_eq(memcmp(sb.outbox[N - 1].key, "C699", 4), 0);
	}
	batch_free(&b);
	cstate_table_destroy(table);
}

Test(batch, closed_days_coverage_is_held_per_entity_day_and_laid_out_for_the_store)
{
	struct batch b;
	struct cstate c1, c2;
	uint16_t codes[CSTATE_COVER_SLOTS] = {0};
	batch_init(&b);
	entity(&c1, "C1");
	entity(&c2, "C2");
	cr_assert_null(batch_cover(&b.usage, &c1, D0), "nothing yet");

	batch_add_usage(&b.usage, &c2, D0, 10, 900); /* a row before the first coverage */
	codes[4] = 501;
	codes[5] = CSTATE_COVER_CONT;
	uint16_t *held = batch_set_cover(&b.usage, 'c', &c1, D0, codes);
	cr_assert_eq(held[4], 501);
	cr_assert_eq(batch_cover(&b.usage, &c1, D0), held, "found again, the same codes");
	cr_assert_null(batch_cover(&b.usage, &c1, D0 + 1));
	cr_assert_null(batch_cover(&b.usage, &c2, D0), "c2's row has no coverage");
	held[8] = 42; /* the caller records a late reading in place */
	/* many more rows: the codes move with the map, and stay found */
	struct cstate many[300];
	for (int i = 0; i < 300; i++) {
		char id[16];
		snprintf(id, sizeof(id), "M%d", i);
		entity(&many[i], id);
		batch_add_usage(&b.usage, &many[i], D0, 1, 900);
	}
	held = batch_cover(&b.usage, &c1, D0);
	cr_assert_not_null(held);
	cr_assert_eq(held[8], 42);
	batch_restate_usage(&b.usage, &c1, D0, -250);

	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.cover_count, sb.usage_count, "parallel to the usage rows");
	int with = 0;
	for (size_t i = 0; i < sb.cover_count; i++) {
		if (!sb.cover[i].kind)
			continue;
		with++;
		cr_assert_eq(sb.cover[i].kind, 'c');
		cr_assert_eq(sb.cover[i].id, cstate_id(&c1));
		cr_assert_eq(sb.cover[i].day, D0);
		cr_assert_eq(sb.cover[i].codes[5], CSTATE_COVER_CONT);
	}
	cr_assert_eq(with, 1);
	const struct store_usage *u = find_usage(sb.usage, sb.usage_count, "C1", D0);
	cr_assert(u && u->uwh == -250 && u->readings == 0 && u->covered_s == 0,
	          "a restatement moves the energy only");
	cr_assert_eq(sb.transformer_cover_count, 0);

	batch_reset(&b);
	cr_assert_null(batch_cover(&b.usage, &c1, D0), "gone with the batch");
	sb = to_store(&b);
	cr_assert_eq(sb.cover_count, 0);
	batch_free(&b);
}

Test(batch, billing_ids_and_repeats_are_copied_for_the_store)
{
	struct batch b;
	struct cstate c1;
	start_one(&b, &c1);
	char id[32];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "B-%d", i);
		batch_add_billing_id(&b, &c1, "bill", id, "billing.events", 3, 1000 + i);
	}
	memset(id, 0, sizeof(id)); /* the batch holds its own copy */
	batch_add_repeat(&b, "billing.events", 3, 77);
	struct store_batch sb = to_store(&b);
	cr_assert_eq(sb.billing_id_count, 100);
	cr_assert_str_eq(sb.billing_ids[0].id, "B-0");
	cr_assert_str_eq(sb.billing_ids[99].id, "B-99");
	cr_assert_eq(sb.billing_ids[99].customer_id, cstate_id(&c1));
	cr_assert_str_eq(sb.billing_ids[99].kind, "bill");
	cr_assert_eq(sb.billing_ids[99].partition, 3);
	cr_assert_eq(sb.billing_ids[99].offset, 1099);
	cr_assert_eq(sb.repeat_count, 1);
	cr_assert_eq(sb.repeats[0].offset, 77);
	batch_reset(&b);
	sb = to_store(&b);
	cr_assert_eq(sb.billing_id_count, 0);
	cr_assert_eq(sb.repeat_count, 0);
	batch_free(&b);
}
