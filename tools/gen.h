/*
 * gen.h - the synthetic city generator behind `riskctl gen`.
 *
 * Writes a seeded, deterministic data set of one utility's customers as JSONL (one event of
 * the event contract per line, docs/events.md): customer profiles, interval meter readings,
 * transformer readings, meter events, monthly bills, payments and payment reversals, in time
 * order, optionally sprinkled with exact duplicates and invalid lines. The data feeds the demo,
 * the benchmarks and the end-to-end suites; docs/generator.md describes what it contains.
 *
 * With --theft-rate some customers steal from a random onset day on (labelled attack
 * patterns) and others change honestly in ways that look similar (labelled confounders);
 * --labels writes who and how (gen_labels_write). --credit-labels writes, for every customer,
 * whether its payments went 90 days past due in the six months after an as-of day
 * (gen_write_credit, gen_credit_labels_write); --distress-rate makes some customers fall into
 * payment trouble during the run, --catch-up-rate makes most unpaid bills paid late after
 * reminders; --billing-only leaves the readings out.
 *
 * Determinism: the same options give byte-identical output on every run and machine. Every
 * random quantity is a pure function of (seed, what it is about, when), so a customer's
 * readings do not depend on how many other customers are generated, and the valid lines do
 * not depend on --bad-rate or --dup-rate. Without --theft-rate (and --confounder-rate) no
 * customer is labelled and the output is what it was before labelled patterns existed; without
 * --distress-rate, --catch-up-rate and --billing-only it is what it was before those existed
 * (--credit-labels only writes a file); with the default transformer interval (the meter
 * interval) and loss model (proportional) the transformer readings are what they were before
 * either option existed.
 *
 * --observer-set writes an observer-style set instead of a city: one transformer area of about
 * 30 households whose transformer meter observes their sum, GEN_OBSERVER_THIEVES of them
 * falsifying their readings with the classic false-data-injection attacks (labelled).
 */
#ifndef RISKD_GEN_H
#define RISKD_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "../streams/event.h"

/* Longest --tz name kept, without the NUL. */
#define GEN_TZ_NAME_MAX 63

/* Kinds of deliberately invalid lines written under --bad-rate. */
enum gen_bad_kind {
	GEN_BAD_NEGATIVE_KWH = 0, /* meter_reading with kwh < 0 */
	GEN_BAD_MISSING_FIELD,    /* a required field left out */
	GEN_BAD_UNKNOWN_TYPE,     /* "type" not one of the contract's types */
	GEN_BAD_TIMESTAMP,        /* "ts" not RFC 3339 with offset, or an impossible date */
	GEN_BAD_MALFORMED_JSON,   /* not parseable JSON (still one line, still names customer_id) */
	GEN_BAD_FIELD_TYPE,       /* a field of the wrong JSON type */
	GEN_BAD_UTF8,             /* invalid UTF-8 bytes inside a string value */
	GEN_BAD_UNKNOWN_FIELD,    /* a field the contract does not define */
	GEN_BAD_HUGE_KWH,         /* kwh 1e7, above any capacity and any absolute bound */
	GEN_BAD_OVERSIZED,        /* a line longer than EVENT_MAX_BYTES */
	GEN_BAD__COUNT
};

/*
 * What a customer does from its onset day on (docs/generator.md, "Labelled patterns").
 * Attacks lower what the meter reports while the energy still flows through the
 * transformer; confounders are honest changes that a detector must not call theft.
 */
