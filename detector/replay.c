/*
 * replay.c - riskd's per-event path (event_decode, ingest_event) run over a file, with the
 * area energy balance rebuilt in memory, per-rule and per-customer accounts kept through the
 * scorer's observer, and the reports built on them: the diff of two rule sets, precision and
 * recall against labels, the detection scorecard, and their JSON (see replay.h).
 */
#include "replay.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/config.h"
#include "../scoring/cstate.h"
#include "../scoring/localday.h"
#include "areas.h"
#include "batch.h"
#include "ingest.h"
#include "scorer.h"

/* Loss rates an area keeps for its baseline: the 60 days before a day fit in 64 slots. */
#define AREA_HISTORY 64
#define AREA_BASELINE_DAYS 60      /* risk.area_baseline_loss: the 60 days before the day */
#define AREA_BASELINE_MIN 7        /* ... once at least 7 balanced days exist */
#define AREA_BASELINE_QUANTILE 0.2 /* ... their 20th percentile (percentile_cont) */
#define AREA_RECENT 7              /* store_load_areas: excess averaged over the last 7 rows */
#define DAY_SECONDS 86400
_Static_assert(AREA_SERIES_DAYS <= AREA_HISTORY, "an area's series must fit its loss history");

/* One balanced area-day, as a risk.area_balance row. */
struct area_row {
	double loss_rate;          /* NAN when the feeder read 0 (SQL null) */
	double baseline;           /* NAN before the area has a baseline */
	double excess_kwh;         /* NAN when either is missing */
};

/* A transformer area: its profiled customers, the open day's sums and its balance history. */
struct area {
	char id[RISKD_ID_MAX + 1];
	uint32_t customers;        /* customers whose profile names this transformer */
	/* the day being balanced */
	int has_feeder;
	int64_t feeder_uwh;
	int32_t feeder_covered_s;
	int64_t customers_uwh;
	uint32_t complete;         /* customers whose readings cover the whole day */
	/* loss rates of balanced days, slot day % AREA_HISTORY, for the baseline */
	int32_t loss_day[AREA_HISTORY];
	double loss[AREA_HISTORY];
	double feeder_kwh[AREA_HISTORY];
	/* the newest balanced rows, newest at recent[(next_recent - 1) % AREA_RECENT] */
	struct area_row recent[AREA_RECENT];
	int n_recent, next_recent;
	int32_t newest_day;        /* the newest balanced day */
};

/* A scored customer: the public record and its label's onset. */
struct customer {
	struct replay_customer pub;
	int32_t onset_day;         /* REPLAY_NO_DAY: unlabelled or no onset */
	int labelled;
};

struct replay {
	struct ingest ingest;
	struct event event;                  /* decode target, reused */
	const struct replay_labels *labels;
	struct replay_totals totals;
	struct replay_rule *rules;
	size_t n_rules;
	/* scored customers, and an index by the address of their cstate id */
	struct customer *customers;
	size_t n_customers, cap_customers;
	uint32_t *customer_index;            /* record + 1; 0 = empty; power-of-two size */
	size_t customer_index_cap;
	int customers_sorted;
	size_t alerted;
	/* the energy balance */
	int balance;
	int has_day;
	int32_t open_day;                    /* local day whose energy day_usage holds */
	struct batch day_usage;              /* energy per (entity, day), as riskd's batches */
	struct area *areas;
	size_t n_areas, cap_areas;
	uint32_t *area_index;                /* area + 1; 0 = empty; power-of-two size */
	size_t area_index_cap;
	struct area **area_order;            /* areas by id, for the area table */
	int area_order_stale;
	replay_scoring_fn scoring_fn;        /* replay_set_scoring_observer */
	void *scoring_arg;
};

/* ---- small helpers ---- */

static uint64_t pointer_hash(const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}


/* ---- labels ---- */

static void labels_index_put(struct replay_labels *labels, size_t item)
{
	size_t mask = labels->index_cap - 1;
	const char *id = labels->items[item].customer_id;
	size_t s = (size_t)cstate_hash(id, strlen(id)) & mask;
	while (labels->index[s])
		s = (s + 1) & mask;
	labels->index[s] = (uint32_t)item + 1;
}

static void labels_index_grow(struct replay_labels *labels)
{
	free(labels->index);
	labels->index_cap = labels->index_cap ? 2 * labels->index_cap : 256;
	labels->index = xcalloc(labels->index_cap, sizeof(*labels->index));
	for (size_t i = 0; i < labels->count; i++)
		labels_index_put(labels, i);
}

const struct replay_label *replay_labels_find(const struct replay_labels *labels,
                                              const char *customer_id)
{
	if (!labels || !labels->index_cap)
		return NULL;
	size_t mask = labels->index_cap - 1;
	size_t s = (size_t)cstate_hash(customer_id, strlen(customer_id)) & mask;
	for (; labels->index[s]; s = (s + 1) & mask) {
		const struct replay_label *l = &labels->items[labels->index[s] - 1];
		if (strcmp(l->customer_id, customer_id) == 0)
			return l;
	}
	return NULL;
}

/* Splits the next comma-separated field of [*p, end) into [*start, *start + *n). */
static void csv_field(const char **p, const char *end, const char **start, size_t *n)
{
	const char *q = *p;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	*start = q;
	while (q < end && *q != ',')
		q++;
	const char *stop = q;
	while (stop > *start && (stop[-1] == ' ' || stop[-1] == '\t'))
		stop--;
	*n = (size_t)(stop - *start);
	*p = q < end ? q + 1 : q;
}

static int field_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

