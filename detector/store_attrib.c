/*
 * store_attrib.c - claims queued area-windows, loads their hourly and daily sums into a
 * struct attrib_window, and saves what the attribution found (store_attrib.h describes the
 * rules that turn rows into the window). All SQL is parameterised; findings go in by COPY.
 */
#include "store_attrib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "areas.h"
#include "store_int.h"

static void rollback_quietly(struct store *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK)
		PQclear(PQexec(st->conn, "rollback"));
}

/* Grows a double buffer to n entries. */
static double *grow_doubles(double *p, size_t *cap, size_t n)
{
	if (n > *cap) {
		*cap = n;
		p = xrealloc(p, sizeof(*p) * n);
	}
	return p;
}

void store_attrib_claim_free(struct store_attrib_claim *c)
{
	free(c->customer_ids);
	free(c->feeder_kwh);
	free(c->metered_kwh);
	free(c->daily_uwh);
	free(c->daily_whole);
	free(c->hours);
	free(c->parts);
	memset(c, 0, sizeof(*c));
}

/* Reads the area's customers (customer_id order) into c. Returns 0 or a riskd_err. */
static int load_customers(struct store *st, struct store_attrib_claim *c, char *errstr,
                          size_t errstr_size)
{
	const char *params[1] = {c->transformer_id};
	PGresult *res = PQexecParams(st->conn,
	                             "select customer_id from risk.customers where transformer_id = $1"
	                             " order by customer_id collate \"C\"",
	                             1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		int rc = store_fail_result(st, res, "load area customers", errstr, errstr_size);
		PQclear(res);
		return rc;
	}
	size_t n = (size_t)PQntuples(res);
	if (n > c->customer_cap) {
		c->customer_cap = n;
		c->customer_ids = xrealloc(c->customer_ids, sizeof(*c->customer_ids) * n);
	}
	for (size_t i = 0; i < n; i++)
		riskd_strlcpy(c->customer_ids[i], sizeof(c->customer_ids[i]),
		              PQgetvalue(res, (int)i, 0), (size_t)PQgetlength(res, (int)i, 0));
	c->window.n_customers = (uint32_t)n;
	PQclear(res);
	return 0;
}

/* The index of customer_id in c's sorted customers, or -1. */
static long customer_index(const struct store_attrib_claim *c, const char *customer_id)
{
	size_t lo = 0, hi = c->window.n_customers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->customer_ids[mid], customer_id);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Adds a bigint[] text of 24 slots ("{1,NULL,...}") to *h: each number to its slot (setting
 * its bit), a NULL slot adds nothing. Returns 0, or -1 when the text is not 24 slots.
 */
static int add_hours_text(const char *text, struct daily_hours *h)
{
	const char *p = text;
	if (*p++ != '{')
		return -1;
	for (int k = 0; k < ATTRIB_HOURS; k++) {
		if (strncmp(p, "NULL", 4) == 0) {
			p += 4;
		} else {
			char *end;
			long long uwh = strtoll(p, &end, 10);
			if (end == p)
				return -1;
			h->uwh[k] += uwh;
			h->mask |= 1u << k;
			p = end;
		}
		if (*p != (k == ATTRIB_HOURS - 1 ? '}' : ','))
			return -1;
		p++;
	}
	return 0;
}

/* The window's days of an entity kind, as SQL over $1 (the area), $2 .. $3 (its first and
 * last day, days since 1970-01-01); each returns entity id, day (0 = the window's first) and
 * one more column. [0] customers, [1] the transformer. */
#define WINDOW_DATES_SQL                                                                    \
	" between date '1970-01-01' + $2::integer and date '1970-01-01' + $3::integer"
#define AREA_CUSTOMER_SQL(alias)                                                             \
	alias ".customer_id in (select customer_id from risk.customers where transformer_id = $1)"
