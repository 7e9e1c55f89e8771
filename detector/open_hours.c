/*
 * open_hours.c - each entity's open-day hourly sums (open_hours.h): derived from its slots,
 * plus what they cannot give, kept for the few entities that have any in a dense array of
 * entries (the entity, its day and 24 sums: 216 bytes) behind an open-addressing index keyed
 * by the entity's struct cstate (4 to 8 bytes an entity). Normal traffic keeps it empty.
 */
#include "open_hours.h"

#include <stdlib.h>
#include <string.h>

struct open_day {
	const struct cstate *cs;
	int32_t day;
	int32_t transformer;       /* cs lives in the transformer table */
	struct daily_hours sums;
};

struct open_hours {
	struct daily_hours *scratch; /* what open_hours_get returns */
	struct open_day *days;     /* dense, in the order added */
	size_t count, cap;
	uint32_t *index;           /* days[] entry + 1; 0: free. A power of two, at most half full */
	size_t index_cap;
};

struct open_hours *open_hours_new(void)
{
	struct open_hours *m = xcalloc(1, sizeof(struct open_hours));
	m->scratch = xcalloc(1, sizeof(*m->scratch));
	return m;
}

void open_hours_free(struct open_hours *m)
{
	if (!m)
		return;
	free(m->scratch);
	free(m->days);
	free(m->index);
	free(m);
}

void open_hours_clear(struct open_hours *m)
{
	if (m->index)
		memset(m->index, 0, sizeof(*m->index) * m->index_cap);
	m->count = 0;
}

size_t open_hours_count(const struct open_hours *m)
{
	return m->count;
}

size_t open_hours_memory(const struct open_hours *m)
{
	return sizeof(*m) + sizeof(*m->scratch) + m->cap * sizeof(*m->days) +
	       m->index_cap * sizeof(*m->index);
}

static size_t slot_of(const struct cstate *cs, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)cs * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* The index slot of cs: its entry's, or the free one where it would go. */
static size_t slot_find(const struct open_hours *m, const struct cstate *cs)
{
	size_t s = slot_of(cs, m->index_cap);
	while (m->index[s] && m->days[m->index[s] - 1].cs != cs)
		s = (s + 1) & (m->index_cap - 1);
	return s;
}

/* cs's entry, or NULL. */
static struct open_day *find(const struct open_hours *m, const struct cstate *cs)
{
	if (!m->index_cap)
		return NULL;
	uint32_t at = m->index[slot_find(m, cs)];
	return at ? &m->days[at - 1] : NULL;
}

/* Rebuilds the index over days[0 .. count). */
static void reindex(struct open_hours *m)
{
	memset(m->index, 0, sizeof(*m->index) * m->index_cap);
	for (size_t i = 0; i < m->count; i++)
		m->index[slot_find(m, m->days[i].cs)] = (uint32_t)i + 1;
}

/* cs's entry, created empty (day INT32_MIN) when absent. */
static struct open_day *find_or_add(struct open_hours *m, const struct cstate *cs,
                                    int transformer)
{
	struct open_day *e = find(m, cs);
	if (e)
		return e;
	if (2 * (m->count + 1) > m->index_cap) {
		free(m->index);
		m->index_cap = m->index_cap ? 2 * m->index_cap : 1024;
		m->index = xcalloc(m->index_cap, sizeof(*m->index));
		reindex(m);
	}
	if (m->count == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 512;
		m->days = xrealloc(m->days, sizeof(*m->days) * m->cap);
	}
	m->days[m->count] = (struct open_day){.cs = cs, .day = INT32_MIN, .transformer = transformer};
	m->index[slot_find(m, cs)] = (uint32_t)++m->count;
	return &m->days[m->count - 1];
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

void open_hours_remove_partition(struct open_hours *m, int transformer, int32_t partition)
{
	size_t kept = 0;
	for (size_t i = 0; i < m->count; i++)
		if (m->days[i].transformer != !!transformer || m->days[i].cs->partition != partition)
			m->days[kept++] = m->days[i];
	if (kept == m->count)
		return;
	m->count = kept;
	reindex(m);
}
