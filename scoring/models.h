/*
 * models.h - streaming theft models over one customer's readings, closed days and meter
 * events, and the extraction of their state into registry features (scoring/features.h).
 *
 * Every model keeps its state in struct theft_state, which lives inside struct cstate
 * (cs->theft, 192 bytes) and is persisted with it as raw bytes. All work is O(1) per call (a
 * few loops over fixed arrays of at most 60 entries), nothing allocates, nothing does I/O.
 * The state after a sequence of calls depends only on that sequence, never on how the calls
 * were grouped into batches, so replaying a partition gives bit-identical state. (The peer
 * medians, struct peer_stats, are per detector instance and not part of that state.)
 * Not thread-safe: one customer's state belongs to the detector's main loop.
 *
 * How the detector drives the models, per accepted event of a customer (cs):
 *
 *   meter_reading:  day = localday_split(&ld, ev->ts, &sec)  (sec: 0..86399 local)
 *                   r = daily_apply_reading(cs, day, uwh, &closed);
 *                   if (r == DAILY_CLOSED_DAY) {
 *                           models_on_day_closed(cs, &closed);
 *                           peer_stats_update(peers, cs, closed.day);
 *                   }
 *                   models_on_reading(cs, ev, day, sec);      (also for DAILY_LATE)
 *   meter_event:    models_on_meter_event(cs, ev, local day of ev->ts);
 *   scoring:        models_features(cs, peers, today, &fv);   (fills the theft features)
 *   theft alert:    models_history(cs, &hist);                (60 days of kWh and baseline)
 *
 * The order within a reading matters: models_on_day_closed consumes the interval shape the
 * earlier readings of the closed day accumulated, and models_on_reading then starts the new
 * day's shape. docs/features.md documents every feature, its formula and its warm-up.
 */
#ifndef RISKD_MODELS_H
#define RISKD_MODELS_H

#include <stdint.h>

#include "event_types.h"
#include "features.h"

struct cstate;
struct daily_closed;

/* ---- model parameters (docs/features.md explains each) ---- */

#define MODELS_HISTORY_DAYS 60      /* daily kWh kept, ending with the last closed day */
#define MODELS_REVERSE_DAYS 30      /* daily reverse energy kept */
#define MODELS_TAMPER_DAYS 32       /* per-day tamper counts kept (2 bits a day) */
#define MODELS_WARMUP_DAYS 14       /* days fed to the baseline before it is trusted */
#define MODELS_LEVEL_ALPHA (1.0 / 14.0) /* EWMA weight of a new day in level and spread */
#define MODELS_DOW_ALPHA 0.05       /* EWMA weight of a new day in its weekday's factor */
#define MODELS_CLIP_SD 2.5          /* a day enters the baseline clipped to level +- 2.5 sd */
#define MODELS_SD_FLOOR_REL 0.05    /* sd is at least 5% of the level ... */
#define MODELS_SD_FLOOR_KWH 0.001   /* ... and at least 1 Wh a day */
#define MODELS_Z_CLAMP 5.0          /* a day moves the CUSUM by at most 5 sd */
#define MODELS_CUSUM_K 0.5          /* CUSUM slack, in sd */
#define MODELS_CUSUM_H 5.0          /* CUSUM decision level: a drop is signalled at or above */
#define MODELS_CUSUM_MAX 7.5        /* CUSUM cap, so a signal ends days after the level is back */
#define MODELS_REBASE_DAYS 56       /* a drop signalled this long becomes the new normal */
#define MODELS_NIGHT_END_S 21600    /* "night" is 00:00-06:00 local */
#define MODELS_SHAPE_RECENT 4       /* EWMA length (days) of the recent night and peak values */
#define MODELS_SHAPE_WARMUP 14      /* shape days before the *_change features are known */
#define MODELS_FLAT_MIN_READINGS 4  /* a day needs this many readings to be called flat */
#define MODELS_PLATEAU_MIN_KWH 0.02 /* a day's highest reading must be 20 Wh (20 register
                                        steps) before equal readings at it mean a plateau */
#define MODELS_LONG_REF_END 42      /* drop_ratio_long's reference: the 14 days ending 42 ... */
#define MODELS_LONG_REF_DAYS 14     /* ... days before the last closed day */
#define MODELS_SPLIT_MIN_AFTER 5    /* drop split: at least 5 and at most 42 days after ... */
#define MODELS_SPLIT_MAX_AFTER 42
#define MODELS_SPLIT_BEFORE 14      /* ... and the 14 days before it (at least 7 with data) */

/*
 * Per-customer theft-model state (inside struct cstate). Private to scoring/models*.c: other
 * modules read it only through the functions below. A zeroed struct is the valid initial
 * state. Fields are ordered by size so the struct has no padding: its bytes are persisted.
 */
