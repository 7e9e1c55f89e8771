/*
 * attr_table.h - customers' attribute values (scoring/attributes.h) kept beside their state,
 * only for the customers that have any: a side table (side_table.h) of records of the
 * schema's size, keyed by the address of the customer's state entry. riskd's pipeline and
 * the offline replay keep one each; the scorer, the operating early warning and the grader
 * read a customer's values from it.
 *
 * Pure code: no I/O. Not thread-safe: one table belongs to one loop.
 */
#ifndef RISKD_ATTR_TABLE_H
#define RISKD_ATTR_TABLE_H

#include <stddef.h>

#include "attributes.h"

struct attr_table;

/* Creates an empty table of values by the slots of schema (borrowed: it must outlive the
 * table). Aborts on out-of-memory. */
struct attr_table *attr_table_new(const struct attr_schema *schema);

/* Frees the table (NULL is fine). */
void attr_table_free(struct attr_table *t);

/* The schema the values are kept by. */
const struct attr_schema *attr_table_schema(const struct attr_table *t);

/*
 * The values kept for key, or NULL when it has no record (a customer whose profiles never
 * carried attributes): a table-owned copy valid until the next attr_table_get. A record may
 * hold no value (av->known 0) after a profile cleared them. Allocation-free.
 */
const struct attr_vec *attr_table_get(struct attr_table *t, const void *key);

/* Sets key's values to av: a record is made when av holds a value; an existing record is
 * overwritten (also with no value). Aborts on out-of-memory. */
void attr_table_set(struct attr_table *t, const void *key, const struct attr_vec *av);

/* Forgets every record (when the state tables are cleared), or those for which
 * drop(key, record, arg) returns non-zero (before their customers' entries are removed;
 * record is the table's bytes, for side_table_remove_if's callbacks). */
void attr_table_clear(struct attr_table *t);
void attr_table_remove_if(struct attr_table *t,
                          int (*drop)(const void *key, void *record, void *arg), void *arg);

/* Customers with a record. */
size_t attr_table_count(const struct attr_table *t);

#endif
