/*
 * gen.c - `riskctl gen`: options, the walk over the city in time order, JSONL formatting,
 * duplicate and invalid lines, and the end-of-run summary.
 *
 * Output order is the order of a live stream: all customer profiles at the start, then for
 * every interval the readings of every customer, the transformer readings of the transformer
 * interval it starts (their energy computed ahead when a transformer interval covers several
 * meter intervals), and the sparse events (meter events, bills, payments, reversals) whose
 * time falls inside it, oldest first. Sparse events are decided ahead of time (a bill decides its payments)
 * and wait in a min-heap ordered by (ts, insertion number) until their interval comes.
 *
 * Lines are formatted by hand into one large buffer and written in chunks of megabytes;
 * there is no allocation per event. The model itself lives in tools/gen_model.c.
 */
#include "gen.h"
#include "gen_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../config/riskd_base.h"
#include "riskctl.h"
#include "../scoring/payments.h"

#define GEN_OUT_CAP ((size_t)4 << 20)     /* output buffer */
#define GEN_OUT_RESERVE ((size_t)64 << 10) /* kept free: one event, its copy and a bad line */
#define GEN_OVERSIZED_PAD 9000             /* padding of an oversized line (> EVENT_MAX_BYTES) */
#define GEN_MAX_CUSTOMERS 10000000u
#define GEN_MAX_TRANSFORMERS 1000000u
#define GEN_MAX_DAYS 3660u
#define GEN_NO_CUSTOMER UINT32_MAX
/* An observer-style set: customers and days unless --customers and --days say otherwise. */
#define GEN_OBSERVER_CUSTOMERS 30u
#define GEN_OBSERVER_DAYS 60u
#define GEN_OBSERVER_MIN_CUSTOMERS (2u * GEN_OBSERVER_THIEVES)
#define GEN_OBSERVER_MAX_CUSTOMERS 1000u

/* ---- time zones ---------------------------------------------------------------------- */

/* Zones whose UTC offset is the same all year. Zones with daylight saving time are not
 * offered: readings would need 23- and 25-hour days. */
static const struct {
	const char *name;
	int32_t offset_s;
} gen_zones[] = {
	{"UTC", 0},                      {"Etc/UTC", 0},
	{"GMT", 0},                      {"Asia/Shanghai", 8 * 3600},
	{"Asia/Chongqing", 8 * 3600},    {"Asia/Hong_Kong", 8 * 3600},
	{"Asia/Macau", 8 * 3600},        {"Asia/Taipei", 8 * 3600},
	{"Asia/Singapore", 8 * 3600},    {"Asia/Kuala_Lumpur", 8 * 3600},
	{"Asia/Manila", 8 * 3600},       {"Asia/Urumqi", 6 * 3600},
	{"Asia/Tokyo", 9 * 3600},        {"Asia/Seoul", 9 * 3600},
	{"Asia/Kolkata", 5 * 3600 + 1800}, {"Asia/Dubai", 4 * 3600},
	{"Asia/Bangkok", 7 * 3600},      {"Asia/Jakarta", 7 * 3600},
	{"Asia/Ho_Chi_Minh", 7 * 3600},  {"Europe/Moscow", 3 * 3600},
	{"Europe/Istanbul", 3 * 3600},   {"Africa/Nairobi", 3 * 3600},
	{"Africa/Johannesburg", 2 * 3600}, {"Africa/Cairo", 2 * 3600},
	{"Africa/Lagos", 1 * 3600},      {"America/Sao_Paulo", -3 * 3600},
	{"America/Bogota", -5 * 3600},   {"America/Lima", -5 * 3600},
	{"America/Mexico_City", -6 * 3600},
};

static int gen_tz_parse(const char *s, int32_t *offset_s)
{
	for (size_t i = 0; i < sizeof(gen_zones) / sizeof(gen_zones[0]); i++) {
		if (strcmp(s, gen_zones[i].name) == 0) {
			*offset_s = gen_zones[i].offset_s;
			return 0;
		}
	}
	/* A fixed offset "+HH:MM" / "-HH:MM". */
	if (strlen(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':') {
		for (int i = 1; i < 6; i++)
			if (i != 3 && (s[i] < '0' || s[i] > '9'))
				return RISKD_ERR_INVALID;
		int hh = (s[1] - '0') * 10 + (s[2] - '0');
		int mm = (s[4] - '0') * 10 + (s[5] - '0');
		if (hh > 14 || mm > 59)
			return RISKD_ERR_INVALID;
		*offset_s = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
		return 0;
	}
	return RISKD_ERR_INVALID;
}

/* ---- options ------------------------------------------------------------------------- */

static char *gen_put_date(char *p, int32_t day);

void gen_options_init(struct gen_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->customers = 1000;
	opts->days = 30;
	opts->seed = 1;
	opts->start_day = gen_days_from_civil(2026, 1, 1);
	opts->interval_s = 1800;
	opts->tz_offset_s = 8 * 3600;
	memcpy(opts->tz_name, "Asia/Shanghai", sizeof("Asia/Shanghai"));
}

static int gen_parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return RISKD_ERR_INVALID;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return RISKD_ERR_INVALID;
	*out = v;
	return 0;
}

static int gen_parse_date(const char *s, int32_t *day)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return RISKD_ERR_INVALID;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return RISKD_ERR_INVALID;
	int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int month = (s[5] - '0') * 10 + (s[6] - '0');
	int dom = (s[8] - '0') * 10 + (s[9] - '0');
	if (month < 1 || month > 12 || dom < 1)
		return RISKD_ERR_INVALID;
	int32_t d = gen_days_from_civil(year, month, dom);
	int y2, m2, d2;
	gen_civil_from_days(d, &y2, &m2, &d2);
	if (y2 != year || m2 != month || d2 != dom) /* February 30th and the like */
		return RISKD_ERR_INVALID;
	*day = d;
	return 0;
}

/* Checks the option values themselves (shared by the parser and gen_write). */
static int gen_options_check(const struct gen_options *opts, char *errstr, size_t errstr_size)
{
	if (opts->customers < 1 || opts->customers > GEN_MAX_CUSTOMERS) {
		snprintf(errstr, errstr_size, "--customers %u: must be 1 .. %u", opts->customers,
		         GEN_MAX_CUSTOMERS);
		return RISKD_ERR_RANGE;
	}
	if (opts->days < 1 || opts->days > GEN_MAX_DAYS) {
		snprintf(errstr, errstr_size, "--days %u: must be 1 .. %u", opts->days, GEN_MAX_DAYS);
		return RISKD_ERR_RANGE;
	}
	if (opts->interval_s < 60 || opts->interval_s > GEN_DAY_S ||
	    GEN_DAY_S % opts->interval_s != 0) {
		if (opts->interval_s > 0)
			snprintf(errstr, errstr_size, "--interval-s %d: %s", (int)opts->interval_s,
			         "must divide 86400 and be at least 60 (e.g. 900, 1800, 3600, 86400)");
		else
			snprintf(errstr, errstr_size, "--interval-s: %s",
			         "must divide 86400 and be at least 60 (e.g. 900, 1800, 3600, 86400)");
		return RISKD_ERR_RANGE;
	}
	int32_t transformer_s = gen_transformer_interval(opts);
	if (transformer_s <= 0 || transformer_s > GEN_DAY_S || GEN_DAY_S % transformer_s != 0 ||
	    transformer_s % opts->interval_s != 0) {
		char given[16] = "";
		if (opts->transformer_interval_s > 0)
			snprintf(given, sizeof(given), " %d", (int)opts->transformer_interval_s);
		snprintf(errstr, errstr_size, "--transformer-interval-s%s: must be a multiple of "
		         "--interval-s (%d) that divides 86400 (e.g. 3600 or 86400)", given,
		         (int)opts->interval_s);
		return RISKD_ERR_RANGE;
	}
	if (opts->loss_model > GEN_LOSS_LOAD) {
		snprintf(errstr, errstr_size, "--loss-model: must be proportional or load");
		return RISKD_ERR_INVALID;
	}
	if (opts->observer_set) {
		if (opts->theft_rate > 0.0 || gen_confounder_rate(opts) > 0.0 || opts->silent_rate > 0.0) {
			snprintf(errstr, errstr_size, "--observer-set: its %d thieves are fixed; --theft-rate, "
			         "--confounder-rate and --silent-rate do not apply", GEN_OBSERVER_THIEVES);
			return RISKD_ERR_INVALID;
		}
		if (opts->transformers > 1) {
			snprintf(errstr, errstr_size, "--observer-set: one area; --transformers %u does "
			         "not apply", opts->transformers);
			return RISKD_ERR_INVALID;
		}
		if (opts->customers < GEN_OBSERVER_MIN_CUSTOMERS ||
		    opts->customers > GEN_OBSERVER_MAX_CUSTOMERS) {
			snprintf(errstr, errstr_size, "--observer-set: --customers %u: must be %u .. %u",
			         opts->customers, GEN_OBSERVER_MIN_CUSTOMERS, GEN_OBSERVER_MAX_CUSTOMERS);
			return RISKD_ERR_RANGE;
		}
	}
	if (opts->start_day < gen_days_from_civil(2000, 1, 1) ||
	    opts->start_day > gen_days_from_civil(2199, 12, 31)) {
		snprintf(errstr, errstr_size, "--start: must be 2000-01-01 .. 2199-12-31");
		return RISKD_ERR_RANGE;
	}
	if (opts->tz_offset_s < -14 * 3600 || opts->tz_offset_s > 14 * 3600 ||
	    opts->tz_offset_s % 60 != 0) {
		snprintf(errstr, errstr_size, "--tz: offset %d s out of range", (int)opts->tz_offset_s);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->bad_rate >= 0.0 && opts->bad_rate <= 1.0)) {
		snprintf(errstr, errstr_size, "--bad-rate %g: must be 0 .. 1", opts->bad_rate);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->dup_rate >= 0.0 && opts->dup_rate <= 1.0)) {
		snprintf(errstr, errstr_size, "--dup-rate %g: must be 0 .. 1", opts->dup_rate);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->theft_rate >= 0.0 && opts->theft_rate <= 1.0)) {
		snprintf(errstr, errstr_size, "--theft-rate %g: must be 0 .. 1", opts->theft_rate);
		return RISKD_ERR_RANGE;
	}
	if (!(gen_confounder_rate(opts) >= 0.0 && gen_confounder_rate(opts) <= 1.0)) {
		snprintf(errstr, errstr_size, "--confounder-rate %g: must be 0 .. 1",
		         gen_confounder_rate(opts));
		return RISKD_ERR_RANGE;
	}
	if (opts->theft_rate + gen_confounder_rate(opts) > 1.0) {
		snprintf(errstr, errstr_size,
		         "--theft-rate %g plus --confounder-rate %g: must be at most 1 (the confounder "
		         "rate defaults to the theft rate)", opts->theft_rate, gen_confounder_rate(opts));
		return RISKD_ERR_RANGE;
	}
	if (opts->transformers > GEN_MAX_TRANSFORMERS) {
		snprintf(errstr, errstr_size, "--transformers %u: must be 1 .. %u", opts->transformers,
		         GEN_MAX_TRANSFORMERS);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->distress_rate >= 0.0 && opts->distress_rate <= 1.0)) {
		snprintf(errstr, errstr_size, "--distress-rate %g: must be 0 .. 1", opts->distress_rate);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->business_distress >= 0.0 && opts->business_distress <= 0.5)) {
		snprintf(errstr, errstr_size, "--business-distress %g: must be 0 .. 0.5 (as many "
		         "businesses again are healthy look-alikes)", opts->business_distress);
		return RISKD_ERR_RANGE;
	}
	if (opts->business_distress > 0.0 &&
	    (opts->observer_set || opts->days < GEN_BUSINESS_MIN_DAYS)) {
		snprintf(errstr, errstr_size, opts->observer_set ?
		         "--business-distress: an observer-style set has no businesses" :
		         "--business-distress: needs --days %d or more (a year of history before the "
		         "first default), got %u", GEN_BUSINESS_MIN_DAYS, opts->days);
		return RISKD_ERR_RANGE;
	}
	if (!(opts->catch_up_rate >= 0.0 && opts->catch_up_rate <= 1.0)) {
		snprintf(errstr, errstr_size, "--catch-up-rate %g: must be 0 .. 1", opts->catch_up_rate);
		return RISKD_ERR_RANGE;
	}
	if (opts->credit_as_of_set && !opts->credit_labels_path) {
		snprintf(errstr, errstr_size, "--credit-as-of: only used with --credit-labels");
		return RISKD_ERR_INVALID;
	}
	if (opts->credit_labels_path) {
		int32_t last = opts->start_day + (int32_t)opts->days - 1;
		int32_t as_of = gen_credit_as_of(opts);
		if (as_of < opts->start_day || as_of > last - GEN_CREDIT_WINDOW_DAYS) {
			char first_text[16], last_text[16];
			*gen_put_date(first_text, opts->start_day) = '\0';
			*gen_put_date(last_text, last - GEN_CREDIT_WINDOW_DAYS) = '\0';
			if (opts->credit_as_of_set)
				snprintf(errstr, errstr_size, "--credit-as-of: must be %s .. %s, so that the %d "
				         "days after it lie inside the run", first_text, last_text,
				         GEN_CREDIT_WINDOW_DAYS);
			else
				snprintf(errstr, errstr_size, "--credit-labels: --days %u is too short: the "
				         "labels look %d days past the as-of day (use at least --days %d)",
				         opts->days, GEN_CREDIT_WINDOW_DAYS, GEN_CREDIT_WINDOW_DAYS + 1);
			return RISKD_ERR_RANGE;
		}
	}
	return 0;
}