struct theft_state {
	uint64_t tamper_counts;      /* 2 bits a day: day last_tamper_day - i in bits 2i..2i+1 */
	int32_t hist_day;            /* newest day in hist[] (the last closed day) */
	int32_t shape_day;           /* local day the shape accumulator belongs to */
	int32_t drop_start_day;      /* first day of the current CUSUM excursion (cusum > 0) */
	int32_t last_tamper_day;     /* day of the newest tamper event (THEFT_F_TAMPER) */
	float level;                 /* baseline: EWMA of weekday-adjusted daily kWh */
	float mad;                   /* EWMA of the clipped absolute residual, kWh */
	float cusum;                 /* one-sided CUSUM for a downward shift, in sd */
	float ref_level;             /* level when the current excursion began */
	float peak_level;            /* long-run peak-to-average ratio (EWMA, frozen during a drop) */
	float shape_night_kwh;       /* open day: energy of readings starting before 06:00 */
	float shape_peak_kw;         /* open day: highest mean power of one reading, kW */
	float reverse_open_kwh;      /* open day: reverse energy so far */
	uint16_t dow_factor[7];      /* weekday factors (Sunday first), Q2.14, mean 1 */
	uint16_t baseline_days;      /* days fed into the baseline (saturates) */
	uint16_t zero_run;           /* current run of zero-energy days */
	uint16_t flat_run;           /* current run of flat days */
	uint16_t shape_readings;     /* open day: readings accumulated */
	uint16_t usual_readings;     /* readings of a complete day for this meter */
	uint16_t peak_recent;        /* recent peak-to-average ratio (fast EWMA), x1000 */
	uint16_t shape_zero_readings; /* open day: readings of exactly zero */
	uint16_t shape_peak_count;   /* open day: readings whose power equals shape_peak_kw */
	uint16_t night_level;        /* long-run night share (EWMA, frozen during a drop), Q16 */
	uint16_t night_recent;       /* recent night share (fast EWMA), Q16 */
	uint16_t zero_recent;        /* recent share of zero readings (fast EWMA), Q16 */
	uint16_t plateau_recent;     /* recent share of readings at the day's peak (fast), Q16 */
	int16_t hist_base;           /* log index of code 128 in hist[] */
	int16_t z_centi;             /* robust z of the last closed day, in 0.01 sd */
	uint8_t flags;               /* THEFT_F_* */
	uint8_t shape_flags;         /* THEFT_SHAPE_* */
	uint8_t shape_days;          /* shape days seen (complete interval days; saturates) */
	uint8_t hist[MODELS_HISTORY_DAYS];    /* daily kWh, log codes; slot = day mod 60 */
	uint8_t reverse[MODELS_REVERSE_DAYS]; /* daily reverse kWh, log codes; slot = day mod 30 */
	uint8_t reserved;            /* zero; keeps the size a multiple of 8 without padding */
};

/*
 * Per reading: accumulates the interval shape of the open day (night energy, the highest
 * mean power of one reading, whether all readings are equal) and reverse energy.
 *   cs                    the customer; call after daily_apply_reading for this reading
 *                         and after models_on_day_closed when that closed a day
 *   ev                    an accepted EVENT_METER_READING (kwh, interval_s, reverse_kwh)
 *   local_day             local day of ev->ts (the day daily_apply_reading was given)
 *   local_second_of_day   seconds since local midnight of ev->ts, 0 .. 86399 (clamped)
 * A reading of the open day feeds the shape; a late reading (an earlier day) only adds its
 * reverse energy, to the day it belongs to if that day is still in the 30-day window.
 * Other event types are ignored.
 */
void models_on_reading(struct cstate *cs, const struct event *ev, int32_t local_day,
                       int32_t local_second_of_day);

/*
 * Per closed day (daily_apply_reading returned DAILY_CLOSED_DAY): stores the day's kWh in
 * the 60-day history, updates the zero and flat runs, the night share and the
 * peak-to-average ratio from the day's shape, scores the day against the baseline (robust z, CUSUM, drop start), and updates the
 * baseline (level, spread, weekday factors) unless a drop is signalled.
 * Days must close in increasing order (daily.c guarantees it); a day at or before the last
 * one handled is ignored. Days without readings between two closed days are "missing":
 * they are not scored and they break the zero and flat runs.
 */
void models_on_day_closed(struct cstate *cs, const struct daily_closed *closed);

/*
 * Per meter event: counts tamper codes (cover_open, magnetic_interference, reverse_flow,
 * phase_loss) by local day for the 30-day window and remembers the newest tamper day.
 * Other codes (power_outage, clock_reset, meter_replaced) change nothing. Events may arrive
 * out of order; one older than the kept 32 days only updates nothing.
 */
void models_on_meter_event(struct cstate *cs, const struct event *ev, int32_t local_day);

/* ---- peer medians ---- */

#define PEER_BINS 160                /* log-spaced bins, 16 a decade from 0.001 kWh/day */
#define PEER_LOG10_MIN (-3.0)
#define PEER_BINS_PER_DECADE 16
#define PEER_HALF_LIFE_DAYS 7.0      /* a sample's weight halves every 7 days */
#define PEER_MIN_WEIGHT 20.0         /* decayed sample weight a median needs */