int replay_labels_parse(struct replay_labels *labels, const char *path, const char *text,
                        size_t len, char *errstr, size_t errstr_size)
{
	const char *p = text, *end = text + len;
	int line_no = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		const char *next = eol ? eol + 1 : end;
		line_no++;
		if (stop > p && stop[-1] == '\r')
			stop--;
		const char *f[4];
		size_t n[4];
		const char *q = p;
		int fields = 0;
		while (fields < 4 && q < stop)
			csv_field(&q, stop, &f[fields], &n[fields]), fields++;
		p = next;
		if (fields == 0 || (fields == 1 && n[0] == 0))
			continue; /* blank line */
		if (line_no == 1 && field_is(f[0], n[0], "customer_id"))
			continue; /* header */
		if (q < stop) {
			snprintf(errstr, errstr_size, "%s:%d: more than 4 fields", path, line_no);
			return RISKD_ERR_INVALID;
		}
		if (fields < 2 || n[0] == 0) {
			snprintf(errstr, errstr_size,
			         "%s:%d: expected customer_id,pattern[,confounder[,onset_day]]", path,
			         line_no);
			return RISKD_ERR_INVALID;
		}
		if (n[0] > RISKD_ID_MAX || n[1] > REPLAY_PATTERN_MAX) {
			snprintf(errstr, errstr_size, "%s:%d: customer_id or pattern too long", path,
			         line_no);
			return RISKD_ERR_INVALID;
		}
		struct replay_label l;
		memset(&l, 0, sizeof(l));
		memcpy(l.customer_id, f[0], n[0]);
		memcpy(l.pattern, f[1], n[1]);
		l.onset_day = REPLAY_NO_DAY;
		if (fields >= 3 && n[2] > 0) {
			if (field_is(f[2], n[2], "true"))
				l.confounder = 1;
			else if (!field_is(f[2], n[2], "false")) {
				snprintf(errstr, errstr_size, "%s:%d: confounder must be true or false, got '%.*s'",
				         path, line_no, (int)(n[2] > 20 ? 20 : n[2]), f[2]);
				return RISKD_ERR_INVALID;
			}
		}
		if (fields >= 4 && n[3] > 0 && event_parse_date(f[3], n[3], &l.onset_day) != 0) {
			snprintf(errstr, errstr_size, "%s:%d: onset_day must be YYYY-MM-DD, got '%.*s'", path,
			         line_no, (int)(n[3] > 20 ? 20 : n[3]), f[3]);
			return RISKD_ERR_INVALID;
		}
		l.attack = !l.confounder && n[1] > 0 && !field_is(f[1], n[1], "none") &&
		           !field_is(f[1], n[1], "honest");
		if (replay_labels_find(labels, l.customer_id)) {
			snprintf(errstr, errstr_size, "%s:%d: customer '%s' is labelled twice", path, line_no,
			         l.customer_id);
			return RISKD_ERR_INVALID;
		}
		if (labels->count == labels->cap) {
			labels->cap = labels->cap ? 2 * labels->cap : 256;
			labels->items = xrealloc(labels->items, sizeof(*labels->items) * labels->cap);
		}
		labels->items[labels->count++] = l;
		if (2 * labels->count > labels->index_cap)
			labels_index_grow(labels);
		else
			labels_index_put(labels, labels->count - 1);
	}
	return 0;
}

int replay_labels_load(struct replay_labels *labels, const char *path, char *errstr,
                       size_t errstr_size)
{
	struct rbuf text = {0};
	char chunk[65536];
	size_t n;
	int rc = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
		return RISKD_ERR_IO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rbuf_append(&text, chunk, n);
	if (ferror(f)) {
		snprintf(errstr, errstr_size, "%s: read error", path);
		rc = RISKD_ERR_IO;
		goto done;
	}
	rc = replay_labels_parse(labels, path, text.data ? text.data : "", text.len, errstr,
	                         errstr_size);
done:
	fclose(f);
	rbuf_free(&text);
	return rc;
}

void replay_labels_free(struct replay_labels *labels)
{
	free(labels->items);
	free(labels->index);
	memset(labels, 0, sizeof(*labels));
}

/* ---- the energy balance (deploy/sql/002_area_balance.sql, in memory) ---- */

static void area_index_put(struct replay *rp, size_t idx)
{
	size_t mask = rp->area_index_cap - 1;
	const char *id = rp->areas[idx].id;
	size_t s = (size_t)cstate_hash(id, strlen(id)) & mask;
	while (rp->area_index[s])
		s = (s + 1) & mask;
	rp->area_index[s] = (uint32_t)idx + 1;
}

/* The area of transformer_id; created (with no customers) when create is set, else NULL. */
static struct area *area_get(struct replay *rp, const char *transformer_id, int create)
{
	if (rp->area_index_cap) {
		size_t mask = rp->area_index_cap - 1;
		size_t s = (size_t)cstate_hash(transformer_id, strlen(transformer_id)) & mask;
		for (; rp->area_index[s]; s = (s + 1) & mask) {
			struct area *a = &rp->areas[rp->area_index[s] - 1];
			if (strcmp(a->id, transformer_id) == 0)
				return a;
		}
	}
	if (!create)
		return NULL;
	if (rp->n_areas == rp->cap_areas) {
		rp->cap_areas = rp->cap_areas ? 2 * rp->cap_areas : 64;
		rp->areas = xrealloc(rp->areas, sizeof(*rp->areas) * rp->cap_areas);
	}
	struct area *a = &rp->areas[rp->n_areas++];
	memset(a, 0, sizeof(*a));
	riskd_strlcpy(a->id, sizeof(a->id), transformer_id, strlen(transformer_id));
	for (int i = 0; i < AREA_HISTORY; i++)
		a->loss_day[i] = REPLAY_NO_DAY;
	if (2 * rp->n_areas > rp->area_index_cap) {
		free(rp->area_index);
		rp->area_index_cap = rp->area_index_cap ? 2 * rp->area_index_cap : 128;
		rp->area_index = xcalloc(rp->area_index_cap, sizeof(*rp->area_index));
		for (size_t i = 0; i < rp->n_areas; i++)
			area_index_put(rp, i);
	} else {
		area_index_put(rp, rp->n_areas - 1);
	}
	rp->area_order_stale = 1;
	return a;
}