enum gen_pattern {
	GEN_PATTERN_NONE = 0,          /* honest, unlabelled */
	/* attacks */
	GEN_PATTERN_CONSTANT_FRACTION, /* the meter reports a * x, a in [0.2, 0.8] */
	GEN_PATTERN_RANDOM_FRACTION,   /* each interval a fresh fraction in [lo, lo + 0.5] */
	GEN_PATTERN_PARTIAL_BYPASS,    /* zero for 3-8 fixed hours every day */
	GEN_PATTERN_PEAK_CLIPPING,     /* min(x, cap), cap 0.6-1.2 x the mean power */
	GEN_PATTERN_SLOW_RAMP,         /* the reported share falls to 0.3-0.6 over 4-8 weeks */
	GEN_PATTERN_FULL_BYPASS,       /* zero, with a tamper meter_event near the onset */
	GEN_PATTERN_METER_REVERSED,    /* energy recorded as reverse_kwh, kwh 0 */
	/* confounders */
	GEN_PATTERN_VACANCY,           /* 2-8% of the load for 7-21 days, then back */
	GEN_PATTERN_HOUSEHOLD_CHANGE,  /* a permanent step: x0.45-0.7 or x1.4-2.0 */
	GEN_PATTERN_SEASONAL_SWING,    /* a 30-60% swing down or up over a 90-180 day cycle */
	GEN_PATTERN_METER_REPLACED,    /* meter_replaced event, new meter_id, a short gap */
	/* false-data-injection attacks of the observer-style set (--observer-set) */
	GEN_PATTERN_FDI_SCALE,         /* a * x, a in [0.1, 0.8] */
	GEN_PATTERN_FDI_ON_OFF,        /* 0 during a 4-12 hour period of each day, x otherwise */
	GEN_PATTERN_FDI_SUBTRACT,      /* max(x - c, 0), c 0.3-0.8 x the mean power */
	GEN_PATTERN_FDI_RANDOM_SCALE,  /* a fresh a in [0.1, 0.8] per interval, times x */
	GEN_PATTERN_FDI_MEAN_RANDOM,   /* a fresh a in [0.1, 0.8] per interval, times the day's mean */
	GEN_PATTERN_FDI_REVERSE_DAY,   /* the day's readings in reversed order */
	/* silent meters (--silent-rate): the meter sends no reading from the onset on */
	GEN_PATTERN_METER_SILENCED,    /* attack: the meter is cut off, the house takes its usual
	                                  load past it (the area's loss rises by it) */
	GEN_PATTERN_METER_OFFLINE,     /* confounder: the meter lost communication on a house
	                                  that takes nothing (the area's loss unchanged) */
	GEN_PATTERN__COUNT
};
#define GEN_PATTERN_FIRST_ATTACK GEN_PATTERN_CONSTANT_FRACTION
#define GEN_PATTERN_FIRST_CONFOUNDER GEN_PATTERN_VACANCY
#define GEN_PATTERN_FIRST_FDI GEN_PATTERN_FDI_SCALE
#define GEN_PATTERN_FIRST_SILENT GEN_PATTERN_METER_SILENCED
#define GEN_PATTERN_FDI_COUNT (GEN_PATTERN_FIRST_SILENT - GEN_PATTERN_FIRST_FDI)
/* Thieves of an observer-style set. */
#define GEN_OBSERVER_THIEVES 5

/* Technical-loss model of the transformer readings (docs/generator.md). */
enum gen_loss_model {
	GEN_LOSS_PROPORTIONAL = 0, /* a fixed rate per area (3-6%) +-0.5% per interval */
	GEN_LOSS_LOAD,             /* a no-load part plus a part growing with the load squared */
};

/* What happens to a business (commercial or industrial customer) under --business-distress
 * (docs/generator.md, "Business stories"). */
enum gen_business_story {
	GEN_BUSINESS_NONE = 0,         /* business as usual */
	GEN_BUSINESS_DECLINE,          /* consumption declines for 1-6 months, then bills go unpaid */
	GEN_BUSINESS_SILENT_DEFAULT,   /* bills go unpaid without any change in consumption */
	GEN_BUSINESS_SEASONAL_DIP,     /* a dip of 4-10 weeks at the same time every year; pays */
	GEN_BUSINESS_ONE_OFF_DIP,      /* one dip of 2-6 weeks to 35-70%; pays */
	GEN_BUSINESS_CLOSURE,          /* closed 1-3 weeks once (works, holidays); pays */
	GEN_BUSINESS__COUNT
};

/* The business ground truth of one customer (gen_business_of). */
struct gen_business_label {
	uint8_t segment;           /* enum gen_segment order: 0 residential .. 3 agricultural */
	uint8_t story;             /* enum gen_business_story */
	int32_t start_day;         /* decline, dip or closure begins (local day); 0 for NONE */
	int32_t stop_pay_day;      /* bills issued from this day on are not paid; 0 none */
};

/* Ground truth of one customer. */
struct gen_label {
	uint32_t customer;         /* customer number, 0-based: its id is C + (customer + 1) */
	enum gen_pattern pattern;  /* GEN_PATTERN_NONE for honest customers */
	int confounder;            /* 1 for the honest changes, 0 for attacks and NONE */
	int32_t onset_day;         /* first local day of the pattern (days since 1970-01-01) */
};

