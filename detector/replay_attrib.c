/*
 * replay_attrib.c - the attribution of each area's loss to its customers, offline: the
 * hourly energy of every customer and transformer over the last history_days + window_days
 * local days, kept in memory from the replayed readings (integer micro-kWh, as riskd sums
 * energy), and, when replay_balance.c balances an area-day, the window ending that day handed
 * to scoring/attrib_window.h (the one path from sums to findings, which riskd's live
 * attributor takes too). The findings are published to the scorer's area table with the
 * balance, so a customer-day scored after its area-day was balanced reads them.
 *
 * Sums. A reading belongs to the local day it starts in, and to the hour of its start
 * (localday_split's second of the day / 3600, at most 23). A reading longer than an hour
 * (a daily transformer reading) is spread evenly over the hours it covers, in whole
 * micro-kWh (hour k of n gets floor(e (k + 1) / n) - floor(e k / n), which add up to e);
 * hours past 23 fold into hour 23. An hour without any reading has no sum (NAN in the
 * window). Each entity keeps a ring of history_days + window_days days; a reading of a day
 * older than its ring slot's day is not kept.
 *
 * Windows. An area is attributed hourly when its transformer's newest reading spans at most
 * an hour, else daily: a day's transformer sum when all its 24 hours have one (a daily
 * reading fills them all), a customer's the sum of the hours it has (NAN with none). The
 * window's customers are the area's profiled customers (those replay_balance.c counts), in
 * customer_id order. An area keeps the findings of its windows ending on the latest
 * attributed day and the ATTRIB_PREV_DAYS days before it, so that the previous window's (the
 * area_attrib_prev_* features) is at hand, as riskd loads it from risk.area_attribution.
 * Memory: 8 bytes x 24 x (history_days + window_days) per customer and per transformer
 * (10.8 KB at the default 28 + 28), 8 findings per customer, plus the solver of the largest
 * area.
 */
#include "replay_int.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/cstate.h"
#include "../scoring/localday.h"
#include "scorer.h"

#define HOUR_S 3600
#define NO_SUM INT64_MIN

/* One entity's hourly sums: day[d % ring_days] is the day held in slot d, its 24 hours at
 * uwh[slot * 24 ..]; NO_SUM: no reading in that hour. */
struct attrib_ring {
	int32_t *day;
	int64_t *uwh;
};

/* A customer with readings. */
struct attrib_series {
	const struct cstate *cs;   /* stays put while the replay lives */
	struct attrib_ring ring;
};

/* Attributed windows an area keeps: its latest and those of the ATTRIB_PREV_DAYS days before,
 * so that the window ATTRIB_PREV_DAYS before the latest is at hand. */
#define KEPT_WINDOWS (ATTRIB_PREV_DAYS + 1)

/* One attributed window's findings (its members' when it ran); n 0: none kept. */
struct attrib_kept {
	int32_t end_day;
	struct area_finding *findings; /* customer_id and finding set */
	uint32_t n, cap;
};

/* An area's attribution state (replay_area.attrib). */
struct replay_area_attrib {
	struct attrib_ring feeder;     /* its transformer's sums */
	int32_t feeder_interval_s;     /* its newest transformer reading's interval */
	int64_t feeder_newest_ts;
	int due;                       /* its open day was balanced: attribute it */
	uint32_t *members;             /* series of its customers, in customer_id order */
	uint32_t n_members, cap_members;
	/* the latest attribution, and those of the days before it */
	int32_t resolution_s;          /* 0: none yet */
	int32_t end_day;
	struct attrib_kept kept[KEPT_WINDOWS]; /* the window ending on day d at d % KEPT_WINDOWS */
};

struct replay_attrib {
	int32_t window_days, history_days, ring_days;
	struct attrib_series *series;
	size_t n_series, cap_series;
	uint32_t *index;               /* series + 1 by cs; 0 = empty; power-of-two size */
	size_t index_cap;
	struct attrib_window_solver *solver;
	double *feeder, *metered;      /* the window being solved */
	size_t cap_feeder, cap_metered;
	struct attrib_finding *found;
	size_t cap_found;
};

struct replay_attrib *replay_attrib_new(int32_t window_days, int32_t history_days)
{
	struct replay_attrib *ra = xcalloc(1, sizeof(*ra));
	ra->window_days = window_days;
	ra->history_days = history_days;
	ra->ring_days = window_days + history_days;
	ra->solver = attrib_window_solver_new();
	return ra;
}

