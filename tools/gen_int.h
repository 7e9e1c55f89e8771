/*
 * gen_int.h - the generator's city model, shared by tools/gen.c (options, output, ordering)
 * and tools/gen_model.c (customers, calendar, daily plans, readings, bills and payments).
 *
 * Everything random in the model is a pure function of the seed and of what it is about
 * (a customer number, a day, an interval number): the hash below replaces a sequential PRNG,
 * so any day or interval of any customer can be computed on its own, in any order. The
 * output side may therefore compute energy it never emits (the part of a first bill's
 * period before --start) and get the same numbers the readings would have had.
 */
#ifndef RISKD_GEN_INT_H
#define RISKD_GEN_INT_H

#include <stdint.h>

#include "gen.h"

#define GEN_DAY_S 86400
#define GEN_SEGMENTS 4          /* residential, commercial, industrial, agricultural */
#define GEN_ID_STRIDE 12        /* bytes per stored id digit string, NUL included */
#define GEN_DUE_DAYS 15         /* a bill is due this many days after its date */
#define GEN_MAX_DAY_EVENTS 3    /* meter events one customer can have on one day */

/* Hash streams: each random quantity draws from its own tag, so adding a draw to one part
 * of the model never shifts another. Values are fixed forever (they shape the output). */
enum gen_tag {
	GEN_TAG_CUSTOMER = 1,
	GEN_TAG_SEGMENT,
	GEN_TAG_LEVEL,
	GEN_TAG_TRANSFORMER,
	GEN_TAG_SINCE,
	GEN_TAG_BILL_DAY,
	GEN_TAG_PAYER,
	GEN_TAG_CHANNEL,
	GEN_TAG_METER,
	GEN_TAG_SHIFT,
	GEN_TAG_DAY,
	GEN_TAG_AWAY,
	GEN_TAG_INCIDENT,
	GEN_TAG_CLOCK,
	GEN_TAG_NOISE,
	GEN_TAG_QUALITY,
	GEN_TAG_AREA_LOSS,
	GEN_TAG_LOSS,
	GEN_TAG_BILL_AT,
	GEN_TAG_PAY,
	GEN_TAG_DUP,
	GEN_TAG_BAD,
	GEN_TAG_PATTERN,      /* labelled patterns: who, which, when, their parameters */
	GEN_TAG_PATTERN_INTERVAL, /* per-interval draws of a pattern */
	GEN_TAG_DISTRESS,     /* --distress-rate: who falls into payment trouble, and when */
	GEN_TAG_LOSS_SPLIT,   /* --loss-model load: an area's no-load share of its loss */
	GEN_TAG_LOSS_DAY,     /* --loss-model load: a day's winding-temperature factor */
	GEN_TAG_LOSS_NOISE,   /* --loss-model load: an interval's metering noise */
	GEN_TAG_OBSERVER,     /* --observer-set: who steals, and which attack */
	GEN_TAG_BUSINESS,     /* --business-distress: which business story, when, how strong */
	GEN_TAG_SILENT,       /* --silent-rate: whose meter goes silent, which way, when */
};

/* splitmix64's output function: a bijective 64-bit mixer with good avalanche. */
static inline uint64_t gen_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 64 random bits for (key, tag, a). */
static inline uint64_t gen_hash(uint64_t key, uint64_t tag, uint64_t a)
{
	return gen_mix(gen_mix(key + tag * 0xd1342543de82ef95ull) ^ a);
}

/* Uniform in [0, 1) from 53 bits of h. */
static inline double gen_unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Roughly standard normal from h (sum of four 16-bit uniforms, scaled): bounded to
 * [-3.47, 3.47], which keeps every noise term inside limits the capacities allow for. */
static inline double gen_normal4(uint64_t h)
{
	double sum = (double)(h & 0xffff) + (double)((h >> 16) & 0xffff) +
	             (double)((h >> 32) & 0xffff) + (double)(h >> 48);
	return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}
#define GEN_NORMAL4_MAX 3.4641016151377544

enum gen_segment {         /* gen_customer.segment; SEGMENT_* of streams/event.h minus one */
	GEN_SEG_RESIDENTIAL = 0,
	GEN_SEG_COMMERCIAL,
	GEN_SEG_INDUSTRIAL,
	GEN_SEG_AGRICULTURAL,
};

