/*
 * models_peer.c - streaming per-segment medians of customers' recent daily energy
 * (kwh_avg_14d), the reference of the peer_ratio feature.
 *
 * Each segment has a fixed histogram over log10(kWh/day): PEER_BINS bins of 1/16 decade
 * from 0.001 kWh/day (the first and last bins take everything beyond), plus a bucket for
 * exact zeros; each bin also sums its samples' log values and their squares, so it knows
 * where inside the bin its weight sits and how widely.
 * Samples carry weights that halve every PEER_HALF_LIFE_DAYS local days, so the median
 * follows the segment through the seasons; since every customer adds one sample per closed
 * day, each customer weighs about the same. The median is read off the cumulative weights,
 * inside the bin that holds the half-way point. Memory is fixed (about 6.5 KB) and an
 * update costs O(1), plus O(PEER_BINS * segments) once per local day for the decay.
 *
 * The median is per detector instance: it reflects the customers of the partitions that
 * instance owns, and the order in which their days close. It is therefore not part of the
 * per-customer state, which must not depend on such things.
 */
#include <string.h>

#include "models_int.h"

void peer_stats_init(struct peer_stats *ps)
{
	memset(ps, 0, sizeof(*ps));
}

static void peer_decay(struct peer_stats *ps, double factor)
{
	for (int s = 0; s < SEGMENT__COUNT; s++) {
		struct peer_segment *seg = &ps->segment[s];
		if (seg->total == 0.0)
			continue;
		for (int b = 0; b < PEER_BINS; b++) {
			seg->weight[b] *= factor;
			seg->log_sum[b] *= factor;
			seg->log_sq[b] *= factor;
		}
		seg->zero_weight *= factor;
		seg->total *= factor;
	}
}

void peer_stats_add(struct peer_stats *ps, enum segment seg_id, int32_t day, double kwh)
{
	if ((unsigned)seg_id >= SEGMENT__COUNT || !(kwh >= 0.0))
		return;
	double weight = 1.0;
	if (!ps->has_day) {
		ps->day = day;
		ps->has_day = 1;
	} else if (day > ps->day) {
		peer_decay(ps, pow(0.5, (double)((int64_t)day - ps->day) / PEER_HALF_LIFE_DAYS));
		ps->day = day;
	} else if (day < ps->day) {
		weight = pow(0.5, (double)((int64_t)ps->day - day) / PEER_HALF_LIFE_DAYS);
	}

	struct peer_segment *seg = &ps->segment[seg_id];
	if (kwh == 0.0) {
		seg->zero_weight += weight;
	} else {
		double lg = log10(kwh);
		double pos = (lg - PEER_LOG10_MIN) * PEER_BINS_PER_DECADE;
		int bin = pos < 0.0 ? 0 : pos >= PEER_BINS ? PEER_BINS - 1 : (int)pos;
		seg->weight[bin] += weight;
		seg->log_sum[bin] += weight * lg;
		seg->log_sq[bin] += weight * lg * lg;
	}
	seg->total += weight;
}

void peer_stats_update(struct peer_stats *ps, const struct cstate *cs, int32_t day)
{
	if (cs->segment == SEGMENT_UNKNOWN || cs->segment >= SEGMENT__COUNT)
		return;
	double kwh = models_hist_mean(&cs->theft, 14, 10);
	if (kwh >= 0.0)
		peer_stats_add(ps, (enum segment)cs->segment, day, kwh);
}

double peer_stats_median(const struct peer_stats *ps, enum segment seg_id)
{
	if ((unsigned)seg_id >= SEGMENT__COUNT)
		return -1.0;
	const struct peer_segment *seg = &ps->segment[seg_id];
	if (!(seg->total >= PEER_MIN_WEIGHT))
		return -1.0;
	double half = seg->total / 2.0;
	double cum = seg->zero_weight;
	if (cum >= half)
		return 0.0;
	int last = -1;
	for (int b = 0; b < PEER_BINS; b++) {
		double w = seg->weight[b];
		if (!(w > 0.0))
			continue;
		last = b;
		if (cum + w < half) {
			cum += w;
			continue;
		}
		/* the bin's samples, spread evenly over mean +- sqrt(3) sd (log scale) */
		double mean = seg->log_sum[b] / w;
		double var = seg->log_sq[b] / w - mean * mean;
		double reach = var > 0.0 ? sqrt(3.0 * var) : 0.0;
		double frac = (half - cum) / w;
		return pow(10.0, mean + reach * (2.0 * frac - 1.0));
	}
	/* rounding left the half-way point past the last bin */
	return last >= 0 ? pow(10.0, seg->log_sum[last] / seg->weight[last]) : -1.0;
}