static const char *const daily_rows_sql[2] = {
    "select customer_id, day - (date '1970-01-01' + $2::integer), kwh_uwh, covered_s, readings"
    " from risk.daily_usage u where " AREA_CUSTOMER_SQL("u") " and day" WINDOW_DATES_SQL,
    "select transformer_id, day - (date '1970-01-01' + $2::integer), kwh_uwh, covered_s,"
    " readings from risk.transformer_daily where transformer_id = $1 and day"
    WINDOW_DATES_SQL};
static const char *const hourly_rows_sql[2] = {
    "select customer_id, day - (date '1970-01-01' + $2::integer), uwh from risk.hourly_usage u"
    " where " AREA_CUSTOMER_SQL("u") " and day" WINDOW_DATES_SQL,
    "select transformer_id, day - (date '1970-01-01' + $2::integer), uwh"
    " from risk.transformer_hourly where transformer_id = $1 and day" WINDOW_DATES_SQL};
/* The parts are taken out as they are read: the claim folds them into the rows above. */
static const char *const parts_sql[2] = {
    "delete from risk.hourly_usage_part p where " AREA_CUSTOMER_SQL("p")
    " and day between $2::integer and $3::integer returning customer_id, day - $2::integer, uwh",
    "delete from risk.transformer_hourly_part where transformer_id = $1"
    " and day between $2::integer and $3::integer returning transformer_id, day - $2::integer,"
    " uwh"};

/* Adds a parts' sum to an hourly row, slot by slot (a NULL slot keeps the stored one). */
#define HOUR_SLOT(i)                                                                         \
	"case when excluded.uwh[" #i "] is null then h.uwh[" #i "] else coalesce(h.uwh[" #i     \
	"], 0) + excluded.uwh[" #i "] end"
#define HOUR_SLOTS_6(a, b, c, d, e, f)                                                       \
	HOUR_SLOT(a) "," HOUR_SLOT(b) "," HOUR_SLOT(c) "," HOUR_SLOT(d) "," HOUR_SLOT(e) ","     \
	HOUR_SLOT(f)
#define FOLD_SQL(table, id_column, tmp)                                                      \
	"insert into " table " as h (" id_column ", day, uwh) "                                   \
	"select entity_id, date '1970-01-01' + day, uwh from " tmp " "                            \
	"on conflict (" id_column ", day) do update set uwh = array["                             \
	HOUR_SLOTS_6(1, 2, 3, 4, 5, 6) "," HOUR_SLOTS_6(7, 8, 9, 10, 11, 12) ","                  \
	HOUR_SLOTS_6(13, 14, 15, 16, 17, 18) "," HOUR_SLOTS_6(19, 20, 21, 22, 23, 24) "]"
static const struct store_copy_target fold_targets[2] = {
    {"tmp_fold", NULL, FOLD_SQL("risk.hourly_usage", "customer_id", "tmp_fold"),
     store_write_hours_rows},
    {"tmp_tfold", NULL, FOLD_SQL("risk.transformer_hourly", "transformer_id", "tmp_tfold"),
     store_write_hours_rows}};

/* Runs sql[kind] for c's area and days. */
static PGresult *query_window(struct store *st, const struct store_attrib_claim *c,
                              const char *sql)
{
	int32_t days = c->window.history_days + c->window.window_days;
	char first[16], last[16];
	snprintf(first, sizeof(first), "%d", (int)(c->window.end_day - days + 1));
	snprintf(last, sizeof(last), "%d", (int)c->window.end_day);
	const char *params[3] = {c->transformer_id, first, last};
	return PQexecParams(st->conn, sql, 3, NULL, params, NULL, NULL, 0);
}

/* The entity (0 .. n_customers - 1: a customer, n_customers: the transformer) and window day
 * of a result row, as an index into c's per entity-day arrays, or -1. */
static long entity_day(const struct store_attrib_claim *c, int transformer, PGresult *res,
                       int r)
{
	int32_t days = c->window.history_days + c->window.window_days;
	long e = transformer ? (long)c->window.n_customers
	                     : customer_index(c, PQgetvalue(res, r, 0));
	long d = strtol(PQgetvalue(res, r, 1), NULL, 10);
	return e < 0 || d < 0 || d >= days ? -1 : e * days + d;
}