int32_t gen_credit_as_of(const struct gen_options *opts)
{
	if (opts->credit_as_of_set)
		return opts->credit_as_of;
	return opts->start_day + (int32_t)opts->days - 1 - GEN_CREDIT_WINDOW_DAYS;
}

/* Sets the option `name` (known, takes a value) from its text `value`. Returns 0 or
 * RISKD_ERR_INVALID / RISKD_ERR_RANGE with a message naming the option. */
static int gen_option_set(struct gen_options *opts, const char *name, const char *value,
                          char *errstr, size_t errstr_size)
{
	uint64_t n;
	if (strcmp(name, "--loss-model") == 0) {
		if (strcmp(value, "proportional") == 0) {
			opts->loss_model = GEN_LOSS_PROPORTIONAL;
		} else if (strcmp(value, "load") == 0) {
			opts->loss_model = GEN_LOSS_LOAD;
		} else {
			snprintf(errstr, errstr_size, "--loss-model '%s': must be proportional or load",
			         value);
			return RISKD_ERR_INVALID;
		}
	} else if (strcmp(name, "--transformer-interval-s") == 0) {
		if (gen_parse_u64(value, &n) != 0) {
			snprintf(errstr, errstr_size, "%s '%s': not a whole number", name, value);
			return RISKD_ERR_INVALID;
		}
		/* 0 and values above a day are reported by gen_options_check below */
		opts->transformer_interval_s = n >= 1 && n <= GEN_DAY_S ? (int32_t)n : -1;
	} else if (strcmp(name, "--customers") == 0 || strcmp(name, "--days") == 0 ||
	           strcmp(name, "--interval-s") == 0 || strcmp(name, "--transformers") == 0) {
		if (gen_parse_u64(value, &n) != 0) {
			snprintf(errstr, errstr_size, "%s '%s': not a whole number", name, value);
			return RISKD_ERR_INVALID;
		}
		if (n > UINT32_MAX || (n == 0 && strcmp(name, "--transformers") == 0)) {
			snprintf(errstr, errstr_size, "%s %s: out of range", name, value);
			return RISKD_ERR_RANGE;
		}
		if (name[2] == 'c')
			opts->customers = (uint32_t)n;
		else if (name[2] == 'd')
			opts->days = (uint32_t)n;
		else if (name[2] == 't')
			opts->transformers = (uint32_t)n;
		else if (n <= GEN_DAY_S)
			opts->interval_s = (int32_t)n;
		else
			opts->interval_s = -1; /* reported by gen_options_check below */
	} else if (strcmp(name, "--seed") == 0) {
		if (gen_parse_u64(value, &opts->seed) != 0) {
			snprintf(errstr, errstr_size, "--seed '%s': must be 0 .. 18446744073709551615",
			         value);
			return RISKD_ERR_INVALID;
		}
	} else if (strcmp(name, "--start") == 0) {
		if (gen_parse_date(value, &opts->start_day) != 0) {
			snprintf(errstr, errstr_size, "--start '%s': not a date YYYY-MM-DD", value);
			return RISKD_ERR_INVALID;
		}
	} else if (strcmp(name, "--tz") == 0) {
		if (strlen(value) > GEN_TZ_NAME_MAX || gen_tz_parse(value, &opts->tz_offset_s) != 0) {
			snprintf(errstr, errstr_size,
			         "--tz '%s': unknown; use UTC, a fixed offset like +08:00, or a zone "
			         "without daylight saving time such as Asia/Shanghai", value);
			return RISKD_ERR_INVALID;
		}
		memcpy(opts->tz_name, value, strlen(value) + 1);
	} else if (strcmp(name, "--labels") == 0 || strcmp(name, "--credit-labels") == 0) {
		if (*value == '\0') {
			snprintf(errstr, errstr_size, "%s: missing file name", name);
			return RISKD_ERR_INVALID;
		}
		if (name[2] == 'l')
			opts->labels_path = value;
		else
			opts->credit_labels_path = value;
	} else if (strcmp(name, "--credit-as-of") == 0) {
		if (gen_parse_date(value, &opts->credit_as_of) != 0) {
			snprintf(errstr, errstr_size, "--credit-as-of '%s': not a date YYYY-MM-DD",
			         value);
			return RISKD_ERR_INVALID;
		}
		opts->credit_as_of_set = 1;
	} else { /* a rate: --bad-rate, --dup-rate, --theft-rate, --confounder-rate,
	          * --distress-rate, --catch-up-rate */
		char *end;
		errno = 0;
		double rate = strtod(value, &end);
		if (errno || end == value || *end || !(rate >= 0.0 && rate <= 1.0)) {
			snprintf(errstr, errstr_size, "%s '%s': must be a number 0 .. 1", name, value);
			return RISKD_ERR_RANGE;
		}
		if (strcmp(name, "--distress-rate") == 0) {
			opts->distress_rate = rate;
		} else if (strcmp(name, "--business-distress") == 0) {
			opts->business_distress = rate;
		} else if (strcmp(name, "--catch-up-rate") == 0) {
			opts->catch_up_rate = rate;
		} else if (strcmp(name, "--silent-rate") == 0) {
			opts->silent_rate = rate;
		} else if (name[2] == 'b') {
			opts->bad_rate = rate;
		} else if (name[2] == 'd') {
			opts->dup_rate = rate;
		} else if (name[2] == 't') {
			opts->theft_rate = rate;
		} else {
			opts->confounder_rate = rate;
			opts->confounder_rate_set = 1;
		}
	}
	return 0;
}

