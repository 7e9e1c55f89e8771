/*
 * cstate_slab.c - the slabs beside a state table (cstate_int.h): fixed-size records in a few
 * sizes, for the open days' slots and for the ids too long to sit in their entries. A record
 * is taken from its class's free list, else from the newest chunk, else from a new chunk;
 * chunks are freed only all at once, so records never move and a steady set of customers
 * allocates nothing after its first day.
 */
#include "cstate_int.h"

#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

/* Bytes a chunk holds at most (a whole number of records of its class). */
#define CSTATE_SLAB_CHUNK_BYTES (64 * 1024)

/* The class of records of `size` bytes, made when new. */
static unsigned class_of(struct cstate_slab *slab, uint32_t size)
{
	for (unsigned i = 0; i < slab->class_count; i++)
		if (slab->cls[i].size == size)
			return i;
	if (slab->class_count == CSTATE_SLAB_CLASSES)
		abort(); /* the slots use 24 sizes at the most, the long ids 12 */
	struct cstate_slab_class *c = &slab->cls[slab->class_count];
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->per_chunk = CSTATE_SLAB_CHUNK_BYTES / size;
	return slab->class_count++;
}

void *cstate_slab_alloc(struct cstate_slab *slab, size_t bytes, uint8_t *size_class)
{
	if (bytes < sizeof(void *) || bytes > CSTATE_SLAB_CHUNK_BYTES)
		abort(); /* a caller bug: the slots are 11 to 1,208 bytes, the long ids 17 to 64 */
	unsigned k = class_of(slab, (uint32_t)((bytes + 3) & ~(size_t)3));
	struct cstate_slab_class *c = &slab->cls[k];
	*size_class = (uint8_t)k;
	if (c->free_head) {
		void *record = c->free_head;
		memcpy(&c->free_head, record, sizeof(void *));
		return record;
	}
	if (c->chunk_count == 0 || c->used_in_last == c->per_chunk) {
		if (c->chunk_count == c->chunk_cap) {
			c->chunk_cap = c->chunk_cap ? 2 * c->chunk_cap : 16;
			c->chunks = xrealloc(c->chunks, c->chunk_cap * sizeof(*c->chunks));
		}
		c->chunks[c->chunk_count++] = xmalloc((size_t)c->per_chunk * c->size);
		c->used_in_last = 0;
	}
	return c->chunks[c->chunk_count - 1] + (size_t)c->size * c->used_in_last++;
}

void cstate_slab_free(struct cstate_slab *slab, void *record, uint8_t size_class)
{
	struct cstate_slab_class *c = &slab->cls[size_class];
	memcpy(record, &c->free_head, sizeof(void *));
	c->free_head = record;
}

void cstate_slab_clear(struct cstate_slab *slab)
{
	for (unsigned i = 0; i < slab->class_count; i++) {
		struct cstate_slab_class *c = &slab->cls[i];
		for (size_t k = 0; k < c->chunk_count; k++)
			free(c->chunks[k]);
		free(c->chunks);
		c->chunks = NULL;
		c->chunk_count = c->chunk_cap = 0;
		c->used_in_last = 0;
		c->free_head = NULL;
	}
}

size_t cstate_slab_memory(const struct cstate_slab *slab)
{
	size_t bytes = 0;
	for (unsigned i = 0; i < slab->class_count; i++) {
		const struct cstate_slab_class *c = &slab->cls[i];
		bytes += c->chunk_count * (size_t)c->per_chunk * c->size +
		         c->chunk_cap * sizeof(*c->chunks);
	}
	return bytes;
}