/* Reads one kind's daily rows, its parts (taking them out) and its hourly rows into c's per
 * entity-day arrays, then folds the parts into the hourly rows. Returns 0 or a riskd_err. */
static int load_kind(struct store *st, struct store_attrib_claim *c, int transformer,
                     char *errstr, size_t errstr_size)
{
	const char *what = "load attribution window";
	long newest_day = -1;
	PGresult *res = query_window(st, c, daily_rows_sql[transformer]);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto fail;
	for (int r = 0; r < PQntuples(res); r++) {
		long i = entity_day(c, transformer, res, r);
		if (i < 0)
			continue;
		long covered = strtol(PQgetvalue(res, r, 3), NULL, 10);
		long readings = strtol(PQgetvalue(res, r, 4), NULL, 10);
		if (readings == 0 && !transformer)
			continue; /* a silent meter's empty day: its hours are missing, not zero */
		c->daily_uwh[i] = strtoll(PQgetvalue(res, r, 2), NULL, 10);
		c->daily_whole[i] = 1 + (covered >= 86400);
		/* the transformer's reading interval: the mean of its newest day in the window */
		long d = strtol(PQgetvalue(res, r, 1), NULL, 10);
		if (transformer && readings > 0 && d >= newest_day) {
			newest_day = d;
			c->feeder_interval_s = (int32_t)(covered / readings);
		}
	}
	PQclear(res);
	/* the parts first: a claim of an overlapping window that folded some of them meanwhile
	 * has committed by the time they are taken here, so the rows read next hold them */
	int parts_read = 0;
	for (int pass = 0; pass < 2; pass++) {
		int parts = pass == 0;
		struct store_hours *into = parts ? c->parts : c->hours;
		res = query_window(st, c, parts ? parts_sql[transformer] : hourly_rows_sql[transformer]);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			goto fail;
		if (parts)
			parts_read = PQntuples(res);
		for (int r = 0; r < PQntuples(res); r++) {
			long i = entity_day(c, transformer, res, r);
			if (i >= 0 && add_hours_text(PQgetvalue(res, r, 2), &into[i].sums) != 0) {
				what = "load attribution window: an hourly row is not 24 slots";
				goto fail;
			}
		}
		PQclear(res);
	}
	/* the parts that were read go into the hourly rows, in this transaction. Late readings
	 * for closed days are rare: most claims have none and touch no temporary table (a
	 * transaction that does empties all of the session's at its commit) */
	if (!parts_read)
		return 0;
	int32_t days = c->window.history_days + c->window.window_days;
	size_t first = transformer ? (size_t)c->window.n_customers * (size_t)days : 0;
	size_t end = transformer ? first + (size_t)days : first + (size_t)c->window.n_customers * days;
	for (size_t i = first; i < end; i++) {
		c->parts[i].id = transformer ? c->transformer_id : c->customer_ids[i / (size_t)days];
		c->parts[i].day = (int32_t)(c->window.end_day - days + 1 + (int32_t)(i % (size_t)days));
	}
	return store_copy_rows(st, &fold_targets[transformer], c->parts + first, end - first,
	                       errstr, errstr_size);
fail:;
	int rc = store_fail_result(st, res, what, errstr, errstr_size);
	PQclear(res);
	return rc;
}

