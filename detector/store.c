/*
 * store.c - PostgreSQL access for riskd: batch commits, offset and state loading, and the
 * outbox relay's reads. A batch commit writes each kind of row by COPY into a session temp
 * table and moves it on with one set-based statement; each kind is described once, as a
 * struct store_copy_target with its row writer. The connection and the COPY plumbing are in
 * store_conn.c, the credit writes and the confirmed-theft reads in store_credit.c. All SQL is
 * parameterised or COPY; nothing is built from input text except COPY data, which is escaped.
 */
#include "store.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "../config/config.h"
#include "../config/riskd_base.h"
#include "areas.h"
#include "store_attrib.h"
#include "store_int.h"

static void rollback_quietly(struct store *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(PQexec(st->conn, "rollback"));
}

/* ---- COPY text encoding of byte strings and arrays ---- */

static void copy_bytea(struct rbuf *b, const void *data, size_t len)
{
	store_copy_bytea(b, data, len);
}

/* A text[] literal {"a","b"} as COPY text. Elements are quoted, '"' and '\' escaped. */
static void copy_text_array(struct rbuf *b, const char *const *items, int n)
{
	rbuf_append(b, "{", 1);
	for (int i = 0; i < n; i++) {
		if (i)
			rbuf_append(b, ",", 1);
		rbuf_append(b, "\"", 1);
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				rbuf_append(b, "\\\\", 2); /* array escape '\', itself COPY-escaped */
			if (*s == '\\')
				rbuf_append(b, "\\\\", 2);
			else if (*s == '\n')
				rbuf_append(b, "\\n", 2);
			else if (*s == '\t')
				rbuf_append(b, "\\t", 2);
			else if (*s == '\r')
				rbuf_append(b, "\\r", 2);
			else
				rbuf_append(b, s, 1);
		}
		rbuf_append(b, "\"", 1);
	}
	rbuf_append(b, "}", 1);
}

/* ---- Row writers: one line of COPY text per row ---- */

static void write_usage_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_usage *u = rows;
	for (size_t i = 0; i < n; i++) {
		if (!u[i].whole_day && u[i].readings == 0 && u[i].uwh == 0)
			continue; /* a row the batch holds for its hourly sums or coverage only */
		store_copy_text(b, u[i].id);
		rbuf_printf(b, "\t%d\t%lld\t%d\t%d\t%c\t%c\n", (int)u[i].day, (long long)u[i].uwh,
		            (int)u[i].readings, (int)u[i].covered_s, u[i].whole_day ? 't' : 'f',
		            u[i].silent ? 't' : 'f');
	}
}

static void write_profile_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_profile *p = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t", i);
		store_copy_text(b, p[i].customer_id);
		rbuf_printf(b, "\t%s\t", segment_name(p[i].segment));
		store_copy_text(b, p[i].transformer_id);
		rbuf_append(b, "\t", 1);
		if (p[i].tariff[0])
			store_copy_text(b, p[i].tariff);
		else
			rbuf_puts(b, "\\N");
		if (p[i].capacity_kw > 0)
			rbuf_printf(b, "\t%.17g", p[i].capacity_kw);
		else
			rbuf_puts(b, "\t\\N");
		if (p[i].since != INT32_MIN)
			rbuf_printf(b, "\t%d\n", (int)p[i].since);
		else
			rbuf_puts(b, "\t\\N\n");
	}
}

static void write_snapshot_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_snapshot *s = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%c\t", s[i].kind);
		store_copy_text(b, s[i].id);
		rbuf_printf(b, "\t%d\t", (int)s[i].partition);
		copy_bytea(b, s[i].state, s[i].len);
		if (s[i].hours) {
			rbuf_printf(b, "\t%d\t", (int)s[i].hours_day);
			store_copy_hours(b, s[i].hours);
			rbuf_append(b, "\n", 1);
		} else {
			rbuf_puts(b, "\t\\N\t\\N\n");
		}
	}
}

static void write_count_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_count *c = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, c[i].topic);
		rbuf_printf(b, "\t%d\t", (int)c[i].partition);
		store_copy_text(b, c[i].event_type);
		rbuf_printf(b, "\t%s\t%lld\n", c[i].outcome, (long long)c[i].n);
	}
}

static void write_outbox_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_outbox *o = rows;
	for (size_t i = 0; i < n; i++) {
		const char *items[8];
		store_copy_text(b, o[i].topic);
		rbuf_append(b, "\t", 1);
		if (o[i].key_len)
			copy_bytea(b, o[i].key, o[i].key_len);
		else
			rbuf_puts(b, "\\N");
		rbuf_append(b, "\t", 1);
		copy_bytea(b, o[i].payload, o[i].len);
		rbuf_append(b, "\t", 1);
		for (int h = 0; h < o[i].header_count; h++) {
			items[2 * h] = o[i].header_names[h];
			items[2 * h + 1] = o[i].header_values[h];
		}
		copy_text_array(b, items, 2 * o[i].header_count);
		rbuf_append(b, "\n", 1);
	}
}

static void write_alert_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_alert *a = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t", i);
		store_copy_text(b, a[i].customer_id);
		rbuf_printf(b, "\t%s\t%d\t%.17g\t%s\t", a[i].kind, (int)a[i].day, a[i].score,
		            a[i].severity);
		store_copy_text(b, a[i].rules_json);
		rbuf_append(b, "\t", 1);
		store_copy_text(b, a[i].curve_json);
		rbuf_append(b, "\t", 1);
		if (a[i].stolen_json[0])
			store_copy_text(b, a[i].stolen_json);
		else
			rbuf_puts(b, "\\N"); /* no estimate (no_data): null */
		rbuf_printf(b, "\t%s\n", a[i].stage);
	}
}

/* Appends len bytes as base64 (RFC 4648, padded): a third smaller in COPY text than bytea's
 * hex, for the larger rows; PostgreSQL's decode(x, 'base64') takes it back. */