int gen_options_parse(struct gen_options *opts, int argc, char **argv, char *errstr,
                      size_t errstr_size)
{
	int customers_given = 0, days_given = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			opts->help = 1;
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(errstr, errstr_size, "unexpected argument '%s'", arg);
			return RISKD_ERR_INVALID;
		}
		/* "--name=value" or "--name value" */
		char name[32];
		const char *value;
		const char *eq = strchr(arg, '=');
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		if (name_len >= sizeof(name)) {
			snprintf(errstr, errstr_size, "unknown option '%s'", arg);
			return RISKD_ERR_INVALID;
		}
		memcpy(name, arg, name_len);
		name[name_len] = '\0';
		static const char *const known[] = {
			"--customers", "--days", "--seed", "--start", "--interval-s", "--tz",
			"--bad-rate", "--dup-rate", "--transformers", "--labels", "--theft-rate",
			"--confounder-rate", "--credit-labels", "--credit-as-of", "--billing-only",
			"--distress-rate", "--catch-up-rate", "--transformer-interval-s", "--loss-model",
			"--observer-set", "--business-distress", "--silent-rate",
		};
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], name) != 0)
			k++;
		if (k == sizeof(known) / sizeof(known[0])) {
			snprintf(errstr, errstr_size, "unknown option '%s'", name);
			return RISKD_ERR_INVALID;
		}
		if (strcmp(name, "--billing-only") == 0 || strcmp(name, "--observer-set") == 0) {
			if (eq) { /* a flag: no value */
				snprintf(errstr, errstr_size, "%s takes no value", name);
				return RISKD_ERR_INVALID;
			}
			if (name[2] == 'b')
				opts->billing_only = 1;
			else
				opts->observer_set = 1;
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			snprintf(errstr, errstr_size, "%s: missing value", name);
			return RISKD_ERR_INVALID;
		}

		customers_given |= strcmp(name, "--customers") == 0;
		days_given |= strcmp(name, "--days") == 0;
		int err = gen_option_set(opts, name, value, errstr, errstr_size);
		if (err)
			return err;
	}
	if (opts->observer_set && !customers_given)
		opts->customers = GEN_OBSERVER_CUSTOMERS;
	if (opts->observer_set && !days_given)
		opts->days = GEN_OBSERVER_DAYS;
	return gen_options_check(opts, errstr, errstr_size);
}

int32_t gen_transformer_interval(const struct gen_options *opts)
{
	return opts->transformer_interval_s ? opts->transformer_interval_s : opts->interval_s;
}

const char *gen_loss_model_name(unsigned model)
{
	static const char *const names[] = {
		[GEN_LOSS_PROPORTIONAL] = "proportional",
		[GEN_LOSS_LOAD] = "load",
	};
	return model < sizeof(names) / sizeof(names[0]) ? names[model] : "unknown";
}

void gen_usage_print(FILE *out)
{
	fputs("usage: riskctl gen [options] > city.jsonl\n"
	      "Writes a synthetic, seeded city as JSONL events (docs/generator.md).\n"
	      "  --customers N      customers (default 1000)\n"
	      "  --days D           days of data (default 30)\n"
	      "  --seed S           random seed, 0 .. 2^64-1 (default 1)\n"
	      "  --start DATE       first local day, YYYY-MM-DD (default 2026-01-01)\n"
	      "  --interval-s S     reading interval in seconds, divides 86400 (default 1800)\n"
	      "  --tz ZONE          UTC, +HH:MM or a fixed-offset zone (default Asia/Shanghai)\n"
	      "  --bad-rate R       chance of an invalid line after each event (default 0)\n"
	      "  --dup-rate R       chance of an event being written twice (default 0)\n"
	      "  --transformers T   transformer areas (default ceil(customers / 40))\n"
	      "  --theft-rate R     share of customers who steal from a random onset day\n"
	      "                     (labelled attack patterns; default 0)\n"
	      "  --confounder-rate R\n"
	      "                     share of honest customers whose use changes in ways that\n"
	      "                     look like theft (labelled; default: the theft rate)\n"
	      "  --silent-rate R    share of the other customers whose meter goes silent: half\n"
	      "                     thieves (meter_silenced), half lost communication\n"
	      "                     (meter_offline, a confounder; default 0)\n"
	      "  --labels FILE      write the ground truth as CSV: customer_id,pattern,\n"
	      "                     confounder,onset_day\n"
	      "  --credit-labels FILE\n"
	      "                     write each customer's credit outcome as CSV: customer_id,\n"
	      "                     segment,habit,distress_day,as_of,days_past_due,bad (bad:\n"
	      "                     90+ days past due within 182 days after the as-of day)\n"
	      "  --credit-as-of DATE\n"
	      "                     as-of day of the credit labels (default: 182 days before\n"
	      "                     the last day)\n"
	      "  --distress-rate R  share of customers who fall into payment trouble on a day\n"
	      "                     of the run: strained, then defaulting (default 0)\n"
	      "  --catch-up-rate R  chance that a bill left unpaid (or partly paid) is paid\n"
	      "                     40-85 days after its due date, after reminders (default 0)\n"
	      "  --business-distress R\n"
	      "                     share (0 .. 0.5) of commercial and industrial customers whose\n"
	      "                     consumption declines before their bills go unpaid; as many\n"
	      "                     have a seasonal dip, a one-off dip or a closure and pay (needs\n"
	      "                     --days 550 or more; default 0)\n"
	      "  --billing-only     write profiles, bills, payments and reversals only\n"
	      "  --transformer-interval-s S\n"
	      "                     transformer reading interval: a multiple of --interval-s\n"
	      "                     that divides 86400 (default: --interval-s; 86400: daily)\n"
	      "  --loss-model M     technical loss in transformer readings: proportional (a\n"
	      "                     fixed rate per area, default) or load (no-load plus a part\n"
	      "                     growing with the load squared)\n"
	      "  --observer-set     one area of 30 households (--customers) over 60 days\n"
	      "                     (--days) with a transformer meter and 5 labelled thieves\n"
	      "                     using false-data-injection attacks\n"
	      "The same options always give the same bytes. A summary goes to stderr.\n",
	      out);
}

/* ---- formatting ---------------------------------------------------------------------- */

static inline char *gen_put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define GEN_PUT(p, lit) gen_put((p), (lit), sizeof(lit) - 1)

static inline char *gen_put_str(char *p, const char *s)
{
	return gen_put(p, s, strlen(s));
}

