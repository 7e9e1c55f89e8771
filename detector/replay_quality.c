/*
 * replay_quality.c - how well a finished replay's alerts match the labels of its city:
 * precision and recall overall and per rule (replay_quality_build), and the detection
 * scorecard per labelled pattern with recall, delay and AUC (replay_scorecard_build).
 */
#include "replay_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../scoring/cstate.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- precision and recall ---- */

void replay_pr_compute(uint64_t tp, uint64_t fp, uint64_t fn, struct replay_pr *out)
{
	out->tp = tp;
	out->fp = fp;
	out->fn = fn;
	out->precision = tp + fp ? (double)tp / (double)(tp + fp) : NAN;
	out->recall = tp + fn ? (double)tp / (double)(tp + fn) : NAN;
}

static int is_thief(const struct replay_labels *labels, const char *customer_id)
{
	const struct replay_label *l = replay_labels_find(labels, customer_id);
	return l && l->attack;
}

void replay_quality_build(const struct replay *rp, const struct replay_labels *labels,
                          struct replay_quality *out)
{
	size_t n = rp->n_rules;
	/* per rule: thieves and others among the customers its alerts list, and it fired for */
	uint64_t *alert_tp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *alert_fp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *fired_tp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t *fired_fp = xcalloc(n + 1, sizeof(uint64_t));
	uint64_t tp = 0, fp = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; labels && i < labels->count; i++)
		out->thieves += labels->items[i].attack != 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		int thief = is_thief(labels, c->customer_id);
		if (c->alert_days) {
			tp += thief;
			fp += !thief;
		}
		for (size_t r = 0; r < n; r++) {
			if (replay_rule_bit(c->fired, r)) {
				fired_tp[r] += thief;
				fired_fp[r] += !thief;
			}
			if (c->alert_days && replay_rule_bit(c->alerted, r)) {
				alert_tp[r] += thief;
				alert_fp[r] += !thief;
			}
		}
	}
	replay_pr_compute(tp, fp, out->thieves - tp, &out->overall);
	out->n_rules = n;
	out->alert = xcalloc(n + 1, sizeof(*out->alert));
	out->fired = xcalloc(n + 1, sizeof(*out->fired));
	for (size_t r = 0; r < n; r++) {
		replay_pr_compute(alert_tp[r], alert_fp[r], out->thieves - alert_tp[r], &out->alert[r]);
		replay_pr_compute(fired_tp[r], fired_fp[r], out->thieves - fired_tp[r], &out->fired[r]);
	}
	free(alert_tp);
	free(alert_fp);
	free(fired_tp);
	free(fired_fp);
}

void replay_quality_free(struct replay_quality *q)
{
	free(q->alert);
	free(q->fired);
	memset(q, 0, sizeof(*q));
}

/* ---- the detection scorecard ---- */

/* Non-zero when customer_id was seen in an accepted event. */
static int customer_seen(const struct replay *rp, const char *customer_id)
{
	size_t n = strlen(customer_id);
	return n > 0 && n <= RISKD_ID_MAX &&
	       cstate_table_get(rp->ingest.customers, customer_id, n) != NULL;
}

