/*
 * json_arena.c - a per-thread bump allocator behind jansson, so decoding an event builds its
 * JSON tree without a malloc/free per node.
 *
 * jansson allocates through json_set_alloc_funcs for the whole process. Small blocks come
 * from the calling thread's 64 KiB arena; when every arena block has been freed (a decoded
 * event's tree is freed before the next event), the arena rewinds. Blocks that do not fit,
 * blocks allocated before the arena was installed, and blocks of threads that never decode
 * go to malloc; json_arena_free tells them apart by address, so any mix is freed correctly.
 */
#include "json_arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#define ARENA_BYTES (64 * 1024)
#define ARENA_ALIGN 16

struct arena {
	_Alignas(ARENA_ALIGN) unsigned char bytes[ARENA_BYTES];
	size_t used;   /* bytes handed out since the last rewind */
	size_t live;   /* arena blocks not yet freed */
};

static _Thread_local struct arena *thread_arena;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key; /* frees a thread's arena when the thread exits */

static void *arena_malloc(size_t size)
{
	struct arena *a = thread_arena;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a && need <= ARENA_BYTES - a->used) {
		void *p = a->bytes + a->used;
		a->used += need;
		a->live++;
		return p;
	}
	return malloc(size);
}

static void arena_free(void *p)
{
	struct arena *a = thread_arena;
	if (a && (unsigned char *)p >= a->bytes && (unsigned char *)p < a->bytes + ARENA_BYTES) {
		if (--a->live == 0)
			a->used = 0;
		return;
	}
	free(p);
}

/* Thread exit: free the arena unless a block from it is still alive (a JSON value the thread
 * handed to another thread); then it stays, rather than be freed under that value. */
static void arena_release(void *p)
{
	struct arena *a = p;
	if (a->live == 0)
		free(a);
}

static void install(void)
{
	pthread_key_create(&arena_key, arena_release);
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void json_arena_enter(void)
{
	pthread_once(&installed, install);
	if (!thread_arena) {
		thread_arena = aligned_alloc(ARENA_ALIGN, sizeof(struct arena));
		if (thread_arena) {
			thread_arena->used = 0;
			thread_arena->live = 0;
			pthread_setspecific(arena_key, thread_arena);
		}
	}
}