static char *gen_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* scaled / 10^decimals with exactly `decimals` digits after the point. */
static char *gen_put_fixed(char *p, int64_t scaled, int decimals)
{
	static const uint64_t pow10[] = {1, 10, 100, 1000, 10000};
	uint64_t v = (uint64_t)scaled;
	if (scaled < 0) {
		*p++ = '-';
		v = 0 - v;
	}
	p = gen_put_u64(p, v / pow10[decimals]);
	if (decimals > 0) {
		uint64_t frac = v % pow10[decimals];
		*p++ = '.';
		for (int i = decimals - 1; i >= 0; i--) {
			p[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		p += decimals;
	}
	return p;
}

static inline char *gen_put_2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

static char *gen_put_date(char *p, int32_t day)
{
	int year, month, dom;
	gen_civil_from_days(day, &year, &month, &dom);
	p = gen_put_2(p, year / 100);
	p = gen_put_2(p, year % 100);
	*p++ = '-';
	p = gen_put_2(p, month);
	*p++ = '-';
	return gen_put_2(p, dom);
}

static char *gen_put_customer(char *p, const struct gen_city *city, char prefix, uint32_t c)
{
	*p++ = prefix;
	return gen_put(p, city->customer_ids + (size_t)c * GEN_ID_STRIDE, city->customer_id_len);
}

static char *gen_put_transformer(char *p, const struct gen_city *city, uint32_t t)
{
	*p++ = 'T';
	return gen_put(p, city->transformer_ids + (size_t)t * GEN_ID_STRIDE, city->transformer_id_len);
}

/* A moment, formatted once and used by every event at that moment. */
struct gen_stamp {
	int64_t epoch;
	char ts[32];              /* "2026-01-01T00:30:00+08:00" */
	size_t ts_len;
	char epoch_digits[24];    /* Unix seconds in decimal, for event ids */
	size_t epoch_len;
};

static void gen_stamp_make(struct gen_stamp *st, const struct gen_city *city, int64_t epoch)
{
	int64_t local = epoch + city->tz_offset_s;
	int64_t day = local >= 0 ? local / GEN_DAY_S : -((-local + GEN_DAY_S - 1) / GEN_DAY_S);
	int32_t sec = (int32_t)(local - day * GEN_DAY_S);
	char *p = st->ts;
	p = gen_put_date(p, (int32_t)day);
	*p++ = 'T';
	p = gen_put_2(p, sec / 3600);
	*p++ = ':';
	p = gen_put_2(p, sec / 60 % 60);
	*p++ = ':';
	p = gen_put_2(p, sec % 60);
	int32_t off = city->tz_offset_s;
	if (off == 0) {
		*p++ = 'Z';
	} else {
		*p++ = off < 0 ? '-' : '+';
		off = off < 0 ? -off : off;
		p = gen_put_2(p, off / 3600);
		*p++ = ':';
		p = gen_put_2(p, off / 60 % 60);
	}
	st->ts_len = (size_t)(p - st->ts);
	st->epoch = epoch;
	st->epoch_len = (size_t)(gen_put_u64(st->epoch_digits, (uint64_t)epoch) - st->epoch_digits);
}

/* ---- output buffer, duplicates and invalid lines -------------------------------------- */

struct gen_writer {
	FILE *out;
	char *buf;
	size_t len;
	int failed;
	int write_errno;
	uint64_t seed;
	double dup_rate;
	double bad_rate;
	uint64_t valid_no;        /* valid events so far: numbers the duplicate and bad draws */
	int32_t start_day;
	struct gen_stats *stats;
	const struct gen_city *city;
};

static void gen_flush(struct gen_writer *w)
{
	if (w->len > 0 && !w->failed) {
		errno = 0;
		size_t put = fwrite(w->buf, 1, w->len, w->out);
		w->stats->bytes += put;
		if (put != w->len) {
			w->failed = 1;
			w->write_errno = errno ? errno : EIO;
		}
	}
	w->len = 0;
}

/* Where the next line is formatted. */
static inline char *gen_line(struct gen_writer *w)
{
	return w->buf + w->len;
}

/* Start of a bad line: {"type":"<type>","event_id":"x-<n>","ts":"<ts>","customer_id":"C..." */
static char *gen_bad_head(char *p, const struct gen_writer *w, const char *type, uint64_t n,
                          uint32_t c, const struct gen_stamp *st)
{
	p = GEN_PUT(p, "{\"type\":\"");
	p = gen_put_str(p, type);
	p = GEN_PUT(p, "\",\"event_id\":\"x-");
	p = gen_put_u64(p, n);
	p = GEN_PUT(p, "\",\"ts\":\"");
	p = gen_put(p, st->ts, st->ts_len);
	p = GEN_PUT(p, "\",\"customer_id\":\"");
	return gen_put_customer(p, w->city, 'C', c);
}

/* ,"meter_id":"M...","kwh":<kwh_milli>,"interval_s":<interval> (no closing brace) */
static char *gen_bad_reading_tail(char *p, const struct gen_writer *w, uint32_t c,
                                  int64_t kwh_milli)
{
	p = GEN_PUT(p, "\",\"meter_id\":\"");
	p = gen_put_customer(p, w->city, 'M', c);
	p = GEN_PUT(p, "\",\"kwh\":");
	p = gen_put_fixed(p, kwh_milli, 3);
	p = GEN_PUT(p, ",\"interval_s\":");
	return gen_put_u64(p, (uint64_t)w->city->interval_s);
}

/* One invalid line in the making: it follows valid event number n (its ids say x-<n>), is
 * about customer c at moment st; h is the mixed bad-line draw (it gives the values) and
 * variant picks one form of the line's kind. */
struct gen_bad {
	const struct gen_writer *w;
	uint64_t n;
	uint64_t h;
	uint32_t c;
	unsigned variant;
	const struct gen_stamp *st;
};

/* A meter_reading from its meter_id on: ,"meter_id":"M<mark><id>",<kwh_field>"interval_s":
 * <q><interval><q>} (mark spliced into the meter id, q around the interval; "" for none). */
static char *gen_bad_reading_rest(char *p, const struct gen_bad *b, const char *mark,
                                  const char *kwh_field, const char *q)
{
	const struct gen_city *city = b->w->city;
	p = GEN_PUT(p, "\",\"meter_id\":\"M");
	p = gen_put_str(p, mark);
	p = gen_put(p, city->customer_ids + (size_t)b->c * GEN_ID_STRIDE, city->customer_id_len);
	p = GEN_PUT(p, "\",");
	p = gen_put_str(p, kwh_field);
	p = GEN_PUT(p, "\"interval_s\":");
	p = gen_put_str(p, q);
	p = gen_put_u64(p, (uint64_t)city->interval_s);
	p = gen_put_str(p, q);
	*p++ = '}';
	return p;
}

/* A meter_reading of the given type and kwh (thousandths), no closing brace. */
static char *gen_bad_reading(char *p, const struct gen_bad *b, const char *type, int64_t kwh_milli)
{
	p = gen_bad_head(p, b->w, type, b->n, b->c, b->st);
	return gen_bad_reading_tail(p, b->w, b->c, kwh_milli);
}

static char *gen_bad_negative_kwh(char *p, const struct gen_bad *b)
{
	p = gen_bad_reading(p, b, "meter_reading", -(int64_t)(1 + (b->h >> 20) % 5000));
	*p++ = '}';
	return p;
}

static char *gen_bad_missing_field(char *p, const struct gen_bad *b)
{
	switch (b->variant % 4) {
	case 0: /* no kwh */
		p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, b->st);
		return gen_bad_reading_rest(p, b, "", "", "");
	case 1: /* no ts */
		p = GEN_PUT(p, "{\"type\":\"meter_reading\",\"event_id\":\"x-");
		p = gen_put_u64(p, b->n);
		p = GEN_PUT(p, "\",\"customer_id\":\"");
		p = gen_put_customer(p, b->w->city, 'C', b->c);
		p = gen_bad_reading_tail(p, b->w, b->c, 250);
		*p++ = '}';
		return p;
	case 2: /* bill without amount */
		p = gen_bad_head(p, b->w, "bill", b->n, b->c, b->st);
		p = GEN_PUT(p, "\",\"bill_id\":\"x-");
		p = gen_put_u64(p, b->n);
		p = GEN_PUT(p, "\",\"due_date\":\"");
		p = gen_put_date(p, b->w->start_day + GEN_DUE_DAYS);
		return GEN_PUT(p, "\"}");
	default: /* payment without amount */
		p = gen_bad_head(p, b->w, "payment", b->n, b->c, b->st);
		return GEN_PUT(p, "\",\"channel\":\"app\"}");
	}
}

static char *gen_bad_unknown_type(char *p, const struct gen_bad *b)
{
	static const char *const types[] = {"meter_readings", "smart_reading", "METER_READING", ""};
	p = gen_bad_reading(p, b, types[b->variant % 4], 250);
	*p++ = '}';
	return p;
}

static char *gen_bad_timestamp(char *p, const struct gen_bad *b)
{
	struct gen_stamp bad = *b->st;
	switch (b->variant % 5) {
	case 0: bad.ts_len = 19; break;                    /* no offset */
	case 1: bad.ts[5] = '1'; bad.ts[6] = '3'; break;   /* month 13 */
	case 2: bad.ts[11] = '2'; bad.ts[12] = '5'; break; /* hour 25 */
	case 3: bad.ts[8] = '3'; bad.ts[9] = '2'; break;   /* day 32 */
	default: memcpy(bad.ts, "not-a-time", 10); bad.ts_len = 10; break;
	}
	p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, &bad);
	p = gen_bad_reading_tail(p, b->w, b->c, 250);
	*p++ = '}';
	return p;
}

static char *gen_bad_malformed_json(char *p, const struct gen_bad *b)
{
	switch (b->variant % 5) {
	case 0: /* cut off */
		p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, b->st);
		return GEN_PUT(p, "\",\"kwh\":0.5");
	case 1: /* unquoted name */
		p = GEN_PUT(p, "{type:\"meter_reading\",\"event_id\":\"x-");
		p = gen_put_u64(p, b->n);
		p = GEN_PUT(p, "\",\"customer_id\":\"");
		p = gen_put_customer(p, b->w->city, 'C', b->c);
		return GEN_PUT(p, "\"}");
	case 2: /* trailing comma */
		p = gen_bad_reading(p, b, "meter_reading", 1000);
		return GEN_PUT(p, ",}");
	case 3: /* two objects */
		p = gen_bad_reading(p, b, "meter_reading", 1000);
		return GEN_PUT(p, "}{\"kwh\":2.0}");
	default: /* NaN is not JSON */
		p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, b->st);
		return gen_bad_reading_rest(p, b, "", "\"kwh\":NaN,", "");
	}
}

static char *gen_bad_field_type(char *p, const struct gen_bad *b)
{
	/* kwh as a string, interval_s as a string, kwh as a boolean */
	static const char *const kwh_fields[] = {"\"kwh\":\"0.250\",", "\"kwh\":0.250,",
	                                         "\"kwh\":true,"};
	unsigned v = b->variant % 5;
	if (v < 3) {
		p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, b->st);
		return gen_bad_reading_rest(p, b, "", kwh_fields[v], v == 1 ? "\"" : "");
	}
	if (v == 3) { /* event_id as a number */
		p = GEN_PUT(p, "{\"type\":\"meter_reading\",\"event_id\":");
		p = gen_put_u64(p, b->n);
		p = GEN_PUT(p, ",\"ts\":\"");
		p = gen_put(p, b->st->ts, b->st->ts_len);
		p = GEN_PUT(p, "\",\"customer_id\":\"");
		p = gen_put_customer(p, b->w->city, 'C', b->c);
		p = gen_bad_reading_tail(p, b->w, b->c, 250);
		*p++ = '}';
		return p;
	}
	/* payment amount as a string */
	p = gen_bad_head(p, b->w, "payment", b->n, b->c, b->st);
	return GEN_PUT(p, "\",\"amount\":\"12.50\",\"channel\":\"app\"}");
}

static char *gen_bad_utf8(char *p, const struct gen_bad *b)
{
	/* a stray byte, a bad continuation, an overlong '/', a cut 3-byte sequence */
	static const char *const bytes[] = {"\xff", "\xc3\x28", "\xc0\xaf", "\xe2\x82"};
	unsigned v = b->variant % 4;
	if (v < 3) {
		p = gen_bad_head(p, b->w, "meter_reading", b->n, b->c, b->st);
		return gen_bad_reading_rest(p, b, bytes[v], "\"kwh\":0.250,", "");
	}
	p = gen_bad_head(p, b->w, "payment", b->n, b->c, b->st);
	p = GEN_PUT(p, "\",\"amount\":10.00,\"channel\":\"app");
	p = gen_put_str(p, bytes[v]);
	return GEN_PUT(p, "\"}");
}

static char *gen_bad_unknown_field(char *p, const struct gen_bad *b)
{
	static const char *const extra[] = {
		",\"tamper\":false", ",\"kwh_total\":1234.5", ",\"note\":\"manual read\"",
	};
	p = gen_bad_reading(p, b, "meter_reading", 250);
	p = gen_put_str(p, extra[b->variant % 3]);
	*p++ = '}';
	return p;
}

static char *gen_bad_huge_kwh(char *p, const struct gen_bad *b)
{
	p = gen_bad_reading(p, b, "meter_reading", INT64_C(10000000000)); /* 1e7 kWh */
	*p++ = '}';
	return p;
}

static char *gen_bad_oversized(char *p, const struct gen_bad *b)
{
	p = gen_bad_reading(p, b, "meter_reading", 250);
	p = GEN_PUT(p, ",\"note\":\"");
	memset(p, 'x', GEN_OVERSIZED_PAD);
	p += GEN_OVERSIZED_PAD;
	return GEN_PUT(p, "\"}");
}

