/*
 * rescore.c - the snapshot of a customer-day that waits for its area (its stored form), and
 * the rescorer that scores such days once their area's results are final (rescore.h).
 */
#include "rescore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/riskd_base.h"
#include "areas.h"
#include "log.h"

/* "RSC1": the layout below; another layout (or byte order) reads as another magic. */
#define SNAPSHOT_MAGIC 0x31435352u

/*
 * The stored form, in native byte order:
 *   u32 magic, u32 the feature count n (FEAT__COUNT when written), u64 the signature of the
 *   registry's first n features,
 *   i32 day, i32 has_split, i32 split.day, i32 split.last_day, f64 before_kwh, f64 after_kwh,
 *   i32 history.first_day, f32 kwh[60], f32 baseline[60],
 *   u64 known[(n + 63) / 64], then one f64 per known feature in id order;
 *   when the customer had attributes the rules read: u32 n, then n bytes of attr_vec_encode
 *   (by name, so that they read back under an edited schema).
 * The signature (FNV-1a over the features' names and types, in id order) tells a snapshot
 * written by a build whose features differ. The registry only ever appends features, so a
 * snapshot of a build with fewer (whose n features this build's first n match) reads too:
 * the features it lacks are missing, as when they were unknown.
 */
uint64_t rescore_registry_signature(int n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int id = 0; id < n; id++) {
		const struct feature_def *def = feature_def((enum feature_id)id);
		for (const char *c = def->name; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
		h = (h ^ (unsigned)def->type) * 0x100000001b3ull;
	}
	return h | 1;
}

static void put(struct rbuf *out, const void *p, size_t n)
{
	rbuf_append(out, p, n);
}

void rescore_pack(const struct scorer_deferred *d, const struct attr_schema *schema,
                  struct rbuf *out)
{
	uint32_t head[2] = {SNAPSHOT_MAGIC, FEAT__COUNT};
	static uint64_t signature;
	if (!signature)
		signature = rescore_registry_signature(FEAT__COUNT);
	int32_t days[5] = {d->day, d->has_split, d->split.day, d->split.last_day,
	                   d->history.first_day};
	put(out, head, sizeof(head));
	put(out, &signature, sizeof(signature));
	put(out, days, sizeof(days));
	put(out, &d->split.before_kwh, sizeof(double));
	put(out, &d->split.after_kwh, sizeof(double));
	put(out, d->history.kwh, sizeof(d->history.kwh));
	put(out, d->history.baseline, sizeof(d->history.baseline));
	put(out, d->fv.known, sizeof(d->fv.known));
	for (int id = 0; id < FEAT__COUNT; id++)
		if (feature_known(&d->fv, (enum feature_id)id))
			put(out, &d->fv.value[id], sizeof(double));
	if (!schema || !d->attrs.known)
		return;
	size_t at = out->len;
	uint32_t n = 0;
	put(out, &n, sizeof(n));
	attr_vec_encode(schema, &d->attrs, out);
	n = (uint32_t)(out->len - at - sizeof(n));
	memcpy(out->data + at, &n, sizeof(n));
}

