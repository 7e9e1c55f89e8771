/*
 * open_hours.c - each entity's open-day hourly sums (open_hours.h): derived from its slots,
 * plus what they cannot give, kept for the few entities that have any in a side table
 * (scoring/side_table.h) keyed by the entity's struct cstate: 216 bytes an entry (the key,
 * the day and 24 sums) and 4 to 8 bytes of index. Normal traffic keeps it empty.
 */
#include "open_hours.h"

#include <stdlib.h>
#include <string.h>

#include "../scoring/side_table.h"

/* An entity's entry: the day its sums belong to and what its slots cannot give. */
struct open_day {
	int32_t day;
	int32_t transformer;       /* the entity lives in the transformer table */
	struct daily_hours sums;
};

struct open_hours {
	struct daily_hours *scratch; /* what open_hours_get returns */
	struct side_table *days;   /* struct open_day by the entity's struct cstate address */
	size_t held;               /* side_table_count(days), kept here so that every reading
	                              of normal traffic (an empty map) costs a test, not a call */
};

struct open_hours *open_hours_new(void)
{
	struct open_hours *m = xcalloc(1, sizeof(struct open_hours));
	m->scratch = xcalloc(1, sizeof(*m->scratch));
	m->days = side_table_new(sizeof(struct open_day));
	return m;
}

void open_hours_free(struct open_hours *m)
{
	if (!m)
		return;
	free(m->scratch);
	side_table_free(m->days);
	free(m);
}

void open_hours_clear(struct open_hours *m)
{
	side_table_clear(m->days);
	m->held = 0;
}

size_t open_hours_count(const struct open_hours *m)
{
	return m->held;
}

size_t open_hours_memory(const struct open_hours *m)
{
	return sizeof(*m) + sizeof(*m->scratch) + side_table_memory(m->days);
}

/* cs's entry, or NULL. Allocation-free: an empty map answers at once. */
static struct open_day *find(const struct open_hours *m, const struct cstate *cs)
{
	return m->held ? side_table_find(m->days, cs) : NULL;
}

/* cs's entry, created empty (day INT32_MIN) when absent. */
static struct open_day *find_or_add(struct open_hours *m, const struct cstate *cs,
                                    int transformer)
{
	int created;
	struct open_day *e = side_table_get(m->days, cs, 1, &created);
	if (created) {
		*e = (struct open_day){.day = INT32_MIN, .transformer = transformer};
		m->held++;
	}
	return e;
}

/* Adds b's sums (and its mask) to a's. */
static void hours_add(struct daily_hours *a, const struct daily_hours *b)
{
	a->mask |= b->mask;
	for (int h = 0; h < DAILY_HOURS; h++)
		a->uwh[h] += b->uwh[h];
}

/* Whether h holds nothing: no energy, no hour with a reading. */
static int hours_empty(const struct daily_hours *h)
{
	for (int k = 0; k < DAILY_HOURS; k++)
		if (h->uwh[k])
			return 0;
	return h->mask == 0;
}

/* cs's entry for `day`, made (or moved on to that day, empty) when absent. */
static struct open_day *entry_for(struct open_hours *m, const struct cstate *cs, int transformer,
                                  int32_t day)
{
	struct open_day *e = find_or_add(m, cs, transformer);
	if (e->day != day) {
		e->day = day;
		memset(&e->sums, 0, sizeof(e->sums));
	}
	return e;
}

/*
 * What the hourly sums of an applied restatement of the open day (r) hold beyond its slots':
 * the sums moved by the difference, spread as the new reading is, where the slots now give
 * the new energy spread so: the two differ by the rounding of a reading longer than an hour.
 */
static void restatement_rounding(const struct ingest_result *r, struct daily_hours *extra)
{
	struct daily_hours now = {0};
	memset(extra, 0, sizeof(*extra));
	if (r->restated_interval_s < 86400)
		daily_hours_add(extra, r->second, r->restated_interval_s, r->restated_uwh);
	if (r->interval_s < 86400) {
		daily_hours_add(extra, r->second, r->interval_s, r->uwh);
		daily_hours_add(&now, r->second, r->interval_s, r->restated_uwh + r->uwh);
		for (int h = 0; h < DAILY_HOURS; h++)
			extra->uwh[h] -= now.uwh[h];
	}
	extra->mask &= ~now.mask;
}

void open_hours_reading(struct open_hours *m, struct batch *b, const struct ingest_result *r)
{
	int has_hours = r->interval_s < 86400; /* a reading of a day or longer has none */
	struct usage_map *map = b ? (r->transformer ? &b->transformer : &b->usage) : NULL;
	if (r->day_result == DAILY_LATE) {
		if (map && has_hours)
			batch_add_hours(map, r->cs, r->day, r->second, r->interval_s, r->uwh);
		return;
	}
	struct open_day *e = find(m, r->cs);
	if (r->day_result == DAILY_CLOSED_DAY && map) {
		struct daily_hours closed = r->closed_hours;
		if (e && e->day == r->closed.day)
			hours_add(&closed, &e->sums);
		if (closed.mask)
			batch_set_hours(map, r->cs, r->closed.day, &closed);
	}
	if (e && e->day != r->day) {
		e->day = r->day;
		memset(&e->sums, 0, sizeof(e->sums));
	}
	if (r->restated) {
		struct daily_hours extra;
		restatement_rounding(r, &extra);
		if (!hours_empty(&extra))
			hours_add(&entry_for(m, r->cs, r->transformer, r->day)->sums, &extra);
	} else if (has_hours && !daily_reading_tracked(r->second, r->interval_s)) {
		daily_hours_add(&entry_for(m, r->cs, r->transformer, r->day)->sums, r->second,
		                r->interval_s, r->uwh);
	}
}

const struct daily_hours *open_hours_get(const struct open_hours *m, const struct cstate *cs,
                                         int32_t day)
{
	struct daily_hours *h = m->scratch;
	memset(h, 0, sizeof(*h));
	daily_open_hours(cs, day, h);
	const struct open_day *e = find(m, cs);
	if (e && e->day == day)
		hours_add(h, &e->sums);
	return h->mask ? h : NULL;
}

void open_hours_set(struct open_hours *m, const struct cstate *cs, int transformer,
                    int32_t day, const struct daily_hours *sums)
{
	struct daily_hours slots = {0}, extra = *sums;
	daily_open_hours(cs, day, &slots);
	for (int h = 0; h < DAILY_HOURS; h++)
		extra.uwh[h] -= slots.uwh[h];
	extra.mask &= ~slots.mask;
	struct open_day *e = find(m, cs);
	if (!e && hours_empty(&extra))
		return;
	e = entry_for(m, cs, transformer, day);
	e->sums = extra;
}

/* The entities open_hours_remove_partition forgets: of one table's partition. */
struct partition_of {
	int transformer;
	int32_t partition;
};

static int in_partition(const void *key, void *record, void *arg)
{
	const struct partition_of *p = arg;
	const struct open_day *e = record;
	return e->transformer == p->transformer &&
	       ((const struct cstate *)key)->partition == p->partition;
}

void open_hours_remove_partition(struct open_hours *m, int transformer, int32_t partition)
{
	struct partition_of p = {!!transformer, partition};
	side_table_remove_if(m->days, in_partition, &p);
	m->held = side_table_count(m->days);
}
