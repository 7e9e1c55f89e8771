/*
 * localday.c - maps Unix timestamps to local days in the configured time zone.
 *
 * The detector calls localday_init once at startup with days.timezone, then localday_of for
 * every reading before scoring/daily.c rolls it into a day. The UTC offset comes from the
 * system tzdata through localtime_r and is cached per 15-minute bucket of UTC time. Most
 * offset changes fall on quarter hours of UTC, but not all (local-mean-time switches, and
 * America/Goose_Bay changed at 00:01 local until 2011), so a bucket whose offset differs
 * between its first and last second is never cached and is resolved per timestamp.
 */
#include "localday.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/riskd_base.h"

#define LOCALDAY_BUCKET_S 900
#define LOCALDAY_DAY_S 86400
/* Timestamps are clamped to +-1e14 s (about 3 million years) so that adding an offset cannot
 * overflow and every local day fits int32. */
#define LOCALDAY_EPOCH_LIMIT 100000000000000LL
/* Longest zone name accepted (IANA names are far shorter). */
#define LOCALDAY_TZ_MAX 128

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Characters IANA zone names use; anything else (':' or ',' of POSIX TZ strings, spaces)
 * is rejected so TZ can only ever name a zoneinfo file. */
static int tz_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '/' || c == '_' || c == '-' || c == '+';
}

/*
 * As declared in localday.h. "UTC" is always accepted; any other name must be a relative path
 * without "..", of the characters IANA names use. Reads no file: whether the zone exists is
 * config_timezone_check's question (config/config.h).
 */
int localday_init(struct localday *ld, const char *tz, char *errstr, size_t errstr_size)
{
	size_t len = strlen(tz);

	if (len == 0 || len > LOCALDAY_TZ_MAX) {
		snprintf(errstr, errstr_size, "time zone name must be 1..%d characters",
		         LOCALDAY_TZ_MAX);
		return RISKD_ERR_INVALID;
	}
	if (strcmp(tz, "UTC") != 0) {
		if (tz[0] == '/' || strstr(tz, "..")) {
			snprintf(errstr, errstr_size,
			         "time zone '%s' is not an IANA zone name (absolute path or '..')", tz);
			return RISKD_ERR_INVALID;
		}
		for (size_t i = 0; i < len; i++) {
			if (!tz_char_ok(tz[i])) {
				snprintf(errstr, errstr_size,
				         "time zone '%s' is not an IANA zone name (character %zu)", tz,
				         i + 1);
				return RISKD_ERR_INVALID;
			}
		}
	}
	if (setenv("TZ", tz, 1) != 0) {
		snprintf(errstr, errstr_size, "cannot set TZ to '%s'", tz);
		return RISKD_ERR_INVALID;
	}
	tzset();
	ld->cached_bucket = INT64_MIN;
	ld->cached_offset_s = 0;
	return 0;
}

/* UTC offset in seconds at t; 0 if localtime_r cannot represent t. */
static int32_t offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

/* As declared in localday.h. Timestamps beyond +-1e14 s are clamped to that range. */
int32_t localday_of(struct localday *ld, int64_t epoch_s)
{
	int32_t second;
	return localday_split(ld, epoch_s, &second);
}

int32_t localday_split(struct localday *ld, int64_t epoch_s, int32_t *second_of_day)
{
	if (epoch_s > LOCALDAY_EPOCH_LIMIT)
		epoch_s = LOCALDAY_EPOCH_LIMIT;
	else if (epoch_s < -LOCALDAY_EPOCH_LIMIT)
		epoch_s = -LOCALDAY_EPOCH_LIMIT;

	int64_t bucket = floor_div(epoch_s, LOCALDAY_BUCKET_S);
	int32_t offset_s;
	if (bucket == ld->cached_bucket) {
		offset_s = ld->cached_offset_s;
	} else {
		int64_t start = bucket * LOCALDAY_BUCKET_S;
		offset_s = offset_at(start);
		if (offset_at(start + LOCALDAY_BUCKET_S - 1) == offset_s) {
			ld->cached_bucket = bucket;
			ld->cached_offset_s = offset_s;
		} else {
			offset_s = offset_at(epoch_s);
		}
	}
	int64_t local = epoch_s + offset_s;
	int64_t day = floor_div(local, LOCALDAY_DAY_S);
	*second_of_day = (int32_t)(local - day * LOCALDAY_DAY_S);
	return (int32_t)day;
}
