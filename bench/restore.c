/*
 * restore.c - the benchmark's restore figure: how long riskd takes to load one partition's
 * customer state back from PostgreSQL after a rebalance.
 *
 *   restore --dsn DSN [--customers N] [--partitions P] [--repeat R]
 *
 * DSN must name a fresh database with riskd's migrations (deploy/local-stack.sh newdb). The
 * program writes N synthetic customers (as bench/statefill makes them, spread over P
 * partitions) to risk.entity_state with the detector's own checkpoint path
 * (store_commit_batch, snapshots only, 50,000 per transaction), then does what the detector
 * does on assignment (detector/pipeline.c, load_assignment): store_load_snapshots for the
 * assigned partitions, cstate_decode and cstate_table_upsert into an empty table. It times
 * one partition R times (different partitions; the median is reported) and all P
 * partitions once, and prints key=value on stdout:
 *   checkpoint_rows_per_s   snapshot rows written per second by store_commit_batch
 *   restore_partition_s     median seconds to restore one partition (N/P customers)
 *   restore_all_s           seconds to restore all N customers (one instance taking over all)
 *   restore_customers_per_s N / restore_all_s
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../detector/store.h"
#include "../scoring/cstate.h"

#define WRITE_BATCH 50000
#define REPEAT_MAX 64

struct restore_args {
	const char *dsn;
	long customers;
	long partitions;
	long repeat;
};

struct load_ctx {
	struct cstate_table *table;
	long loaded;
	char *errstr;
	size_t errstr_size;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static int args_parse(int argc, char **argv, struct restore_args *args)
{
	*args = (struct restore_args){NULL, 1000000, 32, 5};
	for (int i = 1; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			goto usage;
		if (strcmp(argv[i], "--dsn") == 0)
			args->dsn = val;
		else if (strcmp(argv[i], "--customers") == 0 &&
		         parse_long(val, 1, 100000000, &args->customers) == 0)
			;
		else if (strcmp(argv[i], "--partitions") == 0 &&
		         parse_long(val, 1, 4096, &args->partitions) == 0)
			;
		else if (strcmp(argv[i], "--repeat") == 0 &&
		         parse_long(val, 1, REPEAT_MAX, &args->repeat) == 0)
			;
		else
			goto usage;
		i++;
	}
	if (args->dsn)
		return 0;
usage:
	fprintf(stderr, "usage: restore --dsn DSN [--customers N] [--partitions P] [--repeat R]\n");
	return 2;
}

/* One customer as the detector would hold it after a few readings and a profile. */
static void customer_fill(struct cstate_table *table, struct cstate *cs, long n)
{
	char transformer_id[32];
	snprintf(transformer_id, sizeof(transformer_id), "T%05ld", n / 40 + 1);
	cstate_transformer_id_set(table, cs, transformer_id);
	cs->flags |= CSTATE_F_PROFILE | CSTATE_F_HAS_DAY;
	cs->segment = (uint8_t)(n % 4);
	cs->capacity_kw = 8.0f;
	cs->last_ts = 1767196800 + n;
	cs->open_day = 20454;
	cs->open_readings = 12;
	cs->open_uwh = 3000000 + n;
	for (int k = 0; k < CSTATE_RECENT_EVENTS; k++)
		cstate_seen_event(cs, cstate_hash(&n, sizeof(n)) + (uint64_t)k);
}

