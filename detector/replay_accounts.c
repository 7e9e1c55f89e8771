/*
 * replay_accounts.c - what a replay counts per rule and per customer, kept through the
 * scorer's observer (replay_on_scored) as riskd's scorer scores each customer-day: a
 * customer's scored days, highest score and the one alert riskd would keep open for it.
 */
#include "replay_int.h"

#include <stdlib.h>
#include <string.h>

#include "scorer.h"

static void customer_index_put(struct replay *rp, size_t idx)
{
	size_t mask = rp->customer_index_cap - 1;
	size_t s = (size_t)replay_pointer_hash(rp->customers[idx].pub.customer_id) & mask;
	while (rp->customer_index[s])
		s = (s + 1) & mask;
	rp->customer_index[s] = (uint32_t)idx + 1;
}

static void customer_index_rebuild(struct replay *rp, size_t cap)
{
	free(rp->customer_index);
	rp->customer_index_cap = cap;
	rp->customer_index = xcalloc(cap, sizeof(*rp->customer_index));
	for (size_t i = 0; i < rp->n_customers; i++)
		customer_index_put(rp, i);
}

/* The record of cs (keyed by the address of its id, which stays put), created if new. */
static struct replay_account *customer_of(struct replay *rp, const struct cstate *cs)
{
	if (rp->customer_index_cap) {
		size_t mask = rp->customer_index_cap - 1;
		size_t s = (size_t)replay_pointer_hash(cstate_id(cs)) & mask;
		for (; rp->customer_index[s]; s = (s + 1) & mask) {
			struct replay_account *c = &rp->customers[rp->customer_index[s] - 1];
			if (c->pub.customer_id == cstate_id(cs))
				return c;
		}
	}
	if (rp->n_customers == rp->cap_customers) {
		rp->cap_customers = rp->cap_customers ? 2 * rp->cap_customers : 1024;
		rp->customers = xrealloc(rp->customers, sizeof(*rp->customers) * rp->cap_customers);
	}
	struct replay_account *c = &rp->customers[rp->n_customers++];
	memset(c, 0, sizeof(*c));
	c->pub.customer_id = cstate_id(cs);
	c->pub.first_alert_day = c->pub.last_alert_day = REPLAY_NO_DAY;
	c->pub.first_alert_from_onset = REPLAY_NO_DAY;
	c->onset_day = REPLAY_NO_DAY;
	const struct replay_label *l = replay_labels_find(rp->labels, cstate_id(cs));
	if (l) {
		c->labelled = 1;
		c->onset_day = l->onset_day;
	}
	rp->customers_sorted = 0;
	if (2 * rp->n_customers > rp->customer_index_cap)
		customer_index_rebuild(rp, rp->customer_index_cap ? 2 * rp->customer_index_cap : 2048);
	else
		customer_index_put(rp, rp->n_customers - 1);
	return c;
}

void replay_on_scored(void *arg, const struct cstate *cs, int32_t day,
                      const struct rule_hits *hits)
{
	struct replay *rp = arg;
	struct replay_account *c = customer_of(rp, cs);
	struct replay_customer *pc = &c->pub;

	const struct feature_vec *fv = scorer_last_features(rp->ingest.scorer);
	rp->totals.scored++;
	pc->scored_days++;
	pc->attrib_share = feature_known(fv, FEAT_AREA_ATTRIB_SHARE)
	                       ? fv->value[FEAT_AREA_ATTRIB_SHARE] : 0;
	if (rp->scoring_fn)
		rp->scoring_fn(rp->scoring_arg, cstate_id(cs), day, fv, hits);
	if (hits->score > pc->max_score)
		pc->max_score = hits->score;
	for (size_t i = 0; i < rp->n_rules; i++)
		rp->rules[i].missing_reads += hits->missing[i];
	for (unsigned i = 0; i < hits->n_fired; i++) {
		size_t idx = hits->fired[i];
		rp->rules[idx].hits++;
		if (!replay_rule_bit(pc->fired, idx)) {
			pc->fired[idx / 64] |= (uint64_t)1 << (idx % 64);
			rp->rules[idx].customers++;
		}
	}
	if (!hits->alert && scorer_no_data_day(fv)) {
		rp->totals.no_data_scorings++;
		pc->no_data_days++;
	}
	if (!hits->alert)
		return;
	rp->totals.alert_scorings++;
	if (pc->alert_days++ == 0) {
		rp->alerted++;
		pc->first_alert_day = day;
		pc->first_alert_score = hits->score;
	}
	pc->last_alert_day = day;
	if (c->labelled && pc->first_alert_from_onset == REPLAY_NO_DAY &&
	    (c->onset_day == REPLAY_NO_DAY || day >= c->onset_day))
		pc->first_alert_from_onset = day;
	for (unsigned i = 0; i < hits->n_fired; i++) {
		size_t idx = hits->fired[i];
		if (rp->rules[idx].info->mode == RULE_MODE_ACTIVE)
			pc->alerted[idx / 64] |= (uint64_t)1 << (idx % 64);
	}
}

void replay_set_scoring_observer(struct replay *rp, replay_scoring_fn fn, void *arg)
{
	rp->scoring_fn = fn;
	rp->scoring_arg = arg;
}

static int cmp_customer(const void *x, const void *y)
{
	const struct replay_account *a = x, *b = y;
	return strcmp(a->pub.customer_id, b->pub.customer_id);
}

/* Sorts the accounts by customer_id and reindexes them. */
void replay_accounts_sort(struct replay *rp)
{
	if (rp->customers_sorted)
		return;
	qsort(rp->customers, rp->n_customers, sizeof(*rp->customers), cmp_customer);
	customer_index_rebuild(rp, rp->customer_index_cap);
	rp->customers_sorted = 1;
}

size_t replay_customer_count(const struct replay *rp)
{
	return rp->n_customers;
}

const struct replay_customer *replay_customer(const struct replay *rp, size_t idx)
{
	return &rp->customers[idx].pub;
}

const struct replay_customer *replay_customer_find(const struct replay *rp,
                                                   const char *customer_id)
{
	if (rp->customers_sorted) {
		size_t lo = 0, hi = rp->n_customers;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(rp->customers[mid].pub.customer_id, customer_id);
			if (c == 0)
				return &rp->customers[mid].pub;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return NULL;
	}
	for (size_t i = 0; i < rp->n_customers; i++)
		if (strcmp(rp->customers[i].pub.customer_id, customer_id) == 0)
			return &rp->customers[i].pub;
	return NULL;
}

size_t replay_alerted_count(const struct replay *rp)
{
	return rp->alerted;
}