static void copy_base64(struct rbuf *b, const uint8_t *p, size_t len)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	rbuf_reserve(b, 4 * ((len + 2) / 3));
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		b->data[b->len++] = digits[v >> 18];
		b->data[b->len++] = digits[(v >> 12) & 63];
		b->data[b->len++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		b->data[b->len++] = i + 2 < len ? digits[v & 63] : '=';
	}
}

static void write_pending_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_pending *p = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, p[i].customer_id);
		rbuf_printf(b, "\t%d\t", (int)p[i].day);
		store_copy_text(b, p[i].transformer_id);
		rbuf_append(b, "\t", 1);
		copy_base64(b, p[i].snapshot, p[i].len);
		rbuf_append(b, "\n", 1);
	}
}

size_t store_rule_counts_fill(const struct ruleset *rs, const struct rule_count *counts,
                              struct store_rule_count *rows)
{
	size_t n = 0;
	for (size_t i = 0; i < ruleset_rule_count(rs); i++) {
		const struct rule_info *info = ruleset_rule(rs, i);
		if (counts[i].evaluations == 0)
			continue; /* nothing to add for this rule */
		rows[n++] = (struct store_rule_count){
		    ruleset_name(rs), ruleset_version(rs), info->id, rule_mode_name(info->mode),
		    counts[i].evaluations, counts[i].fired, counts[i].missing_reads};
	}
	return n;
}

static void write_rule_count_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_rule_count *r = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, r[i].ruleset_name);
		rbuf_append(b, "\t", 1);
		store_copy_text(b, r[i].ruleset_version);
		rbuf_append(b, "\t", 1);
		store_copy_text(b, r[i].rule_id);
		rbuf_printf(b, "\t%s\t%llu\t%llu\t%llu\n", r[i].mode,
		            (unsigned long long)r[i].evaluations, (unsigned long long)r[i].fired,
		            (unsigned long long)r[i].missing_reads);
	}
}

static void write_offset_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_offset *o = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, o[i].topic);
		rbuf_printf(b, "\t%d\t%lld\t%lld\t%lld\t", (int)o[i].partition,
		            (long long)o[i].expected, (long long)o[i].expected_state,
		            (long long)o[i].next);
		if (o[i].state_moved)
			rbuf_printf(b, "%lld\n", (long long)o[i].state_next);
		else
			rbuf_append(b, "\\N\n", 3);
	}
}

/* Coverage codes as stored: CSTATE_COVER_SLOTS little-endian uint16 (deploy/sql/016). */
#define COVER_BYTES (2 * CSTATE_COVER_SLOTS)

static void write_cover_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_cover *c = rows;
	uint8_t bytes[COVER_BYTES];
	for (size_t i = 0; i < n; i++) {
		if (!c[i].kind)
			continue;
		for (int k = 0; k < CSTATE_COVER_SLOTS; k++) {
			bytes[2 * k] = (uint8_t)(c[i].codes[k] & 0xff);
			bytes[2 * k + 1] = (uint8_t)(c[i].codes[k] >> 8);
		}
		rbuf_printf(b, "%c\t", c[i].kind);
		store_copy_text(b, c[i].id);
		rbuf_printf(b, "\t%d\t", (int)c[i].day);
		copy_bytea(b, bytes, sizeof(bytes));
		rbuf_append(b, "\n", 1);
	}
}

static void write_billing_id_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_billing_id *r = rows;
	for (size_t i = 0; i < n; i++) {
		rbuf_printf(b, "%zu\t%d\t%lld\t", i, (int)r[i].partition, (long long)r[i].offset);
		store_copy_texts(b, 4, (const char *const[]){r[i].customer_id, r[i].kind, r[i].id,
		                                             r[i].topic});
	}
}

static void write_repeat_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct store_repeat *r = rows;
	for (size_t i = 0; i < n; i++) {
		store_copy_text(b, r[i].topic);
		rbuf_printf(b, "\t%d\t%lld\n", (int)r[i].partition, (long long)r[i].offset);
	}
}

/* ---- Targets: where each kind of row goes ---- */

/* Adds a temp table's energy deltas to a daily table (risk.daily_usage or
 * risk.transformer_daily, keyed by id_column) and queues the touched days for the area
 * balance. Both tables share this shape. Whole days replace their rows (idempotent: a replay
 * writes the same totals); additions (late readings for a closed day) add to them. */
#define UPSERT_DAILY_SQL(table, id_column, tmp)                                              \
	"insert into " table " as d (" id_column ", day, kwh, readings, kwh_uwh, covered_s, "     \
	"silent) select entity_id, date '1970-01-01' + day, uwh / 1e6::float8, readings, uwh, "   \
	"covered_s, silent from " tmp " where whole on conflict (" id_column ", day) do update "  \
	"set kwh_uwh = excluded.kwh_uwh, kwh = excluded.kwh, readings = excluded.readings, "     \
	"covered_s = excluded.covered_s, silent = d.silent or excluded.silent;"                  \
	"insert into " table " as d (" id_column ", day, kwh, readings, kwh_uwh, covered_s) "     \
	"select entity_id, date '1970-01-01' + day, uwh / 1e6::float8, readings, uwh, covered_s " \
	"from " tmp " where not whole on conflict (" id_column ", day) do update set "            \
	"kwh_uwh = d.kwh_uwh + excluded.kwh_uwh, "                                               \
	"kwh = (d.kwh_uwh + excluded.kwh_uwh) / 1e6::float8, "                                   \
	"readings = d.readings + excluded.readings, "                                            \
	"covered_s = d.covered_s + excluded.covered_s;"                                          \
	"insert into risk.area_refresh_queue (day) "                                             \
	"select distinct date '1970-01-01' + day from " tmp

