/*
 * operating.c - a business customer's weeks (operating.h): folding closed days into weeks,
 * the operating features over the ring of closed weeks, and the side table that holds the
 * states of the business customers beside their struct cstate entries.
 */
#include "operating.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

/* Weeks of "the last weeks" (yoy_change_8w) and of "the latest month" (the *_4w features). */
#define OP_RECENT_WEEKS 8
#define OP_MONTH_WEEKS 4
/* The quarter before the latest month: 13 weeks, of which at least 10 must be known. */
#define OP_QUARTER_WEEKS 13
#define OP_QUARTER_MIN 10
/* Weeks from a week to the same week a year earlier. */
#define OP_YEAR_WEEKS 52
/* A week under this share of the same week a year earlier counts as down. */
#define OP_DOWN_SHARE 0.9
/* A week seen on fewer days than this is stored as no data. */
#define OP_WEEK_MIN_DAYS 6
/* The working-day reference follows working days with this weight. */
#define OP_REF_WEIGHT (1.0 / 16.0)
/* The first closed week's energy takes this many quanta: room to grow fourfold before the
 * scale doubles. */
#define OP_FIRST_WEEK_QUANTA 16000.0
#define OP_KWH_Q_MAX 65534.0

void op_state_init(struct op_state *op)
{
	memset(op, 0, sizeof(*op));
	op->last_day = INT32_MIN;
	for (int i = 0; i < OP_WEEKS; i++) {
		op->weeks[i].kwh_q = OP_KWH_NONE;
		op->weeks[i].peak_q = OP_PEAK_NONE;
	}
}

static struct op_week *week_slot(struct op_state *op, int32_t week)
{
	return &op->weeks[((week % OP_WEEKS) + OP_WEEKS) % OP_WEEKS];
}

/* Doubles the scale (halving every stored week) until kwh fits. */
static void scale_fit(struct op_state *op, double kwh)
{
	while (kwh / op->scale_kwh > OP_KWH_Q_MAX) {
		op->scale_kwh *= 2.0f;
		for (int i = 0; i < OP_WEEKS; i++)
			if (op->weeks[i].kwh_q != OP_KWH_NONE)
				op->weeks[i].kwh_q = (uint16_t)((op->weeks[i].kwh_q + 1u) / 2u);
	}
}

/* Stores the open week (or no data) and moves on to week `next`, storing skipped weeks as no
 * data. */
static void week_close(struct op_state *op, int32_t next)
{
	struct op_week w = {OP_KWH_NONE, 0, OP_PEAK_NONE};
	if (op->open_days >= OP_WEEK_MIN_DAYS) {
		double kwh = op->open_kwh * 7.0 / op->open_days;
		if (op->scale_kwh <= 0.0f)
			op->scale_kwh = kwh > 0.0 ? (float)(kwh / OP_FIRST_WEEK_QUANTA) : 1e-3f;
		scale_fit(op, kwh);
		w.kwh_q = (uint16_t)lround(kwh / op->scale_kwh);
		w.work_days = op->open_work_days;
		if (op->open_peak_q >= 0.0f)
			w.peak_q = (uint8_t)lround(fmin(op->open_peak_q, 254.0));
	}
	int32_t gap = next - op->open_week;
	*week_slot(op, op->open_week) = w;
	op->weeks_closed++;
	for (int32_t k = 1; k < gap && k <= OP_WEEKS; k++)
		*week_slot(op, op->open_week + k) = (struct op_week){OP_KWH_NONE, 0, OP_PEAK_NONE};
	op->weeks_closed += (uint32_t)(gap - 1);
	op->open_week = next;
	op->open_kwh = 0.0f;
	op->open_peak_q = 0.0f;
	op->open_days = 0;
	op->open_work_days = 0;
}