/* percentile_cont(q) of the sorted values v[0 .. n). */
static double percentile_cont(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
	return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

/* risk.area_baseline_loss(area, day): NAN until AREA_BASELINE_MIN days are balanced. */
static double area_baseline(const struct area *a, int32_t day)
{
	double v[AREA_HISTORY];
	size_t n = 0;
	for (int i = 0; i < AREA_HISTORY; i++)
		if (a->loss_day[i] != REPLAY_NO_DAY && a->loss_day[i] >= day - AREA_BASELINE_DAYS &&
		    a->loss_day[i] < day && isfinite(a->loss[i]))
			v[n++] = a->loss[i];
	if (n < AREA_BASELINE_MIN)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return percentile_cont(v, n, AREA_BASELINE_QUANTILE);
}

/* Records the balance of a complete area-day (risk.refresh_area_balance). */
static void area_balance_day(struct area *a, int32_t day)
{
	double feeder_kwh = (double)a->feeder_uwh / 1e6;
	double customers_kwh = (double)a->customers_uwh / 1e6;
	struct area_row row;
	row.loss_rate = feeder_kwh != 0 ? (feeder_kwh - customers_kwh) / feeder_kwh : NAN;
	row.baseline = area_baseline(a, day);
	row.excess_kwh = (row.loss_rate - row.baseline) * feeder_kwh; /* NAN if either is */
	int slot = (int)((uint32_t)day % AREA_HISTORY);
	a->loss_day[slot] = day;
	a->loss[slot] = row.loss_rate;
	a->feeder_kwh[slot] = feeder_kwh;
	a->newest_day = day;
	a->recent[a->next_recent] = row;
	a->next_recent = (a->next_recent + 1) % AREA_RECENT;
	if (a->n_recent < AREA_RECENT)
		a->n_recent++;
}

/* What store_load_areas reads for one area from its newest balanced rows (newest_day). */
static void area_latest(const struct area *a, int32_t newest_day, struct area_balance *out)
{
	out->last_day = newest_day;
	for (int i = 0; i < AREA_SERIES_DAYS; i++) {
		int32_t day = newest_day - (AREA_SERIES_DAYS - 1) + i;
		int slot = (int)((uint32_t)day % AREA_HISTORY);
		int held = a->loss_day[slot] == day;
		out->rate[i] = held ? (float)a->loss[slot] : NAN;
		out->feeder_kwh[i] = held ? (float)a->feeder_kwh[slot] : NAN;
	}
	const struct area_row *newest = &a->recent[(a->next_recent + AREA_RECENT - 1) % AREA_RECENT];
	double sum = 0;
	int n = 0;
	riskd_strlcpy(out->transformer_id, sizeof(out->transformer_id), a->id, strlen(a->id));
	out->loss_rate = newest->loss_rate;
	out->loss_excess = newest->loss_rate - newest->baseline;
	for (int i = 0; i < a->n_recent; i++)
		if (isfinite(a->recent[i].excess_kwh)) {
			sum += a->recent[i].excess_kwh;
			n++;
		}
	out->excess_kwh = n ? sum / n : 0;
}

static int cmp_area(const void *x, const void *y)
{
	const struct area *a = *(struct area *const *)x, *b = *(struct area *const *)y;
	return strcmp(a->id, b->id);
}

/* Reloads the scorer's area table from every area with a balanced day, by transformer_id. */
static void areas_publish(struct replay *rp)
{
	if (rp->area_order_stale) {
		rp->area_order = xrealloc(rp->area_order, sizeof(*rp->area_order) * (rp->n_areas + 1));
		for (size_t i = 0; i < rp->n_areas; i++)
			rp->area_order[i] = &rp->areas[i];
		qsort(rp->area_order, rp->n_areas, sizeof(*rp->area_order), cmp_area);
		rp->area_order_stale = 0;
	}
	struct area_table *t = scorer_areas(rp->ingest.scorer);
	area_table_reset(t);
	for (size_t i = 0; i < rp->n_areas; i++) {
		const struct area *a = rp->area_order[i];
		if (a->n_recent == 0)
			continue;
		struct area_balance b;
		area_latest(a, a->newest_day, &b);
		area_table_add(t, &b);
	}
}

/*
 * The open day is over (the stream reached a later day): balances every area-day of it that
 * is complete - the transformer's readings and every profiled customer of the area cover the
 * whole day, the condition risk.refresh_area_balance checks - and publishes the new balance.
 */
static void balance_open_day(struct replay *rp)
{
	const struct usage_map *feeders = &rp->day_usage.transformer;
	const struct usage_map *usage = &rp->day_usage.usage;
	int changed = 0;

	for (size_t i = 0; i < feeders->count; i++) {
		struct area *a = area_get(rp, feeders->owners[i]->id, 1);
		a->has_feeder = 1;
		a->feeder_uwh += feeders->rows[i].uwh;
		a->feeder_covered_s += feeders->rows[i].covered_s;
	}
	for (size_t i = 0; i < usage->count; i++) {
		const struct cstate *cs = usage->owners[i];
		const char *transformer_id = cstate_transformer_id(rp->ingest.customers, cs);
		if (!(cs->flags & CSTATE_F_PROFILE) || !transformer_id[0])
			continue;
		struct area *a = area_get(rp, transformer_id, 0);
		if (!a)
			continue;
		a->customers_uwh += usage->rows[i].uwh;
		a->complete += usage->rows[i].covered_s >= DAY_SECONDS;
	}
	for (size_t i = 0; i < rp->n_areas; i++) {
		struct area *a = &rp->areas[i];
		if (a->has_feeder && a->feeder_covered_s >= DAY_SECONDS && a->customers > 0 &&
		    a->complete == a->customers) {
			area_balance_day(a, rp->open_day);
			rp->totals.area_days++;
			changed = 1;
		}
		a->has_feeder = 0;
		a->feeder_uwh = a->customers_uwh = 0;
		a->feeder_covered_s = 0;
		a->complete = 0;
	}
	if (changed)
		areas_publish(rp);
	batch_reset(&rp->day_usage);
}

/* Before a reading of local day `day` is applied: a later day closes the open one. */
static void balance_advance(struct replay *rp, int32_t day)
{
	if (!rp->has_day) {
		rp->has_day = 1;
		rp->open_day = day;
	} else if (day > rp->open_day) {
		balance_open_day(rp);
		rp->open_day = day;
	}
}

/* ---- per-customer accounts (the scorer's observer) ---- */

static void customer_index_put(struct replay *rp, size_t idx)
{
	size_t mask = rp->customer_index_cap - 1;
	size_t s = (size_t)pointer_hash(rp->customers[idx].pub.customer_id) & mask;
	while (rp->customer_index[s])
		s = (s + 1) & mask;
	rp->customer_index[s] = (uint32_t)idx + 1;
}

static void customer_index_rebuild(struct replay *rp, size_t cap)
{
	free(rp->customer_index);
	rp->customer_index_cap = cap;
	rp->customer_index = xcalloc(cap, sizeof(*rp->customer_index));
	for (size_t i = 0; i < rp->n_customers; i++)
		customer_index_put(rp, i);
}

/* The record of cs (keyed by the address of its id, which stays put), created if new. */
static struct customer *customer_of(struct replay *rp, const struct cstate *cs)
{
	if (rp->customer_index_cap) {
		size_t mask = rp->customer_index_cap - 1;
		size_t s = (size_t)pointer_hash(cs->id) & mask;
		for (; rp->customer_index[s]; s = (s + 1) & mask) {
			struct customer *c = &rp->customers[rp->customer_index[s] - 1];
			if (c->pub.customer_id == cs->id)
				return c;
		}
	}
	if (rp->n_customers == rp->cap_customers) {
		rp->cap_customers = rp->cap_customers ? 2 * rp->cap_customers : 1024;
		rp->customers = xrealloc(rp->customers, sizeof(*rp->customers) * rp->cap_customers);
	}
	struct customer *c = &rp->customers[rp->n_customers++];
	memset(c, 0, sizeof(*c));
	c->pub.customer_id = cs->id;
	c->pub.first_alert_day = c->pub.last_alert_day = REPLAY_NO_DAY;
	c->pub.first_alert_from_onset = REPLAY_NO_DAY;
	c->onset_day = REPLAY_NO_DAY;
	const struct replay_label *l = replay_labels_find(rp->labels, cs->id);
	if (l) {
		c->labelled = 1;
		c->onset_day = l->onset_day;
	}
	rp->customers_sorted = 0;
	if (2 * rp->n_customers > rp->customer_index_cap)
		customer_index_rebuild(rp, rp->customer_index_cap ? 2 * rp->customer_index_cap : 2048);
	else
		customer_index_put(rp, rp->n_customers - 1);
	return c;
}

static void on_scored(void *arg, const struct cstate *cs, int32_t day, const struct rule_hits *hits)
{
	struct replay *rp = arg;
	struct customer *c = customer_of(rp, cs);
	struct replay_customer *pc = &c->pub;

	rp->totals.scored++;
	pc->scored_days++;
	if (rp->scoring_fn)
		rp->scoring_fn(rp->scoring_arg, cs->id, day, scorer_last_features(rp->ingest.scorer),
		               hits);
	if (hits->score > pc->max_score)
		pc->max_score = hits->score;
	for (size_t i = 0; i < rp->n_rules; i++)
		rp->rules[i].missing_reads += hits->missing[i];
	for (unsigned i = 0; i < hits->n_fired; i++) {
		size_t idx = hits->fired[i];
		rp->rules[idx].hits++;
		if (!replay_rule_bit(pc->fired, idx)) {
			pc->fired[idx / 64] |= (uint64_t)1 << (idx % 64);
			rp->rules[idx].customers++;
		}
	}
	if (!hits->alert)
		return;
	rp->totals.alert_scorings++;
	if (pc->alert_days++ == 0) {
		rp->alerted++;
		pc->first_alert_day = day;
		pc->first_alert_score = hits->score;
	}
	pc->last_alert_day = day;
	if (c->labelled && pc->first_alert_from_onset == REPLAY_NO_DAY &&
	    (c->onset_day == REPLAY_NO_DAY || day >= c->onset_day))
		pc->first_alert_from_onset = day;
	for (unsigned i = 0; i < hits->n_fired; i++) {
		size_t idx = hits->fired[i];
		if (rp->rules[idx].info->mode == RULE_MODE_ACTIVE)
			pc->alerted[idx / 64] |= (uint64_t)1 << (idx % 64);
	}
}

void replay_set_scoring_observer(struct replay *rp, replay_scoring_fn fn, void *arg)
{
	rp->scoring_fn = fn;
	rp->scoring_arg = arg;
}

/* ---- running ---- */

int replay_new(const struct replay_options *opts, struct replay **out, struct rbuf *diagnostics,
               char *errstr, size_t errstr_size)
{
	struct riskd_config *defaults = xcalloc(1, sizeof(*defaults));
	struct replay *rp = xcalloc(1, sizeof(*rp));
	struct rbuf diag = {0};
	int rc;

	*out = NULL;
	config_defaults(defaults);
	const char *tz = opts->timezone ? opts->timezone : defaults->timezone;
	rp->ingest.max_kw_unknown_profile = opts->max_kw_unknown_profile > 0
	                                        ? opts->max_kw_unknown_profile
	                                        : defaults->max_kw_unknown_profile;
	rp->balance = !opts->no_area_balance;
	rp->customers_sorted = 1;
	batch_init(&rp->day_usage);
	rp->ingest.customers = cstate_table_new(1024);
	rp->ingest.transformers = cstate_table_new(64);
	if ((rc = localday_init(&rp->ingest.localday, tz, errstr, errstr_size)) != 0)
		goto done;
	rp->ingest.scorer = scorer_new(opts->rules_path, &diag);
	if (!rp->ingest.scorer) {
		snprintf(errstr, errstr_size, "the theft rules in '%s' do not load", opts->rules_path);
		if (diagnostics && diag.len)
			rbuf_append(diagnostics, diag.data, diag.len);
		rc = RISKD_ERR_INVALID;
		goto done;
	}
	scorer_set_observer(rp->ingest.scorer, on_scored, rp);
	const struct ruleset *rs = scorer_rules(rp->ingest.scorer);
	rp->n_rules = ruleset_rule_count(rs);
	rp->rules = xcalloc(rp->n_rules + 1, sizeof(*rp->rules));
	for (size_t i = 0; i < rp->n_rules; i++)
		rp->rules[i].info = ruleset_rule(rs, i);
	*out = rp;
	rp = NULL;
	rc = 0;
done:
	replay_free(rp);
	rbuf_free(&diag);
	free(defaults);
	return rc;
}

void replay_free(struct replay *rp)
{
	if (!rp)
		return;
	scorer_free(rp->ingest.scorer);
	cstate_table_destroy(rp->ingest.customers);
	cstate_table_destroy(rp->ingest.transformers);
	batch_free(&rp->day_usage);
	free(rp->rules);
	free(rp->customers);
	free(rp->customer_index);
	free(rp->areas);
	free(rp->area_index);
	free(rp->area_order);
	free(rp);
}

void replay_set_labels(struct replay *rp, const struct replay_labels *labels)
{
	rp->labels = labels;
}

/* Keeps each area's count of profiled customers as profiles arrive and change. */
static void profile_moved(struct replay *rp, const char *old_area, const char *new_area)
{
	if (strcmp(old_area, new_area) == 0)
		return;
	if (old_area[0]) {
		struct area *a = area_get(rp, old_area, 0);
		if (a && a->customers > 0)
			a->customers--;
	}
	if (new_area[0])
		area_get(rp, new_area, 1)->customers++;
}

enum event_reject replay_event(struct replay *rp, const struct event *ev)
{
	char errstr[512];
	const char *old_area = ""; /* interned: stays valid while the table lives */
	struct ingest_result r;
	int reading = ev->type == EVENT_METER_READING || ev->type == EVENT_TRANSFORMER_READING;

	rp->totals.lines++;
	if (rp->balance && reading)
		balance_advance(rp, localday_of(&rp->ingest.localday, ev->ts));
	if (rp->balance && ev->type == EVENT_CUSTOMER) {
		const struct cstate *known =
		    cstate_table_get(rp->ingest.customers, ev->entity_id, strlen(ev->entity_id));
		if (known && (known->flags & CSTATE_F_PROFILE))
			old_area = cstate_transformer_id(rp->ingest.customers, known);
	}
	ingest_event(&rp->ingest, ev, 0, &r, errstr, sizeof(errstr));
	switch (r.outcome) {
	case INGEST_REJECTED:
		rp->totals.rejected++;
		rp->totals.rejected_by[r.reason]++;
		return r.reason;
	case INGEST_DUPLICATE:
		rp->totals.duplicates++;
		return EVENT_REJECT_NONE;
	case INGEST_ACCEPTED:
		break;
	}
	rp->totals.accepted++;
	if (!rp->balance)
		return EVENT_REJECT_NONE;
	if (r.has_usage) {
		if (r.day == rp->open_day)
			batch_add_usage(r.transformer ? &rp->day_usage.transformer : &rp->day_usage.usage,
			                r.cs, r.day, r.uwh, r.interval_s);
		else
			rp->totals.late_usage++;
	}
	if (ev->type == EVENT_CUSTOMER)
		profile_moved(rp, old_area, cstate_transformer_id(rp->ingest.customers, r.cs));
	return EVENT_REJECT_NONE;
}

enum event_reject replay_line(struct replay *rp, const char *line, size_t len)
{
	char errstr[512];
	enum event_reject reason = event_decode(line, len, &rp->event, errstr, sizeof(errstr));
	if (reason != EVENT_REJECT_NONE) {
		rp->totals.lines++;
		rp->totals.rejected++;
		rp->totals.rejected_by[reason]++;
		return reason;
	}
	return replay_event(rp, &rp->event);
}

/* ---- reading a file: lines decoded on every core, applied in order on this thread ---- */

#define DECODE_BATCH_LINES 4096   /* lines per batch */
#define DECODE_CHUNK_LINES 64     /* lines a decoder takes at a time */
#define DECODE_THREADS_MAX 8

/* A batch of lines and their decoded events. */
struct decode_batch {
	struct rbuf text;             /* the lines, back to back, without newlines */
	size_t *start, *len;          /* each line's bytes in text */
	struct event *events;
	enum event_reject *reason;
	size_t count;
};

/* Decoders share one batch at a time; the reading thread decodes too. */
struct decode_pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct decode_batch *batch;   /* being decoded */
	uint64_t generation;          /* bumped for each batch published */
	atomic_size_t next;           /* next line to take */
	int busy;                     /* decoder threads still on the batch */
	int stop;
	int threads;
	pthread_t tid[DECODE_THREADS_MAX];
};