/* Formats an invalid line of one kind at p (no newline); returns the end. */
typedef char *(*gen_bad_writer)(char *p, const struct gen_bad *b);

static const gen_bad_writer gen_bad_writers[GEN_BAD__COUNT] = {
	[GEN_BAD_NEGATIVE_KWH] = gen_bad_negative_kwh,
	[GEN_BAD_MISSING_FIELD] = gen_bad_missing_field,
	[GEN_BAD_UNKNOWN_TYPE] = gen_bad_unknown_type,
	[GEN_BAD_TIMESTAMP] = gen_bad_timestamp,
	[GEN_BAD_MALFORMED_JSON] = gen_bad_malformed_json,
	[GEN_BAD_FIELD_TYPE] = gen_bad_field_type,
	[GEN_BAD_UTF8] = gen_bad_utf8,
	[GEN_BAD_UNKNOWN_FIELD] = gen_bad_unknown_field,
	[GEN_BAD_HUGE_KWH] = gen_bad_huge_kwh,
	[GEN_BAD_OVERSIZED] = gen_bad_oversized,
};

/* The kind of invalid line a mixed draw h picks, by weight. */
static enum gen_bad_kind gen_bad_pick(uint64_t h)
{
	/* Oversized lines are rarer: they are large, and one kind of failure among many. */
	static const unsigned weight[GEN_BAD__COUNT] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 1};
	unsigned total = 0;
	for (int k = 0; k < GEN_BAD__COUNT; k++)
		total += weight[k];
	unsigned pick = (unsigned)(h % total);
	enum gen_bad_kind kind = GEN_BAD_NEGATIVE_KWH;
	while (pick >= weight[kind]) {
		pick -= weight[kind];
		kind++;
	}
	return kind;
}

/* Writes one invalid line after valid event number n (h: that event's bad-line draw). */
static void gen_bad_write(struct gen_writer *w, uint64_t n, uint64_t h, uint32_t c,
                          const struct gen_stamp *st)
{
	h = gen_mix(h);
	enum gen_bad_kind kind = gen_bad_pick(h);
	if (c == GEN_NO_CUSTOMER)
		c = (uint32_t)((h >> 16) % w->city->n_customers);
	const struct gen_bad b = {
		.w = w, .n = n, .h = h, .c = c, .variant = (unsigned)((h >> 32) % 60), .st = st,
	};
	char *line = gen_line(w);
	char *p = gen_bad_writers[kind](line, &b);
	*p++ = '\n';
	w->len += (size_t)(p - line);
	w->stats->bad_lines++;
	w->stats->bad_by_kind[kind]++;
	w->stats->lines++;
}

/* Accounts for the valid event just formatted in [gen_line(w), end): maybe writes it twice,
 * maybe follows it with an invalid line about customer c (GEN_NO_CUSTOMER: any customer). */
static void gen_commit(struct gen_writer *w, enum event_type type, char *end, uint32_t c,
                       const struct gen_stamp *st)
{
	char *line = gen_line(w);
	size_t n = (size_t)(end - line);
	uint64_t k = w->valid_no++;
	w->len += n;
	w->stats->events[type]++;
	w->stats->lines++;
	if (w->dup_rate > 0.0 && gen_unit(gen_hash(w->seed, GEN_TAG_DUP, k)) < w->dup_rate) {
		memcpy(gen_line(w), line, n);
		w->len += n;
		w->stats->duplicates++;
		w->stats->lines++;
	}
	if (w->bad_rate > 0.0) {
		uint64_t h = gen_hash(w->seed, GEN_TAG_BAD, k);
		if (gen_unit(h) < w->bad_rate)
			gen_bad_write(w, k, h, c, st);
	}
	if (GEN_OUT_CAP - w->len < GEN_OUT_RESERVE)
		gen_flush(w);
}

/* ---- events -------------------------------------------------------------------------- */

/* {"type":"<type>","event_id":"<prefix>-C000123 (no closing quote) */
static char *gen_put_head(char *p, const char *type_json, size_t type_len, char id_prefix,
                          const struct gen_city *city, uint32_t c)
{
	p = gen_put(p, type_json, type_len);
	*p++ = id_prefix;
	*p++ = '-';
	return gen_put_customer(p, city, 'C', c);
}
#define GEN_HEAD(p, type, prefix, city, c) \
	gen_put_head((p), "{\"type\":\"" type "\",\"event_id\":\"", \
	             sizeof("{\"type\":\"" type "\",\"event_id\":\"") - 1, (prefix), (city), (c))

/* ,"ts":"...","customer_id":"C000123" */
static char *gen_put_ts_customer(char *p, const struct gen_city *city, uint32_t c,
                                 const struct gen_stamp *st)
{
	p = GEN_PUT(p, "\",\"ts\":\"");
	p = gen_put(p, st->ts, st->ts_len);
	p = GEN_PUT(p, "\",\"customer_id\":\"");
	p = gen_put_customer(p, city, 'C', c);
	return GEN_PUT(p, "\"");
}

/* Meter id of customer c: M000123, or M000123-2 for the meter that replaced it. */
static char *gen_put_meter(char *p, const struct gen_city *city, uint32_t c, int new_meter)
{
	p = gen_put_customer(p, city, 'M', c);
	if (new_meter)
		p = GEN_PUT(p, "-2");
	return p;
}

static void gen_emit_customer(struct gen_writer *w, const struct gen_city *city, uint32_t c,
                              const struct gen_stamp *st)
{
	const struct gen_customer *cust = &city->customers[c];
	char *p = GEN_HEAD(gen_line(w), "customer", 'c', city, c);
	*p++ = '-';
	p = gen_put(p, st->epoch_digits, st->epoch_len);
	p = gen_put_ts_customer(p, city, c, st);
	p = GEN_PUT(p, ",\"segment\":\"");
	p = gen_put_str(p, gen_segment_name(cust->segment));
	p = GEN_PUT(p, "\",\"transformer_id\":\"");
	p = gen_put_transformer(p, city, cust->transformer);
	p = GEN_PUT(p, "\",\"tariff\":\"");
	p = gen_put_str(p, gen_tariff_name(cust->segment));
	p = GEN_PUT(p, "\",\"capacity_kw\":");
	p = gen_put_u64(p, (uint64_t)cust->capacity_kw);
	p = GEN_PUT(p, ",\"since\":\"");
	p = gen_put_date(p, cust->since_day);
	p = GEN_PUT(p, "\"}\n");
	gen_commit(w, EVENT_CUSTOMER, p, c, st);
}

static void gen_emit_reading(struct gen_writer *w, const struct gen_city *city, uint32_t c,
                             const struct gen_stamp *st, const struct gen_reading *reading)
{
	char *p = GEN_HEAD(gen_line(w), "meter_reading", 'r', city, c);
	*p++ = '-';
	p = gen_put(p, st->epoch_digits, st->epoch_len);
	p = gen_put_ts_customer(p, city, c, st);
	p = GEN_PUT(p, ",\"meter_id\":\"");
	p = gen_put_meter(p, city, c, reading->new_meter);
	p = GEN_PUT(p, "\",\"kwh\":");
	p = gen_put_fixed(p, reading->metered_milli, 3);
	p = GEN_PUT(p, ",\"interval_s\":");
	p = gen_put_u64(p, (uint64_t)city->interval_s);
	if (reading->has_reverse) {
		p = GEN_PUT(p, ",\"reverse_kwh\":");
		p = gen_put_fixed(p, reading->reverse_milli, 3);
	}
	if (reading->has_quality) {
		p = GEN_PUT(p, ",\"voltage\":");
		p = gen_put_fixed(p, reading->voltage_dv, 1);
		p = GEN_PUT(p, ",\"current\":");
		p = gen_put_fixed(p, reading->current_ca, 2);
		p = GEN_PUT(p, ",\"power_factor\":");
		p = gen_put_fixed(p, reading->power_factor_m, 3);
	}
	p = GEN_PUT(p, "}\n");
	gen_commit(w, EVENT_METER_READING, p, c, st);
}

static void gen_emit_transformer(struct gen_writer *w, const struct gen_city *city, uint32_t t,
                                 const struct gen_stamp *st, int64_t kwh_milli)
{
	char *p = GEN_PUT(gen_line(w), "{\"type\":\"transformer_reading\",\"event_id\":\"t-");
	p = gen_put_transformer(p, city, t);
	*p++ = '-';
	p = gen_put(p, st->epoch_digits, st->epoch_len);
	p = GEN_PUT(p, "\",\"ts\":\"");
	p = gen_put(p, st->ts, st->ts_len);
	p = GEN_PUT(p, "\",\"transformer_id\":\"");
	p = gen_put_transformer(p, city, t);
	p = GEN_PUT(p, "\",\"kwh\":");
	p = gen_put_fixed(p, kwh_milli, 3);
	p = GEN_PUT(p, ",\"interval_s\":");
	p = gen_put_u64(p, (uint64_t)city->transformer_interval_s);
	p = GEN_PUT(p, "}\n");
	gen_commit(w, EVENT_TRANSFORMER_READING, p, GEN_NO_CUSTOMER, st);
}

/* ---- sparse events: a min-heap on (ts, insertion number) ------------------------------ */

enum gen_pending_kind {
	GEN_PENDING_METER_EVENT = 0,
	GEN_PENDING_BILL,
	GEN_PENDING_PAYMENT,
	GEN_PENDING_REVERSAL,
};

struct gen_pending {
	int64_t ts;
	uint64_t seq;
	int64_t cents;            /* bill, payment, reversal amount */
	int64_t period_milli;     /* bill */
	int32_t month;            /* bill's year * 100 + month: bill_id and payment ids */
	int32_t due_day;          /* bill */
	uint32_t customer;
	uint8_t kind;             /* enum gen_pending_kind */
	uint8_t code;             /* meter event code */
	uint8_t pay_no;           /* payment (and its reversal) number within the bill, 1 or 2 */
	uint8_t reason;           /* reversal reason */
	uint8_t new_meter;        /* meter event raised by the replacement meter */
};

