/*
 * batch_side.c - one batch's side rows: operating-risk warnings and side snapshots (see
 * batch_side.h).
 */
#include "batch_side.h"

#include <stdlib.h>
#include <string.h>

void batch_side_free(struct batch_side *s)
{
	free(s->alerts);
	free(s->alert_at);
	free(s->snapshots);
	free(s->snapshot_at);
	rbuf_free(&s->arena);
	memset(s, 0, sizeof(*s));
}

void batch_side_reset(struct batch_side *s)
{
	s->alert_count = 0;
	s->snapshot_count = 0;
	rbuf_reset(&s->arena);
}

/* Copies len bytes (and a NUL when nul) into the arena; returns where they start. */
static size_t arena_copy(struct rbuf *arena, const void *data, size_t len, int nul)
{
	size_t at = arena->len;
	if (len)
		rbuf_append(arena, data, len);
	if (nul)
		rbuf_append(arena, "", 1);
	return at;
}

static size_t arena_text(struct rbuf *arena, const char *text)
{
	return arena_copy(arena, text, strlen(text), 1);
}

void batch_side_add_alert(struct batch_side *s, const struct cstate *cs, int32_t day,
                          double score, const char *severity, const struct rbuf *rules_json,
                          const struct rbuf *curve_json, const struct ruleset *rs)
{
	if (s->alert_count == s->alert_cap) {
		s->alert_cap = s->alert_cap ? 2 * s->alert_cap : 16;
		s->alerts = xrealloc(s->alerts, sizeof(*s->alerts) * s->alert_cap);
		s->alert_at = xrealloc(s->alert_at, sizeof(*s->alert_at) * s->alert_cap);
	}
	if (s->alert_count == 0) {
		s->ruleset_at[0] = arena_text(&s->arena, ruleset_name(rs));
		s->ruleset_at[1] = arena_text(&s->arena, ruleset_version(rs));
		s->ruleset_at[2] = arena_text(&s->arena, ruleset_hash(rs));
		s->alert_threshold = ruleset_alert_threshold(rs);
	}
	s->alert_at[s->alert_count][0] = arena_copy(&s->arena, rules_json->data, rules_json->len, 1);
	s->alert_at[s->alert_count][1] = arena_copy(&s->arena, curve_json->data, curve_json->len, 1);
	s->alerts[s->alert_count++] = (struct store_op_alert){cstate_id(cs), day, score, severity, NULL, NULL};
}

void batch_side_add_snapshot(struct batch_side *s, const struct cstate *cs,
                             const uint8_t *operating, size_t operating_len,
                             const uint8_t *attributes, size_t attributes_len)
{
	if (s->snapshot_count == s->snapshot_cap) {
		s->snapshot_cap = s->snapshot_cap ? 2 * s->snapshot_cap : 64;
		s->snapshots = xrealloc(s->snapshots, sizeof(*s->snapshots) * s->snapshot_cap);
		s->snapshot_at = xrealloc(s->snapshot_at, sizeof(*s->snapshot_at) * s->snapshot_cap);
	}
	s->snapshot_at[s->snapshot_count][0] = arena_copy(&s->arena, operating, operating_len, 0);
	s->snapshot_at[s->snapshot_count][1] = arena_copy(&s->arena, attributes, attributes_len, 0);
	s->snapshots[s->snapshot_count++] = (struct store_side_snapshot){
	    cstate_id(cs), cs->partition, NULL, operating_len, NULL, attributes_len};
}

const struct store_side_rows *batch_side_rows(struct batch_side *s)
{
	const char *base = s->arena.data;
	for (size_t i = 0; i < s->alert_count; i++) {
		s->alerts[i].rules_json = base + s->alert_at[i][0];
		s->alerts[i].curve_json = base + s->alert_at[i][1];
	}
	for (size_t i = 0; i < s->snapshot_count; i++) {
		s->snapshots[i].operating = (const uint8_t *)base + s->snapshot_at[i][0];
		s->snapshots[i].attributes = (const uint8_t *)base + s->snapshot_at[i][1];
	}
	s->rows = (struct store_side_rows){
	    .alerts = s->alerts,
	    .alert_count = s->alert_count,
	    .ruleset_name = s->alert_count ? base + s->ruleset_at[0] : NULL,
	    .ruleset_version = s->alert_count ? base + s->ruleset_at[1] : NULL,
	    .ruleset_hash = s->alert_count ? base + s->ruleset_at[2] : NULL,
	    .alert_threshold = s->alert_threshold,
	    .snapshots = s->snapshots,
	    .snapshot_count = s->snapshot_count,
	};
	return &s->rows;
}