static void ring_init(struct attrib_ring *r, int32_t ring_days)
{
	r->day = xmalloc((size_t)ring_days * sizeof(*r->day));
	r->uwh = xmalloc((size_t)ring_days * ATTRIB_HOURS * sizeof(*r->uwh));
	for (int32_t d = 0; d < ring_days; d++)
		r->day[d] = INT32_MIN;
}

static void ring_free(struct attrib_ring *r)
{
	free(r->day);
	free(r->uwh);
}

void replay_attrib_area_free(struct replay_area *a)
{
	struct replay_area_attrib *at = a->attrib;
	if (!at)
		return;
	ring_free(&at->feeder);
	free(at->members);
	for (int k = 0; k < KEPT_WINDOWS; k++)
		free(at->kept[k].findings);
	free(at);
	a->attrib = NULL;
}

void replay_attrib_free(struct replay_attrib *ra)
{
	if (!ra)
		return;
	for (size_t i = 0; i < ra->n_series; i++)
		ring_free(&ra->series[i].ring);
	free(ra->series);
	free(ra->index);
	attrib_window_solver_free(ra->solver);
	free(ra->feeder);
	free(ra->metered);
	free(ra->found);
	free(ra);
}

/* ---- the sums ---- */

/* The 24 hours of `day` in r, emptied first when the slot held an older day; NULL when it
 * holds a newer one (the day has left the ring). */
static int64_t *ring_day(struct attrib_ring *r, int32_t ring_days, int32_t day)
{
	int32_t slot = (int32_t)(((int64_t)day % ring_days + ring_days) % ring_days);
	if (r->day[slot] != day) {
		if (r->day[slot] != INT32_MIN && r->day[slot] > day)
			return NULL;
		r->day[slot] = day;
		for (int h = 0; h < ATTRIB_HOURS; h++)
			r->uwh[(size_t)slot * ATTRIB_HOURS + h] = NO_SUM;
	}
	return &r->uwh[(size_t)slot * ATTRIB_HOURS];
}

/* Adds a reading of uwh over interval_s seconds from second `second` of `day` to r. */
static void ring_add(struct attrib_ring *r, int32_t ring_days, int32_t day, int32_t second,
                     int64_t uwh, int32_t interval_s)
{
	int64_t *hours = ring_day(r, ring_days, day);
	if (!hours)
		return;
	int first = second / HOUR_S < ATTRIB_HOURS ? second / HOUR_S : ATTRIB_HOURS - 1;
	int64_t n = interval_s > HOUR_S ? ((int64_t)interval_s + HOUR_S - 1) / HOUR_S : 1;
	for (int64_t k = 0; k < n; k++) {
		int64_t part = uwh * (k + 1) / n - uwh * k / n;
		int h = first + k < ATTRIB_HOURS ? first + (int)k : ATTRIB_HOURS - 1;
		hours[h] = hours[h] == NO_SUM ? part : hours[h] + part;
	}
}

static void series_index_put(struct replay_attrib *ra, size_t item)
{
	size_t mask = ra->index_cap - 1;
	size_t s = (size_t)replay_pointer_hash(ra->series[item].cs) & mask;
	while (ra->index[s])
		s = (s + 1) & mask;
	ra->index[s] = (uint32_t)item + 1;
}

/* The series of customer cs, created if new. */
static struct attrib_series *series_of(struct replay_attrib *ra, const struct cstate *cs)
{
	if (ra->index_cap) {
		size_t mask = ra->index_cap - 1;
		for (size_t s = (size_t)replay_pointer_hash(cs) & mask; ra->index[s];
		     s = (s + 1) & mask)
			if (ra->series[ra->index[s] - 1].cs == cs)
				return &ra->series[ra->index[s] - 1];
	}
	if (ra->n_series == ra->cap_series) {
		ra->cap_series = ra->cap_series ? 2 * ra->cap_series : 1024;
		ra->series = xrealloc(ra->series, sizeof(*ra->series) * ra->cap_series);
	}
	size_t item = ra->n_series++;
	ra->series[item].cs = cs;
	ring_init(&ra->series[item].ring, ra->ring_days);
	if (2 * ra->n_series > ra->index_cap) {
		free(ra->index);
		ra->index_cap = ra->index_cap ? 2 * ra->index_cap : 2048;
		ra->index = xcalloc(ra->index_cap, sizeof(*ra->index));
		for (size_t i = 0; i < ra->n_series; i++)
			series_index_put(ra, i);
	} else {
		series_index_put(ra, item);
	}
	return &ra->series[item];
}