struct gen_options {
	uint32_t customers;        /* --customers, 1 .. 10,000,000; default 1000 */
	uint32_t days;             /* --days, 1 .. 3660; default 30 */
	uint64_t seed;             /* --seed, any 64-bit value; default 1 */
	int32_t start_day;         /* --start as days since 1970-01-01; default 2026-01-01 */
	int32_t interval_s;        /* --interval-s, a divisor of 86400 >= 60; default 1800 */
	int32_t transformer_interval_s; /* --transformer-interval-s: a multiple of interval_s that
	                              divides 86400; 0 (default) = interval_s */
	uint8_t loss_model;        /* --loss-model, enum gen_loss_model; default proportional */
	int observer_set;          /* --observer-set: one area, GEN_OBSERVER_THIEVES thieves with
	                              false-data-injection attacks; customers default 30, days 60 */
	int32_t tz_offset_s;       /* UTC offset of --tz in seconds; default +28800 */
	char tz_name[GEN_TZ_NAME_MAX + 1]; /* --tz as given; default "Asia/Shanghai" */
	double bad_rate;           /* --bad-rate, 0 .. 1; default 0 */
	double dup_rate;           /* --dup-rate, 0 .. 1; default 0 */
	uint32_t transformers;     /* --transformers, 0 = ceil(customers / 40); default 0 */
	double theft_rate;         /* --theft-rate, 0 .. 1: share of customers attacking; 0 */
	double confounder_rate;    /* --confounder-rate, 0 .. 1; default: the theft rate */
	int confounder_rate_set;   /* --confounder-rate was given */
	double silent_rate;        /* --silent-rate, 0 .. 1: share of the customers without
	                              another pattern whose meter goes silent (half thieves,
	                              half lost communication); default 0 */
	const char *labels_path;   /* --labels FILE (points into argv); NULL = none */
	double distress_rate;      /* --distress-rate, 0 .. 1: share of customers who fall into
	                              payment trouble (labelled in the credit labels); 0 */
	double catch_up_rate;      /* --catch-up-rate, 0 .. 1: chance that a bill left (partly)
	                              unpaid is paid 40-85 days after its due date; 0 */
	const char *credit_labels_path; /* --credit-labels FILE (points into argv); NULL = none */
	int32_t credit_as_of;      /* --credit-as-of as days since 1970-01-01 (credit_as_of_set) */
	int credit_as_of_set;      /* --credit-as-of was given; default: gen_credit_as_of */
	int billing_only;          /* --billing-only: profiles, bills, payments, reversals only */
	double business_distress;  /* --business-distress, 0 .. 1: share of the commercial and
	                              industrial customers whose business declines before their
	                              bills go unpaid (as many have dips and pay); 0 */
	int help;                  /* --help or -h was given: print usage, generate nothing */
};

/* A credit label looks this many days past the as-of day ("the next six months") ... */
#define GEN_CREDIT_WINDOW_DAYS 182
/* ... for this many days past due ("default"). */
#define GEN_CREDIT_DPD 90

/* Credit ground truth of one customer (--credit-labels): what its generated bills, payments
 * and reversals did around the as-of day, measured with riskd's own payment arithmetic
 * (scoring/payments.h). */
struct gen_credit_label {
	uint8_t segment;           /* enum segment */
	uint8_t habit;             /* payment habit, named by gen_habit_name */
	int32_t dpd_as_of;         /* days past due on the as-of day */
	int32_t distress_day;      /* first day of payment distress (--distress-rate); 0 none */
	int bad;                   /* 1: reached GEN_CREDIT_DPD days past due on a day of
	                              (as-of, as-of + GEN_CREDIT_WINDOW_DAYS]; 0: did not;
	                              -1: already that far past due on the as-of day */
};

struct gen_stats {
	uint64_t events[EVENT_TYPE__COUNT];  /* valid events written, by type, first copies only */
	uint64_t duplicates;                 /* extra exact copies of valid lines (--dup-rate) */
	uint64_t bad_lines;                  /* invalid lines (--bad-rate) */
	uint64_t bad_by_kind[GEN_BAD__COUNT];
	uint64_t lines;                      /* every line written: valid + duplicates + bad */
	uint64_t bytes;                      /* every byte written */
	uint32_t customers;                  /* customers generated */
	uint32_t transformers;               /* transformers generated (after the default applied) */
	uint32_t patterns[GEN_PATTERN__COUNT]; /* customers by labelled pattern (NONE: honest) */
};

/* Fills opts with the defaults listed in struct gen_options. */
void gen_options_init(struct gen_options *opts);

/*
 * Parses `gen` command-line options into opts, which the caller initialised with
 * gen_options_init. argv[0] is the subcommand name and is skipped; both "--name value" and
 * "--name=value" are accepted. "--help"/"-h" sets opts->help and stops parsing.
 * Returns 0, or RISKD_ERR_INVALID / RISKD_ERR_RANGE with a one-line message naming the option,
 * the value and what is allowed (for example "--interval-s 7000: must divide 86400").
 * On error opts is partly updated and must not be used.
 */
int gen_options_parse(struct gen_options *opts, int argc, char **argv, char *errstr,
                      size_t errstr_size);

/*
 * Generates the data set described by opts and writes it to out as JSONL.
 *   opts    validated options (gen_options_parse's checks are repeated here)
 *   out     an open stream; written in large chunks and flushed before returning; not closed
 *   stats   when not NULL, receives the counts of what was written (zeroed first)
 * Returns 0, RISKD_ERR_INVALID/RISKD_ERR_RANGE for bad options, or RISKD_ERR_IO when out
 * refuses a write (stats then count what was formatted up to the failure).
 * Allocates memory proportional to customers + transformers; single-threaded.
 */
