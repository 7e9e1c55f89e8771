/*
 * side_table.c - records beside the customer state, keyed by a stable address (see
 * side_table.h).
 */
#include "side_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

/* Records per chunk: a record's address never changes while it is held. */
#define SIDE_CHUNK 256

struct side_table {
	size_t entry_size;         /* key pointer + record, rounded to 8 bytes */
	unsigned char **chunks;
	size_t n_chunks, count;
	uint32_t *index;           /* entry number + 1; 0 free. A power of two, at most half full */
	size_t index_cap;
};

struct side_table *side_table_new(size_t record_size)
{
	struct side_table *t = xcalloc(1, sizeof(*t));
	t->entry_size = (sizeof(void *) + record_size + 7) & ~(size_t)7;
	return t;
}

void side_table_free(struct side_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_chunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->index);
	free(t);
}

void side_table_clear(struct side_table *t)
{
	if (t->index)
		memset(t->index, 0, sizeof(*t->index) * t->index_cap);
	t->count = 0;
}

size_t side_table_count(const struct side_table *t)
{
	return t->count;
}

size_t side_table_memory(const struct side_table *t)
{
	return sizeof(*t) + t->n_chunks * (sizeof(*t->chunks) + SIDE_CHUNK * t->entry_size) +
	       t->index_cap * sizeof(*t->index);
}

/* Entry n: its key pointer, then its record. */
static unsigned char *entry_at(const struct side_table *t, size_t n)
{
	return t->chunks[n / SIDE_CHUNK] + (n % SIDE_CHUNK) * t->entry_size;
}

static const void *entry_key(const unsigned char *entry)
{
	const void *key;
	memcpy(&key, entry, sizeof key);
	return key;
}

static void *entry_record(unsigned char *entry)
{
	return entry + sizeof(void *);
}

static size_t slot_of(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static size_t slot_find(const struct side_table *t, const void *key)
{
	size_t s = slot_of(key, t->index_cap);
	while (t->index[s] && entry_key(entry_at(t, t->index[s] - 1)) != key)
		s = (s + 1) & (t->index_cap - 1);
	return s;
}

static void index_rebuild(struct side_table *t)
{
	memset(t->index, 0, t->index_cap * sizeof(*t->index));
	for (size_t n = 0; n < t->count; n++)
		t->index[slot_find(t, entry_key(entry_at(t, n)))] = (uint32_t)(n + 1);
}

static void index_grow(struct side_table *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 64;
	free(t->index);
	t->index = xcalloc(cap, sizeof(*t->index));
	t->index_cap = cap;
	index_rebuild(t);
}

void *side_table_find(const struct side_table *t, const void *key)
{
	if (!t->count)
		return NULL;
	size_t mask = t->index_cap - 1;
	for (size_t s = slot_of(key, t->index_cap);; s = (s + 1) & mask) {
		uint32_t at = t->index[s];
		if (!at)
			return NULL;
		unsigned char *e = entry_at(t, at - 1);
		if (entry_key(e) == key)
			return entry_record(e);
	}
}

void *side_table_get(struct side_table *t, const void *key, int create, int *created)
{
	if (created)
		*created = 0;
	if (t->index_cap) {
		size_t s = slot_find(t, key);
		if (t->index[s])
			return entry_record(entry_at(t, t->index[s] - 1));
	}
	if (!create)
		return NULL;
	if ((t->count + 1) * 2 > t->index_cap)
		index_grow(t);
	if (t->count == t->n_chunks * SIDE_CHUNK) {
		t->chunks = xrealloc(t->chunks, (t->n_chunks + 1) * sizeof(*t->chunks));
		t->chunks[t->n_chunks++] = xcalloc(SIDE_CHUNK, t->entry_size);
	}
	unsigned char *e = entry_at(t, t->count);
	memset(e, 0, t->entry_size);
	memcpy(e, &key, sizeof key);
	t->index[slot_find(t, key)] = (uint32_t)(++t->count);
	if (created)
		*created = 1;
	return entry_record(e);
}

void side_table_remove_if(struct side_table *t,
                          int (*drop)(const void *key, void *record, void *arg), void *arg)
{
	size_t kept = 0;
	for (size_t n = 0; n < t->count; n++) {
		unsigned char *e = entry_at(t, n);
		if (drop(entry_key(e), entry_record(e), arg))
			continue;
		if (kept != n)
			memcpy(entry_at(t, kept), e, t->entry_size);
		kept++;
	}
	if (kept == t->count)
		return;
	t->count = kept;
	index_rebuild(t);
}

void side_table_each(struct side_table *t, void (*fn)(const void *key, void *record, void *arg),
                     void *arg)
{
	for (size_t n = 0; n < t->count; n++) {
		unsigned char *e = entry_at(t, n);
		fn(entry_key(e), entry_record(e), arg);
	}
}