static void decode_batch_init(struct decode_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->start = xcalloc(DECODE_BATCH_LINES, sizeof(*b->start));
	b->len = xcalloc(DECODE_BATCH_LINES, sizeof(*b->len));
	b->events = xcalloc(DECODE_BATCH_LINES, sizeof(*b->events));
	b->reason = xcalloc(DECODE_BATCH_LINES, sizeof(*b->reason));
}

static void decode_batch_free(struct decode_batch *b)
{
	rbuf_free(&b->text);
	free(b->start);
	free(b->len);
	free(b->events);
	free(b->reason);
}

/* Reads up to DECODE_BATCH_LINES non-empty lines. Returns the count (0 at the end). */
static size_t decode_batch_fill(struct decode_batch *b, FILE *in, char **line, size_t *cap)
{
	ssize_t n;
	rbuf_reset(&b->text);
	b->count = 0;
	while (b->count < DECODE_BATCH_LINES && (n = getline(line, cap, in)) >= 0) {
		size_t len = (size_t)n;
		if (len && (*line)[len - 1] == '\n')
			len--;
		if (len == 0)
			continue;
		b->start[b->count] = b->text.len;
		b->len[b->count++] = len;
		rbuf_append(&b->text, *line, len);
	}
	return b->count;
}

/* Decodes lines of the pool's batch, a chunk at a time, until none is left. */
static void decode_take(struct decode_pool *pool, struct decode_batch *b)
{
	char why[512];
	for (;;) {
		size_t first = atomic_fetch_add(&pool->next, DECODE_CHUNK_LINES);
		if (first >= b->count)
			return;
		size_t last = first + DECODE_CHUNK_LINES < b->count ? first + DECODE_CHUNK_LINES : b->count;
		for (size_t i = first; i < last; i++)
			b->reason[i] = event_decode(b->text.data + b->start[i], b->len[i], &b->events[i],
			                            why, sizeof(why));
	}
}