struct gen_heap {
	struct gen_pending *items;
	size_t n, cap;
	uint64_t next_seq;
};

static int gen_pending_before(const struct gen_pending *a, const struct gen_pending *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void gen_heap_push(struct gen_heap *heap, struct gen_pending item)
{
	if (heap->n == heap->cap) {
		heap->cap = heap->cap ? heap->cap * 2 : 1024;
		heap->items = xrealloc(heap->items, heap->cap * sizeof(*heap->items));
	}
	item.seq = heap->next_seq++;
	size_t i = heap->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!gen_pending_before(&item, &heap->items[parent]))
			break;
		heap->items[i] = heap->items[parent];
		i = parent;
	}
	heap->items[i] = item;
}

static struct gen_pending gen_heap_pop(struct gen_heap *heap)
{
	struct gen_pending top = heap->items[0];
	struct gen_pending last = heap->items[--heap->n];
	size_t i = 0;
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= heap->n)
			break;
		if (child + 1 < heap->n && gen_pending_before(&heap->items[child + 1], &heap->items[child]))
			child++;
		if (!gen_pending_before(&heap->items[child], &last))
			break;
		heap->items[i] = heap->items[child];
		i = child;
	}
	if (heap->n > 0)
		heap->items[i] = last;
	return top;
}

/* Issues customer c's bill on day cal for the energy metered since the last one, and
 * decides its payments and reversals. */
static void gen_bill_issue(struct gen_heap *heap, struct gen_city *city, uint32_t c,
                           const struct gen_calendar *cal)
{
	struct gen_customer *cust = &city->customers[c];
	struct gen_pending item;
	struct gen_payment_plan plan;

	memset(&item, 0, sizeof(item));
	item.kind = GEN_PENDING_BILL;
	item.customer = c;
	item.ts = gen_bill_ts(city, cust, cal);
	item.period_milli = cust->period_milli;
	item.cents = gen_bill_amount_cents(cust, cust->period_milli);
	item.month = cal->year * 100 + cal->month;
	item.due_day = cal->day + GEN_DUE_DAYS;
	gen_heap_push(heap, item);
	cust->period_milli = 0;

	gen_payment_plan_make(cust, cal->year * 12 + cal->month - 1, item.ts, item.cents, &plan);
	for (int i = 0; i < plan.n; i++) {
		item.kind = GEN_PENDING_PAYMENT;
		item.ts = plan.pay[i].ts;
		item.cents = plan.pay[i].cents;
		item.pay_no = (uint8_t)(i + 1);
		gen_heap_push(heap, item);
		if (plan.pay[i].reversed) {
			item.kind = GEN_PENDING_REVERSAL;
			item.ts = plan.pay[i].reversal_ts;
			item.reason = plan.pay[i].reason;
			gen_heap_push(heap, item);
		}
	}
}

/* -<yyyymm> */
static char *gen_put_month(char *p, int32_t month)
{
	*p++ = '-';
	return gen_put_u64(p, (uint64_t)month);
}

static void gen_emit_pending(struct gen_writer *w, const struct gen_city *city,
                             const struct gen_pending *item)
{
	struct gen_stamp st;
	uint32_t c = item->customer;
	char *p;
	enum event_type type;

	gen_stamp_make(&st, city, item->ts);
	switch (item->kind) {
	case GEN_PENDING_METER_EVENT:
		type = EVENT_METER_EVENT;
		p = GEN_HEAD(gen_line(w), "meter_event", 'e', city, c);
		*p++ = '-';
		p = gen_put(p, st.epoch_digits, st.epoch_len);
		*p++ = '-';
		p = gen_put_str(p, gen_code_name(item->code));
		p = gen_put_ts_customer(p, city, c, &st);
		p = GEN_PUT(p, ",\"meter_id\":\"");
		p = gen_put_meter(p, city, c, item->new_meter);
		p = GEN_PUT(p, "\",\"code\":\"");
		p = gen_put_str(p, gen_code_name(item->code));
		p = GEN_PUT(p, "\"}\n");
		break;
	case GEN_PENDING_BILL:
		type = EVENT_BILL;
		p = GEN_HEAD(gen_line(w), "bill", 'b', city, c);
		p = gen_put_month(p, item->month);
		p = gen_put_ts_customer(p, city, c, &st);
		p = GEN_PUT(p, ",\"bill_id\":\"");
		p = gen_put_customer(p, city, 'B', c);
		p = gen_put_month(p, item->month);
		p = GEN_PUT(p, "\",\"amount\":");
		p = gen_put_fixed(p, item->cents, 2);
		p = GEN_PUT(p, ",\"due_date\":\"");
		p = gen_put_date(p, item->due_day);
		p = GEN_PUT(p, "\",\"period_kwh\":");
		p = gen_put_fixed(p, item->period_milli, 3);
		p = GEN_PUT(p, "}\n");
		break;
	case GEN_PENDING_PAYMENT:
		type = EVENT_PAYMENT;
		p = GEN_HEAD(gen_line(w), "payment", 'p', city, c);
		p = gen_put_month(p, item->month);
		*p++ = '-';
		p = gen_put_u64(p, item->pay_no);
		p = gen_put_ts_customer(p, city, c, &st);
		p = GEN_PUT(p, ",\"amount\":");
		p = gen_put_fixed(p, item->cents, 2);
		p = GEN_PUT(p, ",\"bill_id\":\"");
		p = gen_put_customer(p, city, 'B', c);
		p = gen_put_month(p, item->month);
		p = GEN_PUT(p, "\",\"channel\":\"");
		p = gen_put_str(p, gen_channel_name(city->customers[c].channel));
		p = GEN_PUT(p, "\"}\n");
		break;
	default: /* GEN_PENDING_REVERSAL */
		type = EVENT_PAYMENT_REVERSAL;
		p = GEN_HEAD(gen_line(w), "payment_reversal", 'v', city, c);
		p = gen_put_month(p, item->month);
		*p++ = '-';
		p = gen_put_u64(p, item->pay_no);
		p = gen_put_ts_customer(p, city, c, &st);
		p = GEN_PUT(p, ",\"amount\":");
		p = gen_put_fixed(p, item->cents, 2);
		p = GEN_PUT(p, ",\"payment_event_id\":\"p-");
		p = gen_put_customer(p, city, 'C', c);
		p = gen_put_month(p, item->month);
		*p++ = '-';
		p = gen_put_u64(p, item->pay_no);
		p = GEN_PUT(p, "\",\"reason\":\"");
		p = gen_put_str(p, gen_reason_name(item->reason));
		p = GEN_PUT(p, "\"}\n");
		break;
	}
	gen_commit(w, type, p, c, &st);
}

/* ---- credit labels: each customer's payments replayed as riskd would see them ---------- */

struct gen_credit_track {
	struct pay_state pay;
	struct pay_outcome outcome;
	int32_t dpd_as_of;
	int snapped;               /* dpd_as_of taken */
};

static int32_t gen_local_day(const struct gen_city *city, int64_t ts)
{
	int64_t t = ts + city->tz_offset_s;
	return (int32_t)(t >= 0 ? t / GEN_DAY_S : -((-t + GEN_DAY_S - 1) / GEN_DAY_S));
}

/* Applies a bill, payment or reversal just written to its customer's payment state, with the
 * bill id and amounts exactly as the line carries them. */
static void gen_credit_apply(struct gen_credit_track *tracks, const struct gen_city *city,
                             const struct gen_pending *item)
{
	if (item->kind == GEN_PENDING_METER_EVENT)
		return;
	struct gen_credit_track *tr = &tracks[item->customer];
	int32_t day = gen_local_day(city, item->ts);
	if (day > tr->outcome.start && !tr->snapped) {
		tr->dpd_as_of = payments_days_past_due(&tr->pay, tr->outcome.start);
		tr->snapped = 1;
	}
	payments_outcome_before(&tr->outcome, &tr->pay, day);
	char bill_id[64];
	char *p = gen_put_customer(bill_id, city, 'B', item->customer);
	p = gen_put_month(p, item->month);
	size_t id_len = (size_t)(p - bill_id);
	double amount = (double)item->cents / 100.0; /* the value the written "12.34" decodes to */
	switch (item->kind) {
	case GEN_PENDING_BILL:
		payments_bill(&tr->pay, bill_id, id_len, amount, item->due_day, day);
		break;
	case GEN_PENDING_PAYMENT:
		payments_payment(&tr->pay, amount, bill_id, id_len, day);
		break;
	default:
		payments_reversal(&tr->pay, amount, day);
		break;
	}
}

/* ---- the walk ------------------------------------------------------------------------ */

/* Sets area_milli[t] to the energy that flows to transformer t's customers in the meter
 * intervals [from, to) of day cal (plans: every customer's plan of that day). */
static void gen_area_flow(const struct gen_city *city, const struct gen_day_plan *plans,
                          const struct gen_calendar *cal, int32_t from, int32_t to,
                          int64_t *area_milli)
{
	memset(area_milli, 0, sizeof(*area_milli) * city->n_transformers);
	for (int32_t slot = from; slot < to; slot++)
		for (uint32_t c = 0; c < city->n_customers; c++) {
			struct gen_reading reading;
			gen_reading_make(city, &city->customers[c], &plans[c], cal, slot, &reading);
			area_milli[city->customers[c].transformer] += reading.true_milli;
		}
}

int gen_write(const struct gen_options *opts, FILE *out, struct gen_stats *stats, char *errstr,
              size_t errstr_size)
{
	return gen_write_credit(opts, out, stats, NULL, errstr, errstr_size);
}

int gen_write_credit(const struct gen_options *opts, FILE *out, struct gen_stats *stats,
                     struct gen_credit_label *labels, char *errstr, size_t errstr_size)
{
	struct gen_credit_track *tracks = NULL;
	struct gen_city city;
	struct gen_writer w;
	struct gen_heap heap;
	struct gen_stats scratch;
	struct gen_stamp st;
	struct gen_day_plan *plans = NULL;
	int64_t *area_milli = NULL;
	int err;

