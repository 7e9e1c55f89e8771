/*
 * batch.c - accumulation of one batch's effects before its PostgreSQL commit.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "rescore.h"

#define GROW(ptr, count, cap)                                                   \
	do {                                                                        \
		if ((count) == (cap)) {                                                 \
			(cap) = (cap) ? 2 * (cap) : 64;                                     \
			(ptr) = xrealloc((ptr), sizeof(*(ptr)) * (cap));                    \
		}                                                                       \
	} while (0)

void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
}

static void usage_map_free(struct usage_map *m)
{
	free(m->rows);
	free(m->owners);
	free(m->index);
	free(m->hours);
	free(m->cover);
	memset(m, 0, sizeof(*m));
}

void batch_free(struct batch *b)
{
	batch_side_free(&b->side);
	usage_map_free(&b->usage);
	usage_map_free(&b->transformer);
	free(b->profiles);
	free(b->counts);
	free(b->outbox);
	free(b->outbox_at);
	free(b->snapshots);
	free(b->snapshot_at);
	free(b->snapshot_hours_at);
	free(b->alerts);
	free(b->alert_at);
	free(b->progress);
	free(b->pending);
	free(b->pending_at);
	free(b->grades);
	free(b->grade_at);
	free(b->credit);
	free(b->billing_ids);
	free(b->billing_id_at);
	free(b->repeats);
	rbuf_free(&b->arena);
	memset(b, 0, sizeof(*b));
}

static void usage_map_reset(struct usage_map *m)
{
	if (m->index)
		memset(m->index, 0, m->index_cap * sizeof(*m->index));
	m->count = 0;
	m->hours_rows = 0;
	m->cover_rows = 0;
}

void batch_reset(struct batch *b)
{
	batch_side_reset(&b->side);
	b->messages = 0;
	b->replayed = 0;
	b->started_ms = 0;
	usage_map_reset(&b->usage);
	usage_map_reset(&b->transformer);
	b->profile_count = 0;
	b->count_count = 0;
	b->outbox_count = 0;
	b->snapshot_count = 0;
	b->alert_count = 0;
	b->pending_count = 0;
	b->progress_count = 0;
	b->grade_count = 0;
	b->credit_count = 0;
	b->billing_id_count = 0;
	b->repeat_count = 0;
	rbuf_reset(&b->arena);
}

static size_t usage_slot(const struct cstate *cs, int32_t day, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)cs * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)(uint32_t)day * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)h & mask;
}

static void usage_map_rehash(struct usage_map *m, size_t index_cap)
{
	free(m->index);
	m->index_cap = index_cap;
	m->index = xcalloc(index_cap, sizeof(*m->index));
	for (size_t i = 0; i < m->count; i++) {
		size_t s = usage_slot(m->owners[i], m->rows[i].day, index_cap - 1);
		while (m->index[s])
			s = (s + 1) & (index_cap - 1);
		m->index[s] = (uint32_t)i + 1;
	}
}

/* The index slot of (cs, day) in m (which has an index): its row's, or the free one where
 * it would go. */
static size_t usage_find(const struct usage_map *m, const struct cstate *cs, int32_t day)
{
	size_t mask = m->index_cap - 1;
	size_t s = usage_slot(cs, day, mask);
	while (m->index[s] && !(m->owners[m->index[s] - 1] == cs &&
	                        m->rows[m->index[s] - 1].day == day))
		s = (s + 1) & mask;
	return s;
}

/* The row of (cs, day) in m, created empty (an addition of nothing) if absent. */
static struct store_usage *usage_row(struct usage_map *m, const struct cstate *cs, int32_t day)
{
	if (2 * (m->count + 1) > m->index_cap)
		usage_map_rehash(m, m->index_cap ? 2 * m->index_cap : 1024);
	size_t s = usage_find(m, cs, day);
	if (m->index[s])
		return &m->rows[m->index[s] - 1];
	if (m->count == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->rows = xrealloc(m->rows, sizeof(*m->rows) * m->cap);
		m->owners = xrealloc(m->owners, sizeof(*m->owners) * m->cap);
		if (m->hours)
			m->hours = xrealloc(m->hours, sizeof(*m->hours) * m->cap);
		if (m->cover)
			m->cover = xrealloc(m->cover, sizeof(*m->cover) * m->cap);
	}
	if (m->hours)
		m->hours[m->count].sums.mask = 0;
	if (m->cover)
		m->cover[m->count].kind = 0;
	m->rows[m->count] = (struct store_usage){cstate_id(cs), day, 0, 0, 0, 0, 0};
	m->owners[m->count] = cs;
	m->index[s] = (uint32_t)++m->count;
	return &m->rows[m->count - 1];
}

