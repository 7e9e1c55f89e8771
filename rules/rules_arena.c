/*
 * rules_arena.c - bump allocator for the rule loader: YAML trees, ASTs and a rule set's
 * strings are allocated piecewise and freed at once with their owner.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

#define CHUNK_MIN 8192

struct rules_arena_chunk {
	struct rules_arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

void *rules_arena_alloc(struct rules_arena *arena, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	struct rules_arena_chunk *c = arena->head;
	if (!c || c->size - c->used < size) {
		size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;
		c = xmalloc(sizeof *c + want);
		c->size = want;
		c->used = 0;
		c->next = arena->head;
		arena->head = c;
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *rules_arena_strndup(struct rules_arena *arena, const char *s, size_t n)
{
	char *p = rules_arena_alloc(arena, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void rules_arena_free(struct rules_arena *arena)
{
	struct rules_arena_chunk *c = arena->head;
	while (c) {
		struct rules_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	arena->head = NULL;
}