/* A batch's whole days of hourly sums (a day that closed, or the open day of a checkpointed
 * entity) replace their rows; its additions (late readings) go straight to the parts tables
 * (deploy/sql/011). */
#define REPLACE_HOURS_SQL(table, id_column, tmp)                                             \
	"insert into " table " (" id_column ", day, uwh) select entity_id, date '1970-01-01' + day,"\
	" uwh from " tmp " on conflict (" id_column ", day) do update set uwh = excluded.uwh"

static const struct store_copy_target whole_hours_target = {
    "tmp_whole_hours", NULL,
    REPLACE_HOURS_SQL("risk.hourly_usage", "customer_id", "tmp_whole_hours"),
    store_write_whole_hours_rows};

static const struct store_copy_target whole_transformer_hours_target = {
    "tmp_whole_thours", NULL,
    REPLACE_HOURS_SQL("risk.transformer_hourly", "transformer_id", "tmp_whole_thours"),
    store_write_whole_hours_rows};

static const struct store_copy_target hours_target = {
    "risk.hourly_usage_part", "(customer_id, day, uwh)", NULL, store_write_hours_rows};

static const struct store_copy_target transformer_hours_target = {
    "risk.transformer_hourly_part", "(transformer_id, day, uwh)", NULL, store_write_hours_rows};

static const struct store_copy_target usage_target = {
    "tmp_usage", NULL, UPSERT_DAILY_SQL("risk.daily_usage", "customer_id", "tmp_usage"),
    write_usage_rows};

static const struct store_copy_target transformer_daily_target = {
    "tmp_tdaily", NULL, UPSERT_DAILY_SQL("risk.transformer_daily", "transformer_id", "tmp_tdaily"),
    write_usage_rows};

/* A closed day's coverage replaces its row (the batch's copy started from the stored one). */
static const struct store_copy_target cover_target = {
    "tmp_cover", NULL,
    "insert into risk.reading_coverage (kind, entity_id, day, cover) "
    "select kind, entity_id, day, cover from tmp_cover "
    "on conflict (kind, entity_id, day) do update set cover = excluded.cover;"
    "delete from tmp_cover",
    write_cover_rows};

/* The batch's bills, payments and reversals, checked by record_billing_ids. */
static const struct store_copy_target billing_ids_target = {"tmp_billing", NULL, NULL,
                                                            write_billing_id_rows};

/* Messages skipped as repeats (a replay skips them too). */
static const struct store_copy_target repeats_target = {
    "risk.billing_repeats", "(topic, partition, msg_offset)", NULL, write_repeat_rows};

/* The batch's latest profile of each customer wins. A customer who is new or moves to another
 * transformer changes the balance of the areas on every day it has usage: those days go back
 * into the area balance queue (a profile read after its area-days were balanced must not
 * leave them balanced without it). */
static const struct store_copy_target profiles_target = {
    "tmp_profiles", NULL,
    "insert into risk.area_refresh_queue (day) "
    "select distinct u.day from tmp_profiles p "
    "join risk.daily_usage u on u.customer_id = p.customer_id "
    "left join risk.customers c on c.customer_id = p.customer_id "
    "where c.customer_id is null or c.transformer_id is distinct from p.transformer_id;"
    "insert into risk.customers as c (customer_id, segment, transformer_id, tariff, capacity_kw,"
    " since, updated_at) "
    "select distinct on (customer_id) customer_id, segment, transformer_id, tariff, capacity_kw,"
    " date '1970-01-01' + since, now() from tmp_profiles order by customer_id, seq desc "
    "on conflict (customer_id) do update set segment = excluded.segment, "
    "transformer_id = excluded.transformer_id, tariff = excluded.tariff, "
    "capacity_kw = excluded.capacity_kw, since = excluded.since, updated_at = now()",
    write_profile_rows};

static const struct store_copy_target counts_target = {
    "tmp_counts", NULL,
    "insert into risk.ingest_counts as c (topic, partition, event_type, outcome, count) "
    "select topic, partition, event_type, outcome, n from tmp_counts "
    "on conflict (topic, partition, event_type, outcome) do update set "
    "count = c.count + excluded.count",
    write_count_rows};

/* Outbox rows go straight to the outbox table. */
static const struct store_copy_target outbox_target = {
    "risk.outbox", "(topic, msg_key, payload, headers)", NULL, write_outbox_rows};

static const struct store_copy_target snapshots_target = {
    "tmp_state", NULL,
    "insert into risk.entity_state as s (kind, entity_id, partition, state, hours_day, hours,"
    " updated_at) "
    "select kind, entity_id, partition, state, hours_day, hours, now() from tmp_state "
    "on conflict (kind, entity_id) do update set partition = excluded.partition, "
    "state = excluded.state, hours_day = excluded.hours_day, hours = excluded.hours, "
    "updated_at = now()",
    write_snapshot_rows};

/* A day closes once, but a batch read again after a failed commit writes its days again. */
static const struct store_copy_target pending_target = {
    "tmp_pending", NULL,
    "insert into risk.pending_scores as p (customer_id, day, transformer_id, snapshot) "
    "select customer_id, day, transformer_id, decode(snapshot, 'base64') from tmp_pending "
    "on conflict (customer_id, day) do update set transformer_id = excluded.transformer_id, "
    "snapshot = excluded.snapshot",
    write_pending_rows};

/* The batch's per-rule counts of the theft and operating rules, added to risk.rule_counts. */
static const struct store_copy_target rule_counts_target = {
    "tmp_rule_counts", NULL,
    "insert into risk.rule_counts as c (ruleset_name, ruleset_version, rule_id, mode,"
    " evaluations, fired, missing_reads)"
    " select ruleset_name, ruleset_version, rule_id, mode, evaluations, fired, missing_reads"
    " from tmp_rule_counts"
    " on conflict (ruleset_name, ruleset_version, rule_id) do update set"
    " evaluations = c.evaluations + excluded.evaluations, fired = c.fired + excluded.fired,"
    " missing_reads = c.missing_reads + excluded.missing_reads",
    write_rule_count_rows};

