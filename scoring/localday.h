/*
 * localday.h - maps Unix timestamps to local days in the configured time zone.
 *
 * Uses the system time zone database (tzdata) through localtime_r, with a cache of the UTC
 * offset per 15-minute bucket, so the per-event cost is a division and a compare.
 */
#ifndef RISKD_LOCALDAY_H
#define RISKD_LOCALDAY_H

#include <stddef.h>
#include <stdint.h>

struct localday {
	int64_t cached_bucket;   /* epoch_s / 900 of the cached offset, or INT64_MIN */
	int32_t cached_offset_s; /* UTC offset of that bucket */
};

/*
 * Selects time zone tz (an IANA name such as "Asia/Shanghai", or "UTC") for the whole process
 * (it sets TZ) and initialises *ld. Fails with RISKD_ERR_INVALID and a message when tz is not
 * of the form of a zone name (empty or too long, absolute, "..", characters such as ':' or
 * ','), leaving TZ alone. Reads no file: config_timezone_check (config/config.h) tells whether
 * the zone exists, and whoever configures the zone calls it (config_load does for
 * days.timezone). Not thread-safe: call once at startup.
 */
int localday_init(struct localday *ld, const char *tz, char *errstr, size_t errstr_size);

/* Returns the local day (days since 1970-01-01 in the selected zone) containing epoch_s. */
int32_t localday_of(struct localday *ld, int64_t epoch_s);

/* The same as localday_of, and also the seconds since local midnight (0..86399). */
int32_t localday_split(struct localday *ld, int64_t epoch_s, int32_t *second_of_day);

#endif
