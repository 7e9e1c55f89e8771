/*
 * open_hours.c - each entity's open-day hourly sums (open_hours.h): a dense array of
 * entries (the entity, its day and 24 sums: 216 bytes) behind an open-addressing index keyed
 * by the entity's struct cstate (4 to 8 bytes an entity).
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
	struct open_day *days;     /* dense, in the order added */
	size_t count, cap;
	uint32_t *index;           /* days[] entry + 1; 0: free. A power of two, at most half full */
	size_t index_cap;
};

struct open_hours *open_hours_new(void)
{
	return xcalloc(1, sizeof(struct open_hours));
}

void open_hours_free(struct open_hours *m)
{
	if (!m)
		return;
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
	return sizeof(*m) + m->cap * sizeof(*m->days) + m->index_cap * sizeof(*m->index);
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

void open_hours_reading(struct open_hours *m, struct batch *b, const struct ingest_result *r)
{
	int has_hours = r->interval_s < 86400; /* a reading of a day or longer has none */
	struct usage_map *map = b ? (r->transformer ? &b->transformer : &b->usage) : NULL;
	if (r->day_result == DAILY_LATE) {
		if (map && has_hours)
			batch_add_hours(map, r->cs, r->day, r->second, r->interval_s, r->uwh);
		return;
	}
	struct open_day *e = has_hours ? find_or_add(m, r->cs, r->transformer) : find(m, r->cs);
	if (!e)
		return;
	if (e->day != r->day) {
		if (map && r->day_result == DAILY_CLOSED_DAY && e->day == r->closed.day &&
		    e->sums.mask)
			batch_set_hours(map, r->cs, e->day, &e->sums);
		e->day = r->day;
		memset(&e->sums, 0, sizeof(e->sums));
	}
	if (has_hours)
		daily_hours_add(&e->sums, r->second, r->interval_s, r->uwh);
}

const struct daily_hours *open_hours_get(const struct open_hours *m, const struct cstate *cs,
                                         int32_t day)
{
	const struct open_day *e = find(m, cs);
	return e && e->day == day && e->sums.mask ? &e->sums : NULL;
}

void open_hours_set(struct open_hours *m, const struct cstate *cs, int transformer,
                    int32_t day, const struct daily_hours *sums)
{
	struct open_day *e = find_or_add(m, cs, transformer);
	e->day = day;
	e->sums = *sums;
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
