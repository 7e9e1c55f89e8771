/*
 * statefill.c - the benchmark's memory figure: bytes of per-customer state at N customers.
 *
 *   statefill [--customers N] [--partitions P] [--id-length L]
 *
 * Fills riskd's customer state table (scoring/cstate.h) with N synthetic customers the way
 * the detector does (cstate_table_upsert with ids like the generator's "C0000001" - or of L
 * bytes, "C" and zeros before the number, to price longer ids - a profile
 * on one of N / 40 transformers, an open day of half-hourly readings in whole Wh as the
 * generator writes them, put into the day and its slots as detector/ingest.c does, recent
 * event hashes, every entry marked dirty as after a first batch), then reports on stdout, as
 * key=value:
 *   bytes_per_customer      cstate_table_memory / N: what the table allocated (entries in
 *                           whole chunks, index, dirty list, interned transformer ids, and
 *                           the open days' slots beside the entries), the figure the goal of
 *                           at most 512 bytes per customer is about;
 *   slots_bytes_per_customer  of it, the open day's slots (the slab's whole chunks);
 *   ids_bytes_per_customer  of it, the ids too long to sit in their entries (0 below
 *                           CSTATE_ID_INLINE bytes: the 16 bytes in the struct hold them);
 *   bytes_per_slot          the slots' bytes per slot held (a half-hourly meter's 25-hour day
 *                           has 50), header and slab included;
 *   open_hours_bytes_per_customer  what detector/open_hours.c holds beside the state: the
 *                           hourly sums the slots cannot give (none for these customers);
 *   with_open_hours_bytes_per_customer  the two together: the state such a customer costs;
 *   rss_bytes_per_customer  growth of the process's resident set during the fill / N (what the
 *                           kernel actually backs, pages touched only);
 *   sizeof_cstate           the fixed struct alone;
 *   fill_ns_per_customer, lookup_ns_per_customer: upsert and lookup cost at that size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../detector/open_hours.h"
#include "../scoring/cstate.h"
#include "../scoring/daily.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set size of this process in bytes (VmRSS), or 0 when /proc cannot tell. */
static long long rss_bytes(void)
{
	char line[256];
	long long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	long customers = 1000000, partitions = 32, id_length = 8;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--customers") == 0 &&
		    parse_long(argv[i + 1], 1, 100000000, &customers) == 0)
			i++;
		else if (i + 1 < argc && strcmp(argv[i], "--partitions") == 0 &&
		         parse_long(argv[i + 1], 1, 4096, &partitions) == 0)
			i++;
		else if (i + 1 < argc && strcmp(argv[i], "--id-length") == 0 &&
		         parse_long(argv[i + 1], 8, RISKD_ID_MAX, &id_length) == 0)
			i++;
		else {
			fprintf(stderr, "usage: statefill [--customers N] [--partitions P] "
			                "[--id-length 8..%d]\n", RISKD_ID_MAX);
			return 2;
		}
	}

	long long rss_before = rss_bytes();
	double t0 = now_s();
	/* sized for the first batch, as the detector creates it; it grows like in production */
	struct cstate_table *table = cstate_table_new(1024);
	struct open_hours *open = open_hours_new();
	char id[RISKD_ID_MAX + 1], transformer_id[32];
	int digits = (int)id_length - 1;
	for (long n = 1; n <= customers; n++) {
		int len = snprintf(id, sizeof(id), "C%0*ld", digits, n);
		struct cstate *cs =
		    cstate_table_upsert(table, id, (size_t)len, (int32_t)(n % partitions), NULL);
		snprintf(transformer_id, sizeof(transformer_id), "T%05ld", n / 40 + 1);
		cstate_transformer_id_set(table, cs, transformer_id);
		cs->flags |= CSTATE_F_PROFILE;
		cs->segment = (uint8_t)(n % 4);
		cs->capacity_kw = 8.0f;
		cs->last_ts = 1767196800 + n;
		/* half a day of half-hourly readings, whole Wh (the slots are sized for the whole
		 * 25-hour day from the first one) */
		for (int k = 0; k < 24; k++) {
			int64_t uwh = 1000 * ((n * 7 + k * 131) % 1500);
			daily_apply_reading(cs, 20454, uwh, 1800, NULL);
			daily_open_add(table, cs, k * 1800, 1800, uwh);
		}
		for (int k = 0; k < CSTATE_RECENT_EVENTS; k++)
			cstate_seen_event(cs, cstate_hash(&n, sizeof(n)) + (uint64_t)k);
		cstate_table_mark_dirty(table, cs);
		/* a checkpoint's hourly sums come from the slots: open_hours keeps nothing */
		if (!open_hours_get(open, cs, cs->open_day))
			abort();
	}
	double t1 = now_s();
	long long rss_after = rss_bytes();

	long found = 0;
	for (long n = 1; n <= customers; n++) {
		int len = snprintf(id, sizeof(id), "C%0*ld", digits, n);
		found += cstate_table_get(table, id, (size_t)len) != NULL;
	}
	double t2 = now_s();
	if (found != customers || (long)cstate_table_count(table) != customers) {
		fprintf(stderr, "statefill: table holds %zu entries, %ld found, expected %ld\n",
		        cstate_table_count(table), found, customers);
		cstate_table_destroy(table);
		return 1;
	}

	size_t memory = cstate_table_memory(table);
	size_t slots = cstate_table_slots_memory(table);
	size_t ids = cstate_table_ids_memory(table);
	size_t hours = open_hours_memory(open);
	printf("customers=%ld id_length=%ld sizeof_cstate=%zu table_bytes=%zu "
	       "bytes_per_customer=%.1f slots_bytes_per_customer=%.1f bytes_per_slot=%.2f "
	       "ids_bytes_per_customer=%.1f "
	       "open_hours_bytes_per_customer=%.1f with_open_hours_bytes_per_customer=%.1f "
	       "rss_bytes_per_customer=%.1f fill_ns_per_customer=%.0f lookup_ns_per_customer=%.0f\n",
	       customers, id_length, sizeof(struct cstate), memory,
	       (double)memory / (double)customers, (double)slots / (double)customers,
	       (double)slots / (double)customers / 50.0, (double)ids / (double)customers,
	       (double)hours / (double)customers, (double)(memory + hours) / (double)customers,
	       (double)(rss_after - rss_before) / (double)customers,
	       (t1 - t0) * 1e9 / (double)customers, (t2 - t1) * 1e9 / (double)customers);
	open_hours_free(open);
	cstate_table_destroy(table);
	return 0;
}