enum gen_payer {          /* a customer's payment habit */
	GEN_PAYER_PROMPT = 0, /* pays on time almost always */
	GEN_PAYER_LATE,       /* usually pays after the due date */
	GEN_PAYER_PARTIAL,    /* often pays part of a bill */
	GEN_PAYER_DEFAULTER,  /* often does not pay */
	GEN_PAYER__COUNT
};

enum gen_channel {
	GEN_CHANNEL_AUTO_DEBIT = 0,
	GEN_CHANNEL_APP,
	GEN_CHANNEL_BANK_TRANSFER,
	GEN_CHANNEL_COUNTER,
	GEN_CHANNEL__COUNT
};

/*
 * A business customer's story under --business-distress (tools/gen_business.c). Its days
 * are local days; a factor multiplies the day's mean power. active: the option is on and the
 * customer is commercial or industrial, so its bills follow the story (paid in full, at most
 * 25 days late, until stop_pay_ts; nothing from then on).
 */
struct gen_business {
	uint8_t active;
	uint8_t story;            /* enum gen_business_story */
	int8_t closed_dow;        /* weekday closed from closed_from on (0 = Sunday); -1 none */
	int32_t closed_from;      /* first day of the weekly closure (until end_day, if any) */
	int32_t closed_until;     /* first day open again (INT32_MAX: for good) */
	int32_t start_day;        /* decline or dip begins */
	int32_t end_day;          /* decline bottoms out (stop_pay_day), or the dip ends */
	int32_t stop_day;         /* a full stop from this day on; 0 none */
	int32_t stop_pay_day;     /* bills issued from this day on are not paid; 0 none */
	int64_t stop_pay_ts;      /* its first second, Unix seconds */
	double level;             /* factor at the bottom of the decline or in the dip */
};

/* A customer's fixed attributes, drawn once from (seed, customer number). */
struct gen_customer {
	uint64_t key;             /* hash key of this customer */
	double level_kw;          /* mean power on an ordinary day of the year */
	double capacity_kw;       /* contracted capacity; every reading stays well below it */
	double power_factor;      /* typical power factor of the installation */
	int64_t period_milli;     /* metered energy (milli-kWh) since the last bill date */
	uint32_t transformer;     /* index into gen_city.transformers */
	int32_t since_day;        /* customer since (days since 1970-01-01) */
	int32_t shift_slots;      /* the daily shape runs this many intervals late (or early) */
	uint8_t segment;          /* enum gen_segment */
	uint8_t bill_dom;         /* day of the month bills are issued, 1 .. 28 */
	uint8_t payer;            /* enum gen_payer */
	uint8_t channel;          /* enum gen_channel */
	uint8_t quality;          /* meter reports voltage, current and power factor */
	uint8_t three_phase;      /* three-phase supply (current is per phase) */
	/* labelled pattern (GEN_PATTERN_NONE: honest); parameters by pattern, see gen_model.c */
	uint8_t pattern;          /* enum gen_pattern */
	int32_t onset_day;        /* first local day of the pattern */
	int32_t pattern_days;     /* a length in days (ramp, vacancy, swing period) */
	int32_t pattern_s;        /* a time of day in seconds (bypass window, meter swap) */
	double pattern_a;         /* a fraction, factor or cap (see gen_pattern_params) */
	double pattern_b;
	/* payment distress (--distress-rate): bills issued from strain_ts on are paid more and
	 * more like a defaulter's, from distress_ts on exactly so; 0 = never */
	int64_t strain_ts;
	int64_t distress_ts;
	int32_t distress_day;     /* local day of distress_ts, for the credit labels */
	double catch_up;          /* --catch-up-rate: chance an unpaid rest is paid after reminders */
	struct gen_business biz;  /* --business-distress (gen_business_draw) */
};

struct gen_transformer {
	double loss_base;         /* technical loss rate of the area, 0.03 .. 0.06 */
	double capacity_kw_sum;   /* sum of its customers' capacities */
	/* --loss-model load (gen_loss_calibrate): loss power = no_load_kw + load_per_kw x P^2 at
	 * a mean power P over a transformer interval */
	double no_load_kw;
	double load_per_kw;
};

/* One local day, with the calendar factors every customer of a segment shares. */
struct gen_calendar {
	int32_t day;              /* days since 1970-01-01 (local) */
	int year, month, dom;     /* civil date */
	int dow;                  /* 0 = Sunday */
	int doy;                  /* 0 = January 1st */
	double segment_factor[GEN_SEGMENTS]; /* weekly x seasonal factor */
};