static void *decode_thread(void *arg)
{
	struct decode_pool *pool = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->stop && pool->generation == seen)
			pthread_cond_wait(&pool->work, &pool->mu);
		if (pool->stop)
			break;
		seen = pool->generation;
		struct decode_batch *b = pool->batch;
		pthread_mutex_unlock(&pool->mu);
		decode_take(pool, b);
		pthread_mutex_lock(&pool->mu);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

/* Hands batch b to the decoder threads (they start at once). */
static void decode_publish(struct decode_pool *pool, struct decode_batch *b)
{
	pthread_mutex_lock(&pool->mu);
	pool->batch = b;
	atomic_store(&pool->next, 0);
	pool->busy = pool->threads;
	pool->generation++;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mu);
}

/* Decodes what is left of the published batch here, then waits for the threads. */
static void decode_finish(struct decode_pool *pool, struct decode_batch *b)
{
	decode_take(pool, b);
	pthread_mutex_lock(&pool->mu);
	while (pool->busy > 0)
		pthread_cond_wait(&pool->done, &pool->mu);
	pthread_mutex_unlock(&pool->mu);
}

static void decode_pool_start(struct decode_pool *pool)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	memset(pool, 0, sizeof(*pool));
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->done, NULL);
	atomic_init(&pool->next, 0);
	int want = cpus > 1 ? (int)(cpus - 1) : 0;
	if (want > DECODE_THREADS_MAX)
		want = DECODE_THREADS_MAX;
	for (int i = 0; i < want; i++) {
		if (pthread_create(&pool->tid[pool->threads], NULL, decode_thread, pool) != 0)
			break; /* fewer threads only make it slower */
		pool->threads++;
	}
}

static void decode_pool_stop(struct decode_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; i < pool->threads; i++)
		pthread_join(pool->tid[i], NULL);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->done);
}

/* Applies a decoded batch, in line order, to every replay. */
static void apply_batch(struct replay *const *rps, size_t n_rps, const struct decode_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		for (size_t r = 0; r < n_rps; r++) {
			if (b->reason[i] == EVENT_REJECT_NONE) {
				replay_event(rps[r], &b->events[i]);
			} else {
				rps[r]->totals.lines++;
				rps[r]->totals.rejected++;
				rps[r]->totals.rejected_by[b->reason[i]]++;
			}
		}
}

int replay_file(struct replay *const *rps, size_t n_rps, FILE *in, char *errstr,
                size_t errstr_size)
{
	struct decode_pool pool;
	struct decode_batch batches[2];
	struct decode_batch *cur = &batches[0], *next = &batches[1];
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	decode_batch_init(cur);
	decode_batch_init(next);
	decode_pool_start(&pool);
	/* while the threads decode one batch, this thread reads the next one and then applies
	 * the one before: events reach ingest_event in file order */
	if (decode_batch_fill(cur, in, &line, &cap) > 0) {
		decode_publish(&pool, cur);
		for (;;) {
			size_t more = decode_batch_fill(next, in, &line, &cap);
			decode_finish(&pool, cur);
			if (more)
				decode_publish(&pool, next);
			apply_batch(rps, n_rps, cur);
			if (!more)
				break;
			struct decode_batch *t = cur;
			cur = next;
			next = t;
		}
	}
	if (ferror(in)) {
		snprintf(errstr, errstr_size, "reading events: %s", strerror(errno));
		rc = RISKD_ERR_IO;
	}
	decode_pool_stop(&pool);
	decode_batch_free(&batches[0]);
	decode_batch_free(&batches[1]);
	free(line);
	return rc;
}

static int cmp_customer(const void *x, const void *y)
{
	const struct customer *a = x, *b = y;
	return strcmp(a->pub.customer_id, b->pub.customer_id);
}

void replay_finish(struct replay *rp)
{
	if (!rp->customers_sorted) {
		qsort(rp->customers, rp->n_customers, sizeof(*rp->customers), cmp_customer);
		customer_index_rebuild(rp, rp->customer_index_cap);
		rp->customers_sorted = 1;
	}
	for (size_t r = 0; r < rp->n_rules; r++)
		rp->rules[r].alerts = 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		if (!c->alert_days)
			continue;
		for (size_t r = 0; r < rp->n_rules; r++)
			rp->rules[r].alerts += replay_rule_bit(c->alerted, r);
	}
}

const struct ruleset *replay_rules(const struct replay *rp)
{
	return scorer_rules(rp->ingest.scorer);
}

void replay_totals(const struct replay *rp, struct replay_totals *out)
{
	*out = rp->totals;
}

size_t replay_rule_count(const struct replay *rp)
{
	return rp->n_rules;
}

const struct replay_rule *replay_rule(const struct replay *rp, size_t idx)
{
	return &rp->rules[idx];
}

size_t replay_customer_count(const struct replay *rp)
{
	return rp->n_customers;
}

const struct replay_customer *replay_customer(const struct replay *rp, size_t idx)
{
	return &rp->customers[idx].pub;
}