/* Puts entity-day i into its slots (store_attrib.h's rules). */
static void fill_day(const struct store_attrib_claim *c, size_t i, int transformer,
                     double *slots)
{
	double daily = c->daily_whole[i] ? (double)c->daily_uwh[i] / 1e6 : NAN;
	if (c->window.slots_per_day == 1) {
		slots[0] = transformer && c->daily_whole[i] != 2 ? NAN : daily;
		return;
	}
	struct daily_hours sums = c->hours[i].sums;
	for (int h = 0; h < ATTRIB_HOURS; h++)
		sums.uwh[h] += c->parts[i].sums.uwh[h];
	sums.mask |= c->parts[i].sums.mask;
	if (!sums.mask && !transformer && c->daily_whole[i]) /* a meter that reads daily */
		daily_hours_add(&sums, 0, 86400, c->daily_uwh[i]);
	for (int h = 0; h < ATTRIB_HOURS; h++)
		slots[h] = sums.mask & (1u << h) ? (double)sums.uwh[h] / 1e6 : NAN;
}

/* Grows c's per entity-day arrays to n entries and empties them. */
static void reset_entity_days(struct store_attrib_claim *c, size_t n)
{
	if (n > c->entity_day_cap) {
		c->entity_day_cap = n;
		c->daily_uwh = xrealloc(c->daily_uwh, sizeof(*c->daily_uwh) * n);
		c->daily_whole = xrealloc(c->daily_whole, sizeof(*c->daily_whole) * n);
		c->hours = xrealloc(c->hours, sizeof(*c->hours) * n);
		c->parts = xrealloc(c->parts, sizeof(*c->parts) * n);
	}
	memset(c->daily_whole, 0, sizeof(*c->daily_whole) * n);
	memset(c->hours, 0, sizeof(*c->hours) * n);
	memset(c->parts, 0, sizeof(*c->parts) * n);
}

/* Loads the transformer's and the customers' rows into c's window. */
static int load_window(struct store *st, struct store_attrib_claim *c, char *errstr,
                       size_t errstr_size)
{
	struct attrib_window *w = &c->window;
	int32_t days = w->history_days + w->window_days;
	int rc = load_customers(st, c, errstr, errstr_size);
	if (rc)
		return rc;
	size_t entity_days = ((size_t)w->n_customers + 1) * (size_t)days;
	reset_entity_days(c, entity_days);
	c->feeder_interval_s = 0;
	if ((rc = load_kind(st, c, 1, errstr, errstr_size)) ||
	    (rc = load_kind(st, c, 0, errstr, errstr_size)))
		return rc;
	/* hourly when the transformer reads every hour or more often */
	const size_t feeder_at = (size_t)w->n_customers * (size_t)days;
	w->slots_per_day = c->feeder_interval_s > 0 && c->feeder_interval_s <= 3600 ? ATTRIB_HOURS : 1;
	size_t per_entity = (size_t)days * (size_t)w->slots_per_day;
	c->feeder_kwh = grow_doubles(c->feeder_kwh, &c->feeder_cap, per_entity);
	c->metered_kwh = grow_doubles(c->metered_kwh, &c->metered_cap,
	                              per_entity * (w->n_customers ? w->n_customers : 1));
	for (size_t i = 0; i < entity_days; i++) {
		int transformer = i >= feeder_at;
		double *slots = transformer ? c->feeder_kwh + (i - feeder_at) * w->slots_per_day
		                            : c->metered_kwh + i * w->slots_per_day;
		fill_day(c, i, transformer, slots);
	}
	w->feeder_kwh = c->feeder_kwh;
	w->metered_kwh = c->metered_kwh;
	return 0;
}

int store_attrib_claim(struct store *st, int window_days, int history_days,
                       struct store_attrib_claim *c, char *errstr, size_t errstr_size)
{
	int rc = store_exec(st, "begin", errstr, errstr_size);
	if (rc)
		return rc;
	PGresult *res = PQexec(st->conn,
	                       "select transformer_id, window_end_day - date '1970-01-01'"
	                       " from risk.area_attribution_queue"
	                       " order by window_end_day, transformer_id limit 1"
	                       " for update skip locked");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = store_fail_result(st, res, "claim attribution", errstr, errstr_size);
		PQclear(res);
		rollback_quietly(st);
		return rc;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return store_exec(st, "commit", errstr, errstr_size);
	}
	memset(&c->window, 0, sizeof(c->window));
	riskd_strlcpy(c->transformer_id, sizeof(c->transformer_id), PQgetvalue(res, 0, 0),
	              (size_t)PQgetlength(res, 0, 0));
	c->window.end_day = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	c->window.window_days = window_days;
	c->window.history_days = history_days;
	PQclear(res);
	if ((rc = load_window(st, c, errstr, errstr_size))) {
		rollback_quietly(st);
		return rc;
	}
	return 1;
}

