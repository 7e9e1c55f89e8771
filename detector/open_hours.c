/*
 * open_hours.c - each entity's open-day hourly sums (open_hours.h): an open-addressing map
 * from the entity's struct cstate to its day and 24 sums.
 */
#include "open_hours.h"

#include <stdlib.h>
#include <string.h>

struct open_day {
	const struct cstate *cs;   /* NULL: a free entry */
	int32_t day;
	struct daily_hours sums;
};

struct open_hours {
	struct open_day *entries;
	size_t count, cap;         /* cap: a power of two, 0 before the first entity */
};

struct open_hours *open_hours_new(void)
{
	return xcalloc(1, sizeof(struct open_hours));
}

void open_hours_free(struct open_hours *m)
{
	if (!m)
		return;
	free(m->entries);
	free(m);
}

void open_hours_clear(struct open_hours *m)
{
	if (m->entries)
		memset(m->entries, 0, sizeof(*m->entries) * m->cap);
	m->count = 0;
}

size_t open_hours_count(const struct open_hours *m)
{
	return m->count;
}

static size_t slot_of(const struct cstate *cs, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)cs * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* cs's entry, or NULL. */
static struct open_day *find(const struct open_hours *m, const struct cstate *cs)
{
	if (!m->cap)
		return NULL;
	for (size_t s = slot_of(cs, m->cap);; s = (s + 1) & (m->cap - 1)) {
		if (m->entries[s].cs == cs)
			return &m->entries[s];
		if (!m->entries[s].cs)
			return NULL;
	}
}

/* cs's entry, created empty (day INT32_MIN) when absent. */
static struct open_day *find_or_add(struct open_hours *m, const struct cstate *cs)
{
	struct open_day *e = find(m, cs);
	if (e)
		return e;
	if (2 * (m->count + 1) > m->cap) {
		struct open_day *old = m->entries;
		size_t old_cap = m->cap;
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->entries = xcalloc(m->cap, sizeof(*m->entries));
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].cs) {
				size_t s = slot_of(old[i].cs, m->cap);
				while (m->entries[s].cs)
					s = (s + 1) & (m->cap - 1);
				m->entries[s] = old[i];
			}
		free(old);
	}
	size_t s = slot_of(cs, m->cap);
	while (m->entries[s].cs)
		s = (s + 1) & (m->cap - 1);
	m->entries[s] = (struct open_day){.cs = cs, .day = INT32_MIN};
	m->count++;
	return &m->entries[s];
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
	struct open_day *e = has_hours ? find_or_add(m, r->cs) : find(m, r->cs);
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

void open_hours_set(struct open_hours *m, const struct cstate *cs, int32_t day,
                    const struct daily_hours *sums)
{
	struct open_day *e = find_or_add(m, cs);
	e->day = day;
	e->sums = *sums;
}