/* The targets below need parameters: their callers run the statement after the COPY. */
static const struct store_copy_target alerts_target = {"tmp_alerts", NULL, NULL,
                                                       write_alert_rows};

static const struct store_copy_target offsets_target = {"tmp_offsets", NULL, NULL,
                                                        write_offset_rows};

/* ---- Batch steps that need more than a COPY and an upsert ---- */

/* The batch's bills, payments and reversals that risk.billing_event_ids holds already, or
 * that an earlier message of the batch carried. */
#define BILLING_REPEATS_SQL                                                                  \
	"select t.topic, t.partition, t.msg_offset from tmp_billing t where exists (select 1"     \
	" from risk.billing_event_ids b where b.customer_id = t.customer_id and b.kind = t.kind"  \
	" and b.id = t.id) or exists (select 1 from tmp_billing u where u.customer_id ="         \
	" t.customer_id and u.kind = t.kind and u.id = t.id and u.seq < t.seq) order by t.seq"

/*
 * Records the batch's bills, payments and reversals in risk.billing_event_ids. Returns 0;
 * STORE_REPEATS when some were recorded before (b->repeats_found lists their messages, the
 * caller rolls back); or a riskd_err.
 */
static int record_billing_ids(struct store *st, struct store_batch *b, char *errstr,
                              size_t errstr_size)
{
	int rc = store_copy_rows(st, &billing_ids_target, b->billing_ids, b->billing_id_count,
	                         errstr, errstr_size);
	if (rc)
		return rc;
	PGresult *res = PQexec(st->conn, BILLING_REPEATS_SQL);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "check billing ids", errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	size_t n = (size_t)PQntuples(res);
	if (n) {
		b->repeats_found = xcalloc(n, sizeof(*b->repeats_found));
		b->repeats_found_count = n;
		for (size_t i = 0; i < n; i++) {
			struct store_repeat_found *f = &b->repeats_found[i];
			riskd_strlcpy(f->topic, sizeof(f->topic), PQgetvalue(res, (int)i, 0),
			              (size_t)PQgetlength(res, (int)i, 0));
			f->partition = (int32_t)atoi(PQgetvalue(res, (int)i, 1));
			f->offset = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
		}
		PQclear(res);
		snprintf(errstr, errstr_size, "%zu bills, payments or reversals recorded before", n);
		return STORE_REPEATS;
	}
	PQclear(res);
	return store_exec(st,
	                  "insert into risk.billing_event_ids (customer_id, kind, id, topic,"
	                  " partition, msg_offset) select customer_id, kind, id, topic, partition,"
	                  " msg_offset from tmp_billing",
	                  errstr, errstr_size);
}

/* Moves each partition's progress of the transformer topic forward (never back: another
 * batch, or another instance's, may have gone further). Returns 0 or a riskd_err. */