void batch_add_usage(struct usage_map *m, const struct cstate *cs, int32_t day, int64_t uwh,
                     int32_t interval_s)
{
	struct store_usage *row = usage_row(m, cs, day);
	row->uwh += uwh;
	row->readings++;
	row->covered_s += interval_s;
}

void batch_add_hours(struct usage_map *m, const struct cstate *cs, int32_t day,
                     int32_t second_of_day, int32_t interval_s, int64_t uwh)
{
	size_t i = (size_t)(usage_row(m, cs, day) - m->rows);
	if (!m->hours) {
		m->hours = xmalloc(sizeof(*m->hours) * m->cap);
		for (size_t k = 0; k < m->count; k++)
			m->hours[k].sums.mask = 0;
	}
	struct store_hours *h = &m->hours[i];
	if (h->sums.mask == 0) {
		*h = (struct store_hours){.id = cstate_id(cs), .day = day};
		m->hours_rows++;
	}
	daily_hours_add(&h->sums, second_of_day, interval_s, uwh);
}

void batch_set_hours(struct usage_map *m, const struct cstate *cs, int32_t day,
                     const struct daily_hours *sums)
{
	batch_add_hours(m, cs, day, 0, 3600, 0); /* makes the row and its hours */
	struct store_hours *h = &m->hours[usage_row(m, cs, day) - m->rows];
	*h = (struct store_hours){.id = cstate_id(cs), .day = day, .whole = 1, .sums = *sums};
}

void batch_set_usage(struct usage_map *m, const struct cstate *cs, int32_t day, int64_t uwh,
                     int32_t readings, int32_t covered_s)
{
	struct store_usage *row = usage_row(m, cs, day);
	*row = (struct store_usage){cstate_id(cs), day, uwh, readings, covered_s, 1, 0};
}

void batch_set_silent(struct usage_map *m, const struct cstate *cs, int32_t day)
{
	usage_row(m, cs, day)->silent = 1;
}

void batch_restate_usage(struct usage_map *m, const struct cstate *cs, int32_t day,
                         int64_t uwh_change)
{
	usage_row(m, cs, day)->uwh += uwh_change;
}

uint16_t *batch_cover(struct usage_map *m, const struct cstate *cs, int32_t day)
{
	if (!m->cover || !m->index_cap)
		return NULL;
	uint32_t at = m->index[usage_find(m, cs, day)];
	return at && m->cover[at - 1].kind ? m->cover[at - 1].codes : NULL;
}

uint16_t *batch_set_cover(struct usage_map *m, char kind, const struct cstate *cs, int32_t day,
                          const uint16_t *codes)
{
	size_t i = (size_t)(usage_row(m, cs, day) - m->rows);
	if (!m->cover) {
		m->cover = xmalloc(sizeof(*m->cover) * m->cap);
		for (size_t k = 0; k < m->count; k++)
			m->cover[k].kind = 0;
	}
	struct store_cover *c = &m->cover[i];
	if (!c->kind)
		m->cover_rows++;
	c->id = cstate_id(cs);
	c->day = day;
	c->kind = kind;
	memcpy(c->codes, codes, sizeof(c->codes));
	return c->codes;
}

void batch_add_profile(struct batch *b, const struct event *ev)
{
	GROW(b->profiles, b->profile_count, b->profile_cap);
	struct store_profile *p = &b->profiles[b->profile_count++];
	memset(p, 0, sizeof(*p));
	memcpy(p->customer_id, ev->entity_id, sizeof(p->customer_id));
	p->segment = ev->u.customer.segment;
	memcpy(p->transformer_id, ev->u.customer.transformer_id, sizeof(p->transformer_id));
	if (ev->has & EVENT_HAS_TARIFF)
		memcpy(p->tariff, ev->u.customer.tariff, sizeof(p->tariff));
	p->capacity_kw = (ev->has & EVENT_HAS_CAPACITY_KW) ? ev->u.customer.capacity_kw : 0;
	p->since = (ev->has & EVENT_HAS_SINCE) ? ev->u.customer.since : INT32_MIN;
}

void batch_count(struct batch *b, const char *topic, int32_t partition, const char *event_type,
                 const char *outcome)
{
	/* Few distinct keys per batch (topics x partitions x types x outcomes): scan from the
	 * most recent, which is almost always the one. */
	for (size_t i = b->count_count; i-- > 0;) {
		struct store_count *c = &b->counts[i];
		if (c->partition == partition && c->topic == topic && c->event_type == event_type &&
		    c->outcome == outcome) {
			c->n++;
			return;
		}
	}
	GROW(b->counts, b->count_count, b->count_cap);
	b->counts[b->count_count++] = (struct store_count){topic, partition, event_type, outcome, 1};
}

