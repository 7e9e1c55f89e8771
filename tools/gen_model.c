/*
 * gen_model.c - the generator's city: who the customers are, how much energy they use in
 * each interval, what goes wrong on a given day, what their bills cost and how they pay.
 *
 * Pure model code: no output, no ordering, no sequential random state. tools/gen.c walks
 * the days and intervals, asks this file for every value and formats the events.
 *
 * Energy model of one interval: level_kw (per customer, log-normal within its segment)
 * x weekly and seasonal factors of the segment x day-to-day noise x away periods
 * x the segment's daily shape (shifted per customer by up to an hour) x interval noise,
 * reduced inside an outage or phase-loss window. Capacities are sized from the largest value
 * this product can take, so no reading ever exceeds what capacity_kw allows.
 *
 * Labelled patterns (--theft-rate): from its onset day a thief's meter reports less than
 * flowed (gen_reading_make changes metered_milli only, so the transformer still counts the
 * stolen energy), and a confounder's real consumption changes (gen_day_plan_make changes
 * day_kw, which both counts follow). Which customers, which pattern, when and how strongly
 * are drawn from the customer's key under their own hash tag, so honest customers and the
 * output without --theft-rate are untouched.
 */
#include "gen_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"

#define GEN_PI 3.14159265358979323846

/* A day's chance of each incident, per customer. */
#define GEN_P_OUTAGE       0.0015   /* about one local outage every two years */
#define GEN_P_PHASE_LOSS   0.0004   /* three-phase supplies only */
#define GEN_P_COVER_OPEN   0.00005  /* maintenance visits; no effect on energy */
#define GEN_P_CLOCK_RESET  0.0002
#define GEN_P_AWAY_START   0.002    /* residential: an away period (holiday) starts today */
#define GEN_AWAY_MAX_DAYS  14

/* False-data-injection attacks (--observer-set) report shares in [LO, HI] of what flowed. */
#define GEN_FDI_SHARE_LO 0.1
#define GEN_FDI_SHARE_HI 0.8
/* fdi_on_off: each day the meter reports nothing for 4 to 4 + SPAN - 1 hours. */
#define GEN_FDI_OFF_HOURS_MIN 4
#define GEN_FDI_OFF_HOURS_SPAN 9

/* --loss-model load: at an area's typical load a share 0.25-0.45 of its loss is no-load loss
 * (iron), the rest grows with the load squared (copper), scaled each day by a winding-
 * temperature factor 1 +- 0.05 (uniform); the transformer meter adds noise of sd 0.3% of the
 * interval's energy (bounded at 3.46 sd). */
#define GEN_LOSS_NO_LOAD_MIN 0.25
#define GEN_LOSS_NO_LOAD_SPAN 0.20
#define GEN_LOSS_DAY_SPAN 0.05
#define GEN_LOSS_NOISE_SD 0.003

/* The level of a customer is exp(sigma * z) around the segment median, z cut at this bound
 * so capacities (and transformer totals) stay in a realistic range. */
#define GEN_LEVEL_Z_MAX 2.5
/* Sum of customer capacities one transformer takes while others have room; with losses
 * below 7% its readings then stay under the detector's default 2000 kW for unknown sizes. */
#define GEN_TRANSFORMER_KW_SOFT 1800.0

struct gen_segment_model {
	const char *name;
	const char *tariff;
	double share;             /* share of customers */
	double median_kwh_day;    /* median daily energy across the segment */
	double level_sigma;       /* log-normal sigma of the customer level */
	double day_sigma;         /* log-scale sigma of day-to-day noise */
	double interval_sigma;    /* relative sigma of one interval's noise */
	double season_amp;        /* seasonal factor 1 + amp * cos(2 pi (doy - peak) / period) */
	double season_peak_doy;
	double season_period;
	double weekly[7];         /* Sunday first */
	double hourly[24];        /* relative load in the middle of each local hour */
	double quality_share;     /* share of meters reporting voltage, current, power factor */
	double three_phase_share;
	double power_factor;      /* typical installation power factor */
	double rate_per_kwh;      /* flat energy rate (residential: tiers, see bill amount) */
	double fixed_per_kw;      /* monthly basic charge per kW of capacity */
};

static const struct gen_segment_model gen_models[GEN_SEGMENTS] = {
	{
		.name = "residential", .tariff = "residential_tiered", .share = 0.85,
		.median_kwh_day = 7.0, .level_sigma = 0.55, .day_sigma = 0.18, .interval_sigma = 0.25,
		/* two peaks a year: winter heating (late January) and summer cooling (late July) */
		.season_amp = 0.20, .season_peak_doy = 20, .season_period = 182.625,
		.weekly = {1.10, 0.97, 0.96, 0.96, 0.97, 1.00, 1.10},
		.hourly = {0.55, 0.45, 0.40, 0.38, 0.38, 0.45, 0.80, 1.25, 1.20, 0.90, 0.80, 0.85,
		           0.95, 0.85, 0.75, 0.75, 0.85, 1.15, 1.60, 1.90, 1.95, 1.75, 1.30, 0.85},
		.quality_share = 0.15, .three_phase_share = 0.05, .power_factor = 0.96,
		.rate_per_kwh = 0.56, .fixed_per_kw = 0.0,
	},
	{
		.name = "commercial", .tariff = "commercial_flat", .share = 0.10,
		.median_kwh_day = 90.0, .level_sigma = 0.80, .day_sigma = 0.10, .interval_sigma = 0.12,
		.season_amp = 0.12, .season_peak_doy = 200, .season_period = 365.25,
		.weekly = {0.45, 1.12, 1.12, 1.12, 1.12, 1.12, 0.65},
		.hourly = {0.30, 0.28, 0.28, 0.28, 0.28, 0.30, 0.40, 0.80, 1.50, 1.80, 1.90, 1.90,
		           1.70, 1.80, 1.90, 1.90, 1.85, 1.60, 1.10, 0.80, 0.60, 0.45, 0.35, 0.32},
		.quality_share = 1.0, .three_phase_share = 1.0, .power_factor = 0.92,
		.rate_per_kwh = 0.85, .fixed_per_kw = 0.0,
	},
	{
		.name = "industrial", .tariff = "industrial_two_part", .share = 0.03,
		.median_kwh_day = 1500.0, .level_sigma = 0.70, .day_sigma = 0.08, .interval_sigma = 0.06,
		.season_amp = 0.04, .season_peak_doy = 30, .season_period = 365.25,
		.weekly = {0.80, 1.05, 1.05, 1.05, 1.05, 1.05, 0.90},
		.hourly = {0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.90, 1.00, 1.12, 1.12, 1.12, 1.12,
		           1.12, 1.12, 1.12, 1.12, 1.12, 1.12, 1.05, 1.05, 1.05, 1.05, 0.90, 0.90},
		.quality_share = 1.0, .three_phase_share = 1.0, .power_factor = 0.87,
		.rate_per_kwh = 0.68, .fixed_per_kw = 2.0,
	},
	{
		.name = "agricultural", .tariff = "agricultural_flat", .share = 0.02,
		.median_kwh_day = 30.0, .level_sigma = 0.70, .day_sigma = 0.30, .interval_sigma = 0.20,
		/* irrigation peaks in summer */
		.season_amp = 0.45, .season_peak_doy = 190, .season_period = 365.25,
		.weekly = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
		.hourly = {0.15, 0.15, 0.15, 0.15, 0.15, 0.30, 0.80, 1.40, 1.90, 1.90, 1.90, 1.90,
		           1.90, 1.90, 1.90, 1.90, 1.90, 1.50, 0.90, 0.50, 0.30, 0.20, 0.20, 0.20},
		.quality_share = 0.5, .three_phase_share = 1.0, .power_factor = 0.82,
		.rate_per_kwh = 0.50, .fixed_per_kw = 0.0,
	},
};