const struct replay_customer *replay_customer_find(const struct replay *rp,
                                                   const char *customer_id)
{
	if (rp->customers_sorted) {
		size_t lo = 0, hi = rp->n_customers;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(rp->customers[mid].pub.customer_id, customer_id);
			if (c == 0)
				return &rp->customers[mid].pub;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return NULL;
	}
	for (size_t i = 0; i < rp->n_customers; i++)
		if (strcmp(rp->customers[i].pub.customer_id, customer_id) == 0)
			return &rp->customers[i].pub;
	return NULL;
}

size_t replay_customers_seen(const struct replay *rp)
{
	return cstate_table_count(rp->ingest.customers);
}

int replay_customer_seen(const struct replay *rp, const char *customer_id)
{
	size_t n = strlen(customer_id);
	return n > 0 && n <= RISKD_ID_MAX &&
	       cstate_table_get(rp->ingest.customers, customer_id, n) != NULL;
}

size_t replay_alerted_count(const struct replay *rp)
{
	return rp->alerted;
}

/* ---- what an edit changes ---- */

/* Non-zero when c's alert lists the rule of index idx (idx < 0: the set lacks the rule). */
static int alert_lists(const struct replay_customer *c, int idx)
{
	return c && c->alert_days && idx >= 0 && replay_rule_bit(c->alerted, (size_t)idx);
}

static void push_name(const char ***list, size_t *n, const char *name)
{
	if ((*n & (*n - 1)) == 0) /* 0, 1, 2, 4, ...: double the room */
		*list = xrealloc(*list, sizeof(**list) * (*n ? 2 * *n : 1));
	(*list)[(*n)++] = name;
}

static void push_customer(const struct replay_customer ***list, size_t *n,
                          const struct replay_customer *c)
{
	if ((*n & (*n - 1)) == 0)
		*list = xrealloc(*list, sizeof(**list) * (*n ? 2 * *n : 1));
	(*list)[(*n)++] = c;
}

/* One customer of either replay, with the rule maps: adds it to the diff's lists. */
static void diff_customer(struct replay_diff *d, const struct replay_customer *after,
                          const struct replay_customer *before, const int *after_idx,
                          const int *before_idx)
{
	int now = after && after->alert_days, was = before && before->alert_days;
	if (now && !was)
		push_customer(&d->added, &d->n_added, after);
	if (was && !now)
		push_customer(&d->removed, &d->n_removed, before);
	const char *id = after ? after->customer_id : before->customer_id;
	for (size_t r = 0; r < d->n_rules; r++) {
		int a = alert_lists(after, after_idx[r]), b = alert_lists(before, before_idx[r]);
		if (a && !b)
			push_name(&d->rules[r].added, &d->rules[r].n_added, id);
		else if (b && !a)
			push_name(&d->rules[r].removed, &d->rules[r].n_removed, id);
	}
}

void replay_diff_build(const struct replay *edited, const struct replay *baseline,
                       struct replay_diff *out)
{
	const struct ruleset *rs_after = replay_rules(edited), *rs_before = replay_rules(baseline);
	size_t cap = edited->n_rules + baseline->n_rules + 1;
	int *after_idx = xcalloc(cap, sizeof(int)), *before_idx = xcalloc(cap, sizeof(int));

	memset(out, 0, sizeof(*out));
	out->rules = xcalloc(cap, sizeof(*out->rules));
	for (size_t r = 0; r < edited->n_rules; r++) {
		struct replay_rule_diff *rd = &out->rules[out->n_rules];
		rd->rule_id = edited->rules[r].info->id;
		rd->after = &edited->rules[r];
		after_idx[out->n_rules] = (int)r;
		before_idx[out->n_rules] = ruleset_rule_find(rs_before, rd->rule_id);
		if (before_idx[out->n_rules] >= 0)
			rd->before = &baseline->rules[before_idx[out->n_rules]];
		out->n_rules++;
	}
	for (size_t r = 0; r < baseline->n_rules; r++) {
		if (ruleset_rule_find(rs_after, baseline->rules[r].info->id) >= 0)
			continue;
		struct replay_rule_diff *rd = &out->rules[out->n_rules];
		rd->rule_id = baseline->rules[r].info->id;
		rd->before = &baseline->rules[r];
		after_idx[out->n_rules] = -1;
		before_idx[out->n_rules] = (int)r;
		out->n_rules++;
	}
	/* both customer lists are sorted by id (replay_finish): walk them together */
	size_t i = 0, j = 0;
	while (i < edited->n_customers || j < baseline->n_customers) {
		const struct replay_customer *a = i < edited->n_customers ? &edited->customers[i].pub : NULL;
		const struct replay_customer *b =
		    j < baseline->n_customers ? &baseline->customers[j].pub : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->customer_id, b->customer_id);
		diff_customer(out, c <= 0 ? a : NULL, c >= 0 ? b : NULL, after_idx, before_idx);
		i += c <= 0;
		j += c >= 0;
	}
	free(after_idx);
	free(before_idx);
}

void replay_diff_free(struct replay_diff *diff)
{
	for (size_t r = 0; r < diff->n_rules; r++) {
		free(diff->rules[r].added);
		free(diff->rules[r].removed);
	}
	free(diff->rules);
	free(diff->added);
	free(diff->removed);
	memset(diff, 0, sizeof(*diff));
}

/* ---- precision and recall ---- */

void replay_pr_compute(uint64_t tp, uint64_t fp, uint64_t fn, struct replay_pr *out)
{
	out->tp = tp;
	out->fp = fp;
	out->fn = fn;
	out->precision = tp + fp ? (double)tp / (double)(tp + fp) : NAN;
	out->recall = tp + fn ? (double)tp / (double)(tp + fn) : NAN;
}

static int is_thief(const struct replay_labels *labels, const char *customer_id)
{
	const struct replay_label *l = replay_labels_find(labels, customer_id);
	return l && l->attack;
}

void replay_quality_build(const struct replay *rp, const struct replay_labels *labels,
                          struct replay_quality *out)
{
	size_t n = rp->n_rules;
	/* per rule: thieves and others among the customers its alerts list, and it fired for */
	uint64_t *alert_tp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *alert_fp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *fired_tp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *fired_fp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t tp = 0, fp = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; labels && i < labels->count; i++)
		out->thieves += labels->items[i].attack != 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		int thief = is_thief(labels, c->customer_id);
		if (c->alert_days) {
			tp += thief;
			fp += !thief;
		}
		for (size_t r = 0; r < n; r++) {
			if (replay_rule_bit(c->fired, r)) {
				fired_tp[r] += thief;
				fired_fp[r] += !thief;
			}
			if (c->alert_days && replay_rule_bit(c->alerted, r)) {
				alert_tp[r] += thief;
				alert_fp[r] += !thief;
			}
		}
	}
	replay_pr_compute(tp, fp, out->thieves - tp, &out->overall);
	out->n_rules = n;
	out->alert = xcalloc(n + 1, sizeof(*out->alert));
	out->fired = xcalloc(n + 1, sizeof(*out->fired));
	for (size_t r = 0; r < n; r++) {
		replay_pr_compute(alert_tp[r], alert_fp[r], out->thieves - alert_tp[r], &out->alert[r]);
		replay_pr_compute(fired_tp[r], fired_fp[r], out->thieves - fired_tp[r], &out->fired[r]);
	}
	free(alert_tp);
	free(alert_fp);
	free(fired_tp);
	free(fired_fp);
}