/* The findings of a claim, as findings_target's rows: write_finding_rows takes a pointer to
 * one of these and the number of customers. */
struct finding_rows {
	const struct store_attrib_claim *claim;
	const struct attrib_finding *out;
};

static void write_finding_rows(struct rbuf *b, const void *rows, size_t n)
{
	const struct finding_rows *f = rows;
	const struct store_attrib_claim *c = f->claim;
	char end_date[16];
	store_date_text(c->window.end_day, end_date, sizeof(end_date));
	for (size_t i = 0; i < n; i++) {
		const struct attrib_finding *o = &f->out[i];
		store_copy_text(b, c->transformer_id);
		rbuf_printf(b, "\t%s\t", end_date);
		store_copy_text(b, c->customer_ids[i]);
		rbuf_printf(b, "\t%d\t%.9g\t%.9g\t%.9g\t%.9g\t%s\t%.9g\t%.9g\n",
		            (int)o->resolution_s, (double)o->share, (double)o->kwh_day,
		            (double)o->stolen_kwh, (double)o->z, attrib_regressor_name(o->carrier),
		            (double)o->reversed_coef, (double)o->reversed_z);
	}
}

/* Straight into the table: a solve's transaction touches no temporary table, so its commit
 * does not empty the session's (store_conn.c) */
static const struct store_copy_target findings_target = {
    "risk.area_attribution",
    "(transformer_id, window_end_day, customer_id, resolution_s, share, kwh_day, stolen_kwh, z,"
    " carrier, reversed_coef, reversed_z)",
    NULL, write_finding_rows};

static const char *const status_names[] = {"ok", "too_few_rows", "no_dof"};

/* Deletes the claimed queue row and the window's old findings. */
static int clear_window(struct store *st, const struct store_attrib_claim *c, char *errstr,
                        size_t errstr_size)
{
	char end[16];
	snprintf(end, sizeof(end), "%d", (int)c->window.end_day);
	const char *params[2] = {c->transformer_id, end};
	return store_exec_params(
	    st,
	    "with q as (delete from risk.area_attribution_queue where transformer_id = $1"
	    " and window_end_day = date '1970-01-01' + $2::integer)"
	    " delete from risk.area_attribution where transformer_id = $1"
	    " and window_end_day = date '1970-01-01' + $2::integer",
	    2, params, "clear attribution window", errstr, errstr_size);
}