int op_state_day(struct op_state *op, int32_t day, double kwh_day, double peak_kw,
                 double capacity_kw)
{
	if (day <= op->last_day || !(kwh_day >= 0.0))
		return 0;
	int32_t week = op_week_of(day);
	if (op->last_day == INT32_MIN)
		op->open_week = week;
	else if (week != op->open_week)
		week_close(op, week);
	op->last_day = day;

	int working = 0;
	if (op->ref_day_kwh <= 0.0f) {
		op->ref_day_kwh = (float)kwh_day;
		working = kwh_day > 0.0;
	} else if (kwh_day >= OP_WORK_SHARE * op->ref_day_kwh) {
		working = 1;
		/* a reference started on a rest day catches up quickly */
		double weight = kwh_day > 1.5 * op->ref_day_kwh ? 0.5 : OP_REF_WEIGHT;
		op->ref_day_kwh += (float)(weight * (kwh_day - op->ref_day_kwh));
	}
	if (op->ref_day_kwh > 0.0f && kwh_day < OP_STOP_SHARE * op->ref_day_kwh) {
		if (op->stop_days < UINT16_MAX)
			op->stop_days++;
	} else {
		op->stop_days = 0;
	}

	op->open_kwh += (float)kwh_day;
	op->open_days++;
	op->open_work_days = (uint8_t)(op->open_work_days + working);
	/* the peak as quanta of capacity; negative once unknown for a day of the week */
	double peak_q = capacity_kw > 0.0 && peak_kw >= 0.0 ? peak_kw / capacity_kw * OP_PEAK_QUANTA
	                                                    : -1.0;
	if (peak_q < 0.0 || op->open_peak_q < 0.0f)
		op->open_peak_q = -1.0f;
	else if (peak_q > op->open_peak_q)
		op->open_peak_q = (float)peak_q;
	return 1;
}

/* The stored week `back` weeks before the open one (1 = the last closed week), or NULL when
 * the ring no longer (or not yet) holds it or it has no data. */
static const struct op_week *week_back(const struct op_state *op, int32_t back)
{
	if (back < 1 || back > OP_WEEKS || (uint32_t)back > op->weeks_closed)
		return NULL;
	int32_t week = op->open_week - back;
	const struct op_week *w = &op->weeks[((week % OP_WEEKS) + OP_WEEKS) % OP_WEEKS];
	return w->kwh_q == OP_KWH_NONE ? NULL : w;
}

/* Sums over weeks back .. back + n - 1 of the part `what` (0 energy quanta, 1 working days,
 * 2 peak quanta); *known counts the weeks that had it. */
static double weeks_sum(const struct op_state *op, int32_t back, int32_t n, int what, int *known)
{
	double sum = 0.0;
	*known = 0;
	for (int32_t i = 0; i < n; i++) {
		const struct op_week *w = week_back(op, back + i);
		if (!w || (what == 2 && w->peak_q == OP_PEAK_NONE))
			continue;
		sum += what == 0 ? w->kwh_q : what == 1 ? w->work_days : w->peak_q;
		(*known)++;
	}
	return sum;
}

/* Sets `id` to the latest month's mean of part `what` minus (change_id) the quarter before's,
 * and the month's mean itself (month_id), scaled by `unit`, when the weeks are known. */
static void month_against_quarter(const struct op_state *op, int what, double unit,
                                  enum feature_id month_id, enum feature_id change_id,
                                  struct feature_vec *fv)
{
	int month_known, quarter_known;
	double month = weeks_sum(op, 1, OP_MONTH_WEEKS, what, &month_known);
	double quarter = weeks_sum(op, 1 + OP_MONTH_WEEKS, OP_QUARTER_WEEKS, what, &quarter_known);
	if (month_known < OP_MONTH_WEEKS)
		return;
	double month_mean = month / OP_MONTH_WEEKS * unit;
	feature_set(fv, month_id, month_mean);
	if (quarter_known >= OP_QUARTER_MIN)
		feature_set(fv, change_id, month_mean - quarter / quarter_known * unit);
}

