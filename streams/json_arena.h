/*
 * json_arena.h - jansson allocations from a per-thread arena (see json_arena.c).
 */
#ifndef RISKD_JSON_ARENA_H
#define RISKD_JSON_ARENA_H

/*
 * Makes jansson allocate small blocks from the calling thread's arena from now on (installs
 * the process-wide allocator on first call; the thread's arena lives until the process ends).
 * Cheap after the first call; call it before parsing on a thread that parses many documents.
 */
void json_arena_enter(void);

#endif