	memset(&city, 0, sizeof(city));
	memset(&w, 0, sizeof(w));
	memset(&heap, 0, sizeof(heap));
	if (!stats)
		stats = &scratch;
	memset(stats, 0, sizeof(*stats));
	err = gen_options_check(opts, errstr, errstr_size);
	if (err)
		goto done;

	gen_city_build(&city, opts);
	stats->customers = city.n_customers;
	stats->transformers = city.n_transformers;
	for (uint32_t c = 0; c < city.n_customers; c++)
		stats->patterns[city.customers[c].pattern]++;
	w.out = out;
	w.buf = xmalloc(GEN_OUT_CAP);
	w.seed = gen_hash(opts->seed, GEN_TAG_DUP, GEN_TAG_BAD);
	w.dup_rate = opts->dup_rate;
	w.bad_rate = opts->bad_rate;
	w.start_day = opts->start_day;
	w.stats = stats;
	w.city = &city;
	plans = xmalloc(sizeof(*plans) * city.n_customers);
	area_milli = xmalloc(sizeof(*area_milli) * city.n_transformers);
	if (labels) {
		int32_t as_of = gen_credit_as_of(opts);
		tracks = xcalloc(city.n_customers, sizeof(*tracks));
		for (uint32_t c = 0; c < city.n_customers; c++)
			payments_outcome_init(&tracks[c].outcome, as_of, as_of + GEN_CREDIT_WINDOW_DAYS,
			                      GEN_CREDIT_DPD);
	}

	gen_stamp_make(&st, &city, (int64_t)opts->start_day * GEN_DAY_S - opts->tz_offset_s);
	for (uint32_t c = 0; c < city.n_customers; c++)
		gen_emit_customer(&w, &city, c, &st);

	for (uint32_t d = 0; d < opts->days && !w.failed; d++) {
		struct gen_calendar cal;
		int32_t day = opts->start_day + (int32_t)d;
		int64_t day_start = (int64_t)day * GEN_DAY_S - opts->tz_offset_s;
		gen_calendar_make(&cal, day);

		for (uint32_t c = 0; c < city.n_customers; c++) {
			struct gen_customer *cust = &city.customers[c];
			if (cal.dom == cust->bill_dom)
				gen_bill_issue(&heap, &city, c, &cal);
			gen_day_plan_make(&city, cust, &cal, &plans[c]);
			for (int e = 0; e < plans[c].n_events && !opts->billing_only; e++) {
				struct gen_pending item;
				memset(&item, 0, sizeof(item));
				item.kind = GEN_PENDING_METER_EVENT;
				item.customer = c;
				item.ts = day_start + plans[c].events[e].at_s;
				item.code = plans[c].events[e].code;
				item.new_meter = (uint8_t)(plans[c].new_meter &&
				                           plans[c].events[e].at_s >= plans[c].new_meter_s);
				gen_heap_push(&heap, item);
			}
		}

		int32_t per = city.slots / city.transformer_slots; /* meter intervals per reading */
		for (int32_t slot = 0; slot < city.slots; slot++) {
			int64_t t = day_start + (int64_t)slot * city.interval_s;
			int transformer_due = slot % per == 0 && !opts->billing_only;
			gen_stamp_make(&st, &city, t);
			/* a transformer reading goes out with the first meter interval it covers (ts
			 * order), so the flow of the others is computed ahead */
			if (transformer_due)
				gen_area_flow(&city, plans, &cal, slot + 1, slot + per, area_milli);
			for (uint32_t c = 0; c < city.n_customers; c++) {
				struct gen_customer *cust = &city.customers[c];
				struct gen_reading reading;
				gen_reading_make(&city, cust, &plans[c], &cal, slot, &reading);
				if (!opts->billing_only && !reading.silent)
					gen_emit_reading(&w, &city, c, &st, &reading);
				if (transformer_due)
					area_milli[cust->transformer] += reading.true_milli;
				cust->period_milli += reading.metered_milli;
			}
			for (uint32_t t_idx = 0; t_idx < city.n_transformers && transformer_due; t_idx++)
				gen_emit_transformer(&w, &city, t_idx, &st,
				                     gen_transformer_reading(&city, t_idx, day, slot / per,
				                                             area_milli[t_idx]));
			while (heap.n > 0 && heap.items[0].ts < t + city.interval_s) {
				struct gen_pending item = gen_heap_pop(&heap);
				gen_emit_pending(&w, &city, &item);
				if (tracks)
					gen_credit_apply(tracks, &city, &item);
			}
		}
	}
	gen_flush(&w);
	if (!w.failed && fflush(out) != 0) {
		w.failed = 1;
		w.write_errno = errno ? errno : EIO;
	}
	if (w.failed) {
		snprintf(errstr, errstr_size, "writing output: %s", strerror(w.write_errno));
		err = RISKD_ERR_IO;
	}
	for (uint32_t c = 0; tracks && c < city.n_customers; c++) {
		struct gen_credit_track *tr = &tracks[c];
		if (!tr->snapped)
			tr->dpd_as_of = payments_days_past_due(&tr->pay, tr->outcome.start);
		payments_outcome_finish(&tr->outcome, &tr->pay);
		labels[c].segment = (uint8_t)(city.customers[c].segment + 1);
		labels[c].habit = city.customers[c].payer;
		labels[c].dpd_as_of = tr->dpd_as_of;
		labels[c].distress_day = city.customers[c].distress_day;
		labels[c].bad = tr->dpd_as_of >= GEN_CREDIT_DPD ? -1 : tr->outcome.reached;
	}

done:
	free(tracks);
	free(area_milli);
	free(plans);
	free(heap.items);
	free(w.buf);
	gen_city_free(&city);
	return err;
}

/* ---- labels -------------------------------------------------------------------------- */

const char *gen_pattern_name(enum gen_pattern pattern)
{
	static const char *const names[GEN_PATTERN__COUNT] = {
		[GEN_PATTERN_NONE] = "none",
		[GEN_PATTERN_CONSTANT_FRACTION] = "constant_fraction",
		[GEN_PATTERN_RANDOM_FRACTION] = "random_fraction",
		[GEN_PATTERN_PARTIAL_BYPASS] = "partial_bypass",
		[GEN_PATTERN_PEAK_CLIPPING] = "peak_clipping",
		[GEN_PATTERN_SLOW_RAMP] = "slow_ramp",
		[GEN_PATTERN_FULL_BYPASS] = "full_bypass",
		[GEN_PATTERN_METER_REVERSED] = "meter_reversed",
		[GEN_PATTERN_VACANCY] = "vacancy",
		[GEN_PATTERN_HOUSEHOLD_CHANGE] = "household_change",
		[GEN_PATTERN_SEASONAL_SWING] = "seasonal_swing",
		[GEN_PATTERN_METER_REPLACED] = "meter_replaced",
		[GEN_PATTERN_FDI_SCALE] = "fdi_scale",
		[GEN_PATTERN_FDI_ON_OFF] = "fdi_on_off",
		[GEN_PATTERN_FDI_SUBTRACT] = "fdi_subtract",
		[GEN_PATTERN_FDI_RANDOM_SCALE] = "fdi_random_scale",
		[GEN_PATTERN_FDI_MEAN_RANDOM] = "fdi_mean_random",
		[GEN_PATTERN_FDI_REVERSE_DAY] = "fdi_reverse_day",
		[GEN_PATTERN_METER_SILENCED] = "meter_silenced",
		[GEN_PATTERN_METER_OFFLINE] = "meter_offline",
	};
	return (unsigned)pattern < GEN_PATTERN__COUNT ? names[pattern] : "unknown";
}

int gen_pattern_confounder(enum gen_pattern pattern)
{
	return (pattern >= GEN_PATTERN_FIRST_CONFOUNDER && pattern < GEN_PATTERN_FIRST_FDI) ||
	       pattern == GEN_PATTERN_METER_OFFLINE;
}

double gen_confounder_rate(const struct gen_options *opts)
{
	return opts->confounder_rate_set ? opts->confounder_rate : opts->theft_rate;
}

void gen_label_of(const struct gen_options *opts, uint32_t customer, struct gen_label *label)
{
	uint8_t pattern;
	int32_t onset;
	if (opts->observer_set)
		gen_observer_draw(opts->seed, opts->customers, customer, opts->start_day, opts->days,
		                  &pattern, &onset);
	else
	{
		uint64_t key = gen_hash(opts->seed, GEN_TAG_CUSTOMER, customer);
		gen_pattern_draw(key, opts->theft_rate, gen_confounder_rate(opts), opts->start_day,
		                 opts->days, &pattern, &onset);
		gen_silent_draw(key, opts->silent_rate, opts->start_day, opts->days, &pattern, &onset);
	}
	label->customer = customer;
	label->pattern = (enum gen_pattern)pattern;
	label->confounder = gen_pattern_confounder(pattern);
	label->onset_day = onset;
}

int gen_labels_write(const struct gen_options *opts, FILE *out, char *errstr,
                     size_t errstr_size)
{
	int err = gen_options_check(opts, errstr, errstr_size);
	if (err)
		return err;
	uint8_t width = 1;
	for (uint32_t n = opts->customers; n >= 10; n /= 10)
		width++;
	if (width < 6)
		width = 6;
	errno = 0;
	if (fputs("customer_id,pattern,confounder,onset_day\n", out) == EOF)
		goto io;
	for (uint32_t c = 0; c < opts->customers; c++) {
		struct gen_label label;
		char date[16];
		gen_label_of(opts, c, &label);
		if (label.pattern == GEN_PATTERN_NONE)
			continue;
		*gen_put_date(date, label.onset_day) = '\0';
		if (fprintf(out, "C%0*u,%s,%s,%s\n", (int)width, c + 1, gen_pattern_name(label.pattern),
		            label.confounder ? "true" : "false", date) < 0)
			goto io;
	}
	if (fflush(out) != 0)
		goto io;
	return 0;
io:
	snprintf(errstr, errstr_size, "writing labels: %s", strerror(errno ? errno : EIO));
	return RISKD_ERR_IO;
}