void op_state_features(const struct op_state *op, struct feature_vec *fv)
{
	if (!op || op->last_day == INT32_MIN)
		return;
	if (op->ref_day_kwh > 0.0f)
		feature_set(fv, FEAT_STOP_DAYS, op->stop_days);

	/* the last 8 weeks against the same weeks a year earlier, all 16 known */
	double recent = 0.0, year_ago = 0.0;
	int down = 0, complete = 1;
	for (int32_t i = 1; i <= OP_RECENT_WEEKS && complete; i++) {
		const struct op_week *now = week_back(op, i);
		const struct op_week *then = week_back(op, i + OP_YEAR_WEEKS);
		if (!now || !then) {
			complete = 0;
			break;
		}
		recent += now->kwh_q;
		year_ago += then->kwh_q;
		down += now->kwh_q < OP_DOWN_SHARE * then->kwh_q;
	}
	if (complete && year_ago > 0.0) {
		feature_set(fv, FEAT_YOY_CHANGE_8W, recent / year_ago - 1.0);
		feature_set(fv, FEAT_YOY_DOWN_WEEKS_8W, down);
	}

	/* the latest month against the quarter before it */
	int month_known, quarter_known;
	double month = weeks_sum(op, 1, OP_MONTH_WEEKS, 0, &month_known);
	double quarter = weeks_sum(op, 1 + OP_MONTH_WEEKS, OP_QUARTER_WEEKS, 0, &quarter_known);
	if (month_known == OP_MONTH_WEEKS && quarter_known >= OP_QUARTER_MIN && quarter > 0.0)
		feature_set(fv, FEAT_QUARTER_CHANGE_4W,
		            (month / OP_MONTH_WEEKS) / (quarter / quarter_known) - 1.0);
	month_against_quarter(op, 1, 1.0, FEAT_WORK_DAYS_4W, FEAT_WORK_DAYS_CHANGE, fv);
	month_against_quarter(op, 2, 1.0 / OP_PEAK_QUANTA, FEAT_CAPACITY_UTIL_4W,
	                      FEAT_CAPACITY_UTIL_CHANGE, fv);
}

/* ---- the side table ---- */

/* States live in fixed chunks so that a state's address never changes. */
#define OP_CHUNK 256

struct op_entry {
	const void *key;
	struct op_state state;
};

struct op_table {
	struct op_entry **chunks;
	size_t n_chunks, count;
	uint32_t *index;           /* entry number + 1; 0 free. A power of two, at most half full */
	size_t index_cap;
};

struct op_table *op_table_new(void)
{
	return xcalloc(1, sizeof(struct op_table));
}

void op_table_free(struct op_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_chunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->index);
	free(t);
}

void op_table_clear(struct op_table *t)
{
	if (t->index)
		memset(t->index, 0, sizeof(*t->index) * t->index_cap);
	t->count = 0;
}

size_t op_table_count(const struct op_table *t)
{
	return t->count;
}

size_t op_table_memory(const struct op_table *t)
{
	return sizeof(*t) + t->n_chunks * (sizeof(struct op_entry *) +
	                                   OP_CHUNK * sizeof(struct op_entry)) +
	       t->index_cap * sizeof(*t->index);
}

static struct op_entry *entry_at(const struct op_table *t, size_t n)
{
	return &t->chunks[n / OP_CHUNK][n % OP_CHUNK];
}

static size_t slot_of(const void *key, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static size_t slot_find(const struct op_table *t, const void *key)
{
	size_t s = slot_of(key, t->index_cap);
	while (t->index[s] && entry_at(t, t->index[s] - 1)->key != key)
		s = (s + 1) & (t->index_cap - 1);
	return s;
}

static void index_grow(struct op_table *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 64;
	free(t->index);
	t->index = xcalloc(cap, sizeof(*t->index));
	t->index_cap = cap;
	for (size_t n = 0; n < t->count; n++)
		t->index[slot_find(t, entry_at(t, n)->key)] = (uint32_t)(n + 1);
}

struct op_state *op_table_get(struct op_table *t, const void *key, int create)
{
	if (t->index_cap) {
		size_t s = slot_find(t, key);
		if (t->index[s])
			return &entry_at(t, t->index[s] - 1)->state;
	}
	if (!create)
		return NULL;
	if ((t->count + 1) * 2 > t->index_cap)
		index_grow(t);
	if (t->count == t->n_chunks * OP_CHUNK) {
		t->chunks = xrealloc(t->chunks, (t->n_chunks + 1) * sizeof(*t->chunks));
		t->chunks[t->n_chunks++] = xcalloc(OP_CHUNK, sizeof(struct op_entry));
	}
	struct op_entry *e = entry_at(t, t->count);
	e->key = key;
	op_state_init(&e->state);
	t->index[slot_find(t, key)] = (uint32_t)(++t->count);
	return &e->state;
}