/* Upserts the area-window's row. */
static int write_window_row(struct store *st, const struct store_attrib_claim *c,
                            const struct attrib_area_result *res, char *errstr,
                            size_t errstr_size)
{
	char v[16][32];
	const struct attrib_window *w = &c->window;
	snprintf(v[0], 32, "%d", (int)w->end_day);
	snprintf(v[1], 32, "%d", (int)w->window_days);
	snprintf(v[2], 32, "%d", (int)w->history_days);
	snprintf(v[3], 32, "%s",
	         (unsigned)res->status < 3 ? status_names[res->status] : "too_few_rows");
	snprintf(v[4], 32, "%d", (int)res->resolution_s);
	snprintf(v[5], 32, "%u", (unsigned)res->rows);
	snprintf(v[6], 32, "%u", (unsigned)w->n_customers);
	snprintf(v[7], 32, "%u", (unsigned)res->columns_active);
	snprintf(v[8], 32, "%.17g", res->ntl_kwh);
	snprintf(v[9], 32, "%.17g", res->technical_kwh);
	snprintf(v[10], 32, "%.17g", res->tech.noload_kw);
	snprintf(v[11], 32, "%.17g", res->tech.load_per_kw);
	snprintf(v[12], 32, "%.17g", res->residual_mean);
	snprintf(v[13], 32, "%.17g", res->residual_sd);
	snprintf(v[14], 32, "%.17g", res->noise_sd);
	snprintf(v[15], 32, "%.17g", res->fit_r2);
	char iterations[16];
	snprintf(iterations, sizeof(iterations), "%u", (unsigned)res->iterations);
	const char *params[18] = {c->transformer_id};
	for (int i = 0; i < 16; i++)
		params[i + 1] = v[i];
	params[17] = iterations;
	return store_exec_params(
	    st,
	    "insert into risk.area_attribution_window as w (transformer_id, window_end_day,"
	    " window_days, history_days, status, resolution_s, rows, customers, columns_active,"
	    " ntl_kwh, technical_kwh, noload_kw, load_per_kw, residual_mean, residual_sd, noise_sd,"
	    " fit_r2, iterations)"
	    " values ($1, date '1970-01-01' + $2::integer, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	    " $12, $13, $14, $15, $16, $17, $18)"
	    " on conflict (transformer_id, window_end_day) do update set"
	    " window_days = excluded.window_days, history_days = excluded.history_days,"
	    " status = excluded.status, resolution_s = excluded.resolution_s, rows = excluded.rows,"
	    " customers = excluded.customers, columns_active = excluded.columns_active,"
	    " ntl_kwh = excluded.ntl_kwh, technical_kwh = excluded.technical_kwh,"
	    " noload_kw = excluded.noload_kw, load_per_kw = excluded.load_per_kw,"
	    " residual_mean = excluded.residual_mean, residual_sd = excluded.residual_sd,"
	    " noise_sd = excluded.noise_sd, fit_r2 = excluded.fit_r2,"
	    " iterations = excluded.iterations, computed_at = now()",
	    18, params, "save attribution window", errstr, errstr_size);
}

int store_attrib_save(struct store *st, const struct store_attrib_claim *c,
                      const struct attrib_area_result *res, const struct attrib_finding *out,
                      char *errstr, size_t errstr_size)
{
	struct finding_rows rows = {c, out};
	int rc;
	if ((rc = clear_window(st, c, errstr, errstr_size)) ||
	    (rc = write_window_row(st, c, res, errstr, errstr_size)) ||
	    (c->window.n_customers &&
	     (rc = store_copy_rows(st, &findings_target, &rows, c->window.n_customers, errstr,
	                           errstr_size))) ||
	    (rc = store_exec(st, "commit", errstr, errstr_size))) {
		rollback_quietly(st);
		return rc;
	}
	return 0;
}

int store_attrib_drop(struct store *st, const struct store_attrib_claim *c, char *errstr,
                      size_t errstr_size)
{
	int rc;
	if ((rc = clear_window(st, c, errstr, errstr_size)) ||
	    (rc = store_exec(st, "commit", errstr, errstr_size))) {
		rollback_quietly(st);
		return rc;
	}
	return 0;
}