/* Writes every customer's snapshot. Returns 0 or a riskd_err. */
static int snapshots_write(struct store *st, const struct restore_args *args, double *rows_per_s,
                           char *errstr, size_t errstr_size)
{
	struct cstate_table *table = cstate_table_new((size_t)args->customers);
	struct store_snapshot *snaps = xcalloc(WRITE_BATCH, sizeof(*snaps));
	uint8_t *bytes = xmalloc(WRITE_BATCH * CSTATE_SNAPSHOT_MAX);
	char id[32];
	int rc = 0;
	double seconds = 0;

	for (long n = 1; n <= args->customers && rc == 0;) {
		size_t count = 0;
		for (; n <= args->customers && count < WRITE_BATCH; n++) {
			int len = snprintf(id, sizeof(id), "C%07ld", n);
			struct cstate *cs = cstate_table_upsert(table, id, (size_t)len,
			                                        (int32_t)(n % args->partitions), NULL);
			customer_fill(table, cs, n);
			uint8_t *state = bytes + count * CSTATE_SNAPSHOT_MAX;
			size_t n_state = cstate_encode(table, cs, state, CSTATE_SNAPSHOT_MAX);
			snaps[count++] = (struct store_snapshot){
			    .kind = 'c', .id = cstate_id(cs), .partition = cs->partition, .state = state, .len = n_state};
		}
		struct store_batch sb = {.consumer_group = "bench-restore", .snapshots = snaps,
		                         .snapshot_count = count};
		double t0 = now_s();
		rc = store_commit_batch(st, &sb, errstr, errstr_size);
		seconds += now_s() - t0;
	}
	*rows_per_s = seconds > 0 ? (double)args->customers / seconds : 0;
	free(snaps);
	free(bytes);
	cstate_table_destroy(table);
	return rc;
}

/* The detector's load_snapshot (detector/pipeline.c): decode, then upsert into the table. */
static int snapshot_load(const char *id, const uint8_t *state, size_t len, void *arg)
{
	struct load_ctx *ctx = arg;
	struct cstate snap;
	if (cstate_decode(ctx->table, id, state, len, &snap, ctx->errstr, ctx->errstr_size) != 0)
		return RISKD_ERR_INVALID;
	struct cstate *cs = cstate_table_upsert(ctx->table, id, strlen(id), snap.partition, NULL);
	snap.flags &= (uint16_t)~CSTATE_F_DIRTY;
	*cs = snap;
	ctx->loaded++;
	return 0;
}

/* Restores partitions[0..n) into an empty table; sets *seconds and *loaded. */
static int restore_time(struct store *st, const int32_t *partitions, int n, double *seconds,
                        long *loaded, char *errstr, size_t errstr_size)
{
	struct load_ctx ctx = {cstate_table_new(1024), 0, errstr, errstr_size};
	double t0 = now_s();
	int rc = store_load_snapshots(st, 'c', partitions, n, snapshot_load, &ctx, errstr,
	                              errstr_size);
	*seconds = now_s() - t0;
	*loaded = ctx.loaded;
	cstate_table_destroy(ctx.table);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct restore_args args;
	char errstr[1024];
	struct store *st = NULL;
	int32_t *all = NULL;
	int status = 1;

	if (args_parse(argc, argv, &args) != 0)
		return 2;
	if (store_open(&st, args.dsn, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "restore: %s\n", errstr);
		return 1;
	}
	double rows_per_s;
	if (snapshots_write(st, &args, &rows_per_s, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "restore: writing snapshots: %s\n", errstr);
		goto done;
	}

	double part_s[REPEAT_MAX];
	long part_loaded = 0, loaded;
	for (long i = 0; i < args.repeat; i++) {
		int32_t p = (int32_t)((i * 7 + 1) % args.partitions);
		if (restore_time(st, &p, 1, &part_s[i], &loaded, errstr, sizeof(errstr)) != 0) {
			fprintf(stderr, "restore: loading partition %d: %s\n", (int)p, errstr);
			goto done;
		}
		part_loaded = loaded;
	}
	qsort(part_s, (size_t)args.repeat, sizeof(part_s[0]), cmp_double);

	all = xcalloc((size_t)args.partitions, sizeof(*all));
	for (long p = 0; p < args.partitions; p++)
		all[p] = (int32_t)p;
	double all_s;
	if (restore_time(st, all, (int)args.partitions, &all_s, &loaded, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "restore: loading all partitions: %s\n", errstr);
		goto done;
	}
	if (loaded != args.customers) {
		fprintf(stderr, "restore: loaded %ld customers, wrote %ld\n", loaded, args.customers);
		goto done;
	}
	printf("customers=%ld partitions=%ld checkpoint_rows_per_s=%.0f "
	       "restore_partition_customers=%ld restore_partition_s=%.3f restore_all_s=%.3f "
	       "restore_customers_per_s=%.0f\n",
	       args.customers, args.partitions, rows_per_s, part_loaded, part_s[args.repeat / 2],
	       all_s, all_s > 0 ? (double)loaded / all_s : 0.0);
	status = 0;

done:
	free(all);
	store_close(st);
	return status;
}