int gen_write(const struct gen_options *opts, FILE *out, struct gen_stats *stats, char *errstr,
              size_t errstr_size);

/* Writes the end-of-run summary (counts by type, bad lines by kind, duplicates) to out. */
void gen_stats_print(const struct gen_stats *stats, const struct gen_options *opts, FILE *out);

/* Writes the option summary of `riskctl gen` to out. */
void gen_usage_print(FILE *out);

/* Short constant name of a bad-line kind ("negative_kwh", ...). Never NULL. */
const char *gen_bad_kind_name(enum gen_bad_kind kind);

/* Name of a pattern as the labels file writes it ("constant_fraction", ..., "none").
 * Never NULL. */
const char *gen_pattern_name(enum gen_pattern pattern);

/* Whether a pattern is an honest change (a labelled confounder): vacancy .. meter_replaced,
 * meter_offline. */
int gen_pattern_confounder(enum gen_pattern pattern);

/* The confounder share that applies: --confounder-rate if given, else the theft rate. */
double gen_confounder_rate(const struct gen_options *opts);

/* The transformer reading interval that applies: --transformer-interval-s if given, else
 * --interval-s. */
int32_t gen_transformer_interval(const struct gen_options *opts);

/* Name of a technical-loss model as --loss-model spells it ("proportional", "load").
 * Never NULL. */
const char *gen_loss_model_name(unsigned model);

/*
 * The ground truth of customer number `customer` (0-based, < opts->customers) under opts:
 * its pattern and onset day. Pure and cheap (no city is built): the same answer gen_write
 * acts on. Honest customers get GEN_PATTERN_NONE (onset_day 0).
 */
void gen_label_of(const struct gen_options *opts, uint32_t customer, struct gen_label *label);

/*
 * Writes the labels file: the CSV header `customer_id,pattern,confounder,onset_day`, then
 * one row per labelled customer in customer order, e.g. `C000042,full_bypass,false,2026-01-29`
 * (honest customers are not listed). Returns 0, or RISKD_ERR_IO when out refuses a write, or
 * the option errors of gen_write.
 */
int gen_labels_write(const struct gen_options *opts, FILE *out, char *errstr,
                     size_t errstr_size);

/* The as-of day of the credit labels: --credit-as-of, else the last day of the run minus
 * GEN_CREDIT_WINDOW_DAYS. */
int32_t gen_credit_as_of(const struct gen_options *opts);

/* The business story of customer number `customer` under opts (pure and cheap, as
 * gen_label_of). */
void gen_business_of(const struct gen_options *opts, uint32_t customer,
                     struct gen_business_label *label);

/* Name of a business story: "none", "decline", "silent_default", "seasonal_dip",
 * "one_off_dip", "closure". Never NULL. */
const char *gen_business_name(unsigned story);

/* The first day a business story may stop paying, counted from --start: a year of history
 * to compare with, and the weeks a warning needs. --business-distress needs --days of at
 * least GEN_BUSINESS_MIN_DAYS. */
#define GEN_BUSINESS_FIRST_STOP 450
#define GEN_BUSINESS_MIN_DAYS 550

/* Name of a payment habit: "prompt", "late", "partial", "defaulter". Never NULL. */
const char *gen_habit_name(unsigned habit);

/*
 * gen_write that also fills labels[0 .. opts->customers) with each customer's credit ground
 * truth (labels may be NULL: then it is gen_write). The output does not depend on labels.
 */
int gen_write_credit(const struct gen_options *opts, FILE *out, struct gen_stats *stats,
                     struct gen_credit_label *labels, char *errstr, size_t errstr_size);

/*
 * Writes the credit labels file: the CSV header `customer_id,segment,habit,distress_day,as_of,
 * days_past_due,bad`, then one row per customer in customer order, e.g.
 * `C000042,residential,late,2026-05-14,2026-07-02,0,1` (distress_day empty without
 * distress); bad is empty for a customer already GEN_CREDIT_DPD days past due on the as-of
 * day. Returns 0 or RISKD_ERR_IO.
 */
int gen_credit_labels_write(const struct gen_options *opts, const struct gen_credit_label *labels,
                            FILE *out, char *errstr, size_t errstr_size);

/*
 * `riskctl gen` entry point: parses options (argv[0] = "gen"), writes the data set to stdout,
 * the labels to the --labels file if given, and the summary to stderr. Returns the process exit status: 0 success, 2 bad options,
 * 1 write failure.
 */
int gen_main(int argc, char **argv);

#endif