/* A cursor over a snapshot's bytes. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static int take(struct reader *r, void *dst, size_t n)
{
	if (r->left < n)
		return 0;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return 1;
}

int rescore_unpack(const void *bytes, size_t len, const struct attr_schema *schema,
                   struct scorer_deferred *d, char *errstr, size_t errstr_size)
{
	struct reader r = {bytes, len};
	uint32_t head[2];
	uint64_t signature;
	int32_t days[5];
	memset(d, 0, sizeof(*d));
	if (!take(&r, head, sizeof(head)) || head[0] != SNAPSHOT_MAGIC) {
		snprintf(errstr, errstr_size, "a pending score of %zu bytes is not a snapshot", len);
		return RISKD_ERR_INVALID;
	}
	if (head[1] == 0 || head[1] > FEAT__COUNT || !take(&r, &signature, sizeof(signature)) ||
	    signature != rescore_registry_signature((int)head[1])) {
		snprintf(errstr, errstr_size,
		         "a pending score holds %u features of another feature registry (this build"
		         " has %d)",
		         (unsigned)head[1], FEAT__COUNT);
		return RISKD_ERR_INVALID;
	}
	int ok = take(&r, days, sizeof(days)) &&
	         take(&r, &d->split.before_kwh, sizeof(double)) &&
	         take(&r, &d->split.after_kwh, sizeof(double)) &&
	         take(&r, d->history.kwh, sizeof(d->history.kwh)) &&
	         take(&r, d->history.baseline, sizeof(d->history.baseline)) &&
	         take(&r, d->fv.known, sizeof(uint64_t) * ((head[1] + 63) / 64));
	for (int id = (int)head[1]; id < FEAT__COUNT; id++)
		feature_unset(&d->fv, (enum feature_id)id); /* known bits past n: another's */
	for (int id = 0; ok && id < (int)head[1]; id++)
		if (feature_known(&d->fv, (enum feature_id)id))
			ok = take(&r, &d->fv.value[id], sizeof(double));
	uint32_t n_attrs = 0;
	if (ok && r.left) /* the attributes: left missing without a schema to read them by */
		ok = take(&r, &n_attrs, sizeof(n_attrs)) && n_attrs == r.left &&
		     (!schema || attr_vec_decode(schema, r.p, r.left, &d->attrs) >= 0);
	if (ok)
		r.left -= n_attrs;
	if (!ok || r.left) {
		snprintf(errstr, errstr_size, "a pending score of %zu bytes is cut or too long", len);
		return RISKD_ERR_INVALID;
	}
	d->day = days[0];
	d->has_split = days[1];
	d->split.day = days[2];
	d->split.last_day = days[3];
	d->history.first_day = days[4];
	return 0;
}

/* ---- the rescorer ---- */

