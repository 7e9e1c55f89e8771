/*
 * gen_business.c - business stories of the generator (--business-distress): commercial and
 * industrial customers whose consumption declines for weeks to months before their bills go
 * unpaid, a few whose bills go unpaid without warning, and healthy look-alikes with a yearly
 * seasonal dip, a one-off dip or a closure of a week or three. docs/generator.md describes
 * them; riskctl eval --credit measures the early warning of operating risk against them.
 *
 * Everything is drawn from (customer key, GEN_TAG_BUSINESS), so the option changes nothing
 * for the customers it leaves alone, and nothing at all when it is 0.
 */
#include "gen_int.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Share of the distressed businesses whose consumption gives no sign. */
#define BIZ_SILENT_SHARE 0.15
/* A declining business: the decline starts this many days before it stops paying ... */
#define BIZ_LEAD_MIN 30
#define BIZ_LEAD_SPAN 151
/* ... bottoms out at this factor ... */
#define BIZ_LEVEL_MIN 0.30
#define BIZ_LEVEL_SPAN 0.40
/* ... closes one weekday from halfway with this chance, and stops altogether with this one
 * within 20 days of the day it stops paying. */
#define BIZ_P_CLOSED_DAY 0.6
#define BIZ_P_FULL_STOP 0.35
/* What a closed day or a stopped business still draws (lights, refrigeration, standby). */
#define BIZ_CLOSED_FACTOR 0.04
/* The stop-paying day is at least this many days before the end of the run, so that the
 * first unpaid bill reaches 30 days past due inside it. */
#define BIZ_END_MARGIN 75

static double biz_unit(uint64_t key, uint64_t a)
{
	return gen_unit(gen_hash(key, GEN_TAG_BUSINESS, a));
}

static int32_t biz_int(uint64_t key, uint64_t a, int32_t span)
{
	return span > 0 ? (int32_t)(gen_hash(key, GEN_TAG_BUSINESS, a) % (uint64_t)span) : 0;
}

/* The weekday a business closes: Saturday for shops and offices (their short day), a
 * working weekday for industry (it runs every day). */
static int8_t biz_closed_dow(uint64_t key, uint8_t segment)
{
	return segment == GEN_SEG_COMMERCIAL ? 6 : (int8_t)(1 + biz_int(key, 20, 5));
}

void gen_business_draw(uint64_t key, uint8_t segment, double rate, int32_t start_day,
                       uint32_t days, int32_t tz_offset_s, struct gen_business *biz)
{
	memset(biz, 0, sizeof(*biz));
	biz->closed_dow = -1;
	if (!(rate > 0.0) || days < GEN_BUSINESS_MIN_DAYS ||
	    (segment != GEN_SEG_COMMERCIAL && segment != GEN_SEG_INDUSTRIAL))
		return;
	biz->active = 1;
	int32_t last = start_day + (int32_t)days - 1;
	double u = biz_unit(key, 0);
	if (u < rate) {
		biz->story = biz_unit(key, 1) < BIZ_SILENT_SHARE ? GEN_BUSINESS_SILENT_DEFAULT
		                                                : GEN_BUSINESS_DECLINE;
		int32_t first = start_day + GEN_BUSINESS_FIRST_STOP;
		biz->stop_pay_day = first + biz_int(key, 2, last - BIZ_END_MARGIN - first + 1);
		biz->stop_pay_ts = (int64_t)biz->stop_pay_day * GEN_DAY_S - tz_offset_s;
		if (biz->story == GEN_BUSINESS_SILENT_DEFAULT)
			return;
		int32_t lead = BIZ_LEAD_MIN + biz_int(key, 3, BIZ_LEAD_SPAN);
		biz->start_day = biz->stop_pay_day - lead;
		biz->end_day = biz->stop_pay_day;
		biz->level = BIZ_LEVEL_MIN + BIZ_LEVEL_SPAN * biz_unit(key, 4);
		if (biz_unit(key, 5) < BIZ_P_CLOSED_DAY) {
			biz->closed_dow = biz_closed_dow(key, segment);
			biz->closed_from = biz->start_day + lead / 2;
			biz->closed_until = INT32_MAX;
		}
		if (biz_unit(key, 6) < BIZ_P_FULL_STOP)
			biz->stop_day = biz->stop_pay_day - 20 + biz_int(key, 7, 41);
		return;
	}
	if (u >= 2.0 * rate)
		return;
	/* a healthy look-alike: a third each */
	switch (biz_int(key, 8, 3)) {
	case 0: { /* the same weeks every year: the dip's start is a day of the year */
		biz->story = GEN_BUSINESS_SEASONAL_DIP;
		biz->start_day = biz_int(key, 9, 365);       /* day of the year */
		biz->end_day = biz->start_day + 28 + biz_int(key, 10, 43);
		biz->level = 0.50 + 0.25 * biz_unit(key, 11);
		if (biz_unit(key, 12) < 0.5)
			biz->closed_dow = biz_closed_dow(key, segment);
		break;
	}
	case 1:
		biz->story = GEN_BUSINESS_ONE_OFF_DIP;
		biz->start_day = start_day + 365 + biz_int(key, 9, (int32_t)days - 365 - 60);
		biz->end_day = biz->start_day + 14 + biz_int(key, 10, 29);
		biz->level = 0.35 + 0.35 * biz_unit(key, 11);
		if (biz_unit(key, 12) < 0.5) {
			biz->closed_dow = biz_closed_dow(key, segment);
			biz->closed_from = biz->start_day;
			biz->closed_until = biz->end_day;
		}
		break;
	default:
		biz->story = GEN_BUSINESS_CLOSURE;
		biz->start_day = start_day + 365 + biz_int(key, 9, (int32_t)days - 365 - 40);
		biz->end_day = biz->start_day + 7 + biz_int(key, 10, 18);
		biz->level = BIZ_CLOSED_FACTOR;
		break;
	}
}

