/*
 * test_localday.c - Criterion suite for scoring/localday.c: zone selection and the mapping of
 * Unix timestamps to local days. Expected values were computed outside riskd with
 * `TZ=<zone> date -d @<epoch> +%F` and Python's zoneinfo. Criterion runs each test in its own
 * process, so each test may select its own TZ.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/riskd_base.h"
#include "scoring/localday.h"

static void init_zone(struct localday *ld, const char *tz)
{
	char err[256] = "";
	cr_assert_eq(localday_init(ld, tz, err, sizeof(err)), 0, "%s: %s", tz, err);
}

struct day_case {
	int64_t epoch_s;
	int32_t day;
	const char *what;
};

static void check_cases(const char *tz, const struct day_case *cases, size_t n)
{
	struct localday ld;
	init_zone(&ld, tz);
	/* Forward, then backward (cache hits and misses in both directions). */
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(localday_of(&ld, cases[i].epoch_s), cases[i].day, "%s %s (%lld)", tz,
		             cases[i].what, (long long)cases[i].epoch_s);
	for (size_t i = n; i-- > 0;)
		cr_assert_eq(localday_of(&ld, cases[i].epoch_s), cases[i].day, "%s %s (%lld) reverse",
		             tz, cases[i].what, (long long)cases[i].epoch_s);
}

