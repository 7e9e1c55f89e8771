/*
 * replay_diff.c - what a rule edit changes: the customers alerted by one finished replay and
 * not the other, overall and rule by rule (replay_diff_build).
 */
#include "replay_int.h"

#include <stdlib.h>
#include <string.h>

/* Non-zero when c's alert lists the rule of index idx (idx < 0: the set lacks the rule). */
static int alert_lists(const struct replay_customer *c, int idx)
{
	return c && c->alert_days && idx >= 0 && replay_rule_bit(c->alerted, (size_t)idx);
}

static void push_name(const char ***list, size_t *n, const char *name)
{
	if ((*n & (*n - 1)) == 0) /* 0, 1, 2, 4, ...: double the room */
		*list = xrealloc(*list, sizeof(**list) * (*n ? 2 * *n : 1));
	(*list)[(*n)++] = name;
}

static void push_customer(const struct replay_customer ***list, size_t *n,
                          const struct replay_customer *c)
{
	if ((*n & (*n - 1)) == 0)
		*list = xrealloc(*list, sizeof(**list) * (*n ? 2 * *n : 1));
	(*list)[(*n)++] = c;
}

/* One customer of either replay, with the rule maps: adds it to the diff's lists. */
static void diff_customer(struct replay_diff *d, const struct replay_customer *after,
                          const struct replay_customer *before, const int *after_idx,
                          const int *before_idx)
{
	int now = after && after->alert_days, was = before && before->alert_days;
	if (now && !was)
		push_customer(&d->added, &d->n_added, after);
	if (was && !now)
		push_customer(&d->removed, &d->n_removed, before);
	const char *id = after ? after->customer_id : before->customer_id;
	for (size_t r = 0; r < d->n_rules; r++) {
		int a = alert_lists(after, after_idx[r]), b = alert_lists(before, before_idx[r]);
		if (a && !b)
			push_name(&d->rules[r].added, &d->rules[r].n_added, id);
		else if (b && !a)
			push_name(&d->rules[r].removed, &d->rules[r].n_removed, id);
	}
}

void replay_diff_build(const struct replay *edited, const struct replay *baseline,
                       struct replay_diff *out)
{
	const struct ruleset *rs_after = replay_rules(edited), *rs_before = replay_rules(baseline);
	size_t cap = edited->n_rules + baseline->n_rules + 1;
	int *after_idx = xcalloc(cap, sizeof(int)), *before_idx = xcalloc(cap, sizeof(int));

	memset(out, 0, sizeof(*out));
	out->rules = xcalloc(cap, sizeof(*out->rules));
	for (size_t r = 0; r < edited->n_rules; r++) {
		struct replay_rule_diff *rd = &out->rules[out->n_rules];
		rd->rule_id = edited->rules[r].info->id;
		rd->after = &edited->rules[r];
		after_idx[out->n_rules] = (int)r;
		before_idx[out->n_rules] = ruleset_rule_find(rs_before, rd->rule_id);
		if (before_idx[out->n_rules] >= 0)
			rd->before = &baseline->rules[before_idx[out->n_rules]];
		out->n_rules++;
	}
	for (size_t r = 0; r < baseline->n_rules; r++) {
		if (ruleset_rule_find(rs_after, baseline->rules[r].info->id) >= 0)
			continue;
		struct replay_rule_diff *rd = &out->rules[out->n_rules];
		rd->rule_id = baseline->rules[r].info->id;
		rd->before = &baseline->rules[r];
		after_idx[out->n_rules] = -1;
		before_idx[out->n_rules] = (int)r;
		out->n_rules++;
	}
	/* both customer lists are sorted by id (replay_finish): walk them together */
	size_t i = 0, j = 0;
	while (i < edited->n_customers || j < baseline->n_customers) {
		const struct replay_customer *a = i < edited->n_customers ? &edited->customers[i].pub : NULL;
		const struct replay_customer *b =
		    j < baseline->n_customers ? &baseline->customers[j].pub : NULL;
		int c = !a ? 1 : !b ? -1 : strcmp(a->customer_id, b->customer_id);
		diff_customer(out, c <= 0 ? a : NULL, c >= 0 ? b : NULL, after_idx, before_idx);
		i += c <= 0;
		j += c >= 0;
	}
	free(after_idx);
	free(before_idx);
}

void replay_diff_free(struct replay_diff *diff)
{
	for (size_t r = 0; r < diff->n_rules; r++) {
		free(diff->rules[r].added);
		free(diff->rules[r].removed);
	}
	free(diff->rules);
	free(diff->added);
	free(diff->removed);
	memset(diff, 0, sizeof(*diff));
}