/* Where day falls in a yearly dip of biz: 0 outside, else the dip's depth shape (0 .. 1,
 * rising and falling over a week at each end). */
static double seasonal_weight(const struct gen_business *biz, const struct gen_calendar *cal)
{
	int32_t len = biz->end_day - biz->start_day;
	int32_t t = ((cal->doy - biz->start_day) % 365 + 365) % 365;
	if (t >= len)
		return 0.0;
	double edge = t < 7 ? (t + 1) / 8.0 : len - t <= 7 ? (len - t) / 8.0 : 1.0;
	return edge;
}

double gen_business_factor(const struct gen_business *biz, const struct gen_calendar *cal)
{
	if (!biz->active || biz->story == GEN_BUSINESS_NONE ||
	    biz->story == GEN_BUSINESS_SILENT_DEFAULT)
		return 1.0;
	int32_t day = cal->day;
	double f = 1.0;
	int closed = 0;
	switch (biz->story) {
	case GEN_BUSINESS_DECLINE:
		if (day >= biz->start_day) {
			double t = day >= biz->end_day ? 1.0 : (double)(day - biz->start_day) /
			                                        (double)(biz->end_day - biz->start_day);
			f = 1.0 - (1.0 - biz->level) * t;
		}
		if (biz->stop_day && day >= biz->stop_day)
			return BIZ_CLOSED_FACTOR;
		closed = biz->closed_dow == cal->dow && day >= biz->closed_from;
		break;
	case GEN_BUSINESS_SEASONAL_DIP: {
		double w = seasonal_weight(biz, cal);
		f = 1.0 - (1.0 - biz->level) * w;
		closed = w >= 1.0 && biz->closed_dow == cal->dow;
		break;
	}
	case GEN_BUSINESS_ONE_OFF_DIP:
		if (day >= biz->start_day && day < biz->end_day)
			f = biz->level;
		closed = biz->closed_dow == cal->dow && day >= biz->closed_from &&
		         day < biz->closed_until;
		break;
	case GEN_BUSINESS_CLOSURE:
		if (day >= biz->start_day && day < biz->end_day)
			f = biz->level;
		break;
	default:
		break;
	}
	return closed ? f * BIZ_CLOSED_FACTOR : f;
}

void gen_business_of(const struct gen_options *opts, uint32_t customer,
                     struct gen_business_label *label)
{
	uint64_t key = gen_hash(opts->seed, GEN_TAG_CUSTOMER, customer);
	struct gen_business biz;
	memset(label, 0, sizeof(*label));
	label->segment = gen_segment_draw(key);
	if (opts->observer_set)
		return;
	gen_business_draw(key, label->segment, opts->business_distress, opts->start_day, opts->days,
	                  opts->tz_offset_s, &biz);
	label->story = biz.story;
	label->stop_pay_day = biz.stop_pay_day;
	label->start_day = biz.story == GEN_BUSINESS_SEASONAL_DIP ? 0 : biz.start_day;
}

const char *gen_business_name(unsigned story)
{
	static const char *const names[GEN_BUSINESS__COUNT] = {
		"none", "decline", "silent_default", "seasonal_dip", "one_off_dip", "closure",
	};
	return story < GEN_BUSINESS__COUNT ? names[story] : "unknown";
}