int store_attrib_queued(struct store *st, int64_t *queued, char *errstr, size_t errstr_size)
{
	PGresult *res = PQexec(st->conn, "select count(*) from risk.area_attribution_queue");
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_fail_result(st, res, "count attribution queue", errstr, errstr_size);
	else
		*queued = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The enum attrib_regressor of a carrier's name (ATTRIB_REG_NONE when unknown). */
static int8_t carrier_of(const char *name)
{
	for (int r = 0; r < ATTRIB_REG__COUNT; r++)
		if (strcmp(attrib_regressor_name(r), name) == 0)
			return (int8_t)r;
	return ATTRIB_REG_NONE;
}

/* ATTRIB_PREV_DAYS as SQL text (checked against it below). */
#define PREV_DAYS_SQL "7"
_Static_assert(ATTRIB_PREV_DAYS == 7, "PREV_DAYS_SQL must spell ATTRIB_PREV_DAYS");

int store_attrib_load_findings(struct store *st, struct area_table *t,
                               const char *transformer_id, const char *as_of_day, char *errstr,
                               size_t errstr_size)
{
	const char *params[2] = {transformer_id, as_of_day};
	PGresult *res = PQexecParams(
	    st->conn,
	    "select f.customer_id, f.window_end_day - date '1970-01-01', f.resolution_s, f.share,"
	    " f.kwh_day, f.stolen_kwh, f.z, f.carrier, f.window_end_day < w.window_end_day,"
	    " f.reversed_coef, f.reversed_z"
	    " from (select distinct on (transformer_id) transformer_id, window_end_day"
	    "       from risk.area_attribution_window"
	    "       where ($1::text is null or transformer_id = $1)"
	    "       and ($2::integer is null or window_end_day <= date '1970-01-01' + $2::integer)"
	    "       order by transformer_id, window_end_day desc) w"
	    " join risk.area_attribution f on f.transformer_id = w.transformer_id"
	    " and f.window_end_day in (w.window_end_day, w.window_end_day - " PREV_DAYS_SQL ")",
	    2, NULL, params, NULL, NULL, 0);
	int n;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		n = store_fail_result(st, res, "load attribution findings", errstr, errstr_size);
		PQclear(res);
		return n;
	}
	n = PQntuples(res);
	for (int r = 0; r < n; r++) {
		struct attrib_finding f = {
		    .window_end_day = (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10),
		    .resolution_s = (int32_t)strtol(PQgetvalue(res, r, 2), NULL, 10),
		    .share = strtof(PQgetvalue(res, r, 3), NULL),
		    .kwh_day = strtof(PQgetvalue(res, r, 4), NULL),
		    .stolen_kwh = strtof(PQgetvalue(res, r, 5), NULL),
		    .z = strtof(PQgetvalue(res, r, 6), NULL),
		    .carrier = carrier_of(PQgetvalue(res, r, 7)),
		    .reversed_coef = strtof(PQgetvalue(res, r, 9), NULL),
		    .reversed_z = strtof(PQgetvalue(res, r, 10), NULL),
		};
		if (PQgetvalue(res, r, 8)[0] == 't')
			area_table_add_prev_finding(t, PQgetvalue(res, r, 0), &f);
		else
			area_table_add_finding(t, PQgetvalue(res, r, 0), &f);
	}
	PQclear(res);
	return n;
}

int store_load_open_hours(struct store *st, char kind, const int32_t *partitions, int n,
                          int (*fn)(const char *id, int32_t day, const struct daily_hours *hours,
                                    void *arg),
                          void *arg, char *errstr, size_t errstr_size)
{
	char kind_s[2] = {kind, '\0'};
	rbuf_reset(&st->scratch);
	rbuf_append(&st->scratch, "{", 1);
	for (int i = 0; i < n; i++)
		rbuf_printf(&st->scratch, "%s%d", i ? "," : "", (int)partitions[i]);
	rbuf_append(&st->scratch, "}", 2); /* with the NUL */
	const char *params[2] = {kind_s, st->scratch.data};
	PGresult *res = PQexecParams(st->conn,
	                             "select entity_id, hours_day, hours from risk.entity_state"
	                             " where kind = $1 and partition = any($2::int[])"
	                             " and hours is not null",
	                             2, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = store_fail_result(st, res, "load open-day hours", errstr, errstr_size);
	for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
		struct daily_hours hours = {0};
		if (add_hours_text(PQgetvalue(res, r, 2), &hours) != 0) {
			snprintf(errstr, errstr_size, "load open-day hours: entity '%s': not 24 slots",
			         PQgetvalue(res, r, 0));
			rc = RISKD_ERR_INVALID;
			break;
		}
		rc = fn(PQgetvalue(res, r, 0), (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10),
		        &hours, arg);
	}
	PQclear(res);
	return rc;
}