static int write_progress(struct store *st, const struct store_batch *b, char *errstr,
                          size_t errstr_size)
{
	struct rbuf parts = {0}, days = {0};
	for (size_t i = 0; i < b->progress_count; i++) {
		rbuf_printf(&parts, "%c%d", i ? ',' : '{', (int)b->progress[i].partition);
		rbuf_printf(&days, "%c%d", i ? ',' : '{', (int)b->progress[i].day);
	}
	rbuf_append(&parts, "}", 2);
	rbuf_append(&days, "}", 2);
	const char *params[2] = {parts.data, days.data};
	PGresult *res = PQexecParams(
	    st->conn,
	    "insert into risk.transformer_progress as p (partition, day)"
	    " select * from unnest($1::int[], $2::int[])"
	    " on conflict (partition) do update set day = greatest(p.day, excluded.day)",
	    2, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = store_fail_result(st, res, "write transformer progress", errstr, errstr_size);
	PQclear(res);
	rbuf_free(&parts);
	rbuf_free(&days);
	return rc;
}

/* Raises the batch's alerts in customer and day order; sets b->alerts_opened (and b->no_data_opened) to how
 * many opened a new alert. Returns 0 or a riskd_err. */
static int raise_alerts(struct store *st, struct store_batch *b, char *errstr,
                        size_t errstr_size)
{
	char threshold[32];
	struct rbuf tariffs = {0};
	int rc;
	snprintf(threshold, sizeof(threshold), "%.17g", b->alert_threshold);
	if (b->tariffs)
		config_tariffs_json(b->tariffs, b->tariff_currency, &tariffs);
	rbuf_append(&tariffs, "", 1);
	const char *params[6] = {b->ruleset_name, b->ruleset_version, b->ruleset_hash, threshold,
	                         b->review_topic, b->tariffs ? tariffs.data : NULL};
	if ((rc = store_copy_rows(st, &alerts_target, b->alerts, b->alert_count, errstr,
	                          errstr_size))) {
		rbuf_free(&tariffs);
		return rc;
	}
	/* raise_alert leaves out suppressed rules, prices the stolen energy at the customer's
	 * tariff and publishes to the review topic (a NULL topic publishes nothing) through the
	 * outbox, in this transaction; in customer order, each customer's days in order: a batch
	 * (raising days at their close) and the rescorer (completing them) lock the alerts they
	 * share in the same order, so neither waits on the other in a cycle */
	PGresult *res = PQexecParams(
	    st->conn,
	    "select count(*) filter (where opened), count(*) filter (where opened and"
	    " kind = 'no_data') from (select kind, (risk.raise_alert(customer_id,"
	    " kind, date '1970-01-01' + day, score, severity, rules::jsonb, $1, $2, $3,"
	    " curve::jsonb, $4::float8, $5, stolen::jsonb, $6::jsonb, stage)).opened from tmp_alerts"
	    " order by customer_id, day, seq) r",
	    6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "raise alerts", errstr, errstr_size);
	} else {
		b->alerts_opened = atoi(PQgetvalue(res, 0, 0));
		b->no_data_opened = atoi(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	rbuf_free(&tariffs);
	return rc;
}

/* Moves the batch's offset rows forward in two statements, fenced: a row is created only
 * where this instance found none, and moved only from the next and state offsets it loaded or
 * committed (a row from before state offsets existed has its state at its next offset). When
 * any row is not where this instance left it, names the first such partition. */
static int write_offsets(struct store *st, const struct store_batch *b, char *errstr,
                         size_t errstr_size)
{
	size_t n_new = 0;
	int rc;
	for (size_t i = 0; i < b->offset_count; i++)
		n_new += b->offsets[i].expected < 0;
	if ((rc = store_copy_rows(st, &offsets_target, b->offsets, b->offset_count, errstr,
	                          errstr_size)))
		return rc;
	const char *params[1] = {b->consumer_group};
	static const char *const sql[2] = {
	    "insert into risk.kafka_offsets (consumer_group, topic, partition, next_offset,"
	    " state_offset)"
	    " select $1, topic, partition, next, coalesce(state_next, -1) from tmp_offsets"
	    " where expected < 0 on conflict do nothing",
	    /* a row from before state_offset existed had its state at its next_offset */
	    "update risk.kafka_offsets o set next_offset = t.next,"
	    " state_offset = coalesce(t.state_next, o.state_offset, o.next_offset),"
	    " updated_at = now()"
	    " from tmp_offsets t where t.expected >= 0 and o.consumer_group = $1"
	    " and o.topic = t.topic and o.partition = t.partition and o.next_offset = t.expected"
	    " and coalesce(o.state_offset, o.next_offset) = t.expected_state"};
	size_t want[2] = {n_new, b->offset_count - n_new}, moved = 0;
	for (int k = 0; k < 2; k++) {
		if (!want[k])
			continue;
		PGresult *res = PQexecParams(st->conn, sql[k], 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = store_fail_result(st, res, "write offsets", errstr, errstr_size);
			PQclear(res);
			return rc;
		}
		moved += (size_t)strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	if (moved == b->offset_count)
		return 0;
	PGresult *res = PQexecParams(
	    st->conn,
	    "select t.topic, t.partition, t.expected, t.expected_state from tmp_offsets t"
	    " left join risk.kafka_offsets o on o.consumer_group = $1 and o.topic = t.topic"
	    " and o.partition = t.partition"
	    " where o.next_offset is distinct from t.next or (t.expected >= 0 and"
	    " coalesce(o.state_offset, o.next_offset) is distinct from"
	    " coalesce(t.state_next, t.expected_state))"
	    " order by t.topic, t.partition limit 1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		snprintf(errstr, errstr_size,
		         "offset of %s[%s] is no longer %s (state offset %s): another instance took "
		         "the partition (%zu of %zu offsets moved elsewhere)",
		         PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		         PQgetvalue(res, 0, 3), b->offset_count - moved, b->offset_count);
	else
		snprintf(errstr, errstr_size,
		         "%zu of %zu offsets are no longer where this instance left them: another "
		         "instance took the partitions",
		         b->offset_count - moved, b->offset_count);
	PQclear(res);
	return RISKD_ERR_CONFLICT;
}

int store_write_scorings(struct store *st, struct store_batch *b, char *errstr,
                         size_t errstr_size)
{
	int rc;
	b->alerts_opened = b->no_data_opened = 0;
	if ((rc = store_copy_rows(st, &rule_counts_target, b->rule_counts, b->rule_count_count,
	                         errstr, errstr_size)))
		return rc;
	if (b->alert_count)
		return raise_alerts(st, b, errstr, errstr_size);
	return 0;
}

int store_commit_batch(struct store *st, struct store_batch *b, char *errstr,
                       size_t errstr_size)
{
	b->alerts_opened = b->no_data_opened = 0;
	b->op_alerts_opened = 0;
	b->repeats_found = NULL;
	b->repeats_found_count = 0;
	int rc = store_exec(st, "begin", errstr, errstr_size);
	if (rc)
		return rc;

	/* Offsets first: a fenced-out instance stops before writing anything else. */
	if (b->offset_count && (rc = write_offsets(st, b, errstr, errstr_size)))
		goto fail;
	if ((rc = store_copy_rows(st, &usage_target, b->usage, b->usage_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &transformer_daily_target, b->transformer,
	                          b->transformer_count, errstr, errstr_size)) ||
	    (rc = store_copy_rows(st, &hours_target, b->hours, b->hours_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &whole_hours_target, b->hours, b->hours_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &whole_transformer_hours_target, b->transformer_hours,
	                          b->transformer_hours_count, errstr, errstr_size)) ||
	    (rc = store_copy_rows(st, &transformer_hours_target, b->transformer_hours,
	                          b->transformer_hours_count, errstr, errstr_size)) ||
	    (rc = store_copy_rows(st, &cover_target, b->cover, b->cover_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &cover_target, b->transformer_cover,
	                          b->transformer_cover_count, errstr, errstr_size)) ||
	    (rc = store_copy_rows(st, &profiles_target, b->profiles, b->profile_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &counts_target, b->counts, b->count_count, errstr,
	                          errstr_size)) ||
	    (rc = store_copy_rows(st, &outbox_target, b->outbox, b->outbox_count, errstr,
	                          errstr_size)))
		goto fail;
	if (b->progress_count && (rc = write_progress(st, b, errstr, errstr_size)))
		goto fail;
	if ((b->billing_id_count && (rc = record_billing_ids(st, b, errstr, errstr_size))) ||
	    (rc = store_copy_rows(st, &repeats_target, b->repeats, b->repeat_count, errstr,
	                          errstr_size)))
		goto fail;
	/* the pending days before the alerts: an alert raised at a day's close marks its day's
	 * row, and waits for the customer's earlier days that may still alert */
	if ((rc = store_copy_rows(st, &pending_target, b->pending, b->pending_count, errstr,
	                          errstr_size)) ||
	    (rc = store_write_scorings(st, b, errstr, errstr_size)))
		goto fail;
	if ((b->grade_count || b->credit_count) && (rc = store_write_credit(st, b, errstr, errstr_size)))
		goto fail;
	if ((rc = store_copy_rows(st, &snapshots_target, b->snapshots, b->snapshot_count, errstr,
	                          errstr_size)) ||
	    (rc = store_write_side(st, b, errstr, errstr_size)))
		goto fail;
	if ((rc = store_exec(st, "commit", errstr, errstr_size)))
		return rc; /* a failed commit leaves nothing written */
	return 0;

fail:
	rollback_quietly(st);
	return rc;
}

/*
 * Runs a query with text parameters params[0..n) ($1..$n), its values coming back as text
 * (binary 0) or binary (1). Returns the result (the caller clears it), or NULL with *rc set to
 * a riskd_err and errstr naming `what`. Success sets *rc to 0.
 */
static PGresult *query_rows(struct store *st, const char *sql, int n, const char *const *params,
                            int binary, const char *what, int *rc, char *errstr,
                            size_t errstr_size)
{
	PGresult *res = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, binary);
	*rc = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	*rc = store_fail_result(st, res, what, errstr, errstr_size);
	PQclear(res);
	return NULL;
}

int store_load_offset(struct store *st, const char *group, const char *topic, int32_t partition,
                      int64_t *next, int64_t *state_next, char *errstr, size_t errstr_size)
{
	char part[16];
	const char *params[3] = {group, topic, part};
	int rc;

	snprintf(part, sizeof(part), "%d", (int)partition);
	PGresult *res = query_rows(st,
	                           "select next_offset, coalesce(state_offset, next_offset)"
	                           " from risk.kafka_offsets where"
	                           " consumer_group = $1 and topic = $2 and partition = $3",
	                           3, params, 0, "load offset", &rc, errstr, errstr_size);
	if (!res)
		return rc;
	if (PQntuples(res) == 0) {
		*next = *state_next = -1;
	} else {
		*next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*state_next = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	return 0;
}

/* query_rows for a query of the rows of some partitions: $1 is `first`, $2 the partitions
 * partitions[0..n) as an int[]. */
static PGresult *query_partitions(struct store *st, const char *sql, const char *first,
                                  const int32_t *partitions, int n, int binary, const char *what,
                                  int *rc, char *errstr, size_t errstr_size)
{
	const char *params[2] = {first, store_partitions_text(st, partitions, n)};
	return query_rows(st, sql, 2, params, binary, what, rc, errstr, errstr_size);
}

int store_load_snapshots(struct store *st, char kind, const int32_t *partitions, int n,
                         int (*fn)(const char *id, const uint8_t *state, size_t len, void *arg),
                         void *arg, char *errstr, size_t errstr_size)
{
	char kind_s[2] = {kind, '\0'};
	int rc;
	PGresult *res = query_partitions(st,
	                                 "select entity_id, state from risk.entity_state"
	                                 " where kind = $1 and partition = any($2::int[])",
	                                 kind_s, partitions, n, 1, "load state", &rc, errstr,
	                                 errstr_size);
	for (int r = 0; res && r < PQntuples(res) && rc == 0; r++) {
		char id[RISKD_ID_MAX + 1];
		riskd_strlcpy(id, sizeof(id), PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0));
		rc = fn(id, (const uint8_t *)PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1),
		        arg);
	}
	PQclear(res);
	return rc;
}

int store_load_repeats(struct store *st, const char *topic, const int32_t *partitions, int n,
                       int (*fn)(int32_t partition, int64_t offset, void *arg), void *arg,
                       char *errstr, size_t errstr_size)
{
	int rc;
	PGresult *res = query_partitions(st,
	                                 "select partition, msg_offset from risk.billing_repeats"
	                                 " where topic = $1 and partition = any($2::int[])",
	                                 topic, partitions, n, 0, "load billing repeats", &rc,
	                                 errstr, errstr_size);
	for (int r = 0; res && rc == 0 && r < PQntuples(res); r++)
		rc = fn((int32_t)atoi(PQgetvalue(res, r, 0)), strtoll(PQgetvalue(res, r, 1), NULL, 10),
		        arg);
	PQclear(res);
	return rc;
}

int store_load_cover(struct store *st, char kind, const char *id, int32_t day,
                     uint16_t codes[CSTATE_COVER_SLOTS], char *errstr, size_t errstr_size)
{
	char kind_s[2] = {kind, '\0'}, day_s[16];
	snprintf(day_s, sizeof(day_s), "%d", (int)day);
	const char *params[3] = {kind_s, id, day_s};
	int rc;
	memset(codes, 0, sizeof(uint16_t) * CSTATE_COVER_SLOTS);
	PGresult *res = query_rows(st,
	                           "select cover from risk.reading_coverage"
	                           " where kind = $1 and entity_id = $2 and day = $3::integer",
	                           3, params, 1, "load reading coverage", &rc, errstr, errstr_size);
	if (!res || PQntuples(res) == 0)
		goto done;
	if (PQgetlength(res, 0, 0) != COVER_BYTES) {
		snprintf(errstr, errstr_size,
		         "risk.reading_coverage row (%c, '%s', %d): cover is %d bytes, expected %d",
		         kind, id, (int)day, PQgetlength(res, 0, 0), COVER_BYTES);
		rc = RISKD_ERR_INVALID;
		goto done;
	}
	const uint8_t *bytes = (const uint8_t *)PQgetvalue(res, 0, 0);
	for (int k = 0; k < CSTATE_COVER_SLOTS; k++)
		codes[k] = (uint16_t)(bytes[2 * k] | bytes[2 * k + 1] << 8);
	rc = 1;
done:
	PQclear(res);
	return rc;
}

static int64_t be64(const char *p)
{
	uint32_t hi, lo;
	memcpy(&hi, p, 4);
	memcpy(&lo, p + 4, 4);
	return (int64_t)(((uint64_t)ntohl(hi) << 32) | ntohl(lo));
}

/* Writes the ids of the rows with this outcome as a PostgreSQL bigint[] literal into b;
 * returns b's text. */
static const char *id_array(struct rbuf *b, const struct store_outbox_row *rows, int n,
                            enum store_outbox_outcome outcome)
{
	rbuf_reset(b);
	rbuf_append(b, "{", 1);
	int first = 1;
	for (int r = 0; r < n; r++)
		if (rows[r].outcome == outcome) {
			rbuf_printf(b, "%s%lld", first ? "" : ",", (long long)rows[r].id);
			first = 0;
		}
	rbuf_append(b, "}", 2);
	return b->data;
}

/* Deletes the published rows and moves the failed ones aside, inside the relay's transaction.
 * Returns 0 or a negative riskd_err. */
static int settle_outbox_rows(struct store *st, const struct store_outbox_row *rows, int n,
                              struct store_relay *done, char *errstr, size_t errstr_size)
{
	int rc = 0;
	for (int r = 0; r < n; r++) {
		done->published += rows[r].outcome == STORE_OUTBOX_PUBLISHED;
		done->failed += rows[r].outcome == STORE_OUTBOX_FAILED;
		done->waiting += rows[r].outcome == STORE_OUTBOX_WAIT;
	}
	if (done->published) {
		const char *ids = id_array(&st->scratch, rows, n, STORE_OUTBOX_PUBLISHED);
		rc = store_exec_params(st, "delete from risk.outbox where id = any($1::bigint[])", 1,
		                       &ids, "delete outbox rows", errstr, errstr_size);
	}
	for (int r = 0; r < n && rc == 0; r++) {
		if (rows[r].outcome != STORE_OUTBOX_FAILED)
			continue;
		char id[24];
		snprintf(id, sizeof(id), "%lld", (long long)rows[r].id);
		const char *params[2] = {id, rows[r].error};
		rc = store_exec_params(st,
		                       "with moved as (delete from risk.outbox where id = $1::bigint"
		                       " returning id, topic, msg_key, payload, headers, created_at)"
		                       " insert into risk.outbox_failed"
		                       " (id, topic, msg_key, payload, headers, created_at, error)"
		                       " select id, topic, msg_key, payload, headers, created_at, $2"
		                       " from moved",
		                       2, params, "move outbox row aside", errstr, errstr_size);
	}
	return rc;
}

int store_relay_outbox(struct store *st, int max,
                       void (*publish)(struct store_outbox_row *rows, int n, void *arg),
                       void *arg, struct store_relay *done, char *errstr, size_t errstr_size)
{
	struct store_outbox_row *rows = NULL;
	json_t **headers = NULL;
	PGresult *res = NULL;
	char limit[16];
	const char *params[1] = {limit};
	int n = 0, rc;

	memset(done, 0, sizeof(*done));
	snprintf(limit, sizeof(limit), "%d", max);
	if ((rc = store_exec(st, "begin", errstr, errstr_size)))
		return rc;
	res = PQexecParams(st->conn,
	                   "select id, topic, msg_key, payload, to_json(headers)::text"
	                   " from risk.outbox order by id limit $1 for update skip locked",
	                   1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "read outbox", errstr, errstr_size);
		goto fail;
	}
	n = PQntuples(res);
	if (n == 0) {
		rc = store_exec(st, "commit", errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	rows = xcalloc((size_t)n, sizeof(*rows));
	headers = xcalloc((size_t)n, sizeof(*headers));
	for (int r = 0; r < n; r++) {
		struct store_outbox_row *row = &rows[r];
		row->outcome = STORE_OUTBOX_WAIT;
		row->id = be64(PQgetvalue(res, r, 0));
		row->topic = PQgetvalue(res, r, 1); /* binary text is the text itself, NUL-ended */
		row->key = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2);
		row->key_len = PQgetisnull(res, r, 2) ? 0 : (size_t)PQgetlength(res, r, 2);
		row->payload = PQgetvalue(res, r, 3);
		row->len = (size_t)PQgetlength(res, r, 3);
		headers[r] = json_loadb(PQgetvalue(res, r, 4), (size_t)PQgetlength(res, r, 4), 0, NULL);
		size_t count = json_is_array(headers[r]) ? json_array_size(headers[r]) / 2 : 0;
		for (size_t h = 0; h < count && h < 8; h++) {
			row->header_names[h] = json_string_value(json_array_get(headers[r], 2 * h));
			row->header_values[h] = json_string_value(json_array_get(headers[r], 2 * h + 1));
			if (row->header_names[h] && row->header_values[h])
				row->header_count++;
		}
	}
	publish(rows, n, arg);
	if ((rc = settle_outbox_rows(st, rows, n, done, errstr, errstr_size)))
		goto fail;
	rc = store_exec(st, "commit", errstr, errstr_size);
	if (rc)
		memset(done, 0, sizeof(*done));
	goto done;

fail:
	memset(done, 0, sizeof(*done));
	rollback_quietly(st);
done:
	for (int r = 0; headers && r < n; r++)
		json_decref(headers[r]);
	free(headers);
	free(rows);
	PQclear(res);
	return rc;
}

int store_drain_area_balance(struct store *st, char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(st->conn, "select risk.drain_area_balance()");
	int n;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		n = store_fail_result(st, res, "area balance", errstr, errstr_size);
	else
		n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* The areas' balance and latest attribution (store_load_areas), or one area's as it stood on
 * a day: $2 the transformer_id and $3 the day (days since 1970-01-01), NULL for every area
 * and their newest rows. */
#define LOAD_AREAS_SQL                                                                        \
	"select transformer_id, day - date '1970-01-01', newest - date '1970-01-01', loss_rate,"  \
	" feeder_kwh, loss_rate - baseline_loss_rate, excess_kwh, rank,"                         \
	" w.window_end_day - date '1970-01-01', w.resolution_s"                                  \
	" from (select transformer_id, day, loss_rate, feeder_kwh, baseline_loss_rate, excess_kwh,"\
	"       row_number() over (partition by transformer_id order by day desc) rank,"        \
	"       max(day) over (partition by transformer_id) newest"                              \
	"       from risk.area_balance where ($2::text is null or transformer_id = $2)"          \
	"       and ($3::integer is null or day <= date '1970-01-01' + $3::integer)) b"           \
	" left join (select distinct on (transformer_id) transformer_id, window_end_day,"        \
	"       resolution_s from risk.area_attribution_window"                                  \
	"       where ($2::text is null or transformer_id = $2)"                                 \
	"       and ($3::integer is null or window_end_day <= date '1970-01-01' + $3::integer)"  \
	"       order by transformer_id, window_end_day desc) w using (transformer_id)"         \
	" where day > newest - $1::integer or rank <= 7"                                         \
	" order by transformer_id collate \"C\", day"

/* Loads the areas into t: every area's newest rows (transformer_id and as_of_day NULL), or
 * one area's up to a day. Returns the number of areas or a negative riskd_err. */
static int load_areas(struct store *st, struct area_table *t, const char *transformer_id,
                      const char *as_of_day, char *errstr, size_t errstr_size)
{
	/* per area: the rows of its last AREA_SERIES_DAYS days (and at least its 7 newest), oldest
	 * first; rank 1 is the newest */
	char series_days[16];
	snprintf(series_days, sizeof(series_days), "%d", AREA_SERIES_DAYS);
	const char *params[3] = {series_days, transformer_id, as_of_day};
	PGresult *res = PQexecParams(st->conn, LOAD_AREAS_SQL, 3, NULL, params, NULL, NULL, 0);
	struct area_balance a;
	double excess_sum = 0;
	int n = 0, rows, excess_n = 0, open = 0;
	area_table_reset(t);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		n = store_fail_result(st, res, "load area balance", errstr, errstr_size);
		goto done;
	}
	rows = PQntuples(res);
	for (int r = 0; r <= rows; r++) {
		int same = r < rows && open &&
		           strcmp(a.transformer_id, PQgetvalue(res, r, 0)) == 0;
		if (open && !same) {
			a.excess_kwh = excess_n ? excess_sum / excess_n : 0;
			area_table_add(t, &a);
			n++;
			open = 0;
		}
		if (r == rows)
			break;
		if (!open) {
			memset(&a, 0, sizeof(a));
			riskd_strlcpy(a.transformer_id, sizeof(a.transformer_id), PQgetvalue(res, r, 0),
			              (size_t)PQgetlength(res, r, 0));
			a.last_day = (int32_t)strtol(PQgetvalue(res, r, 2), NULL, 10);
			if (!PQgetisnull(res, r, 8)) { /* the area's latest attribution */
				a.attrib_end_day = (int32_t)strtol(PQgetvalue(res, r, 8), NULL, 10);
				a.attrib_resolution_s = (int32_t)strtol(PQgetvalue(res, r, 9), NULL, 10);
			}
			for (int i = 0; i < AREA_SERIES_DAYS; i++)
				a.rate[i] = a.feeder_kwh[i] = NAN;
			excess_sum = 0;
			excess_n = 0;
			open = 1;
		}
		int32_t day = (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10);
		int64_t slot = (int64_t)day - (a.last_day - (AREA_SERIES_DAYS - 1));
		double rate = PQgetisnull(res, r, 3) ? NAN : strtod(PQgetvalue(res, r, 3), NULL);
		if (slot >= 0 && slot < AREA_SERIES_DAYS) {
			a.rate[slot] = (float)rate;
			a.feeder_kwh[slot] = (float)strtod(PQgetvalue(res, r, 4), NULL);
		}
		long rank = strtol(PQgetvalue(res, r, 7), NULL, 10);
		if (rank == 1) {
			a.loss_rate = rate;
			a.loss_excess = PQgetisnull(res, r, 5) ? NAN : strtod(PQgetvalue(res, r, 5), NULL);
		}
		if (rank <= 7 && !PQgetisnull(res, r, 6)) {
			excess_sum += strtod(PQgetvalue(res, r, 6), NULL);
			excess_n++;
		}
	}
	if (n > 0) {
		int rc = store_attrib_load_findings(st, t, transformer_id, as_of_day, errstr,
		                                    errstr_size);
		if (rc < 0) {
			area_table_reset(t);
			n = rc;
		}
	}
done:
	PQclear(res);
	return n;
}

int store_load_areas(struct store *st, struct area_table *t, char *errstr, size_t errstr_size)
{
	return load_areas(st, t, NULL, NULL, errstr, errstr_size);
}

int store_load_area_as_of(struct store *st, struct area_table *t, const char *transformer_id,
                          int32_t day, char *errstr, size_t errstr_size)
{
	char as_of[16];
	snprintf(as_of, sizeof(as_of), "%d", (int)day);
	return load_areas(st, t, transformer_id, as_of, errstr, errstr_size);
}

int store_outbox_pending(struct store *st, int64_t *count, int64_t *oldest_s, char *errstr,
                         size_t errstr_size)
{
	PGresult *res = PQexec(st->conn, "select count(*),"
	                                 " coalesce(floor(extract(epoch from min(created_at))), 0)"
	                                 " from risk.outbox");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = store_fail_result(st, res, "count outbox", errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	*count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*oldest_s = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return 0;
}