/* Outcome of one bill by payment habit: on time, late, partial, unpaid. */
static const double gen_payer_share[GEN_PAYER__COUNT] = {0.80, 0.11, 0.06, 0.03};
static const double gen_payer_outcome[GEN_PAYER__COUNT][4] = {
	{0.940, 0.045, 0.010, 0.005},
	{0.250, 0.650, 0.070, 0.030},
	{0.150, 0.200, 0.550, 0.100},
	{0.050, 0.150, 0.200, 0.600},
};
/* Chance that one payment is reversed (bounced) a few days later. */
static const double gen_payer_reversal[GEN_PAYER__COUNT] = {0.004, 0.02, 0.04, 0.08};
static const double gen_channel_share[GEN_CHANNEL__COUNT] = {0.25, 0.40, 0.20, 0.15};

/* Standard capacities (kW) a customer is connected for. */
static const double gen_capacity_ladder[] = {
	2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315,
	400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000,
};

const char *gen_segment_name(unsigned segment)
{
	return segment < GEN_SEGMENTS ? gen_models[segment].name : "unknown";
}

const char *gen_tariff_name(unsigned segment)
{
	return segment < GEN_SEGMENTS ? gen_models[segment].tariff : "unknown";
}

const char *gen_channel_name(unsigned channel)
{
	static const char *const names[GEN_CHANNEL__COUNT] = {
		"auto_debit", "app", "bank_transfer", "counter",
	};
	return channel < GEN_CHANNEL__COUNT ? names[channel] : "unknown";
}

const char *gen_reason_name(unsigned reason)
{
	static const char *const names[] = {"insufficient_funds", "chargeback", "bank_error"};
	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "unknown";
}

const char *gen_code_name(unsigned code)
{
	static const char *const names[METER_CODE__COUNT] = {
		[METER_CODE_COVER_OPEN] = "cover_open",
		[METER_CODE_MAGNETIC_INTERFERENCE] = "magnetic_interference",
		[METER_CODE_REVERSE_FLOW] = "reverse_flow",
		[METER_CODE_PHASE_LOSS] = "phase_loss",
		[METER_CODE_CLOCK_RESET] = "clock_reset",
		[METER_CODE_POWER_OUTAGE] = "power_outage",
		[METER_CODE_METER_REPLACED] = "meter_replaced",
	};
	return code < METER_CODE__COUNT ? names[code] : "unknown";
}

int32_t gen_days_from_civil(int year, int month, int dom)
{
	/* Counts in 400-year eras starting on March 1st, so the leap day ends each year. */
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + dom - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

void gen_civil_from_days(int32_t day, int *year, int *month, int *dom)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*dom = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = m;
	*year = (int)(yoe + era * 400 + (m <= 2));
}