static size_t arena_put(struct rbuf *arena, const void *data, size_t len, int nul)
{
	size_t at = arena->len;
	rbuf_append(arena, data, len);
	if (nul)
		rbuf_append(arena, "", 1);
	return at;
}

void batch_add_billing_id(struct batch *b, const struct cstate *cs, const char *kind,
                          const char *id, const char *topic, int32_t partition, int64_t offset)
{
	if (b->billing_id_count == b->billing_id_cap)
		b->billing_id_at = xrealloc(b->billing_id_at, sizeof(*b->billing_id_at) *
		                                                  (b->billing_id_cap ? 2 * b->billing_id_cap
		                                                                     : 64));
	GROW(b->billing_ids, b->billing_id_count, b->billing_id_cap);
	b->billing_id_at[b->billing_id_count] = arena_put(&b->arena, id, strlen(id), 1);
	b->billing_ids[b->billing_id_count++] =
	    (struct store_billing_id){cstate_id(cs), kind, NULL, topic, partition, offset};
}

void batch_add_repeat(struct batch *b, const char *topic, int32_t partition, int64_t offset)
{
	GROW(b->repeats, b->repeat_count, b->repeat_cap);
	b->repeats[b->repeat_count++] = (struct store_repeat){topic, partition, offset};
}

void batch_add_outbox(struct batch *b, const char *topic, const void *key, size_t key_len,
                      const void *payload, size_t len, const char *const *header_names,
                      const char *const *header_values, int header_count)
{
	if (b->outbox_count == b->outbox_cap) {
		b->outbox_cap = b->outbox_cap ? 2 * b->outbox_cap : 64;
		b->outbox = xrealloc(b->outbox, sizeof(*b->outbox) * b->outbox_cap);
		b->outbox_at = xrealloc(b->outbox_at, sizeof(*b->outbox_at) * b->outbox_cap);
	}
	struct store_outbox *o = &b->outbox[b->outbox_count];
	struct outbox_at *at = &b->outbox_at[b->outbox_count++];
	memset(o, 0, sizeof(*o));
	o->topic = topic;
	o->key_len = key_len;
	o->len = len;
	at->key = arena_put(&b->arena, key, key_len, 0);
	at->payload = arena_put(&b->arena, payload, len, 0);
	o->header_count = header_count > 4 ? 4 : header_count;
	for (int h = 0; h < o->header_count; h++) {
		o->header_names[h] = header_names[h];
		at->values[h] = arena_put(&b->arena, header_values[h], strlen(header_values[h]), 1);
	}
}

void batch_add_alert(struct batch *b, const struct cstate *cs, const char *kind, int32_t day,
                     double score, const char *severity, const struct rbuf *rules_json,
                     const struct rbuf *curve_json, const struct rbuf *stolen_json,
                     const char *stage)
{
	if (b->alert_count == b->alert_cap) {
		b->alert_cap = b->alert_cap ? 2 * b->alert_cap : 16;
		b->alerts = xrealloc(b->alerts, sizeof(*b->alerts) * b->alert_cap);
		b->alert_at = xrealloc(b->alert_at, sizeof(*b->alert_at) * b->alert_cap);
	}
	b->alerts[b->alert_count] =
	    (struct store_alert){cstate_id(cs), kind, day, score, severity, NULL, NULL, NULL, stage};
	b->alert_at[b->alert_count].rules = arena_put(&b->arena, rules_json->data, rules_json->len, 1);
	b->alert_at[b->alert_count].curve = arena_put(&b->arena, curve_json->data, curve_json->len, 1);
	b->alert_at[b->alert_count].stolen =
	    stolen_json ? arena_put(&b->arena, stolen_json->data, stolen_json->len, 1)
	                : arena_put(&b->arena, "", 0, 1);
	b->alert_count++;
}

void batch_add_pending(struct batch *b, const struct cstate *cs, const char *transformer_id,
                       const struct scorer_deferred *d, const struct attr_schema *schema)
{
	if (b->pending_count == b->pending_cap) {
		b->pending_cap = b->pending_cap ? 2 * b->pending_cap : 64;
		b->pending = xrealloc(b->pending, sizeof(*b->pending) * b->pending_cap);
		b->pending_at = xrealloc(b->pending_at, sizeof(*b->pending_at) * b->pending_cap);
	}
	size_t at = b->arena.len;
	rescore_pack(d, schema, &b->arena);
	b->pending_at[b->pending_count] = at;
	b->pending[b->pending_count++] =
	    (struct store_pending){cstate_id(cs), transformer_id, d->day, NULL, b->arena.len - at};
}