const char *gen_habit_name(unsigned habit)
{
	static const char *const names[GEN_PAYER__COUNT] = {
		[GEN_PAYER_PROMPT] = "prompt",
		[GEN_PAYER_LATE] = "late",
		[GEN_PAYER_PARTIAL] = "partial",
		[GEN_PAYER_DEFAULTER] = "defaulter",
	};
	return habit < GEN_PAYER__COUNT ? names[habit] : "unknown";
}

int gen_credit_labels_write(const struct gen_options *opts, const struct gen_credit_label *labels,
                            FILE *out, char *errstr, size_t errstr_size)
{
	uint8_t width = 1;
	for (uint32_t n = opts->customers; n >= 10; n /= 10)
		width++;
	if (width < 6)
		width = 6;
	char as_of[16];
	*gen_put_date(as_of, gen_credit_as_of(opts)) = '\0';
	errno = 0;
	if (fputs("customer_id,segment,habit,distress_day,as_of,days_past_due,bad\n", out) == EOF)
		goto io;
	for (uint32_t c = 0; c < opts->customers; c++) {
		const struct gen_credit_label *lab = &labels[c];
		char distress[16] = "";
		if (lab->distress_day)
			*gen_put_date(distress, lab->distress_day) = '\0';
		if (fprintf(out, "C%0*u,%s,%s,%s,%s,%d,%s\n", (int)width, c + 1,
		            segment_name((enum segment)lab->segment), gen_habit_name(lab->habit),
		            distress, as_of, (int)lab->dpd_as_of,
		            lab->bad < 0 ? "" : lab->bad ? "1" : "0") < 0)
			goto io;
	}
	if (fflush(out) != 0)
		goto io;
	return 0;
io:
	snprintf(errstr, errstr_size, "writing credit labels: %s", strerror(errno ? errno : EIO));
	return RISKD_ERR_IO;
}

/* ---- summary and entry point --------------------------------------------------------- */

const char *gen_bad_kind_name(enum gen_bad_kind kind)
{
	static const char *const names[GEN_BAD__COUNT] = {
		[GEN_BAD_NEGATIVE_KWH] = "negative_kwh",
		[GEN_BAD_MISSING_FIELD] = "missing_field",
		[GEN_BAD_UNKNOWN_TYPE] = "unknown_type",
		[GEN_BAD_TIMESTAMP] = "bad_timestamp",
		[GEN_BAD_MALFORMED_JSON] = "malformed_json",
		[GEN_BAD_FIELD_TYPE] = "field_type",
		[GEN_BAD_UTF8] = "invalid_utf8",
		[GEN_BAD_UNKNOWN_FIELD] = "unknown_field",
		[GEN_BAD_HUGE_KWH] = "huge_kwh",
		[GEN_BAD_OVERSIZED] = "oversized",
	};
	return (unsigned)kind < GEN_BAD__COUNT ? names[kind] : "unknown";
}

void gen_stats_print(const struct gen_stats *stats, const struct gen_options *opts, FILE *out)
{
	static const char *const type_names[EVENT_TYPE__COUNT] = {
		[EVENT_METER_READING] = "meter_reading",
		[EVENT_METER_EVENT] = "meter_event",
		[EVENT_BILL] = "bill",
		[EVENT_PAYMENT] = "payment",
		[EVENT_PAYMENT_REVERSAL] = "payment_reversal",
		[EVENT_CUSTOMER] = "customer",
		[EVENT_TRANSFORMER_READING] = "transformer_reading",
	};
	static const enum event_type order[EVENT_TYPE__COUNT] = {
		EVENT_CUSTOMER, EVENT_METER_READING, EVENT_TRANSFORMER_READING, EVENT_METER_EVENT,
		EVENT_BILL, EVENT_PAYMENT, EVENT_PAYMENT_REVERSAL,
	};
	char start[16];
	*gen_put_date(start, opts->start_day) = '\0';
	uint64_t valid = 0;
	for (int i = 0; i < EVENT_TYPE__COUNT; i++)
		valid += stats->events[i];

	fprintf(out, "riskctl gen: %s%u customers, %u transformers, %u days from %s at %d s (%s), "
	        "seed %llu\n", opts->observer_set ? "observer-style set: " : "", stats->customers,
	        stats->transformers, opts->days, start, (int)opts->interval_s, opts->tz_name,
	        (unsigned long long)opts->seed);
	if (gen_transformer_interval(opts) != opts->interval_s || opts->loss_model)
		fprintf(out, "  transformer readings every %d s, %s loss model\n",
		        (int)gen_transformer_interval(opts), gen_loss_model_name(opts->loss_model));
	for (int i = 0; i < EVENT_TYPE__COUNT; i++)
		fprintf(out, "  %-20s %12llu\n", type_names[order[i]],
		        (unsigned long long)stats->events[order[i]]);
	fprintf(out, "  %-20s %12llu\n", "valid events", (unsigned long long)valid);
	fprintf(out, "  %-20s %12llu\n", "duplicates", (unsigned long long)stats->duplicates);
	fprintf(out, "  %-20s %12llu\n", "bad lines", (unsigned long long)stats->bad_lines);
	for (int k = 0; k < GEN_BAD__COUNT; k++)
		if (stats->bad_by_kind[k])
			fprintf(out, "    %-18s %12llu\n", gen_bad_kind_name((enum gen_bad_kind)k),
			        (unsigned long long)stats->bad_by_kind[k]);
	fprintf(out, "  %-20s %12llu (%.1f MB)\n", "lines written", (unsigned long long)stats->lines,
	        (double)stats->bytes / 1e6);
	uint32_t labelled = stats->customers - stats->patterns[GEN_PATTERN_NONE];
	if (labelled > 0) {
		fprintf(out, "  %-20s %12u\n", "labelled customers", labelled);
		for (int p = GEN_PATTERN_FIRST_ATTACK; p < GEN_PATTERN__COUNT; p++) {
			int fdi = p >= GEN_PATTERN_FIRST_FDI && p < GEN_PATTERN_FIRST_SILENT;
			if (fdi != (opts->observer_set != 0) ||
			    (p >= GEN_PATTERN_FIRST_SILENT && !(opts->silent_rate > 0.0)))
				continue; /* a city's patterns, or an observer-style set's */
			fprintf(out, "    %-18s %12u%s\n", gen_pattern_name((enum gen_pattern)p),
			        stats->patterns[p],
			        gen_pattern_confounder((enum gen_pattern)p) ? " (confounder)" : "");
		}
	}
}

int gen_main(int argc, char **argv)
{
	struct gen_options opts;
	struct gen_stats stats;
	char errstr[256];
	char shown[4 * sizeof(errstr)]; /* an errstr or a path with every byte escaped */

	gen_options_init(&opts);
	if (gen_options_parse(&opts, argc, argv, errstr, sizeof(errstr)) != 0) {
		/* the message quotes the rejected argument */
		fprintf(stderr, "riskctl gen: %s\n(try 'riskctl gen --help')\n",
		        riskctl_shown(errstr, shown, sizeof(shown)));
		return 2;
	}
	if (opts.help) {
		gen_usage_print(stdout);
		return 0;
	}
	struct gen_credit_label *credit = NULL;
	if (opts.credit_labels_path)
		credit = xcalloc(opts.customers, sizeof(*credit));
	if (gen_write_credit(&opts, stdout, &stats, credit, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "riskctl gen: %s\n", errstr);
		free(credit);
		return 1;
	}
	if (credit) {
		FILE *f = fopen(opts.credit_labels_path, "w");
		int err = f ? gen_credit_labels_write(&opts, credit, f, errstr, sizeof(errstr)) : 0;
		if (!f || (fclose(f) != 0 && err == 0)) {
			snprintf(errstr, sizeof(errstr), "%s", strerror(errno));
			err = RISKD_ERR_IO;
		}
		if (err) {
			fprintf(stderr, "riskctl gen: --credit-labels %s: %s\n",
			        riskctl_shown(opts.credit_labels_path, shown, sizeof(shown)), errstr);
			free(credit);
			return 1;
		}
		uint32_t defaulted = 0, bad = 0;
		for (uint32_t c = 0; c < opts.customers; c++) {
			defaulted += credit[c].bad < 0;
			bad += credit[c].bad > 0;
		}
		char as_of[16];
		*gen_put_date(as_of, gen_credit_as_of(&opts)) = '\0';
		fprintf(stderr, "riskctl gen: credit labels as of %s: %u customers already %d+ days past "
		        "due, %u of the other %u reached it within %d days\n", as_of, defaulted,
		        GEN_CREDIT_DPD, bad, opts.customers - defaulted, GEN_CREDIT_WINDOW_DAYS);
		free(credit);
	}
	if (opts.labels_path) {
		FILE *labels = fopen(opts.labels_path, "w");
		if (!labels) {
			fprintf(stderr, "riskctl gen: --labels %s: %s\n",
			        riskctl_shown(opts.labels_path, shown, sizeof(shown)), strerror(errno));
			return 1;
		}
		int err = gen_labels_write(&opts, labels, errstr, sizeof(errstr));
		if (fclose(labels) != 0 && err == 0) {
			snprintf(errstr, sizeof(errstr), "writing labels: %s", strerror(errno));
			err = RISKD_ERR_IO;
		}
		if (err) {
			fprintf(stderr, "riskctl gen: --labels %s: %s\n",
			        riskctl_shown(opts.labels_path, shown, sizeof(shown)), errstr);
			return 1;
		}
	}
	gen_stats_print(&stats, &opts, stderr);
	return 0;
}
