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
#include "side_table.h"

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
	op->read_day = INT32_MIN;
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

void op_state_reading(struct op_state *op, int32_t day, double kw)
{
	if (day < op->read_day || !(kw >= 0.0))
		return;
	if (day > op->read_day) {
		op->read_day = day;
		op->read_peak_kw = (float)kw;
	} else if (kw > op->read_peak_kw) {
		op->read_peak_kw = (float)kw;
	}
}

double op_state_day_peak(const struct op_state *op, int32_t day)
{
	return op->read_day == day ? op->read_peak_kw : 0.0;
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

double op_state_week_kwh(const struct op_state *op, int32_t back, int32_t *monday)
{
	const struct op_week *w = week_back(op, back);
	/* week 0 began on Monday 1969-12-29, day -3 */
	*monday = (op->open_week - back) * 7 - 3;
	return w ? w->kwh_q * (double)op->scale_kwh : NAN;
}

/* ---- snapshots ---- */

#define OP_ENCODING_VERSION 1

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint32_t get_u32(const uint8_t **p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)(*p)[i] << (8 * i);
	*p += 4;
	return v;
}

static uint8_t *put_f32(uint8_t *p, float f)
{
	uint32_t v;
	memcpy(&v, &f, sizeof v);
	return put_u32(p, v);
}

static float get_f32(const uint8_t **p)
{
	uint32_t v = get_u32(p);
	float f;
	memcpy(&f, &v, sizeof f);
	return f;
}

size_t op_state_encode(const struct op_state *op, uint8_t *out)
{
	uint8_t *p = out;
	*p++ = OP_ENCODING_VERSION;
	p = put_u32(p, (uint32_t)op->open_week);
	p = put_u32(p, (uint32_t)op->last_day);
	p = put_f32(p, op->scale_kwh);
	p = put_f32(p, op->ref_day_kwh);
	p = put_f32(p, op->open_kwh);
	p = put_f32(p, op->open_peak_q);
	*p++ = op->open_days;
	*p++ = op->open_work_days;
	*p++ = (uint8_t)op->stop_days;
	*p++ = (uint8_t)(op->stop_days >> 8);
	p = put_u32(p, op->weeks_closed);
	p = put_u32(p, (uint32_t)op->read_day);
	p = put_f32(p, op->read_peak_kw);
	for (int i = 0; i < OP_WEEKS; i++) {
		*p++ = (uint8_t)op->weeks[i].kwh_q;
		*p++ = (uint8_t)(op->weeks[i].kwh_q >> 8);
		*p++ = op->weeks[i].work_days;
		*p++ = op->weeks[i].peak_q;
	}
	return (size_t)(p - out);
}

int op_state_decode(const uint8_t *in, size_t len, struct op_state *op)
{
	if (len != OP_STATE_ENCODED_BYTES || in[0] != OP_ENCODING_VERSION)
		return -1;
	const uint8_t *p = in + 1;
	struct op_state s;
	memset(&s, 0, sizeof s);
	s.open_week = (int32_t)get_u32(&p);
	s.last_day = (int32_t)get_u32(&p);
	s.scale_kwh = get_f32(&p);
	s.ref_day_kwh = get_f32(&p);
	s.open_kwh = get_f32(&p);
	s.open_peak_q = get_f32(&p);
	s.open_days = *p++;
	s.open_work_days = *p++;
	s.stop_days = (uint16_t)(p[0] | p[1] << 8);
	p += 2;
	s.weeks_closed = get_u32(&p);
	s.read_day = (int32_t)get_u32(&p);
	s.read_peak_kw = get_f32(&p);
	for (int i = 0; i < OP_WEEKS; i++) {
		s.weeks[i].kwh_q = (uint16_t)(p[0] | p[1] << 8);
		s.weeks[i].work_days = p[2];
		s.weeks[i].peak_q = p[3];
		p += 4;
	}
	if (s.open_days > 7 || s.open_work_days > s.open_days || !(s.scale_kwh >= 0.0f) ||
	    !(s.ref_day_kwh >= 0.0f) || !isfinite(s.open_kwh) || !isfinite(s.read_peak_kw))
		return -1;
	for (int i = 0; i < OP_WEEKS; i++)
		if (s.weeks[i].work_days > 7)
			return -1;
	*op = s;
	return 0;
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

struct op_table {
	struct side_table *states;
};

struct op_table *op_table_new(void)
{
	struct op_table *t = xcalloc(1, sizeof(*t));
	t->states = side_table_new(sizeof(struct op_state));
	return t;
}

void op_table_free(struct op_table *t)
{
	if (!t)
		return;
	side_table_free(t->states);
	free(t);
}

void op_table_clear(struct op_table *t)
{
	side_table_clear(t->states);
}

size_t op_table_count(const struct op_table *t)
{
	return side_table_count(t->states);
}

size_t op_table_memory(const struct op_table *t)
{
	return sizeof(*t) + side_table_memory(t->states);
}

struct op_state *op_table_get(struct op_table *t, const void *key, int create)
{
	int created;
	struct op_state *op = side_table_get(t->states, key, create, &created);
	if (created)
		op_state_init(op);
	return op;
}

void op_table_remove_if(struct op_table *t,
                        int (*drop)(const void *key, void *record, void *arg), void *arg)
{
	side_table_remove_if(t->states, drop, arg);
}