void replay_attrib_reading(struct replay *rp, const struct event *ev,
                           const struct ingest_result *r)
{
	struct replay_attrib *ra = rp->attrib;
	int32_t second;
	int32_t day = localday_split(&rp->ingest.localday, ev->ts, &second);
	if (!r->transformer) {
		struct attrib_series *series = series_of(ra, r->cs);
		ring_add(&series->ring, ra->ring_days, day, second, r->uwh, r->interval_s);
		return;
	}
	struct replay_area *a = replay_area_get(rp, cstate_id(r->cs), 1);
	if (!a->attrib) {
		a->attrib = xcalloc(1, sizeof(*a->attrib));
		ring_init(&a->attrib->feeder, ra->ring_days);
		a->attrib->feeder_newest_ts = INT64_MIN;
	}
	struct replay_area_attrib *at = a->attrib;
	ring_add(&at->feeder, ra->ring_days, day, second, r->uwh, r->interval_s);
	if (ev->ts >= at->feeder_newest_ts) {
		at->feeder_newest_ts = ev->ts;
		at->feeder_interval_s = r->interval_s;
	}
}

/* ---- the windows ---- */

/* The slots of `day` in r as the window holds them (the file header): S = 24 hours, or a day
 * (whole_day: only when every hour has a sum). */
static void ring_slots(const struct attrib_ring *r, int32_t ring_days, int32_t day, int32_t S,
                       int whole_day, double *out)
{
	int32_t slot = (int32_t)(((int64_t)day % ring_days + ring_days) % ring_days);
	const int64_t *hours = &r->uwh[(size_t)slot * ATTRIB_HOURS];
	int held = r->day[slot] == day;
	if (S == ATTRIB_HOURS) {
		for (int h = 0; h < ATTRIB_HOURS; h++)
			out[h] = held && hours[h] != NO_SUM ? (double)hours[h] / 1e6 : NAN;
		return;
	}
	int64_t sum = 0;
	int n = 0;
	for (int h = 0; held && h < ATTRIB_HOURS; h++)
		if (hours[h] != NO_SUM) {
			sum += hours[h];
			n++;
		}
	out[0] = n == 0 || (whole_day && n < ATTRIB_HOURS) ? NAN : (double)sum / 1e6;
}

/* A customer series in customer_id order. */
struct series_key {
	const char *id;
	uint32_t item;
};

static int cmp_series_key(const void *x, const void *y)
{
	return strcmp(((const struct series_key *)x)->id, ((const struct series_key *)y)->id);
}

/* Puts series `item` in area a's members. */
static void member_add(struct replay_area_attrib *at, uint32_t item)
{
	if (at->n_members == at->cap_members) {
		at->cap_members = at->cap_members ? 2 * at->cap_members : 64;
		at->members = xrealloc(at->members, sizeof(*at->members) * at->cap_members);
	}
	at->members[at->n_members++] = item;
}

/* Fills the members of every due area: its profiled customers with readings, by id. */
static void members_collect(struct replay *rp)
{
	struct replay_attrib *ra = rp->attrib;
	struct series_key *keys = xmalloc(sizeof(*keys) * (ra->n_series + 1));
	for (size_t i = 0; i < ra->n_series; i++)
		keys[i] = (struct series_key){cstate_id(ra->series[i].cs), (uint32_t)i};
	qsort(keys, ra->n_series, sizeof(*keys), cmp_series_key);
	for (size_t i = 0; i < rp->n_areas; i++)
		if (rp->areas[i].attrib)
			rp->areas[i].attrib->n_members = 0;
	for (size_t i = 0; i < ra->n_series; i++) {
		const struct cstate *cs = ra->series[keys[i].item].cs;
		if (!(cs->flags & CSTATE_F_PROFILE))
			continue;
		const char *transformer_id = cstate_transformer_id(rp->ingest.customers, cs);
		struct replay_area *a = transformer_id[0] ? replay_area_get(rp, transformer_id, 0)
		                                          : NULL;
		if (a && a->attrib && a->attrib->due)
			member_add(a->attrib, keys[i].item);
	}
	free(keys);
}

/* Grows *buf to hold n doubles. */
static void doubles_reserve(double **buf, size_t *cap, size_t n)
{
	if (n > *cap) {
		free(*buf);
		*buf = xmalloc(n * sizeof(double));
		*cap = n;
	}
}

