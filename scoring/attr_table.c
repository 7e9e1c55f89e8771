/*
 * attr_table.c - customers' attribute values beside their state (attr_table.h): a side
 * table of attr_record_size bytes a customer, read into one scratch attr_vec.
 */
#include "attr_table.h"

#include <stdlib.h>

#include "../config/riskd_base.h"
#include "side_table.h"

struct attr_table {
	const struct attr_schema *schema;
	struct side_table *records;   /* attr_record_size(schema) bytes by key */
	struct attr_vec read;         /* what attr_table_get returns */
};

struct attr_table *attr_table_new(const struct attr_schema *schema)
{
	struct attr_table *t = xcalloc(1, sizeof(*t));
	t->schema = schema;
	t->records = side_table_new(attr_record_size(schema));
	return t;
}

void attr_table_free(struct attr_table *t)
{
	if (!t)
		return;
	side_table_free(t->records);
	free(t);
}

const struct attr_schema *attr_table_schema(const struct attr_table *t)
{
	return t->schema;
}

const struct attr_vec *attr_table_get(struct attr_table *t, const void *key)
{
	const void *record = side_table_find(t->records, key);
	if (!record)
		return NULL;
	attr_record_load(record, t->schema, &t->read);
	return &t->read;
}

void attr_table_set(struct attr_table *t, const void *key, const struct attr_vec *av)
{
	void *record = side_table_get(t->records, key, av->known != 0, NULL);
	if (record)
		attr_record_store(record, t->schema, av);
}

void attr_table_clear(struct attr_table *t)
{
	side_table_clear(t->records);
}

void attr_table_remove_if(struct attr_table *t,
                          int (*drop)(const void *key, void *record, void *arg), void *arg)
{
	side_table_remove_if(t->records, drop, arg);
}

size_t attr_table_count(const struct attr_table *t)
{
	return side_table_count(t->records);
}