Test(localday, shanghai)
{
	static const struct day_case cases[] = {
		{1772294399, 20512, "2026-02-28T15:59:59Z = 23:59:59 local"},
		{1772294400, 20513, "2026-02-28T16:00:00Z = 2026-03-01 00:00 local"},
		{1772296200, 20513, "2026-03-01T00:30:00+08:00"},
		{1772380799, 20513, "2026-03-01 23:59:59 local"},
		{1772380800, 20514, "2026-03-02 00:00:00 local"},
	};
	check_cases("Asia/Shanghai", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, utc)
{
	static const struct day_case cases[] = {
		{0, 0, "epoch"},
		{86399, 0, "end of day 0"},
		{86400, 1, "day 1"},
		{1772294399, 20512, "2026-02-28T23:59:59Z"},
		{1772294400 + 8 * 3600, 20513, "2026-03-01T00:00:00Z"},
	};
	check_cases("UTC", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, negative_epoch)
{
	static const struct day_case utc[] = {
		{-1, -1, "1969-12-31T23:59:59Z"},
		{-899, -1, "inside the bucket before 0"},
		{-900, -1, "bucket boundary before 0"},
		{-86400, -1, "1969-12-31T00:00:00Z"},
		{-86401, -2, "1969-12-30T23:59:59Z"},
		{-2208988800, -25567, "1900-01-01T00:00:00Z"},
	};
	check_cases("UTC", utc, sizeof(utc) / sizeof(utc[0]));
}

Test(localday, negative_epoch_shanghai)
{
	static const struct day_case cases[] = {
		{-1, 0, "1970-01-01 07:59:59 local"},
		{-28800, 0, "1970-01-01 00:00:00 local"},
		{-28801, -1, "1969-12-31 23:59:59 local"},
		{-86401, -1, "1969-12-31 07:59:59 local"},
		{-2208988800, -25567, "1900-01-01 08:05:43 LMT"},
	};
	check_cases("Asia/Shanghai", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, berlin_dst_transitions)
{
	static const struct day_case cases[] = {
		/* 2026-03-29: clocks go 02:00 CET -> 03:00 CEST at 01:00Z; the day has 23 hours. */
		{1774738799, 20540, "2026-03-28 23:59:59 CET"},
		{1774738800, 20541, "2026-03-29 00:00:00 CET"},
		{1774745999, 20541, "2026-03-29 01:59:59 CET"},
		{1774746000, 20541, "2026-03-29 03:00:00 CEST"},
		{1774821599, 20541, "2026-03-29 23:59:59 CEST"},
		{1774821600, 20542, "2026-03-30 00:00:00 CEST"},
		/* 2026-10-25: clocks go 03:00 CEST -> 02:00 CET at 01:00Z; the day has 25 hours. */
		{1792879199, 20750, "2026-10-24 23:59:59 CEST"},
		{1792879200, 20751, "2026-10-25 00:00:00 CEST"},
		{1792889999, 20751, "2026-10-25 02:59:59 CEST"},
		{1792890000, 20751, "2026-10-25 02:00:00 CET"},
		{1792969199, 20751, "2026-10-25 23:59:59 CET"},
		{1792969200, 20752, "2026-10-26 00:00:00 CET"},
	};
	check_cases("Europe/Berlin", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, quarter_hour_zone)
{
	static const struct day_case cases[] = {
		{0, 0, "1970-01-01 05:30 local"},
		{504901799, 5843, "1985-12-31 23:59:59 +0530"},
		{504901800, 5844, "1986-01-01 00:15:00 +0545"},
		{1772302499, 20512, "2026-02-28 23:59:59 +0545"},
		{1772302500, 20513, "2026-03-01 00:00:00 +0545"},
	};
	check_cases("Asia/Kathmandu", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, transition_inside_a_bucket)
{
	/* America/Goose_Bay 2009-11-01: ADT (-3) to AST (-4) at 00:01 local = 03:01Z, one minute
	 * into a 15-minute bucket. Local time steps back from 00:00:59 on Nov 1 to 23:01:00 on
	 * Oct 31, so the rest of the bucket belongs to the previous local day: an offset taken
	 * at the bucket start would put it on Nov 1. */
	static const struct day_case cases[] = {
		{1257044400, 14549, "2009-11-01 00:00:00 -0300 (bucket start)"},
		{1257044459, 14549, "2009-11-01 00:00:59 -0300"},
		{1257044460, 14548, "2009-10-31 23:01:00 -0400"},
		{1257045299, 14548, "2009-10-31 23:14:59 -0400 (bucket end)"},
		{1257047999, 14548, "2009-10-31 23:59:59 -0400"},
		{1257048000, 14549, "2009-11-01 00:00:00 -0400"},
	};
	check_cases("America/Goose_Bay", cases, sizeof(cases) / sizeof(cases[0]));
}

Test(localday, lmt_switch_inside_a_bucket)
{
	/* Pacific/Noumea 1912-01-13: local mean time (+11:05:48) to +11:00 at 12:54:12Z, which
	 * turns 1912-01-13 00:00:00 LMT back into 1912-01-12 23:54:12. */
	static const struct day_case cases[] = {
		{-1829387700, -21174, "1912-01-12 23:50:48 LMT (bucket start)"},
		{-1829387149, -21174, "1912-01-12 23:59:59 LMT"},
		{-1829387148, -21174, "1912-01-12 23:54:12 +1100"},
		{-1829386801, -21174, "1912-01-12 23:59:59 +1100 (bucket end)"},
		{-1829386800, -21173, "1912-01-13 00:00:00 +1100"},
	};
	check_cases("Pacific/Noumea", cases, sizeof(cases) / sizeof(cases[0]));
}

/* Days from 1970-01-01 to a proleptic Gregorian date (civil-from-days inverse). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The local day straight from localtime_r, with no caching: the reference for sweeps. */
static int32_t reference_day(int64_t epoch_s)
{
	time_t t = (time_t)epoch_s;
	struct tm tm;
	cr_assert_not_null(localtime_r(&t, &tm));
	return (int32_t)days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1LL, tm.tm_mday);
}

static void sweep(const char *tz, int64_t from, int64_t to, int64_t step)
{
	struct localday ld;
	init_zone(&ld, tz);
	unsigned checked = 0;
	for (int64_t t = from; t <= to; t += step, checked++) {
		int32_t got = localday_of(&ld, t), want = reference_day(t);
		if (got != want)
			cr_assert_fail("%s at %lld: got day %d, localtime_r says %d", tz, (long long)t,
			               got, want);
	}
	/* Jumping around defeats the cache on every call. */
	uint64_t rng = 99;
	for (int i = 0; i < 20000; i++, checked++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		int64_t t = from + (int64_t)(rng % (uint64_t)(to - from + 1));
		int32_t got = localday_of(&ld, t), want = reference_day(t);
		if (got != want)
			cr_assert_fail("%s at %lld (random): got day %d, localtime_r says %d", tz,
			               (long long)t, got, want);
	}
	cr_assert_gt(checked, 20000);
}

Test(localday, sweep_berlin_2026_against_localtime)
{
	/* 2026-03-27 .. 2026-03-31 and 2026-10-23 .. 2026-10-27, every 61 s. */
	sweep("Europe/Berlin", 1774569600, 1774915200, 61);
	sweep("Europe/Berlin", 1792713600, 1793059200, 61);
}

Test(localday, sweep_historic_zones_against_localtime)
{
	/* Years with local-mean-time switches at odd seconds, before and after 1970. */
	sweep("Europe/Amsterdam", -1700000000, -1600000000, 3307);
	sweep("Asia/Shanghai", -2300000000, -2100000000, 7919);
	sweep("America/New_York", -100000000, 100000000, 4999);
	sweep("Pacific/Noumea", -1830000000, -1828000000, 617);
	sweep("America/Goose_Bay", 1256000000, 1300000000, 6007);
}

Test(localday, utc_always_accepted)
{
	struct localday ld;
	init_zone(&ld, "UTC");
	cr_assert_eq(ld.cached_bucket, INT64_MIN);
	cr_assert_eq(localday_of(&ld, 1772296200), 20512, "2026-02-28T16:30:00Z");
	cr_assert_eq(ld.cached_bucket, 1772296200 / 900, "offset cached per 15-minute bucket");
	cr_assert_eq(ld.cached_offset_s, 0);
}

Test(localday, cache_follows_zone_offset)
{
	struct localday ld;
	init_zone(&ld, "Asia/Shanghai");
	cr_assert_eq(localday_of(&ld, -1), 0);
	cr_assert_eq(ld.cached_bucket, -1, "floor division for negative epochs");
	cr_assert_eq(ld.cached_offset_s, 8 * 3600);
}

Test(localday, extreme_epochs_do_not_overflow)
{
	struct localday ld;
	init_zone(&ld, "Europe/Berlin");
	int32_t hi = localday_of(&ld, INT64_MAX);
	int32_t lo = localday_of(&ld, INT64_MIN);
	cr_assert_gt(hi, 1000000000);
	cr_assert_lt(lo, -1000000000);
}

static void expect_init_error(const char *tz, int code, const char *needle)
{
	struct localday ld;
	char err[256] = "";
	cr_assert_eq(localday_init(&ld, tz, err, sizeof(err)), code, "tz '%s' -> '%s'", tz, err);
	cr_assert_not_null(strstr(err, needle), "message '%s' lacks '%s'", err, needle);
}

Test(localday, malformed_zone_names)
{
	expect_init_error("zone.tab", RISKD_ERR_INVALID, "not an IANA zone name");
	expect_init_error("tzdata.zi", RISKD_ERR_INVALID, "not an IANA zone name");
	expect_init_error("../../../etc/passwd", RISKD_ERR_INVALID, "'..'");
	expect_init_error("Asia/../Asia/Shanghai", RISKD_ERR_INVALID, "'..'");
	expect_init_error("/usr/share/zoneinfo/UTC", RISKD_ERR_INVALID, "absolute path");
	expect_init_error(":Asia/Shanghai", RISKD_ERR_INVALID, "not an IANA zone name");
	expect_init_error("EST5EDT,M3.2.0,M11.1.0", RISKD_ERR_INVALID, "not an IANA zone name");
	expect_init_error("", RISKD_ERR_INVALID, "1..");
	/* A failed init leaves TZ alone. */
	struct localday ld;
	init_zone(&ld, "Asia/Shanghai");
	expect_init_error("Nowhere:City", RISKD_ERR_INVALID, "not an IANA zone name");
	cr_assert_str_eq(getenv("TZ"), "Asia/Shanghai");
	cr_assert_eq(localday_of(&ld, 1772294400), 20513);
}

Test(localday, split_gives_second_of_local_day)
{
	struct localday ld;
	char err[256];
	int32_t second;
	cr_assert_eq(localday_init(&ld, "Asia/Shanghai", err, sizeof(err)), 0, "%s", err);
	/* 2026-03-01T00:30:00+08:00: local day 20513, 1800 s after local midnight */
	cr_assert_eq(localday_split(&ld, 1772296200, &second), 20513);
	cr_assert_eq(second, 1800);
	/* one second before local midnight: 2026-02-28T23:59:59+08:00 */
	cr_assert_eq(localday_split(&ld, 1772294400 - 1, &second), 20512);
	cr_assert_eq(second, 86399);
	cr_assert_eq(localday_split(&ld, 1772294400, &second), 20513);
	cr_assert_eq(second, 0);
}