/* The slot of at->kept that holds (or will hold) the window ending with `day`. */
static struct attrib_kept *kept_window(struct replay_area_attrib *at, int32_t day)
{
	return &at->kept[((int64_t)day % KEPT_WINDOWS + KEPT_WINDOWS) % KEPT_WINDOWS];
}

/* Attributes the window of area a ending with `day` and keeps its findings. */
static void attribute_area(struct replay *rp, struct replay_area *a, int32_t day)
{
	struct replay_attrib *ra = rp->attrib;
	struct replay_area_attrib *at = a->attrib;
	uint32_t n = at->n_members;
	if (n == 0)
		return;
	int32_t S = at->feeder_interval_s <= HOUR_S ? ATTRIB_HOURS : 1;
	size_t per = (size_t)ra->ring_days * (size_t)S;
	int32_t first = day - ra->ring_days + 1;
	doubles_reserve(&ra->feeder, &ra->cap_feeder, per);
	doubles_reserve(&ra->metered, &ra->cap_metered, per * n);
	if (n > ra->cap_found) {
		free(ra->found);
		ra->found = xmalloc(sizeof(*ra->found) * n);
		ra->cap_found = n;
	}
	for (int32_t d = 0; d < ra->ring_days; d++) {
		ring_slots(&at->feeder, ra->ring_days, first + d, S, 1, ra->feeder + (size_t)d * S);
		for (uint32_t i = 0; i < n; i++)
			ring_slots(&ra->series[at->members[i]].ring, ra->ring_days, first + d, S, 0,
			           ra->metered + per * i + (size_t)d * S);
	}
	struct attrib_window w = {
	    .end_day = day, .window_days = ra->window_days, .history_days = ra->history_days,
	    .slots_per_day = S, .n_customers = n, .feeder_kwh = ra->feeder,
	    .metered_kwh = ra->metered,
	};
	struct attrib_area_result res;
	char errstr[256];
	if (attrib_window_solve(ra->solver, &w, &res, ra->found, errstr, sizeof(errstr)) != 0) {
		rp->totals.area_window_errors++;
		return;
	}
	rp->totals.area_windows++;
	at->resolution_s = 86400 / S;
	at->end_day = day;
	struct attrib_kept *kept = kept_window(at, day);
	if (n > kept->cap) {
		free(kept->findings);
		kept->findings = xcalloc(n, sizeof(*kept->findings));
		kept->cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		const char *id = cstate_id(ra->series[at->members[i]].cs);
		riskd_strlcpy(kept->findings[i].customer_id, sizeof(kept->findings[i].customer_id), id,
		              strlen(id));
		kept->findings[i].finding = ra->found[i];
	}
	kept->end_day = day;
	kept->n = n;
}

void replay_attrib_mark_due(struct replay_area *a)
{
	if (a->attrib)
		a->attrib->due = 1;
}

void replay_attrib_day(struct replay *rp, int32_t day)
{
	int any = 0;
	for (size_t i = 0; i < rp->n_areas; i++)
		any |= rp->areas[i].attrib && rp->areas[i].attrib->due;
	if (!any)
		return;
	members_collect(rp);
	for (size_t i = 0; i < rp->n_areas; i++) {
		struct replay_area *a = &rp->areas[i];
		if (!a->attrib || !a->attrib->due)
			continue;
		attribute_area(rp, a, day);
		a->attrib->due = 0;
	}
}

void replay_attrib_publish(const struct replay_area *a, struct area_balance *b,
                           struct area_table *t)
{
	struct replay_area_attrib *at = a->attrib;
	if (!at || at->resolution_s == 0)
		return;
	b->attrib_resolution_s = at->resolution_s;
	b->attrib_end_day = at->end_day;
	const struct attrib_kept *latest = kept_window(at, at->end_day);
	for (uint32_t i = 0; i < latest->n; i++)
		area_table_add_finding(t, latest->findings[i].customer_id, &latest->findings[i].finding);
	const struct attrib_kept *prev = kept_window(at, at->end_day - ATTRIB_PREV_DAYS);
	if (prev->n == 0 || prev->end_day != at->end_day - ATTRIB_PREV_DAYS)
		return;
	for (uint32_t i = 0; i < prev->n; i++)
		area_table_add_prev_finding(t, prev->findings[i].customer_id, &prev->findings[i].finding);
}