void gen_calendar_make(struct gen_calendar *cal, int32_t day)
{
	cal->day = day;
	gen_civil_from_days(day, &cal->year, &cal->month, &cal->dom);
	cal->dow = (int)((((int64_t)day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	cal->doy = day - gen_days_from_civil(cal->year, 1, 1);
	for (int s = 0; s < GEN_SEGMENTS; s++) {
		const struct gen_segment_model *m = &gen_models[s];
		double season = 1.0 + m->season_amp *
		                cos(2.0 * GEN_PI * (cal->doy - m->season_peak_doy) / m->season_period);
		cal->segment_factor[s] = m->weekly[cal->dow] * season;
	}
}

/* The daily shape of a segment at time t seconds after local midnight: hourly values sit in
 * the middle of their hour and are joined by straight lines, around the clock. */
static double gen_shape_at(const struct gen_segment_model *m, double t)
{
	double x = t / 3600.0 - 0.5;
	double base = floor(x);
	double frac = x - base;
	int i0 = ((int)base % 24 + 24) % 24;
	int i1 = (i0 + 1) % 24;
	return m->hourly[i0] + (m->hourly[i1] - m->hourly[i0]) * frac;
}

/* Largest value a reading's power can take relative to level_kw (all factors at their
 * bounds, 10% margin); capacities are sized from it. */
static double gen_peak_factor(const struct gen_segment_model *m)
{
	double hourly_max = 0.0, hourly_sum = 0.0, weekly_max = 0.0;
	for (int h = 0; h < 24; h++) {
		hourly_sum += m->hourly[h];
		if (m->hourly[h] > hourly_max)
			hourly_max = m->hourly[h];
	}
	for (int d = 0; d < 7; d++)
		if (m->weekly[d] > weekly_max)
			weekly_max = m->weekly[d];
	return 1.1 * (hourly_max / (hourly_sum / 24.0)) * weekly_max * (1.0 + m->season_amp) *
	       exp(m->day_sigma * GEN_NORMAL4_MAX) * (1.0 + m->interval_sigma * GEN_NORMAL4_MAX);
}

static double gen_capacity_for(double peak_kw)
{
	size_t n = sizeof(gen_capacity_ladder) / sizeof(gen_capacity_ladder[0]);
	for (size_t i = 0; i < n; i++)
		if (gen_capacity_ladder[i] >= peak_kw)
			return gen_capacity_ladder[i];
	return ceil(peak_kw / 1000.0) * 1000.0;
}

static unsigned gen_pick(double u, const double *shares, unsigned n)
{
	for (unsigned i = 0; i + 1 < n; i++) {
		if (u < shares[i])
			return i;
		u -= shares[i];
	}
	return n - 1;
}

/* The onset day of a labelled customer with hash key `key`: a clean history first (21 days;
 * half the run in runs under 42 days), and at least 14 days after the onset when the run is
 * long enough to have them. */
static int32_t gen_onset_draw(uint64_t key, int32_t start_day, uint32_t days)
{
	int32_t clean = (int32_t)(days / 2 < 21 ? days / 2 : 21);
	int32_t latest = (int32_t)days - 14;
	if (latest < clean)
		latest = clean;
	return start_day + clean +
	       (int32_t)(gen_hash(key, GEN_TAG_PATTERN, 2) % (uint64_t)(latest - clean + 1));
}

void gen_pattern_draw(uint64_t key, double theft_rate, double confounder_rate, int32_t start_day,
                      uint32_t days, uint8_t *pattern, int32_t *onset_day)
{
	*pattern = GEN_PATTERN_NONE;
	*onset_day = 0;
	if (!(theft_rate > 0.0) && !(confounder_rate > 0.0))
		return;
	double u = gen_unit(gen_hash(key, GEN_TAG_PATTERN, 0));
	uint64_t which = gen_hash(key, GEN_TAG_PATTERN, 1);
	if (u < theft_rate)
		*pattern = (uint8_t)(GEN_PATTERN_FIRST_ATTACK +
		                     which % (GEN_PATTERN_FIRST_CONFOUNDER - GEN_PATTERN_FIRST_ATTACK));
	else if (u < theft_rate + confounder_rate)
		*pattern = (uint8_t)(GEN_PATTERN_FIRST_CONFOUNDER +
		                     which % (GEN_PATTERN_FIRST_FDI - GEN_PATTERN_FIRST_CONFOUNDER));
	else
		return;
	*onset_day = gen_onset_draw(key, start_day, days);
}

void gen_silent_draw(uint64_t key, double silent_rate, int32_t start_day, uint32_t days,
                     uint8_t *pattern, int32_t *onset_day)
{
	if (*pattern != GEN_PATTERN_NONE || !(silent_rate > 0.0) ||
	    !(gen_unit(gen_hash(key, GEN_TAG_SILENT, 0)) < silent_rate))
		return;
	*pattern = (uint8_t)(gen_hash(key, GEN_TAG_SILENT, 1) & 1 ? GEN_PATTERN_METER_OFFLINE
	                                                          : GEN_PATTERN_METER_SILENCED);
	*onset_day = gen_onset_draw(key, start_day, days);
}

void gen_observer_draw(uint64_t seed, uint32_t n_customers, uint32_t customer, int32_t start_day,
                       uint32_t days, uint8_t *pattern, int32_t *onset_day)
{
	enum { N_FDI = GEN_PATTERN_FDI_COUNT };
	*pattern = GEN_PATTERN_NONE;
	*onset_day = 0;
	/* the thieves are the customers with the smallest draws; rank = how many come before */
	uint64_t mine = gen_hash(seed, GEN_TAG_OBSERVER, customer);
	uint32_t rank = 0;
	for (uint32_t c = 0; c < n_customers && rank < GEN_OBSERVER_THIEVES; c++) {
		uint64_t other = gen_hash(seed, GEN_TAG_OBSERVER, c);
		rank += other < mine || (other == mine && c < customer);
	}
	if (rank >= GEN_OBSERVER_THIEVES)
		return;
	/* a shuffle of the attacks: thief number `rank` takes the rank-th, so they differ */
	uint8_t attacks[N_FDI];
	for (int i = 0; i < N_FDI; i++)
		attacks[i] = (uint8_t)(GEN_PATTERN_FIRST_FDI + i);
	for (int i = N_FDI - 1; i > 0; i--) {
		int j = (int)(gen_hash(seed, GEN_TAG_OBSERVER, UINT64_C(1) << 32 | (uint64_t)i) %
		              (uint64_t)(i + 1));
		uint8_t keep = attacks[i];
		attacks[i] = attacks[j];
		attacks[j] = keep;
	}
	*pattern = attacks[rank];
	*onset_day = gen_onset_draw(gen_hash(seed, GEN_TAG_CUSTOMER, customer), start_day, days);
}

/* Draws the strength and timing of cust's pattern (fields pattern_a/b/days/s). */
static void gen_pattern_params(struct gen_customer *cust)
{
	double u3 = gen_unit(gen_hash(cust->key, GEN_TAG_PATTERN, 3));
	double u4 = gen_unit(gen_hash(cust->key, GEN_TAG_PATTERN, 4));
	uint64_t h5 = gen_hash(cust->key, GEN_TAG_PATTERN, 5);
	uint64_t h6 = gen_hash(cust->key, GEN_TAG_PATTERN, 6);

	switch (cust->pattern) {
	case GEN_PATTERN_CONSTANT_FRACTION: /* reported share a */
		cust->pattern_a = 0.2 + 0.6 * u3;
		break;
	case GEN_PATTERN_RANDOM_FRACTION: /* share uniform in [a, a + b] per interval */
		cust->pattern_a = 0.1 + 0.3 * u3;
		cust->pattern_b = 0.5;
		break;
	case GEN_PATTERN_PARTIAL_BYPASS: /* zero for b hours from second s of every day */
		cust->pattern_s = (int32_t)(h5 % 24) * 3600;
		cust->pattern_b = (double)(3 + h6 % 6);
		break;
	case GEN_PATTERN_PEAK_CLIPPING: /* cap a kW */
		cust->pattern_a = (0.6 + 0.6 * u3) * cust->level_kw;
		break;
	case GEN_PATTERN_SLOW_RAMP: /* reported share falls linearly to a over `days` days */
		cust->pattern_a = 0.3 + 0.3 * u3;
		cust->pattern_days = 28 + (int32_t)(h5 % 29);
		break;
	case GEN_PATTERN_FULL_BYPASS: /* tamper code b, `days` days before the onset, at s */
		cust->pattern_b = (h5 & 1) ? METER_CODE_MAGNETIC_INTERFERENCE : METER_CODE_COVER_OPEN;
		cust->pattern_days = (int32_t)((h5 >> 8) % 3);
		cust->pattern_s = (int32_t)(h6 % GEN_DAY_S);
		break;
	case GEN_PATTERN_METER_REVERSED: /* b = 1: a reverse_flow event at s on the onset day */
		cust->pattern_b = (double)(h5 & 1);
		cust->pattern_s = (int32_t)(h6 % GEN_DAY_S);
		break;
	case GEN_PATTERN_VACANCY: /* load x a for `days` days */
		cust->pattern_a = 0.02 + 0.06 * u3;
		cust->pattern_days = 7 + (int32_t)(h5 % 15);
		break;
	case GEN_PATTERN_HOUSEHOLD_CHANGE: /* load x a for good */
		cust->pattern_a = (h5 & 1) ? 0.45 + 0.25 * u4 : 1.4 + 0.6 * u4;
		break;
	case GEN_PATTERN_SEASONAL_SWING: /* 1 + a (1 - cos(2 pi t / days)) / 2, a signed */
		cust->pattern_a = ((h5 & 1) ? -1.0 : 1.0) * (0.3 + 0.3 * u3);
		cust->pattern_days = 90 + (int32_t)(h6 % 91);
		break;
	case GEN_PATTERN_METER_REPLACED: /* swap from second s for b minutes */
		cust->pattern_s = 9 * 3600 + (int32_t)(h5 % (7 * 3600));
		cust->pattern_b = (double)(30 + h6 % 61);
		break;
	case GEN_PATTERN_FDI_SCALE: /* reported share a */
		cust->pattern_a = GEN_FDI_SHARE_LO + (GEN_FDI_SHARE_HI - GEN_FDI_SHARE_LO) * u3;
		break;
	case GEN_PATTERN_FDI_SUBTRACT: /* a kW less, floored at zero */
		cust->pattern_a = (0.3 + 0.5 * u3) * cust->level_kw;
		break;
	default:
		break;
	}
}

/*
 * Payment distress (--distress-rate): a share of the customers, whatever their habit, fall into
 * payment trouble on a day spread over the run (from 60 days after the start to 30 before the
 * end): the rate times 3 for customers of under two years at the start, 1.5 under five, 0.6
 * for the rest. Over the 90-270 days before that day their bills are paid more and more like a
 * defaulter's (the outcome chances move linearly from their own habit's to a defaulter's:
 * late, partly, bounced, unpaid); from that day on, like a defaulter's. Customers not drawn,
 * and every customer when the rate is 0, keep exactly the payments they had without the option.
 */
static void gen_distress_draw(const struct gen_city *city, struct gen_customer *cust)
{
	cust->strain_ts = cust->distress_ts = 0;
	cust->distress_day = 0;
	if (!(city->distress_rate > 0.0) || city->days < 120)
		return;
	/* Newer customers fall into trouble more often (about the same share overall: a fifth of
	 * the customers have been customers for under five years). */
	int32_t tenure = city->start_day - cust->since_day;
	double factor = tenure < 2 * 365 ? 3.0 : tenure < 5 * 365 ? 1.5 : 0.6;
	uint64_t h = gen_hash(cust->key, GEN_TAG_DISTRESS, 0);
	if (gen_unit(h) >= city->distress_rate * factor)
		return;
	uint64_t h1 = gen_mix(h), h2 = gen_mix(h1);
	int32_t span = (int32_t)city->days - 90;
	int32_t day = city->start_day + 60 + (int32_t)(h1 % (uint64_t)span);
	int32_t warning = 90 + (int32_t)(h2 % 181);
	cust->distress_day = day;
	cust->distress_ts = (int64_t)day * GEN_DAY_S - city->tz_offset_s;
	cust->strain_ts = cust->distress_ts - (int64_t)warning * GEN_DAY_S;
}

uint8_t gen_segment_draw(uint64_t key)
{
	double shares[GEN_SEGMENTS];
	for (int s = 0; s < GEN_SEGMENTS; s++)
		shares[s] = gen_models[s].share;
	return (uint8_t)gen_pick(gen_unit(gen_hash(key, GEN_TAG_SEGMENT, 0)), shares, GEN_SEGMENTS);
}

static void gen_customer_make(struct gen_city *city, uint32_t idx, struct gen_customer *cust)
{
	memset(cust, 0, sizeof(*cust));
	cust->key = gen_hash(city->seed, GEN_TAG_CUSTOMER, idx);
	cust->segment = gen_segment_draw(cust->key);
	if (city->observer) /* an observer-style set is households */
		cust->segment = GEN_SEG_RESIDENTIAL;
	const struct gen_segment_model *m = &gen_models[cust->segment];

	/* Box-Muller for the level: it is drawn once, and its tails matter. */
	double u1 = 1.0 - gen_unit(gen_hash(cust->key, GEN_TAG_LEVEL, 0));
	double u2 = gen_unit(gen_hash(cust->key, GEN_TAG_LEVEL, 1));
	double z = sqrt(-2.0 * log(u1)) * cos(2.0 * GEN_PI * u2);
	if (z > GEN_LEVEL_Z_MAX)
		z = GEN_LEVEL_Z_MAX;
	if (z < -GEN_LEVEL_Z_MAX)
		z = -GEN_LEVEL_Z_MAX;
	cust->level_kw = m->median_kwh_day / 24.0 * exp(m->level_sigma * z);
	cust->capacity_kw = gen_capacity_for(cust->level_kw * gen_peak_factor(m));

	uint64_t h = gen_hash(cust->key, GEN_TAG_METER, 0);
	cust->quality = gen_unit(h) < m->quality_share;
	cust->three_phase = gen_unit(gen_mix(h)) < m->three_phase_share;
	cust->power_factor = m->power_factor + 0.03 * (gen_unit(gen_hash(cust->key, GEN_TAG_METER, 1)) - 0.5);

	/* The day's shape runs up to an hour early or late for this customer. */
	int32_t shift_s = (int32_t)(gen_hash(cust->key, GEN_TAG_SHIFT, 0) % 7201) - 3600;
	cust->shift_slots = (int32_t)lround((double)shift_s / city->interval_s);

	cust->since_day = city->start_day - 35 -
	                  (int32_t)(gen_hash(cust->key, GEN_TAG_SINCE, 0) % (20 * 365));
	cust->bill_dom = (uint8_t)(1 + gen_hash(cust->key, GEN_TAG_BILL_DAY, 0) % 28);
	cust->payer = (uint8_t)gen_pick(gen_unit(gen_hash(cust->key, GEN_TAG_PAYER, 0)),
	                                gen_payer_share, GEN_PAYER__COUNT);
	cust->channel = (uint8_t)gen_pick(gen_unit(gen_hash(cust->key, GEN_TAG_CHANNEL, 0)),
	                                  gen_channel_share, GEN_CHANNEL__COUNT);

	/* Spread over transformers at random, skipping ones whose connected capacity is full. */
	uint32_t first = (uint32_t)(gen_hash(cust->key, GEN_TAG_TRANSFORMER, 0) % city->n_transformers);
	uint32_t probes = city->n_transformers < 64 ? city->n_transformers : 64;
	cust->transformer = first;
	for (uint32_t p = 0; p < probes; p++) {
		uint32_t t = (first + p) % city->n_transformers;
		if (city->transformers[t].capacity_kw_sum + cust->capacity_kw <= GEN_TRANSFORMER_KW_SOFT) {
			cust->transformer = t;
			break;
		}
	}
	city->transformers[cust->transformer].capacity_kw_sum += cust->capacity_kw;

	if (city->observer)
		gen_observer_draw(city->seed, city->n_customers, idx, city->start_day, city->days,
		                  &cust->pattern, &cust->onset_day);
	else {
		gen_pattern_draw(cust->key, city->theft_rate, city->confounder_rate, city->start_day,
		                 city->days, &cust->pattern, &cust->onset_day);
		gen_silent_draw(cust->key, city->silent_rate, city->start_day, city->days,
		                &cust->pattern, &cust->onset_day);
	}
	gen_pattern_params(cust);
	gen_distress_draw(city, cust);
	if (!city->observer)
		gen_business_draw(cust->key, cust->segment, city->business_distress, city->start_day,
		                  city->days, city->tz_offset_s, &cust->biz);
	cust->catch_up = city->catch_up_rate;
}

/* Adds the metered energy of the days of the first bill period that lie before start_day,
 * so the first bill covers a whole month like every other. */
static void gen_customer_prestart(const struct gen_city *city, struct gen_customer *cust)
{
	int year, month, dom;
	gen_civil_from_days(city->start_day, &year, &month, &dom);
	/* The first bill date on or after the start is in this month or the next; its period
	 * opened one month earlier. */
	if (dom > cust->bill_dom) {
		if (++month > 12) {
			month = 1;
			year++;
		}
	}
	if (--month < 1) {
		month = 12;
		year--;
	}
	int32_t open_day = gen_days_from_civil(year, month, cust->bill_dom);
	struct gen_calendar cal;
	struct gen_day_plan plan;
	struct gen_reading reading;
	for (int32_t day = open_day; day < city->start_day; day++) {
		gen_calendar_make(&cal, day);
		gen_day_plan_make(city, cust, &cal, &plan);
		for (int32_t slot = 0; slot < city->slots; slot++) {
			gen_reading_make(city, cust, &plan, &cal, slot, &reading);
			cust->period_milli += reading.metered_milli;
		}
	}
}

static void gen_shapes_build(struct gen_city *city)
{
	int32_t samples = city->interval_s / 60;
	if (samples < 1)
		samples = 1;
	for (int s = 0; s < GEN_SEGMENTS; s++) {
		double *shape = xmalloc(sizeof(double) * (size_t)city->slots);
		double sum = 0.0;
		for (int32_t slot = 0; slot < city->slots; slot++) {
			double acc = 0.0;
			for (int32_t k = 0; k < samples; k++) {
				double t = (double)slot * city->interval_s +
				           (k + 0.5) * (double)city->interval_s / samples;
				acc += gen_shape_at(&gen_models[s], t);
			}
			shape[slot] = acc / samples;
			sum += shape[slot];
		}
		for (int32_t slot = 0; slot < city->slots; slot++)
			shape[slot] *= city->slots / sum;
		city->shape[s] = shape;
	}
}

static void gen_digits(char *out, uint32_t number, int width)
{
	char tmp[GEN_ID_STRIDE];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + number % 10);
		number /= 10;
	} while (number);
	int len = n > width ? n : width;
	for (int i = 0; i < len; i++)
		out[i] = i < len - n ? '0' : tmp[len - 1 - i];
	out[len] = '\0';
}

static uint8_t gen_digit_count(uint32_t number)
{
	uint8_t n = 1;
	while (number >= 10) {
		number /= 10;
		n++;
	}
	return n;
}

/*
 * --loss-model load: sizes each area's no-load and load loss from its typical day - its
 * customers' levels times their segment's mean weekly factor and daily shape (with each
 * customer's shift), averaged over the transformer intervals - so that on that day the area
 * loses its loss_base (3-6%) of the energy, a share 0.25-0.45 of it as no-load loss.
 */
static void gen_loss_calibrate(struct gen_city *city)
{
	uint32_t n_t = city->n_transformers;
	int32_t per = city->slots / city->transformer_slots;
	uint32_t *first = xcalloc((size_t)n_t + 1, sizeof(*first));
	uint32_t *members = xmalloc(sizeof(*members) * city->n_customers);
	double *profile = xmalloc(sizeof(*profile) * (size_t)city->transformer_slots);
	double weekly_mean[GEN_SEGMENTS];

	for (int s = 0; s < GEN_SEGMENTS; s++) {
		weekly_mean[s] = 0.0;
		for (int d = 0; d < 7; d++)
			weekly_mean[s] += gen_models[s].weekly[d] / 7.0;
	}
	/* the customers of each area, contiguous: members[first[t] .. first[t + 1]) */
	for (uint32_t c = 0; c < city->n_customers; c++)
		first[city->customers[c].transformer + 1]++;
	for (uint32_t t = 0; t < n_t; t++)
		first[t + 1] += first[t];
	for (uint32_t c = 0; c < city->n_customers; c++)
		members[first[city->customers[c].transformer]++] = c;
	for (uint32_t t = n_t; t > 0; t--)
		first[t] = first[t - 1];
	first[0] = 0;

	for (uint32_t t = 0; t < n_t; t++) {
		struct gen_transformer *tr = &city->transformers[t];
		memset(profile, 0, sizeof(*profile) * (size_t)city->transformer_slots);
		for (uint32_t m = first[t]; m < first[t + 1]; m++) {
			const struct gen_customer *cust = &city->customers[members[m]];
			const double *shape = city->shape[cust->segment];
			double kw = cust->level_kw * weekly_mean[cust->segment] / per;
			for (int32_t slot = 0; slot < city->slots; slot++) {
				int32_t shaped = ((slot + cust->shift_slots) % city->slots + city->slots) %
				                 city->slots;
				profile[slot / per] += kw * shape[shaped];
			}
		}
		double mean = 0.0, mean_sq = 0.0;
		for (int32_t k = 0; k < city->transformer_slots; k++) {
			mean += profile[k] / city->transformer_slots;
			mean_sq += profile[k] * profile[k] / city->transformer_slots;
		}
		double no_load_share = GEN_LOSS_NO_LOAD_MIN +
		                       GEN_LOSS_NO_LOAD_SPAN *
		                       gen_unit(gen_hash(city->seed, GEN_TAG_LOSS_SPLIT, t));
		tr->no_load_kw = no_load_share * tr->loss_base * mean;
		tr->load_per_kw = mean_sq > 0.0 ? (1.0 - no_load_share) * tr->loss_base * mean / mean_sq
		                                : 0.0;
	}
	free(profile);
	free(members);
	free(first);
}

void gen_city_build(struct gen_city *city, const struct gen_options *opts)
{
	memset(city, 0, sizeof(*city));
	city->seed = opts->seed;
	city->n_customers = opts->customers;
	city->n_transformers = opts->transformers ? opts->transformers : (opts->customers + 39) / 40;
	if (opts->observer_set)
		city->n_transformers = 1;
	city->observer = opts->observer_set;
	city->interval_s = opts->interval_s;
	city->slots = GEN_DAY_S / opts->interval_s;
	city->transformer_interval_s = gen_transformer_interval(opts);
	city->transformer_slots = GEN_DAY_S / city->transformer_interval_s;
	city->loss_model = opts->loss_model;
	city->tz_offset_s = opts->tz_offset_s;
	city->start_day = opts->start_day;
	city->theft_rate = opts->theft_rate;
	city->confounder_rate = gen_confounder_rate(opts);
	city->silent_rate = opts->silent_rate;
	city->distress_rate = opts->distress_rate;
	city->business_distress = opts->business_distress;
	city->catch_up_rate = opts->catch_up_rate;
	city->days = opts->days;
	gen_shapes_build(city);

	/* Ids: "C000123" / "M000123" (at least 6 digits), "T0007" (at least 4). */
	uint8_t w = gen_digit_count(city->n_customers);
	city->customer_id_len = w > 6 ? w : 6;
	w = gen_digit_count(city->n_transformers);
	city->transformer_id_len = w > 4 ? w : 4;
	city->customer_ids = xmalloc((size_t)city->n_customers * GEN_ID_STRIDE);
	city->transformer_ids = xmalloc((size_t)city->n_transformers * GEN_ID_STRIDE);
	for (uint32_t i = 0; i < city->n_customers; i++)
		gen_digits(city->customer_ids + (size_t)i * GEN_ID_STRIDE, i + 1, city->customer_id_len);
	for (uint32_t t = 0; t < city->n_transformers; t++)
		gen_digits(city->transformer_ids + (size_t)t * GEN_ID_STRIDE, t + 1,
		           city->transformer_id_len);

	city->transformers = xcalloc(city->n_transformers, sizeof(*city->transformers));
	for (uint32_t t = 0; t < city->n_transformers; t++)
		city->transformers[t].loss_base =
			0.03 + 0.03 * gen_unit(gen_hash(city->seed, GEN_TAG_AREA_LOSS, t));

	city->customers = xmalloc(sizeof(*city->customers) * city->n_customers);
	for (uint32_t i = 0; i < city->n_customers; i++) {
		gen_customer_make(city, i, &city->customers[i]);
		gen_customer_prestart(city, &city->customers[i]);
	}
	if (city->loss_model == GEN_LOSS_LOAD)
		gen_loss_calibrate(city);
}

void gen_city_free(struct gen_city *city)
{
	for (int s = 0; s < GEN_SEGMENTS; s++)
		free(city->shape[s]);
	free(city->customers);
	free(city->transformers);
	free(city->customer_ids);
	free(city->transformer_ids);
	memset(city, 0, sizeof(*city));
}

/* Residential customers go away now and then (holidays): the load falls to standby. */
static double gen_away_factor(const struct gen_customer *cust, int32_t day)
{
	for (int32_t back = 0; back < GEN_AWAY_MAX_DAYS; back++) {
		uint64_t h = gen_hash(cust->key, GEN_TAG_AWAY, (uint64_t)(int64_t)(day - back));
		if (gen_unit(h) >= GEN_P_AWAY_START)
			continue;
		int32_t length = 2 + (int32_t)(gen_mix(h) % (GEN_AWAY_MAX_DAYS - 1));
		if (back < length)
			return 0.15 + 0.2 * gen_unit(gen_mix(h ^ 1));
	}
	return 1.0;
}

/* Confounders change what the household really uses on `day` (both counts follow). */
static double gen_confounder_factor(const struct gen_customer *cust, int32_t day)
{
	if (cust->pattern == GEN_PATTERN_NONE || day < cust->onset_day)
		return 1.0;
	int32_t t = day - cust->onset_day;
	switch (cust->pattern) {
	case GEN_PATTERN_VACANCY:
		return t < cust->pattern_days ? cust->pattern_a : 1.0;
	case GEN_PATTERN_HOUSEHOLD_CHANGE:
		return cust->pattern_a;
	case GEN_PATTERN_SEASONAL_SWING:
		return 1.0 + cust->pattern_a * (1.0 - cos(2.0 * GEN_PI * t / cust->pattern_days)) / 2.0;
	default:
		return 1.0;
	}
}

/* The meter events and meter swap a pattern adds to `day`. */
static void gen_pattern_day(const struct gen_customer *cust, int32_t day,
                            struct gen_day_plan *plan)
{
	switch (cust->pattern) {
	case GEN_PATTERN_FULL_BYPASS:
		if (day == cust->onset_day - cust->pattern_days) {
			plan->events[plan->n_events].code = (uint8_t)cust->pattern_b;
			plan->events[plan->n_events++].at_s = cust->pattern_s;
		}
		break;
	case GEN_PATTERN_METER_REVERSED:
		if (day == cust->onset_day && cust->pattern_b > 0.0) {
			plan->events[plan->n_events].code = METER_CODE_REVERSE_FLOW;
			plan->events[plan->n_events++].at_s = cust->pattern_s;
		}
		break;
	case GEN_PATTERN_METER_REPLACED:
		if (day > cust->onset_day) {
			plan->new_meter = 1;
			plan->new_meter_s = 0;
		} else if (day == cust->onset_day) {
			/* no supply while the meter is swapped; the new meter reports from then on and
			 * announces itself when it is in */
			int32_t end = cust->pattern_s + (int32_t)cust->pattern_b * 60;
			if (end > GEN_DAY_S - 1)
				end = GEN_DAY_S - 1;
			if (plan->window_end_s <= plan->window_start_s) {
				plan->window_start_s = cust->pattern_s;
				plan->window_end_s = end;
				plan->window_factor = 0.0;
			}
			plan->new_meter = 1;
			plan->new_meter_s = cust->pattern_s;
			plan->events[plan->n_events].code = METER_CODE_METER_REPLACED;
			plan->events[plan->n_events++].at_s = end;
		}
		break;
	default:
		break;
	}
}

void gen_day_plan_make(const struct gen_city *city, const struct gen_customer *cust,
                       const struct gen_calendar *cal, struct gen_day_plan *plan)
{
	const struct gen_segment_model *m = &gen_models[cust->segment];
	uint64_t day_key = (uint64_t)(int64_t)cal->day;
	(void)city;

	memset(plan, 0, sizeof(*plan));
	double z = gen_normal4(gen_hash(cust->key, GEN_TAG_DAY, day_key));
	plan->day_kw = cust->level_kw * cal->segment_factor[cust->segment] * exp(m->day_sigma * z);
	if (cust->segment == GEN_SEG_RESIDENTIAL)
		plan->day_kw *= gen_away_factor(cust, cal->day);
	plan->day_kw *= gen_confounder_factor(cust, cal->day);
	if (cust->biz.active)
		plan->day_kw *= gen_business_factor(&cust->biz, cal);

	uint64_t h = gen_hash(cust->key, GEN_TAG_INCIDENT, day_key);
	double u = gen_unit(h);
	uint64_t h2 = gen_mix(h);
	int32_t at_s = (int32_t)(h2 % 1440) * 60;
	int32_t minutes = (int32_t)((h2 >> 32) % 1000);
	double p_phase = cust->three_phase ? GEN_P_PHASE_LOSS : 0.0;
	if (u < GEN_P_OUTAGE) {
		plan->window_start_s = at_s;
		plan->window_end_s = at_s + (10 + minutes % 231) * 60; /* 10 min .. 4 h */
		plan->window_factor = 0.0;
		plan->events[plan->n_events].code = METER_CODE_POWER_OUTAGE;
		plan->events[plan->n_events++].at_s = at_s;
	} else if (u < GEN_P_OUTAGE + p_phase) {
		plan->window_start_s = at_s;
		plan->window_end_s = at_s + (30 + minutes % 331) * 60; /* 30 min .. 6 h */
		plan->window_factor = 2.0 / 3.0;
		plan->events[plan->n_events].code = METER_CODE_PHASE_LOSS;
		plan->events[plan->n_events++].at_s = at_s;
	} else if (u < GEN_P_OUTAGE + p_phase + GEN_P_COVER_OPEN) {
		plan->events[plan->n_events].code = METER_CODE_COVER_OPEN;
		plan->events[plan->n_events++].at_s = at_s;
	}
	if (plan->window_end_s > GEN_DAY_S)
		plan->window_end_s = GEN_DAY_S; /* the supply is back by midnight */

	h = gen_hash(cust->key, GEN_TAG_CLOCK, day_key);
	if (gen_unit(h) < GEN_P_CLOCK_RESET) {
		plan->events[plan->n_events].code = METER_CODE_CLOCK_RESET;
		plan->events[plan->n_events++].at_s = (int32_t)(gen_mix(h) % GEN_DAY_S);
	}
	gen_pattern_day(cust, cal->day, plan);
}

/* Seconds of [from, to) that fall inside the daily window [start, start + length) (which
 * may wrap past midnight). */
static int32_t gen_window_overlap(int32_t from, int32_t to, int32_t start, int32_t length)
{
	int32_t total = 0;
	for (int wrap = -1; wrap <= 0; wrap++) {
		int32_t a = start + wrap * GEN_DAY_S, b = a + length;
		int32_t lo = from > a ? from : a, hi = to < b ? to : b;
		if (hi > lo)
			total += hi - lo;
	}
	return total;
}

/* What an attacking customer's meter reports for one interval from the onset on. */
static void gen_attack_apply(const struct gen_city *city, const struct gen_customer *cust,
                             int32_t day, int32_t slot, int64_t interval_no,
                             struct gen_reading *reading)
{
	int64_t flowed = reading->true_milli;
	double share = 1.0;
	switch (cust->pattern) {
	case GEN_PATTERN_CONSTANT_FRACTION:
		share = cust->pattern_a;
		break;
	case GEN_PATTERN_RANDOM_FRACTION:
		share = cust->pattern_a +
		        cust->pattern_b * gen_unit(gen_hash(cust->key, GEN_TAG_PATTERN_INTERVAL,
		                                            (uint64_t)interval_no));
		break;
	case GEN_PATTERN_PARTIAL_BYPASS: {
		int32_t from = slot * city->interval_s;
		int32_t hidden = gen_window_overlap(from, from + city->interval_s, cust->pattern_s,
		                                    (int32_t)cust->pattern_b * 3600);
		share = 1.0 - (double)hidden / city->interval_s;
		break;
	}
	case GEN_PATTERN_PEAK_CLIPPING: {
		int64_t cap = (int64_t)(cust->pattern_a * city->interval_s / 3.6 + 0.5);
		reading->metered_milli = flowed < cap ? flowed : cap;
		return;
	}
	case GEN_PATTERN_SLOW_RAMP: {
		double progress = (double)(day - cust->onset_day + 1) / cust->pattern_days;
		share = 1.0 - (1.0 - cust->pattern_a) * (progress < 1.0 ? progress : 1.0);
		break;
	}
	case GEN_PATTERN_FULL_BYPASS:
		share = 0.0;
		break;
	case GEN_PATTERN_METER_REVERSED:
		share = 0.0;
		reading->reverse_milli = flowed;
		reading->has_reverse = 1;
		break;
	default:
		break;
	}
	reading->metered_milli = (int64_t)((double)flowed * share + 0.5);
}

/* The energy through cust's service connection in interval `slot` of day cal (plan from
 * gen_day_plan_make), milli-kWh; *touched is set when an outage, phase-loss or meter-swap
 * window overlaps the interval. */
static int64_t gen_flow_milli(const struct gen_city *city, const struct gen_customer *cust,
                              const struct gen_day_plan *plan, const struct gen_calendar *cal,
                              int32_t slot, int *touched)
{
	const struct gen_segment_model *m = &gen_models[cust->segment];
	int64_t interval_no = (int64_t)cal->day * city->slots + slot;
	int32_t shaped = ((slot + cust->shift_slots) % city->slots + city->slots) % city->slots;

	double kw = plan->day_kw * city->shape[cust->segment][shaped];
	kw *= 1.0 + m->interval_sigma * gen_normal4(gen_hash(cust->key, GEN_TAG_NOISE,
	                                                      (uint64_t)interval_no));
	*touched = 0;
	if (plan->window_end_s > plan->window_start_s) {
		int32_t from = slot * city->interval_s, to = from + city->interval_s;
		int32_t a = from > plan->window_start_s ? from : plan->window_start_s;
		int32_t b = to < plan->window_end_s ? to : plan->window_end_s;
		if (b > a) {
			kw *= 1.0 - (1.0 - plan->window_factor) * (double)(b - a) / city->interval_s;
			*touched = 1;
		}
	}
	/* Never reached with the peak factors above; keeps the capacity promise unconditional. */
	if (kw > 0.95 * cust->capacity_kw)
		kw = 0.95 * cust->capacity_kw;
	if (kw < 0.0)
		kw = 0.0;
	return (int64_t)(kw * city->interval_s / 3.6 + 0.5);
}

/* What a false-data-injection attacker's meter reports for one interval from the onset on
 * (--observer-set). */
static void gen_fdi_apply(const struct gen_city *city, const struct gen_customer *cust,
                          const struct gen_day_plan *plan, const struct gen_calendar *cal,
                          int32_t slot, int64_t interval_no, struct gen_reading *reading)
{
	double flowed = (double)reading->true_milli;
	double share = GEN_FDI_SHARE_LO + (GEN_FDI_SHARE_HI - GEN_FDI_SHARE_LO) *
	               gen_unit(gen_hash(cust->key, GEN_TAG_PATTERN_INTERVAL, (uint64_t)interval_no));
	double metered;
	int touched;
	switch (cust->pattern) {
	case GEN_PATTERN_FDI_SCALE:
		metered = cust->pattern_a * flowed;
		break;
	case GEN_PATTERN_FDI_ON_OFF: {
		/* off from a random hour for 4-12 hours, a fresh period each day */
		uint64_t h = gen_hash(cust->key, GEN_TAG_PATTERN_INTERVAL,
		                      ~(uint64_t)(int64_t)cal->day);
		int32_t start = (int32_t)(h % 24) * 3600;
		int32_t hours = GEN_FDI_OFF_HOURS_MIN + (int32_t)((h >> 32) % GEN_FDI_OFF_HOURS_SPAN);
		int32_t from = slot * city->interval_s;
		int32_t off = gen_window_overlap(from, from + city->interval_s, start, hours * 3600);
		metered = flowed * (1.0 - (double)off / city->interval_s);
		break;
	}
	case GEN_PATTERN_FDI_SUBTRACT: {
		double cut = cust->pattern_a * city->interval_s / 3.6;
		metered = flowed > cut ? flowed - cut : 0.0;
		break;
	}
	case GEN_PATTERN_FDI_RANDOM_SCALE:
		metered = share * flowed;
		break;
	case GEN_PATTERN_FDI_MEAN_RANDOM: /* the day's mean power (before the daily shape) */
		metered = share * plan->day_kw * city->interval_s / 3.6;
		break;
	case GEN_PATTERN_FDI_REVERSE_DAY:
		metered = (double)gen_flow_milli(city, cust, plan, cal, city->slots - 1 - slot, &touched);
		break;
	default:
		metered = flowed;
		break;
	}
	reading->metered_milli = (int64_t)(metered + 0.5);
}

void gen_reading_make(const struct gen_city *city, const struct gen_customer *cust,
                      const struct gen_day_plan *plan, const struct gen_calendar *cal,
                      int32_t slot, struct gen_reading *reading)
{
	int64_t interval_no = (int64_t)cal->day * city->slots + slot;
	int touched;

	reading->true_milli = gen_flow_milli(city, cust, plan, cal, slot, &touched);
	/* An honest meter reports what flowed. Theft patterns change metered_milli (and with it
	 * the quality values below) here, leaving true_milli for the transformer's balance. */
	reading->metered_milli = reading->true_milli;
	reading->reverse_milli = 0;
	reading->has_reverse = 0;
	reading->new_meter = plan->new_meter && slot * city->interval_s >= plan->new_meter_s;
	reading->silent = cust->pattern >= GEN_PATTERN_FIRST_SILENT && cal->day >= cust->onset_day;
	if (reading->silent) {
		/* nothing recorded; a house that lost its meter's link takes nothing either */
		reading->metered_milli = 0;
		if (cust->pattern == GEN_PATTERN_METER_OFFLINE)
			reading->true_milli = 0;
	} else if (cust->pattern >= GEN_PATTERN_FIRST_FDI && cal->day >= cust->onset_day)
		gen_fdi_apply(city, cust, plan, cal, slot, interval_no, reading);
	else if (cust->pattern != GEN_PATTERN_NONE && cust->pattern < GEN_PATTERN_FIRST_CONFOUNDER &&
	         cal->day >= cust->onset_day)
		gen_attack_apply(city, cust, cal->day, slot, interval_no, reading);

	reading->has_quality = cust->quality && !touched;
	if (reading->has_quality) {
		uint64_t h = gen_hash(cust->key, GEN_TAG_QUALITY, (uint64_t)interval_no);
		double metered_kw = (double)reading->metered_milli * 3.6 / city->interval_s;
		double volts = 220.0 * (1.0 + 0.012 * gen_normal4(h) - 0.03 * metered_kw / cust->capacity_kw);
		double pf = cust->power_factor + 0.015 * gen_normal4(gen_mix(h));
		if (pf > 1.0)
			pf = 1.0;
		if (pf < 0.5)
			pf = 0.5;
		double amps = metered_kw * 1000.0 / ((cust->three_phase ? 3.0 : 1.0) * volts * pf);
		reading->voltage_dv = (int32_t)(volts * 10.0 + 0.5);
		reading->power_factor_m = (int32_t)(pf * 1000.0 + 0.5);
		reading->current_ca = (int32_t)(amps * 100.0 + 0.5);
	}
}

double gen_transformer_loss(const struct gen_city *city, uint32_t t, int64_t interval_no)
{
	double noise = 2.0 * gen_unit(gen_hash(city->seed, GEN_TAG_LOSS,
	                                       (uint64_t)interval_no * 0x100000001ull + t)) - 1.0;
	return city->transformers[t].loss_base + 0.005 * noise;
}

double gen_loss_day_factor(const struct gen_city *city, uint32_t t, int32_t day)
{
	uint64_t h = gen_hash(city->seed, GEN_TAG_LOSS_DAY, (uint64_t)(int64_t)day * 0x100000001ull + t);
	return 1.0 + GEN_LOSS_DAY_SPAN * (2.0 * gen_unit(h) - 1.0);
}

double gen_loss_noise_share(const struct gen_city *city, uint32_t t, int64_t interval_no)
{
	uint64_t h = gen_hash(city->seed, GEN_TAG_LOSS_NOISE, (uint64_t)interval_no * 0x100000001ull + t);
	return GEN_LOSS_NOISE_SD * gen_normal4(h);
}

int64_t gen_transformer_reading(const struct gen_city *city, uint32_t t, int32_t day,
                                int32_t interval, int64_t flow_milli)
{
	int64_t interval_no = (int64_t)day * city->transformer_slots + interval;
	if (city->loss_model != GEN_LOSS_LOAD) {
		double loss = gen_transformer_loss(city, t, interval_no);
		return (int64_t)((double)flow_milli * (1.0 + loss) + 0.5);
	}
	const struct gen_transformer *tr = &city->transformers[t];
	double hours = city->transformer_interval_s / 3600.0;
	double kwh = (double)flow_milli / 1000.0;
	double kw = kwh / hours;
	double loss_kwh = (tr->no_load_kw + gen_loss_day_factor(city, t, day) * tr->load_per_kw * kw * kw) *
	                  hours + gen_loss_noise_share(city, t, interval_no) * kwh;
	double milli = (kwh + loss_kwh) * 1000.0;
	return milli > 0.0 ? (int64_t)(milli + 0.5) : 0;
}

int64_t gen_bill_amount_cents(const struct gen_customer *cust, int64_t period_milli)
{
	const struct gen_segment_model *m = &gen_models[cust->segment];
	double kwh = (double)period_milli / 1000.0;
	double amount;
	if (cust->segment == GEN_SEG_RESIDENTIAL) {
		/* Monthly tiers: 0-200 kWh, 200-400 kWh, above. */
		double t1 = kwh < 200.0 ? kwh : 200.0;
		double t2 = kwh < 400.0 ? (kwh > 200.0 ? kwh - 200.0 : 0.0) : 200.0;
		double t3 = kwh > 400.0 ? kwh - 400.0 : 0.0;
		amount = t1 * m->rate_per_kwh + t2 * (m->rate_per_kwh + 0.05) +
		         t3 * (m->rate_per_kwh + 0.30);
	} else {
		amount = kwh * m->rate_per_kwh + cust->capacity_kw * m->fixed_per_kw;
	}
	return (int64_t)(amount * 100.0 + 0.5);
}

int64_t gen_bill_ts(const struct gen_city *city, const struct gen_customer *cust,
                    const struct gen_calendar *cal)
{
	int64_t day_start = (int64_t)cal->day * GEN_DAY_S - city->tz_offset_s;
	return day_start + 6 * 3600 +
	       (int64_t)(gen_hash(cust->key, GEN_TAG_BILL_AT, (uint64_t)(int64_t)cal->day) % 7200);
}

/* A payment `days` days after the bill, 2 to 16 hours after the bill's time of day (bills are
 * issued between 06:00 and 08:00 local, so payments fall in the day or evening). */
static int64_t gen_pay_ts(int64_t bill_ts, int days, uint64_t h)
{
	return bill_ts + (int64_t)days * GEN_DAY_S + 7200 + (int64_t)(h % (14 * 3600));
}

/*
 * The payments of a business under --business-distress (gen_business.h): its arrears come from
 * its story alone. Until the story stops paying, every bill is paid in full, on time as
 * often as the habit pays on time and otherwise 1-25 days after the due date, never bounced;
 * from then on nothing is paid.
 */
static void gen_business_payment_plan(const struct gen_customer *cust, uint64_t h,
                                      int64_t bill_ts, int64_t amount_cents,
                                      struct gen_payment_plan *plan)
{
	if (cust->biz.stop_pay_ts && bill_ts >= cust->biz.stop_pay_ts)
		return;
	uint64_t h1 = gen_mix(h), h2 = gen_mix(h1);
	int on_time = gen_unit(h) < gen_payer_outcome[cust->payer][0];
	plan->n = 1;
	plan->pay[0].cents = amount_cents;
	if (on_time)
		plan->pay[0].ts = gen_pay_ts(bill_ts, cust->channel == GEN_CHANNEL_AUTO_DEBIT ?
		                             1 + (int)(h1 % 3) : (int)(h1 % GEN_DUE_DAYS), h2);
	else
		plan->pay[0].ts = gen_pay_ts(bill_ts, GEN_DUE_DAYS + 1 + (int)(h1 % 25), h2);
}

void gen_payment_plan_make(const struct gen_customer *cust, int32_t month_key, int64_t bill_ts,
                           int64_t amount_cents, struct gen_payment_plan *plan)
{
	uint64_t h = gen_hash(cust->key, GEN_TAG_PAY, (uint64_t)(int64_t)month_key);
	memset(plan, 0, sizeof(*plan));
	if (amount_cents <= 0)
		return;
	if (cust->biz.active) {
		gen_business_payment_plan(cust, h, bill_ts, amount_cents, plan);
		return;
	}
	const double *outcomes = gen_payer_outcome[cust->payer];
	double reversal = gen_payer_reversal[cust->payer];
	double strained[4], w = 0.0;
	if (cust->distress_ts && bill_ts >= cust->strain_ts) {
		/* Strain grows from nothing at strain_ts to a defaulter's habits at distress_ts. */
		w = 1.0;
		if (bill_ts < cust->distress_ts)
			w = (double)(bill_ts - cust->strain_ts) /
			    (double)(cust->distress_ts - cust->strain_ts);
		const double *to = gen_payer_outcome[GEN_PAYER_DEFAULTER];
		for (int i = 0; i < 4; i++)
			strained[i] = (1.0 - w) * outcomes[i] + w * to[i];
		outcomes = strained;
		reversal = (1.0 - w) * reversal + w * gen_payer_reversal[GEN_PAYER_DEFAULTER];
	}
	unsigned outcome = gen_pick(gen_unit(h), outcomes, 4);
	uint64_t h1 = gen_mix(h), h2 = gen_mix(h1), h3 = gen_mix(h2);
	switch (outcome) {
	case 0: /* on time */
		plan->n = 1;
		plan->pay[0].cents = amount_cents;
		plan->pay[0].ts = gen_pay_ts(bill_ts, cust->channel == GEN_CHANNEL_AUTO_DEBIT ?
		                             1 + (int)(h1 % 3) : (int)(h1 % GEN_DUE_DAYS), h2);
		break;
	case 1: /* late: after the due date */
		plan->n = 1;
		plan->pay[0].cents = amount_cents;
		plan->pay[0].ts = gen_pay_ts(bill_ts, GEN_DUE_DAYS + 1 + (int)(h1 % 35), h2);
		break;
	case 2: { /* partial: 30-80%, the rest later or never */
		int64_t part = amount_cents * (30 + (int64_t)(h1 % 51)) / 100;
		if (part < 1)
			part = 1;
		plan->n = 1;
		plan->pay[0].cents = part;
		plan->pay[0].ts = gen_pay_ts(bill_ts, 3 + (int)(h2 % 15), h3);
		if ((h3 >> 40) % 2 == 0 && amount_cents - part > 0) {
			plan->n = 2;
			plan->pay[1].cents = amount_cents - part;
			plan->pay[1].ts = gen_pay_ts(bill_ts, 20 + (int)((h3 >> 8) % 40), h1 >> 3);
		}
		break;
	}
	default: /* unpaid */
		break;
	}
	/* Reminders (--catch-up-rate): what is left unpaid is paid 40-85 days after the due date,
	 * by everyone but defaulters and, less and less, households under strain. */
	int64_t paid = plan->n ? plan->pay[0].cents + (plan->n > 1 ? plan->pay[1].cents : 0) : 0;
	if (cust->catch_up > 0.0 && outcome >= 2 && paid < amount_cents &&
	    cust->payer != GEN_PAYER_DEFAULTER) {
		uint64_t c = gen_hash(cust->key, GEN_TAG_PAY, ((uint64_t)(int64_t)month_key << 2) + 3);
		if (gen_unit(c) < cust->catch_up * (1.0 - w)) {
			plan->pay[plan->n].cents = amount_cents - paid;
			plan->pay[plan->n].ts = gen_pay_ts(bill_ts, GEN_DUE_DAYS + 40 + (int)(gen_mix(c) % 46),
			                                   c >> 7);
			plan->n++;
		}
	}
	for (int i = 0; i < plan->n; i++) {
		uint64_t r = gen_hash(cust->key, GEN_TAG_PAY, ((uint64_t)(int64_t)month_key << 2) + 1 + (uint64_t)i);
		if (gen_unit(r) >= reversal)
			continue;
		plan->pay[i].reversed = 1;
		plan->pay[i].reversal_ts = plan->pay[i].ts + (1 + (int64_t)(gen_mix(r) % 5)) * GEN_DAY_S +
		                           (int64_t)(r % 3600);
		plan->pay[i].reason = cust->channel == GEN_CHANNEL_APP ? 1 :
		                      cust->channel == GEN_CHANNEL_COUNTER ? 2 : 0;
	}
}
