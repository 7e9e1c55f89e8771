/*
 * decode_bench.c - `make bench-decode`: how many events per second riskd's decoder takes on
 * one core, with the jansson decoder alone and with the fast path in front of it.
 *
 * Flow: generate a seeded city in memory with the generator riskd's benchmark uses
 * (tools/gen.c; its options are this program's, default a week of 1,000 customers with the
 * benchmark's 0.05% invalid lines and 0.1% duplicates); split it into lines; decode every
 * line once with each decoder and exit with status 1 if their verdicts differ on any line;
 * then time whole passes over the lines, the two decoders interleaved, and print each one's
 * median events per second (and the spread) over the runs, by the wall clock and by the
 * thread's CPU time (the steadier figure on a busy machine). Nothing else runs: no Kafka, no
 * state; this is the decoding cost alone.
 *
 *   build/rel/bench/decode_bench [--runs N] [gen options]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../streams/event.h"
#include "../streams/event_int.h"
#include "../tools/gen.h"

#define BENCH_RUNS_DEFAULT 5

/* The city as lines: pointers into one buffer. */
struct lines {
	char *text;
	size_t text_len;
	const char **start;
	size_t *len;
	size_t count;
};

typedef enum event_reject (*decode_fn)(const void *buf, size_t len, struct event *ev,
                                       char *errstr, size_t errstr_size);

static double clock_s(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts rates[0..runs) and returns their median. */
static double median_of(double *rates, int runs)
{
	qsort(rates, (size_t)runs, sizeof(double), compare_double);
	return runs % 2 ? rates[runs / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2;
}

/* Generates the city described by argv (gen options) and splits it into lines. */
static int lines_generate(int argc, char **argv, struct lines *ls)
{
	struct gen_options opts;
	char errstr[256];
	FILE *f;
	size_t cap = 0;

	memset(ls, 0, sizeof *ls);
	gen_options_init(&opts);
	opts.customers = 1000;
	opts.days = 7;
	opts.bad_rate = 0.0005;
	opts.dup_rate = 0.001;
	if (gen_options_parse(&opts, argc, argv, errstr, sizeof errstr) != 0) {
		fprintf(stderr, "decode_bench: %s\n", errstr);
		return -1;
	}
	f = open_memstream(&ls->text, &ls->text_len);
	if (!f || gen_write(&opts, f, NULL, errstr, sizeof errstr) != 0) {
		fprintf(stderr, "decode_bench: generating the city: %s\n", f ? errstr : "no memory");
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	for (size_t pos = 0; pos < ls->text_len;) {
		const char *nl = memchr(ls->text + pos, '\n', ls->text_len - pos);
		size_t n = nl ? (size_t)(nl - (ls->text + pos)) : ls->text_len - pos;
		if (ls->count == cap) {
			cap = cap ? cap * 2 : 65536;
			ls->start = realloc(ls->start, cap * sizeof *ls->start);
			ls->len = realloc(ls->len, cap * sizeof *ls->len);
			if (!ls->start || !ls->len) {
				fprintf(stderr, "decode_bench: out of memory\n");
				return -1;
			}
		}
		ls->start[ls->count] = ls->text + pos;
		ls->len[ls->count] = n;
		ls->count++;
		pos += n + 1;
	}
	return 0;
}

/* One pass of decode over every line; returns the accepted count. */
static size_t decode_pass(decode_fn decode, const struct lines *ls)
{
	struct event ev;
	char errstr[256];
	size_t accepted = 0;
	for (size_t i = 0; i < ls->count; i++)
		accepted += decode(ls->start[i], ls->len[i], &ev, errstr, sizeof errstr) == 0;
	return accepted;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		decode_fn decode;
	} modes[] = {
		{ "jansson only (event_decode_json)", event_decode_json },
		{ "fast path first (event_decode)", event_decode },
	};
	enum { NMODES = sizeof modes / sizeof modes[0] };
	int runs = BENCH_RUNS_DEFAULT;
	struct lines ls;
	double *rates[NMODES] = { NULL }, *cpu_rates[NMODES] = { NULL };
	double medians[NMODES], cpu_medians[NMODES];
	size_t fast_taken = 0, valid = 0;
	int rc = 1;

	if (argc > 2 && strcmp(argv[1], "--runs") == 0) {
		runs = atoi(argv[2]);
		if (runs < 1 || runs > 1000) {
			fprintf(stderr, "decode_bench: --runs %s: must be 1 to 1000\n", argv[2]);
			return 2;
		}
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (lines_generate(argc, argv, &ls) != 0)
		return 2;

	/* Both decoders must agree on every line before their speeds mean anything. */
	for (size_t i = 0; i < ls.count; i++) {
		struct event a, b;
		char ea[256], eb[256];
		enum event_reject ra = event_decode_json(ls.start[i], ls.len[i], &a, ea, sizeof ea);
		enum event_reject rb = event_decode(ls.start[i], ls.len[i], &b, eb, sizeof eb);
		if (ra != rb || (ra == 0 && memcmp(&a, &b, sizeof a) != 0) ||
		    (ra != 0 && strcmp(ea, eb) != 0)) {
			fprintf(stderr, "decode_bench: decoders disagree on line %zu: %.*s\n", i + 1,
			        (int)ls.len[i], ls.start[i]);
			goto out;
		}
		valid += ra == 0;
		fast_taken += event_decode_fast(ls.start[i], ls.len[i], &a);
	}

	for (int m = 0; m < NMODES; m++) {
		rates[m] = calloc((size_t)runs, sizeof(double));
		cpu_rates[m] = calloc((size_t)runs, sizeof(double));
		if (!rates[m] || !cpu_rates[m]) {
			fprintf(stderr, "decode_bench: out of memory\n");
			goto out;
		}
		decode_pass(modes[m].decode, &ls); /* warm up: caches, the thread's arena */
	}
	for (int r = 0; r < runs; r++) {
		for (int m = 0; m < NMODES; m++) {
			double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
			decode_pass(modes[m].decode, &ls);
			cpu_rates[m][r] = (double)ls.count / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0);
			rates[m][r] = (double)ls.count / (clock_s(CLOCK_MONOTONIC) - t0);
		}
	}

	printf("decode_bench: %zu lines (%zu valid, %zu taken by the fast path, %.2f%% of valid), "
	       "%.1f MB, %d runs, one thread\n",
	       ls.count, valid, fast_taken, valid ? 100.0 * (double)fast_taken / (double)valid : 0,
	       (double)ls.text_len / 1e6, runs);
	printf("  %-34s %12s %20s %16s %10s\n", "decoder", "events/s", "min..max",
	       "events/CPU-s", "CPU ns/ev");
	for (int m = 0; m < NMODES; m++) {
		medians[m] = median_of(rates[m], runs);
		cpu_medians[m] = median_of(cpu_rates[m], runs);
		printf("  %-34s %12.0f %9.0f..%-10.0f %16.0f %10.1f\n", modes[m].name, medians[m],
		       rates[m][0], rates[m][runs - 1], cpu_medians[m], 1e9 / cpu_medians[m]);
	}
	printf("  fast path speed-up: %.1fx (wall clock), %.1fx (CPU time)\n", medians[1] / medians[0],
	       cpu_medians[1] / cpu_medians[0]);
	rc = 0;
out:
	for (int m = 0; m < NMODES; m++) {
		free(rates[m]);
		free(cpu_rates[m]);
	}
	free(ls.text);
	free(ls.start);
	free(ls.len);
	return rc;
}
