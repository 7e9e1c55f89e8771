/*
 * side_table.h - fixed-size records kept beside the per-entity state for the few entities
 * that need them (a business's operating weeks, a customer's attributes: attr_table.h, the
 * open-day hours the slots cannot give: detector/open_hours.h), keyed by the address of the
 * entity's state entry (or any stable address the caller keys by), so that entities without
 * one cost nothing: a lookup in an empty table returns at once.
 *
 * Records live in chunks and never move while they are held; an open-addressing index of
 * 32-bit entry numbers, at most half full, finds them. Pure code: no I/O. Not thread-safe:
 * one table belongs to one loop.
 */
#ifndef RISKD_SIDE_TABLE_H
#define RISKD_SIDE_TABLE_H

#include <stddef.h>

struct side_table;

/* Creates an empty table of records of record_size bytes. Aborts on out-of-memory. */
struct side_table *side_table_new(size_t record_size);

/* Frees the table (NULL is fine). */
void side_table_free(struct side_table *t);

/* The record of `key`, or NULL when it has none: side_table_get without creating, and cheaper
 * (a lookup in an empty table costs a call and a test). Valid as side_table_get's. */
void *side_table_find(const struct side_table *t, const void *key);

/*
 * The record of `key`. When there is none: with create non-zero a new zeroed record (and
 * *created set to 1 when created is not NULL), else NULL. The pointer stays valid until the
 * table is cleared, freed or side_table_remove_if runs. Aborts on out-of-memory.
 */
void *side_table_get(struct side_table *t, const void *key, int create, int *created);

/* Forgets every record (when the state tables are cleared). Keeps the memory. */
void side_table_clear(struct side_table *t);

/*
 * Forgets the records for which drop(key, record, arg) returns non-zero (e.g. those of a
 * revoked partition, before their customers' entries are removed). Kept records may move.
 */
void side_table_remove_if(struct side_table *t,
                          int (*drop)(const void *key, void *record, void *arg), void *arg);

/* Calls fn for every record in the order they were created. */
void side_table_each(struct side_table *t, void (*fn)(const void *key, void *record, void *arg),
                     void *arg);

/* Records held, and the bytes the table holds for them (chunks at their capacity and the
 * index). */
size_t side_table_count(const struct side_table *t);
size_t side_table_memory(const struct side_table *t);

#endif