double replay_auc(const double *pos, size_t n_pos, double *neg, size_t n_neg)
{
	if (n_pos == 0 || n_neg == 0)
		return NAN;
	qsort(neg, n_neg, sizeof(*neg), cmp_double);
	double wins = 0;
	for (size_t i = 0; i < n_pos; i++) {
		size_t lo = 0, hi = n_neg; /* first negative >= pos[i] */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (neg[mid] < pos[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t below = lo;
		hi = n_neg; /* first negative > pos[i] */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (neg[mid] <= pos[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		wins += (double)below + 0.5 * (double)(lo - below);
	}
	return wins / ((double)n_pos * (double)n_neg);
}

/* A place in a ranking: the risk score, then the tie-break. */
struct rank_key {
	double score, tiebreak;
};

/* -1, 0 or 1 as a ranks above, with or below b. */
static int rank_cmp(const struct rank_key *a, const struct rank_key *b)
{
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->tiebreak != b->tiebreak)
		return a->tiebreak > b->tiebreak ? -1 : 1;
	return 0;
}

static int cmp_rank_key(const void *a, const void *b)
{
	return rank_cmp(a, b);
}

double replay_precision_at_k(const double *scores, const double *tiebreak, const int *thief,
                             size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += thief[i] != 0;
	if (k == 0)
		return NAN;
	struct rank_key *keys = xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct rank_key){scores[i], tiebreak ? tiebreak[i] : 0};
	qsort(keys, n, sizeof(*keys), cmp_rank_key);
	struct rank_key kth = keys[k - 1];
	size_t above = 0, tied = 0, thieves_above = 0, thieves_tied = 0;
	for (size_t i = 0; i < n; i++) {
		struct rank_key key = {scores[i], tiebreak ? tiebreak[i] : 0};
		int c = rank_cmp(&key, &kth);
		if (c < 0) {
			above++;
			thieves_above += thief[i] != 0;
		} else if (c == 0) {
			tied++;
			thieves_tied += thief[i] != 0;
		}
	}
	free(keys);
	double hits = (double)thieves_above + (double)thieves_tied * (double)(k - above) / (double)tied;
	return hits / (double)k;
}

/* A customer in its area's ranking. */
struct area_entry {
	const char *area;             /* transformer_id, interned by the customer table */
	double score;
	double tiebreak;              /* its latest attribution share */
	int thief;
};

static int cmp_area_entry(const void *a, const void *b)
{
	const struct area_entry *x = a, *y = b;
	return strcmp(x->area, y->area);
}

/* The transformer area of a customer seen in the events ("" when unknown or not seen). */
static const char *customer_area(const struct replay *rp, const char *customer_id)
{
	size_t n = strlen(customer_id);
	const struct cstate *cs = n > 0 && n <= RISKD_ID_MAX ?
	                          cstate_table_get(rp->ingest.customers, customer_id, n) : NULL;
	return cs && (cs->flags & CSTATE_F_PROFILE) ? cstate_transformer_id(rp->ingest.customers, cs)
	                                            : "";
}

/* The mean precision at k over the areas with a thief (replay_scorecard_build). */
static void card_area_precision(const struct replay *rp, const struct replay_labels *labels,
                                struct replay_scorecard *out)
{
	struct area_entry *entries = xcalloc(rp->n_customers + labels->count + 1, sizeof(*entries));
	size_t n = 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		const char *area = customer_area(rp, c->customer_id);
		if (area[0])
			entries[n++] = (struct area_entry){area, c->max_score, c->attrib_share,
			                                   is_thief(labels, c->customer_id)};
	}
	for (size_t i = 0; i < labels->count; i++) {
		const struct replay_label *l = &labels->items[i];
		const char *area = customer_area(rp, l->customer_id);
		if (l->attack && area[0] && !replay_customer_find(rp, l->customer_id))
			entries[n++] = (struct area_entry){area, 0, 0, 1};
	}
	qsort(entries, n, sizeof(*entries), cmp_area_entry);
	double *scores = xcalloc(n + 1, sizeof(*scores));
	double *tiebreak = xcalloc(n + 1, sizeof(*tiebreak));
	int *thief = xcalloc(n + 1, sizeof(*thief));
	double sum = 0;
	for (size_t from = 0, to; from < n; from = to) {
		for (to = from; to < n && strcmp(entries[to].area, entries[from].area) == 0; to++) {
			scores[to - from] = entries[to].score;
			tiebreak[to - from] = entries[to].tiebreak;
			thief[to - from] = entries[to].thief;
		}
		double precision = replay_precision_at_k(scores, tiebreak, thief, to - from);
		if (isnan(precision))
			continue;
		sum += precision;
		out->thief_areas++;
	}
	out->area_precision_at_k = out->thief_areas ? sum / (double)out->thief_areas : NAN;
	free(scores);
	free(tiebreak);
	free(thief);
	free(entries);
}

static int label_is_honest(const struct replay_label *l)
{
	return !l->attack && !l->confounder;
}

static struct replay_score_row *card_row(struct replay_scorecard *card, size_t *cap,
                                         const char *pattern, int confounder)
{
	for (size_t i = 0; i < card->count; i++)
		if (strcmp(card->rows[i].pattern, pattern) == 0)
			return &card->rows[i];
	if (card->count == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		card->rows = xrealloc(card->rows, sizeof(*card->rows) * *cap);
	}
	struct replay_score_row *row = &card->rows[card->count++];
	memset(row, 0, sizeof(*row));
	riskd_strlcpy(row->pattern, sizeof(row->pattern), pattern, strlen(pattern));
	row->confounder = confounder;
	return row;
}

static double median_sorted(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Fills row's figures from the labelled customers of its pattern. */
static void card_fill(const struct replay *rp, const struct replay_labels *labels,
                      struct replay_score_row *row, double *honest_scores, size_t n_honest)
{
	size_t n = 0;
	for (size_t i = 0; i < labels->count; i++)
		n += !label_is_honest(&labels->items[i]) &&
		     strcmp(labels->items[i].pattern, row->pattern) == 0;
	double *scores = xcalloc(n + 1, sizeof(double)), *delays = xcalloc(n + 1, sizeof(double));
	size_t n_delays = 0;
	row->customers = 0;
	for (size_t i = 0; i < labels->count; i++) {
		const struct replay_label *l = &labels->items[i];
		if (label_is_honest(l) || strcmp(l->pattern, row->pattern) != 0)
			continue;
		const struct replay_customer *c = replay_customer_find(rp, l->customer_id);
		scores[row->customers++] = c ? c->max_score : 0;
		row->no_data += c && c->no_data_days > 0;
		if (!c || !c->alert_days)
			continue;
		row->alerted++;
		if (c->first_alert_from_onset == REPLAY_NO_DAY)
			continue;
		row->detected++;
		if (l->onset_day != REPLAY_NO_DAY)
			delays[n_delays++] = (double)(c->first_alert_from_onset - l->onset_day);
	}
	row->recall = row->customers ? (double)row->detected / (double)row->customers : NAN;
	row->alerted_share = row->customers ? (double)row->alerted / (double)row->customers : NAN;
	row->no_data_share = row->customers ? (double)row->no_data / (double)row->customers : NAN;
	qsort(delays, n_delays, sizeof(double), cmp_double);
	row->median_delay_days = median_sorted(delays, n_delays);
	row->auc = replay_auc(scores, row->customers, honest_scores, n_honest);
	free(scores);
	free(delays);
}

void replay_scorecard_build(const struct replay *rp, const struct replay_labels *labels,
                            const struct replay_pattern *patterns, size_t n_patterns,
                            struct replay_scorecard *out)
{
	struct replay_labels none = {0};
	size_t cap = 0, labelled_seen = 0;

	if (!labels)
		labels = &none;
	memset(out, 0, sizeof(*out));
	out->alert_threshold = ruleset_alert_threshold(replay_rules(rp));
	for (size_t i = 0; i < n_patterns; i++)
		card_row(out, &cap, patterns[i].name, patterns[i].confounder);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < labels->count; i++) {
			const struct replay_label *l = &labels->items[i];
			if (!label_is_honest(l) && l->confounder == pass)
				card_row(out, &cap, l->pattern, l->confounder);
		}
	/* the negatives: every customer seen that is not labelled with a pattern */
	for (size_t i = 0; i < labels->count; i++)
		labelled_seen += !label_is_honest(&labels->items[i]) &&
		                 customer_seen(rp, labels->items[i].customer_id);
	out->honest = replay_customers_seen(rp) - labelled_seen;
	double *honest_scores = xcalloc(out->honest + 1, sizeof(double)); /* unscored: 0 */
	size_t scored = 0;
	for (size_t i = 0; i < rp->n_customers; i++) {
		const struct replay_customer *c = &rp->customers[i].pub;
		const struct replay_label *l = replay_labels_find(labels, c->customer_id);
		if ((l && !label_is_honest(l)) || scored == out->honest)
			continue;
		honest_scores[scored++] = c->max_score;
		out->honest_alerted += c->alert_days > 0;
		out->honest_no_data += c->no_data_days > 0;
	}
	out->honest_alerted_share =
	    out->honest ? (double)out->honest_alerted / (double)out->honest : NAN;
	out->silent = rp->totals.silent_days > 0;
	out->honest_no_data_share =
	    out->honest ? (double)out->honest_no_data / (double)out->honest : NAN;
	for (size_t r = 0; r < out->count; r++)
		card_fill(rp, labels, &out->rows[r], honest_scores, out->honest);
	free(honest_scores);
	card_area_precision(rp, labels, out);
}

void replay_scorecard_free(struct replay_scorecard *card)
{
	free(card->rows);
	memset(card, 0, sizeof(*card));
}