struct rescorer {
	struct store_rescore_claim claim;
	struct area_table areas;            /* the claimed area as it stood on one day */
	struct scorer_deferred deferred;
	struct store_alert *alerts;
	size_t *alert_at;                   /* where alerts[i]'s JSON texts start in `texts` */
	size_t alert_count, alert_cap;
	struct rbuf texts;                  /* rules, curve and stolen JSON, NUL-terminated */
	struct rule_count counts[RULESET_RULES_MAX];
	struct store_rule_count rule_counts[RULESET_RULES_MAX];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rescorer *rescorer_new(void)
{
	return xcalloc(1, sizeof(struct rescorer));
}

void rescorer_free(struct rescorer *r)
{
	if (!r)
		return;
	store_rescore_claim_free(&r->claim);
	area_table_free(&r->areas);
	free(r->alerts);
	free(r->alert_at);
	rbuf_free(&r->texts);
	free(r);
}

/* Keeps a copy of the alert of the day's customer for the claim's commit, raised at `stage`
 * (a static name, store.h). */
static void keep_alert(struct rescorer *r, const char *customer_id, const struct scorer_alert *a,
                       const char *stage)
{
	if (r->alert_count == r->alert_cap) {
		r->alert_cap = r->alert_cap ? 2 * r->alert_cap : 16;
		r->alerts = xrealloc(r->alerts, sizeof(*r->alerts) * r->alert_cap);
		r->alert_at = xrealloc(r->alert_at, sizeof(*r->alert_at) * r->alert_cap);
	}
	r->alert_at[r->alert_count] = r->texts.len;
	const struct rbuf *texts[3] = {a->rules_json, a->curve_json, a->stolen_json};
	for (int i = 0; i < 3; i++) {
		if (texts[i])
			rbuf_append(&r->texts, texts[i]->data, texts[i]->len);
		rbuf_append(&r->texts, "", 1);
	}
	r->alerts[r->alert_count++] = (struct store_alert){
	    customer_id, scorer_alert_kind_name(a->kind), a->day, a->score, a->severity, NULL, NULL,
	    NULL, stage};
}

/* Scores the claimed days in order into r's alerts and counts. Returns 0 or a store error. */
static int score_claim(struct rescorer *r, struct store *st, struct scorer *sc,
                       struct rescorer_step *done, char *errstr, size_t errstr_size)
{
	const struct ruleset *rules = scorer_rules(sc);
	const char *loaded_area = NULL;
	int32_t loaded_day = 0;
	for (size_t i = 0; i < r->claim.count; i++) {
		const struct store_pending_day *p = &r->claim.days[i];
		char why[256];
		if (rescore_unpack(p->snapshot, p->len, scorer_attribute_schema(sc), &r->deferred, why,
		                   sizeof(why)) != 0) {
			char q[300];
			log_kv(LOG_WARN, "pending_score_dropped", "customer=%s day=%d error=%s",
			       p->customer_id, (int)p->day, log_quote(q, sizeof(q), why));
			done->dropped++;
			continue;
		}
		if (!loaded_area || p->day != loaded_day || strcmp(loaded_area, p->transformer_id)) {
			int rc = store_load_area_as_of(st, &r->areas, p->transformer_id, p->day, errstr,
			                               errstr_size);
			if (rc < 0)
				return rc;
			loaded_area = p->transformer_id;
			loaded_day = p->day;
		}
		struct scorer_alert alert;
		int outcome = scorer_rescore(sc, p->customer_id, p->transformer_id, &r->deferred,
		                             &r->areas, &alert);
		rule_counts_add(rules, scorer_last_hits(sc), r->counts);
		if (outcome == SCORER_ALERT)
			keep_alert(r, p->customer_id, &alert,
			           p->raised ? STORE_STAGE_COMPLETE : STORE_STAGE_FINAL);
		done->days++;
	}
	return 0;
}

/* The claim's alerts and counts as a batch's, with the rule set they were scored with. */
static void claim_batch(struct rescorer *r, const struct scorer *sc,
                        const struct riskd_config *cfg, struct store_batch *sb)
{
	const struct ruleset *rules = scorer_rules(sc);
	memset(sb, 0, sizeof(*sb));
	for (size_t i = 0; i < r->alert_count; i++) {
		const char *text = r->texts.data + r->alert_at[i];
		r->alerts[i].rules_json = text;
		text += strlen(text) + 1;
		r->alerts[i].curve_json = text;
		r->alerts[i].stolen_json = text + strlen(text) + 1;
	}
	sb->alerts = r->alerts;
	sb->alert_count = r->alert_count;
	sb->rule_count_count = store_rule_counts_fill(rules, r->counts, r->rule_counts);
	sb->rule_counts = r->rule_counts;
	sb->ruleset_name = ruleset_name(rules);
	sb->ruleset_version = ruleset_version(rules);
	sb->ruleset_hash = ruleset_hash(rules);
	sb->alert_threshold = ruleset_alert_threshold(rules);
	sb->review_topic = cfg->topic_review_queue;
	sb->tariffs = &cfg->tariffs;
	sb->tariff_currency = cfg->tariff_currency;
}

int rescorer_step(struct rescorer *r, struct store *st, struct scorer *sc,
                  const struct riskd_config *cfg, int budget_ms, struct rescorer_step *done,
                  char *errstr, size_t errstr_size)
{
	double start = now_s();
	memset(done, 0, sizeof(*done));
	done->more = 1;
	while ((now_s() - start) * 1000 < budget_ms) {
		int n = store_rescore_claim(st, RESCORE_LATE_DAYS, &r->claim, errstr, errstr_size);
		if (n <= 0) {
			done->more = n < 0;
			return n;
		}
		r->alert_count = 0;
		rbuf_reset(&r->texts);
		memset(r->counts, 0, sizeof(r->counts));
		int rc = score_claim(r, st, sc, done, errstr, errstr_size);
		if (rc < 0) {
			store_rescore_abort(st);
			return rc;
		}
		struct store_batch sb;
		claim_batch(r, sc, cfg, &sb);
		if ((rc = store_rescore_commit(st, &sb, errstr, errstr_size)) < 0)
			return rc;
		done->areas++;
		done->alerts += (int)r->alert_count;
		done->opened += sb.alerts_opened;
		done->no_data_opened += sb.no_data_opened;
		log_kv(LOG_DEBUG, "rescored", "transformer=%s days=%zu alerts=%zu",
		       r->claim.days[0].transformer_id, r->claim.count, r->alert_count);
	}
	return 0;
}