void batch_add_grade(struct batch *b, const struct cstate *cs, const struct grader_result *r)
{
	if (r->has_billing) {
		GROW(b->credit, b->credit_count, b->credit_cap);
		b->credit[b->credit_count++] = (struct store_credit){
		    cstate_id(cs), r->as_of, r->days_past_due, r->arrears, r->balance_owed,
		    r->last_payment_day};
	}
	if (!r->changed)
		return;
	if (b->grade_count == b->grade_cap) {
		b->grade_cap = b->grade_cap ? 2 * b->grade_cap : 64;
		b->grades = xrealloc(b->grades, sizeof(*b->grades) * b->grade_cap);
		b->grade_at = xrealloc(b->grade_at, sizeof(*b->grade_at) * b->grade_cap);
	}
	const struct credit_grade *g = &r->grade;
	b->grades[b->grade_count] = (struct store_grade){
	    .customer_id = cstate_id(cs),
	    .segment = segment_name((enum segment)cs->segment),
	    .grade = credit_grade_name(g->grade),
	    .previous = r->previous == RULE_GRADE_NONE ? NULL : credit_grade_name(r->previous),
	    .points_grade = credit_grade_name(g->points_grade),
	    .points = g->points,
	    .capped = g->capped,
	    .floored = g->floored,
	    .as_of = r->as_of,
	};
	struct grade_at *at = &b->grade_at[b->grade_count++];
	size_t start = b->arena.len;
	grader_reasons_json(g, &b->arena);
	rbuf_append(&b->arena, "", 1);
	at->reasons = start;
	const char *name = scorecard_name(r->card), *version = scorecard_version(r->card),
	           *hash = scorecard_hash(r->card);
	at->scorecard = arena_put(&b->arena, name, strlen(name), 1);
	at->version = arena_put(&b->arena, version, strlen(version), 1);
	at->hash = arena_put(&b->arena, hash, strlen(hash), 1);
	at->actions = b->arena.len;
	credit_actions_json(r->actions, &b->arena);
	rbuf_append(&b->arena, "", 1);
	at->path = b->arena.len;
	credit_path_json(&r->path, &b->arena);
	rbuf_append(&b->arena, "", 1);
}

int batch_has_rows(const struct batch *b)
{
	return b->messages || b->grade_count || b->credit_count || b->outbox_count;
}

void batch_add_snapshot(struct batch *b, char kind, const struct cstate_table *table,
                        const struct cstate *cs)
{
	if (b->snapshot_count == b->snapshot_cap) {
		b->snapshot_cap = b->snapshot_cap ? 2 * b->snapshot_cap : 64;
		b->snapshots = xrealloc(b->snapshots, sizeof(*b->snapshots) * b->snapshot_cap);
		b->snapshot_at = xrealloc(b->snapshot_at, sizeof(*b->snapshot_at) * b->snapshot_cap);
		b->snapshot_hours_at = xrealloc(b->snapshot_hours_at,
		                                sizeof(*b->snapshot_hours_at) * b->snapshot_cap);
	}
	rbuf_reserve(&b->arena, CSTATE_SNAPSHOT_MAX);
	size_t at = b->arena.len;
	size_t len = cstate_encode(table, cs, (uint8_t *)b->arena.data + at, CSTATE_SNAPSHOT_MAX);
	b->arena.len += len;
	b->snapshot_at[b->snapshot_count] = at;
	b->snapshot_hours_at[b->snapshot_count] = SIZE_MAX;
	b->snapshots[b->snapshot_count++] =
	    (struct store_snapshot){kind, cstate_id(cs), cs->partition, NULL, len, NULL, 0};
}

void batch_add_snapshot_hours(struct batch *b, int32_t day, const struct daily_hours *hours)
{
	static const char pad[8];
	rbuf_append(&b->arena, pad, (8 - b->arena.len % 8) % 8); /* the copy is read in place */
	b->snapshot_hours_at[b->snapshot_count - 1] = arena_put(&b->arena, hours, sizeof(*hours), 0);
	b->snapshots[b->snapshot_count - 1].hours_day = day;
}

/* Each partition's newest transformer day the batch closed (its whole-day rows), in
 * partition order, into b->progress. */