/*
 * Streaming per-segment median of customers' kwh_avg_14d: a fixed-bin histogram over
 * log10(kWh/day) with exponential forgetting, one per segment. One instance per detector
 * (it sees the customers of that instance's partitions). About 19 KB; zero-initialise or
 * call peer_stats_init.
 */
struct peer_segment {
	double weight[PEER_BINS];    /* decayed weight of samples in each bin */
	double log_sum[PEER_BINS];   /* decayed weight * log10(kWh/day) of those samples */
	double log_sq[PEER_BINS];    /* decayed weight * log10(kWh/day)^2 */
	double zero_weight;          /* samples of exactly 0 kWh/day */
	double total;                /* sum of the weights */
};

struct peer_stats {
	int32_t day;                 /* day the weights are decayed to */
	int32_t has_day;
	struct peer_segment segment[SEGMENT__COUNT];
};

/* Empties ps. */
void peer_stats_init(struct peer_stats *ps);

/*
 * Adds cs's kwh_avg_14d (when known, and the segment is known) to its segment's histogram
 * as a sample of local day `day` (normally the day just closed). Samples of a later day
 * first decay every weight; samples of an earlier day count with their age's weight.
 * O(PEER_BINS) when the day advances, O(1) otherwise.
 */
void peer_stats_update(struct peer_stats *ps, const struct cstate *cs, int32_t day);

/*
 * Adds one sample of kwh kWh/day (>= 0) of local day `day` to segment seg (what
 * peer_stats_update does with a customer's kwh_avg_14d). Invalid values are ignored.
 */
void peer_stats_add(struct peer_stats *ps, enum segment seg, int32_t day, double kwh);

/*
 * Median kwh_avg_14d of segment seg, or a negative value when the segment has less than
 * PEER_MIN_WEIGHT of sample weight; 0 when at least half the weight is on zero samples.
 * Inside the bin that holds the half-way weight, the bin's samples are taken as spread
 * evenly over their mean log value +- sqrt(3) standard deviations: within about 1% of the
 * samples' median for smooth distributions, exact when the middle samples share one value.
 * O(PEER_BINS).
 */
double peer_stats_median(const struct peer_stats *ps, enum segment seg);

/* ---- features and history ---- */

/*
 * Fills the theft features of fv from cs's state as of local day `today` (normally the local
 * day of the event being scored; it anchors the 30-day event windows and days_since_tamper).
 * Each feature this module owns is set when known and marked missing otherwise; the area_*
 * features (filled from the energy balance) and the credit features are left untouched.
 * peers may be NULL (peer_ratio missing). Warm-up rules are in docs/features.md.
 */
void models_features(const struct cstate *cs, const struct peer_stats *peers, int32_t today,
                     struct feature_vec *fv);

/* The last MODELS_HISTORY_DAYS local days of a customer, for an alert's evidence. */
struct models_history {
	int32_t first_day;                      /* local day of kwh[0]; last = first_day + 59 */
	float kwh[MODELS_HISTORY_DAYS];         /* daily kWh, NAN for a day without readings */
	float baseline[MODELS_HISTORY_DAYS];    /* expected kWh that day, NAN before warm-up */
};

/*
 * Fills h with the 60 days ending at the last closed day: daily kWh as kept (within 1.6%;
 * zero days exactly 0; NAN for days without readings or incomplete) and the baseline for
 * each day: the current baseline level times that day's weekday factor. While a drop is
 * signalled the level is frozen at its value before the drop, so the curve shows what the
 * customer used to consume. Returns the number of days with kWh, 0 when no day has closed.
 */
int models_history(const struct cstate *cs, struct models_history *h);

/*
 * The day a customer's consumption stepped down, found in the 60-day history: the split day
 * s (MODELS_SPLIT_MIN_AFTER .. MODELS_SPLIT_MAX_AFTER days before the last closed day, s
 * included in "after") that maximises (before - after) * sqrt(nb * na / (nb + na)), where
 * before and after are the weekday-adjusted mean kWh of the MODELS_SPLIT_BEFORE days before s
 * (nb >= 7 with data) and of s .. the last closed day (na >= 4 with data). O(60).
 */
struct models_split {
	int32_t day;              /* s, the first day of the lower level */
	int32_t last_day;         /* the last closed day (end of "after") */
	double before_kwh;        /* weekday-adjusted mean kWh a day before s */
	double after_kwh;         /* ... from s on */
};

/* Fills *out and returns 1 when the history holds a drop (after < before), else returns 0. */
int models_drop_split(const struct cstate *cs, struct models_split *out);

/* Weekday of local day `day` (days since 1970-01-01): 0 = Sunday .. 6 = Saturday. */
int models_weekday(int32_t day);

#endif
