/*
 * test_models_peer.c - Criterion suite for scoring/models_peer.c: the streaming per-segment
 * median converges on known distributions, forgets old samples with its half-life, keeps
 * segments apart and says when it has too little data; peer_ratio uses it.
 */
#include <criterion/criterion.h>

#include <math.h>

#include "test_models_feed.h"

#define DAY(i) (FEED_D0 + (i))

/* Log-uniform on [1, 100] has median 10; evenly spread quantiles make the sample exact. */
Test(models_peer, median_of_a_log_uniform_distribution)
{
	struct peer_stats ps;
	peer_stats_init(&ps);
	const int n = 5000;
	for (int j = 0; j < n; j++) {
		/* a permutation of the quantiles, so the order is not sorted */
		int k = (int)(((int64_t)j * 2617) % n);
		peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(0), exp(log(100.0) * (k + 0.5) / n));
	}
	double median = peer_stats_median(&ps, SEGMENT_RESIDENTIAL);
	cr_assert_float_eq(median, 10.0, 0.02, "median %g", median);
}

/* Uniform on [2, 12] (median 7): a density that is not flat on the log scale inside a
 * bin, still lands within 0.5%. Exact zeros count below every positive value. */
Test(models_peer, median_of_a_uniform_distribution_and_zeros)
{
	struct peer_stats ps;
	peer_stats_init(&ps);
	const int n = 4000;
	for (int j = 0; j < n; j++)
		peer_stats_add(&ps, SEGMENT_COMMERCIAL, DAY(0), 2.0 + 10.0 * (j + 0.5) / n);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_COMMERCIAL), 7.0, 0.035);
	/* add 2000 zeros: the median moves to the 1/6 quantile of the positives:
	 * 3000 of 6000 samples -> the 1000th positive -> 2 + 10 * 1000 / 4000 = 4.5 */
	for (int j = 0; j < 2000; j++)
		peer_stats_add(&ps, SEGMENT_COMMERCIAL, DAY(0), 0.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_COMMERCIAL), 4.5, 0.05);
	for (int j = 0; j < 8000; j++)
		peer_stats_add(&ps, SEGMENT_COMMERCIAL, DAY(0), 0.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_COMMERCIAL), 0.0, 1e-12);
}

/* Samples halve in weight every 7 days: after 28 days, 1000 old samples at 5 weigh 62.5
 * and 100 new ones at 20 outweigh them, so the median is 20. */
Test(models_peer, old_samples_fade)
{
	struct peer_stats ps;
	peer_stats_init(&ps);
	for (int j = 0; j < 1000; j++)
		peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(0), 5.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_RESIDENTIAL), 5.0, 0.2);
	for (int j = 0; j < 100; j++)
		peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(28), 20.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_RESIDENTIAL), 20.0, 0.8);
	/* a late sample of an old day weighs what it would have weighed by now */
	for (int j = 0; j < 100; j++)
		peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(0), 5.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_RESIDENTIAL), 20.0, 0.8,
	                   "1100 old samples still weigh less than 100 new ones");
}

Test(models_peer, segments_are_separate_and_need_enough_weight)
{
	struct peer_stats ps;
	peer_stats_init(&ps);
	cr_assert_lt(peer_stats_median(&ps, SEGMENT_RESIDENTIAL), 0.0, "empty");
	for (int j = 0; j < 19; j++)
		peer_stats_add(&ps, SEGMENT_INDUSTRIAL, DAY(0), 1500.0);
	cr_assert_lt(peer_stats_median(&ps, SEGMENT_INDUSTRIAL), 0.0, "19 < PEER_MIN_WEIGHT");
	peer_stats_add(&ps, SEGMENT_INDUSTRIAL, DAY(0), 1500.0);
	cr_assert_float_eq(peer_stats_median(&ps, SEGMENT_INDUSTRIAL), 1500.0, 1500.0 * 0.08);
	cr_assert_lt(peer_stats_median(&ps, SEGMENT_RESIDENTIAL), 0.0, "industrial is separate");
	peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(0), -1.0);
	peer_stats_add(&ps, SEGMENT_RESIDENTIAL, DAY(0), NAN);
	cr_assert_float_eq(ps.segment[SEGMENT_RESIDENTIAL].total, 0.0, 1e-12, "invalid ignored");
	cr_assert_lt(peer_stats_median(&ps, (enum segment)99), 0.0);
}

/* peer_stats_update adds a customer's kwh_avg_14d (once known) to its segment; peer_ratio
 * divides the customer's kwh_avg_14d by the median. 30 customers at 4, 5, 6, ... 33 kWh
 * (median 18.5) and one at 37 kWh -> its ratio is about 37 / 19 (median of 31: 19). */
Test(models_peer, peer_ratio_from_customers)
{
	static struct peer_stats ps;
	struct cstate cs;
	struct feature_vec fv;
	peer_stats_init(&ps);
	for (int c = 0; c <= 30; c++) {
		double kwh = c < 30 ? 4.0 + c : 37.0;
		feed_fresh(&cs);
		for (int i = 0; i <= 12; i++)
			feed_day(&cs, DAY(i), kwh);      /* closes 0..11: avg14 known from day 10 */
		peer_stats_update(&ps, &cs, DAY(11));
		if (c == 30) {
			feature_vec_clear(&fv);
			models_features(&cs, &ps, DAY(12), &fv);
			cr_assert(feature_known(&fv, FEAT_PEER_RATIO));
			cr_assert_float_eq(fv.value[FEAT_PEER_RATIO], 37.0 / 19.0, 0.05);
			models_features(&cs, NULL, DAY(12), &fv);
			cr_assert_not(feature_known(&fv, FEAT_PEER_RATIO), "no peers, no ratio");
		}
	}
	feed_fresh(&cs);
	cs.segment = SEGMENT_UNKNOWN;
	for (int i = 0; i <= 12; i++)
		feed_day(&cs, DAY(i), 100.0);
	double before = ps.segment[SEGMENT_RESIDENTIAL].total;
	peer_stats_update(&ps, &cs, DAY(11));
	cr_assert_float_eq(ps.segment[SEGMENT_RESIDENTIAL].total, before, 1e-12,
	                   "unknown segment: not a peer");
}