static void collect_progress(struct batch *b)
{
	const struct usage_map *m = &b->transformer;
	b->progress_count = 0;
	for (size_t i = 0; i < m->count; i++) {
		if (!m->rows[i].whole_day)
			continue;
		int32_t partition = m->owners[i]->partition, day = m->rows[i].day;
		size_t k = 0;
		while (k < b->progress_count && b->progress[k].partition < partition)
			k++;
		if (k < b->progress_count && b->progress[k].partition == partition) {
			if (day > b->progress[k].day)
				b->progress[k].day = day;
			continue;
		}
		if (b->progress_count == b->progress_cap) {
			b->progress_cap = b->progress_cap ? 2 * b->progress_cap : 16;
			b->progress = xrealloc(b->progress, sizeof(*b->progress) * b->progress_cap);
		}
		memmove(&b->progress[k + 1], &b->progress[k],
		        sizeof(*b->progress) * (b->progress_count - k));
		b->progress[k] = (struct store_progress){partition, day};
		b->progress_count++;
	}
}

void batch_to_store(struct batch *b, struct store_batch *sb)
{
	const char *base = b->arena.data;
	for (size_t i = 0; i < b->outbox_count; i++) {
		struct store_outbox *o = &b->outbox[i];
		o->key = base + b->outbox_at[i].key;
		o->payload = base + b->outbox_at[i].payload;
		for (int h = 0; h < o->header_count; h++)
			o->header_values[h] = base + b->outbox_at[i].values[h];
	}
	for (size_t i = 0; i < b->alert_count; i++) {
		b->alerts[i].rules_json = base + b->alert_at[i].rules;
		b->alerts[i].curve_json = base + b->alert_at[i].curve;
		b->alerts[i].stolen_json = base + b->alert_at[i].stolen;
	}
	sb->alerts = b->alerts;
	sb->alert_count = b->alert_count;
	for (size_t i = 0; i < b->pending_count; i++)
		b->pending[i].snapshot = (const uint8_t *)base + b->pending_at[i];
	sb->pending = b->pending;
	sb->pending_count = b->pending_count;
	for (size_t i = 0; i < b->grade_count; i++) {
		b->grades[i].reasons_json = base + b->grade_at[i].reasons;
		b->grades[i].scorecard = base + b->grade_at[i].scorecard;
		b->grades[i].scorecard_version = base + b->grade_at[i].version;
		b->grades[i].scorecard_hash = base + b->grade_at[i].hash;
		b->grades[i].actions_json = base + b->grade_at[i].actions;
		b->grades[i].path_json = base + b->grade_at[i].path;
	}
	sb->grades = b->grades;
	sb->grade_count = b->grade_count;
	sb->credit = b->credit;
	sb->credit_count = b->credit_count;
	sb->usage = b->usage.rows;
	sb->usage_count = b->usage.count;
	sb->transformer = b->transformer.rows;
	sb->transformer_count = b->transformer.count;
	collect_progress(b);
	sb->progress = b->progress;
	sb->progress_count = b->progress_count;
	sb->hours = b->usage.hours;
	sb->hours_count = b->usage.hours_rows ? b->usage.count : 0;
	sb->transformer_hours = b->transformer.hours;
	sb->transformer_hours_count = b->transformer.hours_rows ? b->transformer.count : 0;
	for (size_t i = 0; i < b->billing_id_count; i++)
		b->billing_ids[i].id = base + b->billing_id_at[i];
	sb->billing_ids = b->billing_ids;
	sb->billing_id_count = b->billing_id_count;
	sb->repeats = b->repeats;
	sb->repeat_count = b->repeat_count;
	sb->cover = b->usage.cover;
	sb->cover_count = b->usage.cover_rows ? b->usage.count : 0;
	sb->transformer_cover = b->transformer.cover;
	sb->transformer_cover_count = b->transformer.cover_rows ? b->transformer.count : 0;
	sb->profiles = b->profiles;
	sb->profile_count = b->profile_count;
	for (size_t i = 0; i < b->snapshot_count; i++) {
		b->snapshots[i].state = (const uint8_t *)base + b->snapshot_at[i];
		b->snapshots[i].hours = b->snapshot_hours_at[i] == SIZE_MAX
		                            ? NULL
		                            : (const void *)(base + b->snapshot_hours_at[i]);
	}
	sb->snapshots = b->snapshots;
	sb->snapshot_count = b->snapshot_count;
	sb->counts = b->counts;
	sb->count_count = b->count_count;
	sb->outbox = b->outbox;
	sb->outbox_count = b->outbox_count;
	sb->side = batch_side_rows(&b->side);
}