void replay_quality_free(struct replay_quality *q)
{
	free(q->alert);
	free(q->fired);
	memset(q, 0, sizeof(*q));
}

/* ---- the detection scorecard ---- */

double replay_auc(const double *pos, size_t n_pos, double *neg, size_t n_neg)
{
	if (n_pos == 0 || n_neg == 0)
		return NAN;
	qsort(neg, n_neg, sizeof(*neg), cmp_double);
	double wins = 0;
	for (size_t i = 0; i < n_pos; i++) {
		size_t lo = 0, hi = n_neg; /* first negative >= pos[i] */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (neg[mid] < pos[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t below = lo;
		hi = n_neg; /* first negative > pos[i] */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (neg[mid] <= pos[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		wins += (double)below + 0.5 * (double)(lo - below);
	}
	return wins / ((double)n_pos * (double)n_neg);
}

static int label_is_honest(const struct replay_label *l)
{
	return !l->attack && !l->confounder;
}

static struct replay_score_row *card_row(struct replay_scorecard *card, size_t *cap,
                                         const char *pattern, int confounder)
{
	for (size_t i = 0; i < card->count; i++)
		if (strcmp(card->rows[i].pattern, pattern) == 0)
			return &card->rows[i];
	if (card->count == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		card->rows = xrealloc(card->rows, sizeof(*card->rows) * *cap);
	}
	struct replay_score_row *row = &card->rows[card->count++];
	memset(row, 0, sizeof(*row));
	riskd_strlcpy(row->pattern, sizeof(row->pattern), pattern, strlen(pattern));
	row->confounder = confounder;
	return row;
}

static double median_sorted(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Fills row's figures from the labelled customers of its pattern. */
static void card_fill(const struct replay *rp, const struct replay_labels *labels,
                      struct replay_score_row *row, double *honest_scores, size_t n_honest)
{
	size_t n = 0;
	for (size_t i = 0; i < labels->count; i++)
		n += !label_is_honest(&labels->items[i]) &&
		     strcmp(labels->items[i].pattern, row->pattern) == 0;
	double *scores = xcalloc(n + 1, sizeof(double)), *delays = xcalloc(n + 1, sizeof(double));
	size_t n_delays = 0;
	row->customers = 0;
	for (size_t i = 0; i < labels->count; i++) {
		const struct replay_label *l = &labels->items[i];
		if (label_is_honest(l) || strcmp(l->pattern, row->pattern) != 0)
			continue;
		const struct replay_customer *c = replay_customer_find(rp, l->customer_id);
		scores[row->customers++] = c ? c->max_score : 0;
		if (!c || !c->alert_days)
			continue;
		row->alerted++;
		if (c->first_alert_from_onset == REPLAY_NO_DAY)
			continue;
		row->detected++;
		if (l->onset_day != REPLAY_NO_DAY)
			delays[n_delays++] = (double)(c->first_alert_from_onset - l->onset_day);
	}
	row->recall = row->customers ? (double)row->detected / (double)row->customers : NAN;
	row->alerted_share = row->customers ? (double)row->alerted / (double)row->customers : NAN;
	qsort(delays, n_delays, sizeof(double), cmp_double);
	row->median_delay_days = median_sorted(delays, n_delays);
	row->auc = replay_auc(scores, row->customers, honest_scores, n_honest);
	free(scores);
	free(delays);
}

void replay_scorecard_build(const struct replay *rp, const struct replay_labels *labels,
                            const struct replay_pattern *patterns, size_t n_patterns,
                            struct replay_scorecard *out)
{
	struct replay_labels none = {0};
	size_t cap = 0, labelled_seen = 0;

	if (!labels)
		labels = &none;
	memset(out, 0, sizeof(*out));
	out->alert_threshold = ruleset_alert_threshold(replay_rules(rp));
	for (size_t i = 0; i < n_patterns; i++)
		card_row(out, &cap, patterns[i].name, patterns[i].confounder);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < labels->count; i++) {
			const struct replay_label *l = &labels->items[i];
			if (!label_is_honest(l) && l->confounder == pass)
				card_row(out, &cap, l->pattern, l->confounder);
		}
	/* the negatives: every customer seen that is not labelled with a pattern */
	for (size_t i = 0; i < labels->count; i++)
		labelled_seen += !label_is_honest(&labels->items[i]) &&
		                 replay_customer_seen(rp, labels->items[i].customer_id);
	out->honest = replay_customers_seen(rp) - labelled_seen;
	double *honest_scores = xcalloc(out->honest + 1, sizeof(double)); /* unscored: 0 */
	size_t scored = 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		const struct replay_label *l = replay_labels_find(labels, c->customer_id);
		if ((l && !label_is_honest(l)) || scored == out->honest)
			continue;
		honest_scores[scored++] = c->max_score;
		out->honest_alerted += c->alert_days > 0;
	}
	out->honest_alerted_share =
	    out->honest ? (double)out->honest_alerted / (double)out->honest : NAN;
	for (size_t r = 0; r < out->count; r++)
		card_fill(rp, labels, &out->rows[r], honest_scores, out->honest);
	free(honest_scores);
}

void replay_scorecard_free(struct replay_scorecard *card)
{
	free(card->rows);
	memset(card, 0, sizeof(*card));
}

/* ---- JSON ---- */

/* A ratio or score to 6 significant digits; null when not defined. */
static void json_number(struct rbuf *out, double v)
{
	if (isfinite(v))
		rbuf_printf(out, "%.6g", v);
	else
		rbuf_puts(out, "null");
}

static void json_day(struct rbuf *out, int32_t day)
{
	char text[16];
	if (day == REPLAY_NO_DAY) {
		rbuf_puts(out, "null");
		return;
	}
	event_format_date(day, text, sizeof(text));
	rbuf_printf(out, "\"%s\"", text);
}

void replay_scorecard_json(const struct replay_scorecard *card, struct rbuf *out)
{
	rbuf_puts(out, "{\"patterns\":[");
	for (size_t i = 0; i < card->count; i++) {
		const struct replay_score_row *row = &card->rows[i];
		rbuf_puts(out, i ? ",{\"pattern\":" : "{\"pattern\":");
		rbuf_json_string(out, row->pattern);
		rbuf_printf(out, ",\"confounder\":%s,\"customers\":%zu,\"recall\":",
		            row->confounder ? "true" : "false", row->customers);
		json_number(out, row->recall);
		rbuf_puts(out, ",\"alerted_share\":");
		json_number(out, row->alerted_share);
		rbuf_puts(out, ",\"median_delay_days\":");
		json_number(out, row->median_delay_days);
		rbuf_puts(out, ",\"auc\":");
		json_number(out, row->auc);
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "],\"honest_alerted_share\":");
	json_number(out, card->honest_alerted_share);
	rbuf_puts(out, "}\n");
}

static void json_ruleset(struct rbuf *out, const struct ruleset *rs)
{
	rbuf_puts(out, "{\"name\":");
	rbuf_json_string(out, ruleset_name(rs));
	rbuf_puts(out, ",\"version\":");
	rbuf_json_string(out, ruleset_version(rs));
	rbuf_puts(out, ",\"hash\":");
	rbuf_json_string(out, ruleset_hash(rs));
	rbuf_puts(out, ",\"alert_threshold\":");
	json_number(out, ruleset_alert_threshold(rs));
	rbuf_puts(out, "}");
}

/* The ids of the active rules an alert lists, as a JSON array. */
static void json_alert_rules(struct rbuf *out, const struct replay *rp,
                             const struct replay_customer *c)
{
	int first = 1;
	rbuf_puts(out, "[");
	for (size_t r = 0; r < rp->n_rules; r++) {
		if (!replay_rule_bit(c->alerted, r))
			continue;
		if (!first)
			rbuf_puts(out, ",");
		first = 0;
		rbuf_json_string(out, rp->rules[r].info->id);
	}
	rbuf_puts(out, "]");
}

static void json_alert(struct rbuf *out, const struct replay *rp, const struct replay_customer *c)
{
	rbuf_puts(out, "{\"customer_id\":");
	rbuf_json_string(out, c->customer_id);
	rbuf_puts(out, ",\"first_alert_day\":");
	json_day(out, c->first_alert_day);
	rbuf_puts(out, ",\"first_score\":");
	json_number(out, c->first_alert_score);
	rbuf_puts(out, ",\"max_score\":");
	json_number(out, c->max_score);
	rbuf_printf(out, ",\"alert_days\":%u,\"rules\":", c->alert_days);
	json_alert_rules(out, rp, c);
	rbuf_puts(out, "}");
}

static void json_pr(struct rbuf *out, const struct replay_pr *pr)
{
	rbuf_printf(out, "{\"tp\":%llu,\"fp\":%llu,\"fn\":%llu,\"precision\":",
	            (unsigned long long)pr->tp, (unsigned long long)pr->fp,
	            (unsigned long long)pr->fn);
	json_number(out, pr->precision);
	rbuf_puts(out, ",\"recall\":");
	json_number(out, pr->recall);
	rbuf_puts(out, "}");
}

static void json_names(struct rbuf *out, const char *const *names, size_t n)
{
	rbuf_puts(out, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			rbuf_puts(out, ",");
		rbuf_json_string(out, names[i]);
	}
	rbuf_puts(out, "]");
}

static void json_rule_counts(struct rbuf *out, const struct replay_rule *r)
{
	if (!r) {
		rbuf_puts(out, "null");
		return;
	}
	rbuf_printf(out, "{\"hits\":%llu,\"customers\":%llu,\"alerts\":%llu}",
	            (unsigned long long)r->hits, (unsigned long long)r->customers,
	            (unsigned long long)r->alerts);
}

static void json_baseline(struct rbuf *out, const struct replay *rp, const struct replay *baseline)
{
	struct replay_diff d;
	replay_diff_build(rp, baseline, &d);
	rbuf_puts(out, ",\"baseline\":{\"ruleset\":");
	json_ruleset(out, replay_rules(baseline));
	rbuf_printf(out, ",\"alerts\":%zu,\"added\":[", replay_alerted_count(baseline));
	for (size_t i = 0; i < d.n_added; i++) {
		if (i)
			rbuf_puts(out, ",");
		json_alert(out, rp, d.added[i]);
	}
	rbuf_puts(out, "],\"removed\":[");
	for (size_t i = 0; i < d.n_removed; i++) {
		if (i)
			rbuf_puts(out, ",");
		json_alert(out, baseline, d.removed[i]);
	}
	rbuf_puts(out, "],\"rules\":[");
	for (size_t r = 0; r < d.n_rules; r++) {
		const struct replay_rule_diff *rd = &d.rules[r];
		rbuf_puts(out, r ? ",{\"id\":" : "{\"id\":");
		rbuf_json_string(out, rd->rule_id);
		rbuf_puts(out, ",\"before\":");
		json_rule_counts(out, rd->before);
		rbuf_puts(out, ",\"after\":");
		json_rule_counts(out, rd->after);
		rbuf_puts(out, ",\"added\":");
		json_names(out, rd->added, rd->n_added);
		rbuf_puts(out, ",\"removed\":");
		json_names(out, rd->removed, rd->n_removed);
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "]}");
	replay_diff_free(&d);
}

void replay_backtest_json(const struct replay *rp, const struct replay *baseline,
                          const struct replay_labels *labels, struct rbuf *out)
{
	const struct replay_totals *t = &rp->totals;
	struct replay_quality q;
	if (labels)
		replay_quality_build(rp, labels, &q);

	rbuf_puts(out, "{\"ruleset\":");
	json_ruleset(out, replay_rules(rp));
	rbuf_printf(out,
	            ",\"events\":{\"lines\":%llu,\"accepted\":%llu,\"duplicates\":%llu,"
	            "\"rejected\":%llu,\"scored_days\":%llu,\"area_days\":%llu}",
	            (unsigned long long)t->lines, (unsigned long long)t->accepted,
	            (unsigned long long)t->duplicates, (unsigned long long)t->rejected,
	            (unsigned long long)t->scored, (unsigned long long)t->area_days);
	rbuf_printf(out, ",\"customers\":%zu,\"alerts\":%zu,\"rules\":[",
	            replay_customers_seen(rp), rp->alerted);
	for (size_t r = 0; r < rp->n_rules; r++) {
		const struct replay_rule *rr = &rp->rules[r];
		rbuf_puts(out, r ? ",{\"id\":" : "{\"id\":");
		rbuf_json_string(out, rr->info->id);
		rbuf_printf(out, ",\"mode\":\"%s\",\"score\":", rule_mode_name(rr->info->mode));
		json_number(out, rr->info->score);
		rbuf_printf(out, ",\"hits\":%llu,\"customers\":%llu,\"alerts\":%llu,\"missing_reads\":%llu",
		            (unsigned long long)rr->hits, (unsigned long long)rr->customers,
		            (unsigned long long)rr->alerts, (unsigned long long)rr->missing_reads);
		if (labels) {
			rbuf_puts(out, ",\"alert_quality\":");
			json_pr(out, &q.alert[r]);
			rbuf_puts(out, ",\"fired_quality\":");
			json_pr(out, &q.fired[r]);
		}
		rbuf_puts(out, "}");
	}
	rbuf_puts(out, "],\"alerted\":[");
	int first = 1;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		if (!c->alert_days)
			continue;
		if (!first)
			rbuf_puts(out, ",");
		first = 0;
		json_alert(out, rp, c);
	}
	rbuf_puts(out, "]");
	if (baseline)
		json_baseline(out, rp, baseline);
	if (labels) {
		rbuf_printf(out, ",\"labels\":{\"thieves\":%zu,\"overall\":", q.thieves);
		json_pr(out, &q.overall);
		rbuf_puts(out, "}");
		replay_quality_free(&q);
	}
	rbuf_puts(out, "}\n");
}

const struct area_table *replay_areas(const struct replay *rp)
{
	return scorer_areas(rp->ingest.scorer);
}