/* What happens to one customer on one day, drawn from (customer, day). */
struct gen_day_plan {
	double day_kw;             /* mean power today before the daily shape */
	int32_t window_start_s;    /* load reduced in [start, end) seconds after local midnight */
	int32_t window_end_s;      /* start == end: no reduction today */
	double window_factor;      /* share of the load still served inside the window */
	int32_t new_meter_s;       /* seconds after midnight from which the replacement meter
	                            * reports (0: all day, or no replacement: see new_meter) */
	int new_meter;             /* the replacement meter reports from new_meter_s on today */
	int n_events;
	struct {
		uint8_t code;          /* enum meter_event_code */
		int32_t at_s;          /* seconds after local midnight */
	} events[GEN_MAX_DAY_EVENTS];
};

/* One interval of one customer. */
struct gen_reading {
	int64_t true_milli;        /* energy through the service connection: what the transformer
	                            * meter sees, milli-kWh */
	int64_t metered_milli;     /* energy the customer's meter reports, milli-kWh */
	int has_quality;           /* voltage, current and power factor present */
	int32_t voltage_dv;        /* tenths of a volt */
	int32_t current_ca;        /* hundredths of an ampere */
	int32_t power_factor_m;    /* thousandths */
	int64_t reverse_milli;     /* reverse energy the meter records, milli-kWh */
	int has_reverse;           /* write reverse_kwh */
	int new_meter;             /* reported by the replacement meter (meter_id M...-2) */
	int silent;                /* the meter sends nothing (a silent pattern from its onset) */
};

/* Payments (and reversals) one bill receives, decided when the bill is issued. */
struct gen_payment_plan {
	int n;
	struct {
		int64_t ts;            /* Unix seconds */
		int64_t cents;         /* > 0 */
		int reversed;
		int64_t reversal_ts;
		uint8_t reason;        /* index into gen_reason_name */
	} pay[2];
};

struct gen_city {
	uint64_t seed;
	uint32_t n_customers;
	uint32_t n_transformers;
	int32_t interval_s;
	int32_t slots;                  /* intervals per day */
	int32_t transformer_interval_s; /* transformer readings cover this many seconds */
	int32_t transformer_slots;      /* transformer intervals per day */
	uint8_t loss_model;             /* enum gen_loss_model */
	int observer;                   /* an observer-style set (gen_observer_draw) */
	int32_t tz_offset_s;
	int32_t start_day;
	struct gen_customer *customers;
	struct gen_transformer *transformers;
	double *shape[GEN_SEGMENTS];    /* per slot, mean 1 over the day */
	char *customer_ids;             /* decimal digits of each customer number, NUL-ended */
	char *transformer_ids;          /* decimal digits of each transformer number */
	uint8_t customer_id_len;
	uint8_t transformer_id_len;
	double theft_rate;              /* labelled patterns (gen_pattern_draw) */
	double confounder_rate;
	double silent_rate;             /* --silent-rate (gen_silent_draw) */
	double distress_rate;           /* --distress-rate (gen_distress_draw) */
	double catch_up_rate;           /* --catch-up-rate (gen_payment_plan_make) */
	double business_distress;       /* --business-distress (gen_business_draw) */
	uint32_t days;
};

/* Builds the customers and transformers for opts (already validated). Aborts on OOM. */
void gen_city_build(struct gen_city *city, const struct gen_options *opts);

/* Frees what gen_city_build allocated; a zeroed city is fine. */
void gen_city_free(struct gen_city *city);

/* Fills cal for local day `day` (days since 1970-01-01). */
void gen_calendar_make(struct gen_calendar *cal, int32_t day);

/* Draws what happens to customer cust on day cal. Pure. */
void gen_day_plan_make(const struct gen_city *city, const struct gen_customer *cust,
                       const struct gen_calendar *cal, struct gen_day_plan *plan);

/*
 * Makes the reading of customer cust for interval `slot` of day cal (plan from
 * gen_day_plan_make for the same day). Pure. Every meter_reading the generator writes and every
 * kWh a bill or a transformer counts comes from here: this is the one place that later
 * changes a customer's metered energy (theft patterns) while true_milli keeps feeding the
 * transformer balance.
 */
void gen_reading_make(const struct gen_city *city, const struct gen_customer *cust,
                      const struct gen_day_plan *plan, const struct gen_calendar *cal,
                      int32_t slot, struct gen_reading *reading);

/*
 * Which labelled pattern the customer with hash key `key` follows, and from which day:
 * a pure function of the key, the rates and the run's dates, shared by the city model and
 * gen_label_of. Honest customers get GEN_PATTERN_NONE and onset 0.
 */
void gen_pattern_draw(uint64_t key, double theft_rate, double confounder_rate, int32_t start_day,
                      uint32_t days, uint8_t *pattern, int32_t *onset_day);

/*
 * Whether a customer without another pattern (*pattern GEN_PATTERN_NONE on entry) has a
 * silent meter: with probability silent_rate, half GEN_PATTERN_METER_SILENCED and half
 * GEN_PATTERN_METER_OFFLINE, from an onset day drawn as gen_pattern_draw draws it, under
 * their own stream tag (so --silent-rate 0 leaves every customer as it was). Pure.
 */
void gen_silent_draw(uint64_t key, double silent_rate, int32_t start_day, uint32_t days,
                     uint8_t *pattern, int32_t *onset_day);

/*
 * The thief of an observer-style set that customer number `customer` is (of n_customers,
 * seed `seed`): GEN_OBSERVER_THIEVES customers picked by the seed, each with a different
 * false-data-injection attack, from an onset day drawn as gen_pattern_draw draws it; the
 * others get GEN_PATTERN_NONE and onset 0. Pure; O(n_customers).
 */
void gen_observer_draw(uint64_t seed, uint32_t n_customers, uint32_t customer, int32_t start_day,
                       uint32_t days, uint8_t *pattern, int32_t *onset_day);

/*
 * Proportional loss model: technical loss rate of transformer t in transformer interval
 * interval_no (day * transformer_slots + interval of the day).
 */
double gen_transformer_loss(const struct gen_city *city, uint32_t t, int64_t interval_no);

/*
 * What transformer t reads, milli-kWh, for transformer interval `interval` of local day `day`
 * when flow_milli milli-kWh went through its customers' connections: the flow plus the
 * technical loss of the city's loss model (docs/generator.md). Pure.
 */
int64_t gen_transformer_reading(const struct gen_city *city, uint32_t t, int32_t day,
                                int32_t interval, int64_t flow_milli);

/* Load model: the day's winding-temperature factor of transformer t's load loss, and the
 * interval's metering noise as a share of the interval's energy. Pure. */
double gen_loss_day_factor(const struct gen_city *city, uint32_t t, int32_t day);
double gen_loss_noise_share(const struct gen_city *city, uint32_t t, int64_t interval_no);

/* Bill amount in cents for period_milli of metered energy under cust's tariff. */
int64_t gen_bill_amount_cents(const struct gen_customer *cust, int64_t period_milli);

/* Decides the payments of the bill of cust issued at bill_ts (month_key = year * 12 + month - 1)
 * for amount_cents. Pure. */
void gen_payment_plan_make(const struct gen_customer *cust, int32_t month_key, int64_t bill_ts,
                           int64_t amount_cents, struct gen_payment_plan *plan);

/* Unix seconds of the bill of cust issued on local day cal. */
int64_t gen_bill_ts(const struct gen_city *city, const struct gen_customer *cust,
                    const struct gen_calendar *cal);

/*
 * The business story of a customer with hash key `key` and segment `segment` under
 * --business-distress `rate` (0: none) for a run of `days` days from start_day in time zone
 * offset tz_offset_s: a pure function of its arguments, shared by the city model and
 * gen_business_of. Fills *biz (inactive when rate is 0 or the segment is not a business).
 */
void gen_business_draw(uint64_t key, uint8_t segment, double rate, int32_t start_day,
                       uint32_t days, int32_t tz_offset_s, struct gen_business *biz);

/* The factor the story applies to the day's mean power on local day cal (1.0 exactly for
 * an inactive story or a day it does not touch). */
double gen_business_factor(const struct gen_business *biz, const struct gen_calendar *cal);

/* The segment of the customer with hash key `key` (as gen_customer_make draws it). */
uint8_t gen_segment_draw(uint64_t key);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int32_t gen_days_from_civil(int year, int month, int dom);
void gen_civil_from_days(int32_t day, int *year, int *month, int *dom);

/* Contract and model names (never NULL). */
const char *gen_segment_name(unsigned segment);
const char *gen_tariff_name(unsigned segment);
const char *gen_channel_name(unsigned channel);
const char *gen_reason_name(unsigned reason);
const char *gen_code_name(unsigned code);

#endif
