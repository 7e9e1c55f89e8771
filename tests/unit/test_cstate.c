/*
 * test_cstate.c - Criterion suite for scoring/cstate.c: the per-customer state table
 * (lookup, growth, pointer stability, partition removal, dirty list), the interned
 * transformer ids, the id hash, the duplicate-event ring and the snapshot encoding.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scoring/cstate.h"
#include "scoring/cstate_int.h" /* the layout of version 9's snapshots */
#include "scoring/daily.h"
#include "scoring/features.h"
#include "scoring/payments.h"

/* Deterministic PRNG (xorshift64*) so property tests replay exactly. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static size_t make_id(char *buf, size_t size, const char *prefix, unsigned n)
{
	int len = snprintf(buf, size, "%s%07u", prefix, n);
	cr_assert(len > 0 && (size_t)len < size);
	return (size_t)len;
}

static struct cstate *upsert_str(struct cstate_table *table, const char *id, int32_t partition,
                                 int *created)
{
	return cstate_table_upsert(table, id, strlen(id), partition, created);
}

static struct cstate *get_str(struct cstate_table *table, const char *id)
{
	return cstate_table_get(table, id, strlen(id));
}

Test(cstate, struct_size_report)
{
	cr_log_info("sizeof(struct cstate) = %zu bytes, snapshot = %zu bytes max",
	            sizeof(struct cstate), (size_t)CSTATE_SNAPSHOT_MAX);
	/* the open day's readings sit beside it, in its table's slab (cstate.h) */
	cr_assert_leq(sizeof(struct cstate), 384);
	cr_assert_eq(cstate_slots_size(50, 0), 83, "a half-hourly meter's day of slots");
}

Test(cstate, insert_get_100k)
{
	enum { N = 100000 };
	struct cstate_table *table = cstate_table_new(0);
	struct cstate **ptrs = calloc(N, sizeof(*ptrs));
	char id[32];

	for (unsigned i = 0; i < N; i++) {
		size_t len = make_id(id, sizeof(id), "C", i);
		int created = -1;
		struct cstate *cs = cstate_table_upsert(table, id, len, (int32_t)(i % 32), &created);
		cr_assert_not_null(cs);
		cr_assert_eq(created, 1, "id %s", id);
		cr_assert_str_eq(cstate_id(cs), id);
		cr_assert_eq(cs->partition, (int32_t)(i % 32));
		cr_assert_eq(cs->flags, 0);
		cs->last_ts = (int64_t)i * 7;
		ptrs[i] = cs;
	}
	cr_assert_eq(cstate_table_count(table), N);

	for (unsigned i = 0; i < N; i++) {
		size_t len = make_id(id, sizeof(id), "C", i);
		struct cstate *cs = cstate_table_get(table, id, len);
		cr_assert_eq(cs, ptrs[i], "id %s", id);
		cr_assert_eq(cs->last_ts, (int64_t)i * 7);
		int created = -1;
		cr_assert_eq(cstate_table_upsert(table, id, len, 99, &created), ptrs[i]);
		cr_assert_eq(created, 0);
		cr_assert_eq(cs->partition, (int32_t)(i % 32), "upsert of an existing id keeps it");
	}
	for (unsigned i = N; i < N + 1000; i++) {
		size_t len = make_id(id, sizeof(id), "C", i);
		cr_assert_null(cstate_table_get(table, id, len));
	}
	/* Prefixes and extensions of stored ids are different ids. */
	cr_assert_null(get_str(table, "C000001"));
	cr_assert_null(get_str(table, "C00000010"));
	cr_assert_eq(cstate_table_count(table), N);

	size_t mem = cstate_table_memory(table);
	cr_log_info("100k customers: %zu bytes (%.1f per customer)", mem, (double)mem / N);
	cr_assert_geq(mem, N * sizeof(struct cstate));
	cr_assert_lt(mem, N * (sizeof(struct cstate) + 64) + (2u << 20));

	free(ptrs);
	cstate_table_destroy(table);
}

Test(cstate, id_length_limits)
{
	struct cstate_table *table = cstate_table_new(16);
	char id[RISKD_ID_MAX + 2];
	memset(id, 'x', sizeof(id));

	struct cstate *longest = cstate_table_upsert(table, id, RISKD_ID_MAX, 1, NULL);
	cr_assert_not_null(longest);
	cr_assert_eq(strlen(cstate_id(longest)), RISKD_ID_MAX);
	cr_assert_eq(cstate_table_get(table, id, RISKD_ID_MAX), longest);

	cr_assert_null(cstate_table_upsert(table, id, RISKD_ID_MAX + 1, 1, NULL));
	cr_assert_null(cstate_table_get(table, id, RISKD_ID_MAX + 1));
	int created = -1;
	cr_assert_null(cstate_table_upsert(table, id, 0, 1, &created));
	cr_assert_eq(created, 0);
	cr_assert_null(cstate_table_upsert(table, "ab\0c", 4, 1, NULL), "embedded NUL rejected");

	/* Not NUL-terminated input: only id_len bytes count. */
	struct cstate *cs = cstate_table_upsert(table, "C42tail", 3, 2, NULL);
	cr_assert_str_eq(cstate_id(cs), "C42");
	cr_assert_eq(get_str(table, "C42"), cs);
	cr_assert_eq(cstate_table_count(table), 2);
	cstate_table_destroy(table);
}

/* Ids of up to 15 bytes sit in the entry; longer ones, up to RISKD_ID_MAX, in the table's id
 * slab: each is found by its own bytes only (never by a prefix or by the bytes of the pointer
 * the entry holds), stays put, and goes back to the slab when its entry is removed. */
Test(cstate, ids_short_and_long)
{
	struct cstate_table *table = cstate_table_new(16);
	char id[RISKD_ID_MAX + 1];
	const size_t lengths[] = {1, 14, 15, 16, 17, 40, RISKD_ID_MAX};
	enum { K = sizeof(lengths) / sizeof(lengths[0]) };
	struct cstate *at[K];
	for (size_t k = 0; k < K; k++) {
		for (size_t i = 0; i < lengths[k]; i++)
			id[i] = (char)('a' + (i * 7 + k) % 26);
		id[lengths[k]] = '\0';
		at[k] = cstate_table_upsert(table, id, lengths[k], 1, NULL);
		cr_assert_not_null(at[k]);
		cr_assert_str_eq(cstate_id(at[k]), id);
		cr_assert_eq(cstate_table_get(table, id, lengths[k]), at[k]);
		if (lengths[k] > 1)
			cr_assert_null(cstate_table_get(table, id, lengths[k] - 1),
			               "a prefix is another id");
		char pointer_bytes[CSTATE_ID_INLINE];
		memcpy(pointer_bytes, &at[k]->key, sizeof(pointer_bytes));
		cr_assert_null(cstate_table_get(table, pointer_bytes, sizeof(void *)),
		               "the bytes an entry holds are not its id");
	}
	cr_assert_eq(cstate_id(at[0]), at[0]->key.text, "a short id sits in its entry");
	cr_assert_eq(cstate_table_ids_memory(table) > 0, 1, "the long ones in the slab");
	cr_assert_eq(cstate_id(at[K - 1]), cstate_id(get_str(table, cstate_id(at[K - 1]))),
	             "the same text each time");

	/* removing them frees their copies: the next long ids reuse them */
	size_t ids_before = cstate_table_ids_memory(table);
	const char *copies[K];
	for (size_t k = 0; k < K; k++)
		copies[k] = cstate_id(at[k]);
	cr_assert_eq(cstate_table_remove_partition(table, 1), K);
	for (size_t k = 0; k < K; k++) {
		memset(id, 'z', lengths[k]);
		id[lengths[k]] = '\0';
		cr_assert_not_null(cstate_table_upsert(table, id, lengths[k], 2, NULL));
		const char *text = cstate_id(get_str(table, id));
		cr_assert_str_eq(text, id);
		int reused = 0;
		for (size_t j = 3; j < K; j++) /* the long ones' copies */
			reused |= copies[j] == text;
		cr_assert_eq(reused, lengths[k] >= CSTATE_ID_INLINE, "id of %zu bytes", lengths[k]);
	}
	cr_assert_eq(cstate_table_ids_memory(table), ids_before, "no copy lost");
	cstate_table_clear(table);
	cr_assert_eq(cstate_table_ids_memory(table), 0);
	cr_assert_null(get_str(table, id));
	cstate_table_destroy(table);
}

/* A snapshot of an entity with an id of RISKD_ID_MAX bytes loads as the detector loads it
 * (decode into a struct of its own, upsert, copy): the entry keeps its id, and doing it again
 * keeps one copy of it; decoding into the entry itself keeps it too. */
Test(cstate, a_long_id_survives_the_detectors_load)
{
	struct cstate_table *table = cstate_table_new(16), *fresh = cstate_table_new(16);
	char id[RISKD_ID_MAX + 1], err[256] = "";
	memset(id, 'L', RISKD_ID_MAX);
	id[RISKD_ID_MAX] = '\0';
	struct cstate *cs = upsert_str(table, id, 5, NULL);
	cs->open_uwh = 77;
	uint8_t buf[CSTATE_SNAPSHOT_MAX];
	size_t len = cstate_encode(table, cs, buf, sizeof(buf));
	size_t ids_once = 0;
	for (int round = 0; round < 3; round++) {
		struct cstate snap;
		cr_assert_eq(cstate_decode(fresh, id, buf, len, &snap, err, sizeof(err)), 0, "%s",
		             err);
		struct cstate *entry = upsert_str(fresh, id, snap.partition, NULL);
		*entry = snap;
		cr_assert_str_eq(cstate_id(entry), id);
		cr_assert_eq(get_str(fresh, id), entry);
		cr_assert_eq(entry->open_uwh, 77);
		cr_assert_eq(entry->partition, 5);
		if (round == 0)
			ids_once = cstate_table_ids_memory(fresh);
		cr_assert_eq(cstate_table_ids_memory(fresh), ids_once, "one copy of the id");
		cr_assert_eq(
		    cstate_decode(fresh, cstate_id(entry), buf, len, entry, err, sizeof(err)), 0,
		    "%s", err);
		cr_assert_str_eq(cstate_id(entry), id);
	}
	cr_assert_eq(cstate_table_count(fresh), 1);
	cr_assert_eq(cstate_table_remove_partition(fresh, 5), 1);
	cstate_table_destroy(fresh);
	cstate_table_destroy(table);
}

Test(cstate, pointer_stability_across_growth)
{
	enum { N = 60000 };
	struct cstate_table *table = cstate_table_new(1);
	struct cstate **ptrs = calloc(N, sizeof(*ptrs));
	char id[32];
	size_t mem_before = cstate_table_memory(table);

	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "P", i);
		ptrs[i] = upsert_str(table, id, 0, NULL);
		ptrs[i]->open_uwh = (int64_t)i + 1000;
		/* Earlier pointers must survive every index doubling and chunk allocation. */
		if ((i & (i - 1)) == 0) {
			for (unsigned j = 0; j <= i; j++) {
				make_id(id, sizeof(id), "P", j);
				cr_assert_eq(get_str(table, id), ptrs[j]);
			}
		}
	}
	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "P", i);
		cr_assert_eq(get_str(table, id), ptrs[i]);
		cr_assert_eq(ptrs[i]->open_uwh, (int64_t)i + 1000);
	}
	cr_assert_gt(cstate_table_memory(table), mem_before);
	free(ptrs);
	cstate_table_destroy(table);
}

struct collect {
	const struct cstate *seen[64];
	size_t count;
	size_t stop_after; /* return non-zero after this many calls; 0 = never */
};

static int collect_fn(struct cstate *cs, void *arg)
{
	struct collect *c = arg;
	if (c->count < 64)
		c->seen[c->count] = cs;
	c->count++;
	if (c->stop_after && c->count == c->stop_after)
		return 42;
	return 0;
}

/* Takes the entries of partition *arg (a partial checkpoint of that partition). */
static int take_partition_fn(struct cstate *cs, void *arg)
{
	return cs->partition == *(const int32_t *)arg;
}

Test(cstate, drain_dirty_takes_some_and_keeps_the_rest_in_order)
{
	struct cstate_table *table = cstate_table_new(8);
	struct cstate *a = upsert_str(table, "A", 0, NULL);
	struct cstate *b = upsert_str(table, "B", 1, NULL);
	struct cstate *c = upsert_str(table, "C", 0, NULL);
	struct cstate *d = upsert_str(table, "D", 1, NULL);
	struct cstate *e = upsert_str(table, "E", 2, NULL);
	struct cstate *order[] = {d, a, e, b, c};
	for (size_t i = 0; i < 5; i++)
		cstate_table_mark_dirty(table, order[i]);

	int32_t partition = 1;
	cr_assert_eq(cstate_table_drain_dirty(table, take_partition_fn, &partition), 2);
	cr_assert_eq(cstate_table_dirty_count(table), 3);
	cr_assert_not(b->flags & CSTATE_F_DIRTY, "taken entries lose the flag");
	cr_assert_not(d->flags & CSTATE_F_DIRTY);
	cr_assert(a->flags & CSTATE_F_DIRTY && c->flags & CSTATE_F_DIRTY &&
	          e->flags & CSTATE_F_DIRTY);
	struct collect col = {0};
	cstate_table_foreach_dirty(table, collect_fn, &col);
	cr_assert(col.count == 3 && col.seen[0] == a && col.seen[1] == e && col.seen[2] == c,
	          "the others stay in the order first dirtied");

	/* a taken entry changed again joins the list again, at its end */
	cstate_table_mark_dirty(table, b);
	partition = 7;
	cr_assert_eq(cstate_table_drain_dirty(table, take_partition_fn, &partition), 0);
	col = (struct collect){0};
	cstate_table_foreach_dirty(table, collect_fn, &col);
	cr_assert(col.count == 4 && col.seen[3] == b);
	partition = 0;
	cr_assert_eq(cstate_table_drain_dirty(table, take_partition_fn, &partition), 2);
	partition = 2;
	cr_assert_eq(cstate_table_drain_dirty(table, take_partition_fn, &partition), 1);
	partition = 1;
	cr_assert_eq(cstate_table_drain_dirty(table, take_partition_fn, &partition), 1);
	cr_assert_eq(cstate_table_dirty_count(table), 0);
	cstate_table_destroy(table);
}

Test(cstate, dirty_list_semantics)
{
	struct cstate_table *table = cstate_table_new(8);
	struct cstate *a = upsert_str(table, "A", 0, NULL);
	struct cstate *b = upsert_str(table, "B", 0, NULL);
	struct cstate *c = upsert_str(table, "C", 1, NULL);
	struct collect col = {0};

	cr_assert_eq(cstate_table_dirty_count(table), 0, "new entries are not dirty");
	cr_assert_eq(cstate_table_foreach_dirty(table, collect_fn, &col), 0);
	cr_assert_eq(col.count, 0);

	cstate_table_mark_dirty(table, c);
	cstate_table_mark_dirty(table, a);
	cstate_table_mark_dirty(table, c);
	cstate_table_mark_dirty(table, a);
	cr_assert_eq(cstate_table_dirty_count(table), 2);
	cr_assert(c->flags & CSTATE_F_DIRTY);
	cr_assert(a->flags & CSTATE_F_DIRTY);
	cr_assert_not(b->flags & CSTATE_F_DIRTY);

	cr_assert_eq(cstate_table_foreach_dirty(table, collect_fn, &col), 0);
	cr_assert_eq(col.count, 2);
	cr_assert_eq(col.seen[0], c, "order first dirtied");
	cr_assert_eq(col.seen[1], a);
	cr_assert_eq(cstate_table_dirty_count(table), 2, "iteration does not clear");

	cstate_table_mark_dirty(table, b);
	struct collect early = {.stop_after = 2};
	cr_assert_eq(cstate_table_foreach_dirty(table, collect_fn, &early), 42);
	cr_assert_eq(early.count, 2, "stops at the first non-zero return");

	cstate_table_clear_dirty(table);
	cr_assert_eq(cstate_table_dirty_count(table), 0);
	cr_assert_not(a->flags & CSTATE_F_DIRTY);
	cr_assert_not(b->flags & CSTATE_F_DIRTY);
	cr_assert_not(c->flags & CSTATE_F_DIRTY);

	cstate_table_mark_dirty(table, b);
	cr_assert_eq(cstate_table_dirty_count(table), 1, "dirty again after clear");

	/* Overwriting a dirty entry with a decoded snapshot (which carries no dirty flag) must
	 * not make the next mark add it twice. */
	uint8_t buf[CSTATE_SNAPSHOT_MAX];
	size_t len = cstate_encode(table, b, buf, sizeof(buf));
	cr_assert_eq(cstate_decode(table, cstate_id(b), buf, len, b, NULL, 0), 0);
	cr_assert_str_eq(cstate_id(b), "B", "decoding into the entry named by its own id");
	cr_assert_not(b->flags & CSTATE_F_DIRTY);
	cstate_table_mark_dirty(table, b);
	cr_assert_eq(cstate_table_dirty_count(table), 1);
	cr_assert(b->flags & CSTATE_F_DIRTY);
	cstate_table_destroy(table);
}

struct dirty_check {
	struct cstate **order; /* expected dirty entries in order */
	size_t at;
};

static int check_fn(struct cstate *cs, void *arg)
{
	struct dirty_check *check = arg;
	if (check->order[check->at] != cs)
		return -1;
	check->at++;
	return 0;
}

Test(cstate, remove_partition_exact)
{
	enum { N = 20000, PARTS = 8 };
	struct cstate_table *table = cstate_table_new(0);
	struct cstate **ptrs = calloc(N, sizeof(*ptrs));
	char id[32];

	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "R", i);
		ptrs[i] = upsert_str(table, id, (int32_t)(i % PARTS), NULL);
		if (i % 3 == 0)
			cstate_table_mark_dirty(table, ptrs[i]);
	}
	size_t dirty_before = cstate_table_dirty_count(table);
	cr_assert_eq(cstate_table_remove_partition(table, 99), 0);
	cr_assert_eq(cstate_table_remove_partition(table, 3), N / PARTS);
	cr_assert_eq(cstate_table_count(table), N - N / PARTS);
	cr_assert_eq(cstate_table_remove_partition(table, 3), 0, "second removal finds none");

	size_t expect_dirty = 0;
	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "R", i);
		struct cstate *cs = get_str(table, id);
		if (i % PARTS == 3) {
			cr_assert_null(cs, "id %s should be gone", id);
		} else {
			cr_assert_eq(cs, ptrs[i], "id %s should survive in place", id);
			if (i % 3 == 0)
				expect_dirty++;
		}
	}
	cr_assert_lt(expect_dirty, dirty_before);
	cr_assert_eq(cstate_table_dirty_count(table), expect_dirty);

	/* The dirty list holds exactly the survivors, still in first-dirtied order. */
	struct cstate **order = calloc(N, sizeof(*order));
	size_t k = 0;
	for (unsigned i = 0; i < N; i += 3)
		if (i % PARTS != 3)
			order[k++] = ptrs[i];
	struct dirty_check check = {order, 0};
	cr_assert_eq(cstate_table_foreach_dirty(table, check_fn, &check), 0);
	cr_assert_eq(check.at, expect_dirty);

	/* Removed entries are reused (memory does not grow); the re-added ids start zeroed. */
	size_t mem_before = cstate_table_memory(table);
	for (unsigned i = 3; i < N; i += PARTS) {
		make_id(id, sizeof(id), "R", i);
		int created = 0;
		struct cstate *cs = upsert_str(table, id, 3, &created);
		cr_assert_eq(created, 1);
		cr_assert_eq(cs->flags, 0);
		cr_assert_eq(cs->open_uwh, 0);
	}
	cr_assert_eq(cstate_table_count(table), N);
	cr_assert_eq(cstate_table_memory(table), mem_before);
	cr_assert_eq(cstate_table_dirty_count(table), expect_dirty);
	free(order);
	free(ptrs);
	cstate_table_destroy(table);
}

/*
 * Property test: 50k random operations (upsert, get, mark dirty, clear dirty, remove a
 * partition, clear) on a small id universe, checked against a plain array model. A small
 * starting index makes probe runs long and exercises growth and backward-shift deletion.
 */
enum { PROP_IDS = 3000, PROP_OPS = 50000, PROP_PARTS = 6 };

struct prop_model {
	int present[PROP_IDS];
	int32_t partition[PROP_IDS];
	struct cstate *ptr[PROP_IDS];
	int64_t stamp[PROP_IDS];
	int dirty[PROP_IDS];
	unsigned dirty_order[PROP_IDS];
	size_t dirty_count;
	size_t count;
};

/* The universe's ids "Q0000000".. formatted once (formatting dominated the run time). */
static char prop_ids[PROP_IDS][16];
static size_t prop_id_lens[PROP_IDS];

static void prop_ids_init(void)
{
	for (unsigned i = 0; i < PROP_IDS; i++)
		prop_id_lens[i] = make_id(prop_ids[i], sizeof(prop_ids[i]), "Q", i);
}

struct prop_walk {
	const struct prop_model *model;
	size_t at;
};

static int prop_walk_fn(struct cstate *cs, void *arg)
{
	struct prop_walk *walk = arg;
	if (walk->at >= walk->model->dirty_count)
		return -1;
	if (walk->model->ptr[walk->model->dirty_order[walk->at]] != cs)
		return -2;
	walk->at++;
	return 0;
}

static void prop_verify(struct cstate_table *table, const struct prop_model *model)
{
	cr_assert_eq(cstate_table_count(table), model->count);
	cr_assert_eq(cstate_table_dirty_count(table), model->dirty_count);
	for (unsigned i = 0; i < PROP_IDS; i++) {
		const char *id = prop_ids[i];
		struct cstate *cs = cstate_table_get(table, id, prop_id_lens[i]);
		/* Plain comparisons first: Criterion assertions are slow in a hot loop. */
		if (!model->present[i]) {
			if (cs)
				cr_assert_fail("id %s should be absent", id);
			continue;
		}
		if (cs != model->ptr[i])
			cr_assert_fail("id %s moved or lost", id);
		if (cs->partition != model->partition[i] || cs->last_ts != model->stamp[i] ||
		    !!(cs->flags & CSTATE_F_DIRTY) != model->dirty[i])
			cr_assert_fail("id %s: partition %d/%d last_ts %lld/%lld dirty %d/%d", id,
			               cs->partition, model->partition[i], (long long)cs->last_ts,
			               (long long)model->stamp[i], !!(cs->flags & CSTATE_F_DIRTY),
			               model->dirty[i]);
	}
	struct prop_walk walk = {model, 0};
	cr_assert_eq(cstate_table_foreach_dirty(table, prop_walk_fn, &walk), 0);
	cr_assert_eq(walk.at, model->dirty_count);
}

static void prop_run(uint64_t seed, size_t expected)
{
	struct cstate_table *table = cstate_table_new(expected);
	struct prop_model *model = calloc(1, sizeof(*model));
	uint64_t rng = seed;
	size_t removals = 0;

	prop_ids_init();
	for (unsigned op = 0; op < PROP_OPS; op++) {
		unsigned roll = (unsigned)(rng_next(&rng) % 1000);
		unsigned i = (unsigned)(rng_next(&rng) % PROP_IDS);
		const char *id = prop_ids[i];
		size_t len = prop_id_lens[i];
		if (roll < 550) {
			int32_t part = (int32_t)(rng_next(&rng) % PROP_PARTS);
			int created = -1;
			struct cstate *cs = cstate_table_upsert(table, id, len, part, &created);
			if (created != !model->present[i])
				cr_assert_fail("op %u: upsert %s created=%d", op, id, created);
			if (created) {
				model->present[i] = 1;
				model->partition[i] = part;
				model->ptr[i] = cs;
				model->count++;
			}
			if (cs != model->ptr[i])
				cr_assert_fail("op %u: upsert %s returned another entry", op, id);
			cs->last_ts = (int64_t)op;
			model->stamp[i] = (int64_t)op;
		} else if (roll < 800) {
			struct cstate *cs = cstate_table_get(table, id, len);
			if (cs != (model->present[i] ? model->ptr[i] : NULL))
				cr_assert_fail("op %u: get %s returned the wrong entry", op, id);
		} else if (roll < 960) {
			if (model->present[i]) {
				cstate_table_mark_dirty(table, model->ptr[i]);
				if (!model->dirty[i]) {
					model->dirty[i] = 1;
					model->dirty_order[model->dirty_count++] = i;
				}
			}
		} else if (roll < 975) {
			cstate_table_clear_dirty(table);
			memset(model->dirty, 0, sizeof(model->dirty));
			model->dirty_count = 0;
		} else if (roll < 999) {
			int32_t part = (int32_t)(rng_next(&rng) % PROP_PARTS);
			size_t expect = 0;
			for (unsigned j = 0; j < PROP_IDS; j++) {
				if (model->present[j] && model->partition[j] == part) {
					model->present[j] = 0;
					model->dirty[j] = 0;
					model->ptr[j] = NULL;
					expect++;
				}
			}
			size_t kept = 0;
			for (size_t k = 0; k < model->dirty_count; k++)
				if (model->present[model->dirty_order[k]])
					model->dirty_order[kept++] = model->dirty_order[k];
			model->dirty_count = kept;
			model->count -= expect;
			cr_assert_eq(cstate_table_remove_partition(table, part), expect);
			removals++;
			prop_verify(table, model);
		} else {
			cstate_table_clear(table);
			memset(model, 0, sizeof(*model));
			prop_verify(table, model);
		}
		if (op % 5000 == 0)
			prop_verify(table, model);
	}
	prop_verify(table, model);
	cr_assert_gt(removals, 100);
	free(model);
	cstate_table_destroy(table);
}

Test(cstate, property_random_ops_small_index)
{
	prop_run(0x5eed0001u, 0);
}

Test(cstate, property_random_ops_presized)
{
	prop_run(0x5eed0002u, 5000);
}

Test(cstate, property_random_ops_more_seeds)
{
	for (uint64_t seed = 11; seed < 15; seed++)
		prop_run(seed * 0x9e3779b97f4a7c15ull, seed % 2 ? 0 : 100);
}

Test(cstate, clear_empties_table)
{
	struct cstate_table *table = cstate_table_new(0);
	char id[32];
	for (unsigned i = 0; i < 10000; i++) {
		make_id(id, sizeof(id), "Z", i);
		cstate_table_mark_dirty(table, upsert_str(table, id, 1, NULL));
	}
	size_t mem_full = cstate_table_memory(table);
	cstate_table_clear(table);
	cr_assert_eq(cstate_table_count(table), 0);
	cr_assert_eq(cstate_table_dirty_count(table), 0);
	cr_assert_lt(cstate_table_memory(table), mem_full, "entries are freed");
	for (unsigned i = 0; i < 10000; i++) {
		make_id(id, sizeof(id), "Z", i);
		cr_assert_null(get_str(table, id));
	}
	int created = 0;
	struct cstate *cs = upsert_str(table, "Z0000005", 2, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(cs->partition, 2);
	cr_assert_eq(cs->flags, 0);
	cr_assert_eq(get_str(table, "Z0000005"), cs);
	cstate_table_destroy(table);
	cstate_table_destroy(NULL);
}

/* ---- hash ---- */

struct hash_golden {
	const char *text;
	size_t len;
	uint64_t hash;
};

Test(cstate, hash_golden_values)
{
	/* Computed by an independent Python implementation of the same definition; these pin
	 * the function, because recent-event hashes are stored in snapshots. */
	static const struct hash_golden golden[] = {
		{"", 0, 0xe57383dc6ffcc434ull},
		{"a", 1, 0x7b50353cd9325edcull},
		{"C0000001", 8, 0x079b616dffe844daull},
		{"C00000012", 9, 0x3100eb79d2955f47ull},
		{"0123456789abcdef", 16, 0x43f0d4325362b069ull},
		{"0123456789abcdef0", 17, 0x616b847361efacd6ull},
		{"evt-2026-03-01T00:00:00+08:00-meter-000123-reading-0000000001-abcdefghijklmnopqrstu"
		 "vwxyz-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-xx",
		 129, 0x06f1289188a8ce25ull},
	};
	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		cr_assert_eq(strlen(golden[i].text), golden[i].len);
		cr_assert_eq(cstate_hash(golden[i].text, golden[i].len), golden[i].hash,
		             "hash of '%s'", golden[i].text);
	}
}

Test(cstate, hash_distribution_and_avalanche)
{
	enum { N = 100000, BINS = 1024 };
	static unsigned low_bins[BINS], high_bins[BINS];
	char id[32];
	for (unsigned i = 0; i < N; i++) {
		size_t len = make_id(id, sizeof(id), "C", i);
		uint64_t h = cstate_hash(id, len);
		cr_assert_neq(h, 0);
		low_bins[h & (BINS - 1)]++;
		high_bins[h >> 54]++;
	}
	/* Chi-square with 1023 degrees of freedom: mean 1023, sd about 45; 1300 is 6 sd. */
	double expect = (double)N / BINS, chi_low = 0, chi_high = 0;
	for (unsigned b = 0; b < BINS; b++) {
		chi_low += (low_bins[b] - expect) * (low_bins[b] - expect) / expect;
		chi_high += (high_bins[b] - expect) * (high_bins[b] - expect) / expect;
	}
	cr_log_info("hash chi-square over %d bins: low bits %.0f, high bits %.0f", BINS, chi_low,
	            chi_high);
	cr_assert_lt(chi_low, 1300.0);
	cr_assert_lt(chi_high, 1300.0);

	/* Avalanche: flipping any one input bit flips about half of the output bits. */
	uint8_t buf[40];
	uint64_t rng = 12345;
	double flips = 0;
	unsigned trials = 0;
	for (size_t len = 1; len <= sizeof(buf); len++) {
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rng_next(&rng);
		uint64_t base = cstate_hash(buf, len);
		for (size_t bit = 0; bit < len * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			uint64_t h = cstate_hash(buf, len);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			unsigned diff = (unsigned)__builtin_popcountll(base ^ h);
			cr_assert_geq(diff, 8, "len %zu bit %zu flips only %u bits", len, bit, diff);
			flips += diff;
			trials++;
		}
	}
	double mean = flips / trials;
	cr_log_info("hash avalanche: mean %.2f of 64 output bits over %u flips", mean, trials);
	cr_assert(mean > 31.0 && mean < 33.0);

	/* Trailing zero bytes and length matter. */
	cr_assert_neq(cstate_hash("a", 1), cstate_hash("a\0", 2));
	cr_assert_neq(cstate_hash("", 0), cstate_hash("\0", 1));
}

/* ---- duplicate-event ring ---- */

Test(cstate, seen_event_ring)
{
	struct cstate cs;
	memset(&cs, 0, sizeof(cs));
	uint64_t h[10];
	for (int i = 0; i < 10; i++) {
		char text[16];
		snprintf(text, sizeof(text), "evt-%d", i);
		h[i] = cstate_hash(text, strlen(text));
	}
	for (int i = 0; i < CSTATE_RECENT_EVENTS; i++)
		cr_assert_eq(cstate_seen_event(&cs, h[i]), 0, "first sight of %d", i);
	for (int i = 0; i < CSTATE_RECENT_EVENTS; i++)
		cr_assert_eq(cstate_seen_event(&cs, h[i]), 1, "repeat of %d", i);
	cr_assert_eq(cs.recent_next, 0);

	/* One more distinct event evicts the oldest (h[0]) and nothing else. */
	enum { NEXT = CSTATE_RECENT_EVENTS };
	cr_assert_eq(cstate_seen_event(&cs, h[NEXT]), 0);
	cr_assert_eq(cstate_seen_event(&cs, h[NEXT]), 1);
	for (int i = 1; i < CSTATE_RECENT_EVENTS; i++)
		cr_assert_eq(cstate_seen_event(&cs, h[i]), 1, "h[%d] still remembered", i);
	cr_assert_eq(cstate_seen_event(&cs, h[0]), 0, "h[0] was evicted");
	/* Re-recording h[0] evicted h[1], the next oldest. */
	cr_assert_eq(cstate_seen_event(&cs, h[1]), 0);
	cr_assert_eq(cstate_seen_event(&cs, h[2]), 0, "h[2] evicted by h[1]");
	cr_assert_eq(cs.recent_next, 4 % CSTATE_RECENT_EVENTS);
}

/* ---- interned transformer ids ---- */

Test(cstate, transformer_id_interning)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *a = upsert_str(table, "A", 0, NULL);
	struct cstate *b = upsert_str(table, "B", 0, NULL);
	struct cstate *c = upsert_str(table, "C", 1, NULL);

	cr_assert_str_eq(cstate_transformer_id(table, a), "", "unknown until set");
	cr_assert_eq(a->transformer_ref, 0);

	cr_assert_eq(cstate_transformer_id_set(table, a, "T-1"), 0);
	cr_assert_eq(cstate_transformer_id_set(table, b, "T-1"), 0);
	cr_assert_eq(cstate_transformer_id_set(table, c, "T-2"), 0);
	cr_assert_neq(a->transformer_ref, 0);
	cr_assert_eq(a->transformer_ref, b->transformer_ref, "same id, same reference");
	cr_assert_neq(a->transformer_ref, c->transformer_ref, "different ids differ");
	cr_assert_str_eq(cstate_transformer_id(table, a), "T-1");
	cr_assert_str_eq(cstate_transformer_id(table, c), "T-2");
	cr_assert_eq(cstate_transformer_id(table, a), cstate_transformer_id(table, b),
	             "one copy of the text");

	/* A prefix or extension of an interned id is another id. */
	struct cstate *d = upsert_str(table, "D", 1, NULL);
	cstate_transformer_id_set(table, d, "T-");
	cr_assert_str_eq(cstate_transformer_id(table, d), "T-");
	cstate_transformer_id_set(table, d, "T-10");
	cr_assert_str_eq(cstate_transformer_id(table, d), "T-10");
	cr_assert_neq(d->transformer_ref, a->transformer_ref);

	/* The customer moves to another transformer, then back; "" forgets it. */
	uint32_t ref_t1 = a->transformer_ref;
	cstate_transformer_id_set(table, a, "T-2");
	cr_assert_eq(a->transformer_ref, c->transformer_ref);
	cr_assert_str_eq(cstate_transformer_id(table, b), "T-1", "b did not move");
	cstate_transformer_id_set(table, a, "T-1");
	cr_assert_eq(a->transformer_ref, ref_t1, "ids are never renumbered");
	cstate_transformer_id_set(table, a, "");
	cr_assert_eq(a->transformer_ref, 0);
	cr_assert_str_eq(cstate_transformer_id(table, a), "");

	/* Length limits: RISKD_ID_MAX bytes fit, one more is refused and changes nothing. */
	char longest[RISKD_ID_MAX + 2];
	memset(longest, 'L', RISKD_ID_MAX + 1);
	longest[RISKD_ID_MAX + 1] = '\0';
	cr_assert_eq(cstate_transformer_id_set(table, b, longest), RISKD_ERR_RANGE);
	cr_assert_str_eq(cstate_transformer_id(table, b), "T-1");
	longest[RISKD_ID_MAX] = '\0';
	cr_assert_eq(cstate_transformer_id_set(table, b, longest), 0);
	cr_assert_str_eq(cstate_transformer_id(table, b), longest);
	cstate_table_destroy(table);
}

/* Thousands of transformers: every id keeps its reference and its text (stable pointers)
 * while the name index grows, and interning them costs little memory next to the entries. */
Test(cstate, transformer_id_many)
{
	enum { CUSTOMERS = 20000, TRANSFORMERS = 5000 };
	struct cstate_table *table = cstate_table_new(0);
	static const char *text[TRANSFORMERS];
	static uint32_t ref[TRANSFORMERS];
	char id[32], transformer_id[32];

	for (unsigned i = 0; i < CUSTOMERS; i++) {
		make_id(id, sizeof(id), "C", i);
		struct cstate *cs = upsert_str(table, id, 0, NULL);
		unsigned t = (i * 7919u) % TRANSFORMERS;
		make_id(transformer_id, sizeof(transformer_id), "T", t);
		cr_assert_eq(cstate_transformer_id_set(table, cs, transformer_id), 0);
		if (!text[t]) {
			text[t] = cstate_transformer_id(table, cs);
			ref[t] = cs->transformer_ref;
		}
		cr_assert_eq(cs->transformer_ref, ref[t], "%s", transformer_id);
	}
	size_t mem_before = cstate_table_memory(table);
	for (unsigned i = 0; i < CUSTOMERS; i++) {
		make_id(id, sizeof(id), "C", i);
		const struct cstate *cs = get_str(table, id);
		unsigned t = (i * 7919u) % TRANSFORMERS;
		make_id(transformer_id, sizeof(transformer_id), "T", t);
		cr_assert_eq(cstate_transformer_id(table, cs), text[t], "the text never moves");
		cr_assert_str_eq(text[t], transformer_id);
	}
	cr_assert_eq(cstate_table_memory(table), mem_before, "lookups allocate nothing");

	/* The names cost about one id's text (and index slots) per transformer, not per
	 * customer: the same customers without transformers use that much less. */
	struct cstate_table *bare = cstate_table_new(0);
	for (unsigned i = 0; i < CUSTOMERS; i++) {
		make_id(id, sizeof(id), "C", i);
		upsert_str(bare, id, 0, NULL);
	}
	size_t names_bytes = mem_before - cstate_table_memory(bare);
	cr_log_info("%d transformer ids interned in %zu bytes", TRANSFORMERS, names_bytes);
	cr_assert_geq(names_bytes, TRANSFORMERS * (size_t)(RISKD_ID_MAX + 1));
	cr_assert_lt(names_bytes, TRANSFORMERS * (size_t)100);
	cstate_table_destroy(bare);

	/* Clearing the entries keeps the names: a reloaded customer gets the same reference. */
	cstate_table_clear(table);
	struct cstate *cs = upsert_str(table, "C0000001", 0, NULL);
	make_id(transformer_id, sizeof(transformer_id), "T", 7919u % TRANSFORMERS);
	cstate_transformer_id_set(table, cs, transformer_id);
	cr_assert_eq(cs->transformer_ref, ref[7919u % TRANSFORMERS]);
	cstate_table_destroy(table);
}

/* ---- snapshots ---- */

/* A customer entry of table as the detector holds it after a profile and a few readings. */
static struct cstate *fill_state(struct cstate_table *table, const char *id)
{
	struct cstate *cs = upsert_str(table, id, 17, NULL);
	cr_assert_not_null(cs);
	cr_assert_eq(cstate_transformer_id_set(table, cs, "T-88"), 0);
	cs->flags = CSTATE_F_PROFILE | CSTATE_F_HAS_DAY;
	cs->segment = 2;
	cs->capacity_kw = 7.5f;
	cs->last_ts = 1772296200;
	cs->open_day = 20513;
	cs->open_readings = 3;
	cs->open_uwh = 1234567;
	cs->days_closed = 40;
	cs->last_closed_day = 20512;
	cs->last_closed_uwh = 9876543210LL;
	cstate_seen_event(cs, cstate_hash("e1", 2));
	cstate_seen_event(cs, cstate_hash("e2", 2));
	return cs;
}

static int holds_bytes(const uint8_t *buf, size_t len, const char *text)
{
	size_t n = strlen(text);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, text, n) == 0)
			return 1;
	return 0;
}

/* Equal state, the process-local transformer reference aside. */
static void expect_same_state(const struct cstate_table *table_a, const struct cstate *a,
                              const struct cstate_table *table_b, const struct cstate *b)
{
	struct cstate x = *a, y = *b;
	cr_assert_str_eq(cstate_transformer_id(table_a, a), cstate_transformer_id(table_b, b));
	x.transformer_ref = y.transformer_ref = 0;
	x.flags &= (uint8_t)~CSTATE_F_DIRTY;
	y.flags &= (uint8_t)~CSTATE_F_DIRTY;
	cr_assert_eq(memcmp(&x, &y, sizeof(x)), 0, "byte-identical state");
}

Test(cstate, encode_decode_round_trip)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate back;
	uint8_t buf[CSTATE_SNAPSHOT_MAX], again[CSTATE_SNAPSHOT_MAX];
	char err[256] = "";
	struct cstate *cs = fill_state(table, "C0012345");

	size_t body = offsetof(struct cstate, slots) - offsetof(struct cstate, transformer_ref);
	size_t len = cstate_encode(table, cs, buf, sizeof(buf));
	cr_assert_eq(len, 8 + body + 1 + 1 + strlen("T-88"));
	cr_assert_eq(memcmp(buf, "RKS1", 4), 0);
	cr_assert_eq(buf[4] | buf[5] << 8, 10, "version 10, little-endian");
	cr_assert_eq((size_t)(buf[6] | buf[7] << 8), body);
	cr_assert_eq(buf[8 + body], 0, "no open-day slots");
	cr_assert_eq(buf[8 + body + 1], 4, "transformer_id length");
	cr_assert_eq(memcmp(buf + 8 + body + 2, "T-88", 4), 0, "transformer_id as text");
	cr_assert_not(holds_bytes(buf, len, "C0012345"), "the id is the row's key, not encoded");

	memset(&back, 0xa5, sizeof(back));
	cr_assert_eq(cstate_decode(table, "C0012345", buf, len, &back, err, sizeof(err)), 0, "%s",
	             err);
	cr_assert_eq(memcmp(&back, cs, sizeof(*cs)), 0, "byte-identical in the same table");
	cr_assert_eq(cstate_seen_event(&back, cstate_hash("e2", 2)), 1);

	/* Identical state encodes to identical bytes, whatever the dirty flag and the
	 * transformers interned before. */
	struct cstate_table *other = cstate_table_new(0);
	struct cstate *filler = upsert_str(other, "X", 0, NULL);
	cstate_transformer_id_set(other, filler, "T-1");
	cstate_transformer_id_set(other, filler, "T-2");
	struct cstate *noisy = fill_state(other, "C0012345");
	cr_assert_neq(noisy->transformer_ref, cs->transformer_ref, "another reference");
	cstate_table_mark_dirty(other, noisy);
	cr_assert_eq(cstate_encode(other, noisy, again, sizeof(again)), len);
	cr_assert_eq(memcmp(buf, again, len), 0);

	/* A different state, or transformer, encodes differently. */
	noisy->open_uwh++;
	cstate_encode(other, noisy, again, sizeof(again));
	cr_assert_neq(memcmp(buf, again, len), 0);
	noisy->open_uwh--;
	cstate_transformer_id_set(other, noisy, "T-89");
	cr_assert_eq(cstate_encode(other, noisy, again, sizeof(again)), len);
	cr_assert_neq(memcmp(buf, again, len), 0);

	cr_assert_eq(cstate_encode(table, cs, again, len - 1), 0, "buffer too small");
	cr_assert_eq(cstate_encode(table, cs, again, len), len, "exact buffer is enough");
	cstate_table_destroy(other);
	cstate_table_destroy(table);
}

/* What a restart does: snapshots from one process's table decode into a fresh table, whose
 * references differ, and the customers keep their transformers. */
Test(cstate, decode_into_fresh_table)
{
	enum { N = 300 };
	struct cstate_table *table = cstate_table_new(0), *fresh = cstate_table_new(0);
	static uint8_t snaps[N][CSTATE_SNAPSHOT_MAX];
	size_t lens[N];
	char id[32], transformer_id[32], err[256] = "";

	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "C", i);
		struct cstate *cs = fill_state(table, id);
		make_id(transformer_id, sizeof(transformer_id), "T", i % 7);
		if (i % 10 == 9)
			transformer_id[0] = '\0'; /* no profile yet */
		cstate_transformer_id_set(table, cs, transformer_id);
		cs->open_uwh = i;
		lens[i] = cstate_encode(table, cs, snaps[i], sizeof(snaps[i]));
		cr_assert_gt(lens[i], 0);
	}
	/* The fresh process interns in another order: its references differ. */
	struct cstate *first = upsert_str(fresh, "Z", 0, NULL);
	cstate_transformer_id_set(fresh, first, "T0000006");
	for (unsigned k = 0; k < N; k++) {
		unsigned i = N - 1 - k;
		make_id(id, sizeof(id), "C", i);
		struct cstate snap;
		cr_assert_eq(cstate_decode(fresh, id, snaps[i], lens[i], &snap, err, sizeof(err)), 0,
		             "%s", err);
		struct cstate *cs = upsert_str(fresh, id, snap.partition, NULL);
		*cs = snap;
	}
	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "C", i);
		const struct cstate *a = get_str(table, id), *b = get_str(fresh, id);
		cr_assert_not_null(b);
		cr_assert_eq(b->open_uwh, i);
		expect_same_state(table, a, fresh, b);
		if (i % 10 == 9)
			cr_assert_eq(b->transformer_ref, 0, "no transformer stays unknown");
	}
	make_id(id, sizeof(id), "C", 6);
	cr_assert_neq(get_str(table, id)->transformer_ref, get_str(fresh, id)->transformer_ref,
	              "references are per table");
	cr_assert_eq(get_str(fresh, id)->transformer_ref, first->transformer_ref,
	             "the decoded id found the one interned before");

	/* Re-encoding from the fresh table gives back the original bytes. */
	uint8_t again[CSTATE_SNAPSHOT_MAX];
	for (unsigned i = 0; i < N; i++) {
		make_id(id, sizeof(id), "C", i);
		cr_assert_eq(cstate_encode(fresh, get_str(fresh, id), again, sizeof(again)), lens[i]);
		cr_assert_eq(memcmp(again, snaps[i], lens[i]), 0, "%s", id);
	}
	cstate_table_destroy(fresh);
	cstate_table_destroy(table);
}

static void expect_decode_error(const char *id, const uint8_t *buf, size_t len,
                                const char *needle)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate cs, before;
	char err[256] = "";
	memset(&cs, 0x5a, sizeof(cs));
	memcpy(&before, &cs, sizeof(cs));
	size_t mem_before = cstate_table_memory(table);
	cr_assert_eq(cstate_decode(table, id, buf, len, &cs, err, sizeof(err)), RISKD_ERR_INVALID,
	             "expected failure mentioning '%s'", needle);
	cr_assert_not_null(strstr(err, needle), "message '%s' lacks '%s'", err, needle);
	cr_assert_eq(memcmp(&cs, &before, sizeof(cs)), 0, "*cs untouched on error");
	cr_assert_eq(cstate_table_memory(table), mem_before, "nothing interned on error");
	cstate_table_destroy(table);
}

Test(cstate, decode_errors)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *cs = fill_state(table, "C0012345");
	uint8_t good[CSTATE_SNAPSHOT_MAX + 4], bad[CSTATE_SNAPSHOT_MAX + 4];
	size_t len = cstate_encode(table, cs, good, sizeof(good));
	const size_t off = 8; /* body offset */
	const size_t body = offsetof(struct cstate, slots) - offsetof(struct cstate, transformer_ref);
	const size_t tlen_at = off + body + 1; /* the transformer_id's length byte */
	const char *id = "C0012345";

	expect_decode_error(id, good, 0, "too short");
	expect_decode_error(id, good, 7, "too short");

	memcpy(bad, good, len);
	bad[3] = '2';
	expect_decode_error(id, bad, len, "bad magic");

	memcpy(bad, good, len);
	bad[4] = 6;
	expect_decode_error(id, bad, len, "version 6 is not supported");
	memcpy(bad, good, len);
	bad[4] = 11;
	expect_decode_error(id, bad, len, "version 11 is not supported");
	memcpy(bad, good, len);
	bad[5] = 1;
	expect_decode_error(id, bad, len, "version 266");
	memcpy(bad, good, len);
	bad[4] = 8; /* a version 8 body is shorter */
	expect_decode_error(id, bad, len, "incompatible build");
	memcpy(bad, good, len);
	bad[4] = 9; /* and version 9's longer */
	expect_decode_error(id, bad, len, "incompatible build");
	memcpy(bad, good, len);
	bad[off + body] = 3; /* no such slots layout */
	expect_decode_error(id, bad, len, "slots are cut short or malformed");
	memcpy(bad, good, len);
	bad[off + body] = 1; /* compact slots said, none there */
	expect_decode_error(id, bad, len, "slots are cut short or malformed");

	memcpy(bad, good, len);
	bad[6] = (uint8_t)(bad[6] + 8);
	expect_decode_error(id, bad, len, "incompatible build");

	expect_decode_error(id, good, len - 1, "expected");
	expect_decode_error(id, good, tlen_at, "expected"); /* cut before the length byte */
	memcpy(bad, good, len);
	bad[len] = 0;
	expect_decode_error(id, bad, len + 1, "expected");
	memcpy(bad, good, len);
	bad[tlen_at] = 3; /* the length disagrees with the snapshot's size */
	expect_decode_error(id, bad, len, "expected");

	expect_decode_error("", good, len, "id must be 1..63 bytes");
	char long_id[RISKD_ID_MAX + 2];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	expect_decode_error(long_id, good, len, "id must be 1..63 bytes");

	memcpy(bad, good, len);
	bad[tlen_at + 2] = '\0';
	expect_decode_error(id, bad, len, "transformer_id is 4 bytes or holds a NUL");
	memcpy(bad, good, tlen_at);
	bad[tlen_at] = RISKD_ID_MAX + 1;
	memset(bad + tlen_at + 1, 'T', RISKD_ID_MAX + 1);
	expect_decode_error(id, bad, tlen_at + 1 + RISKD_ID_MAX + 1, "transformer_id is 64 bytes");

	memcpy(bad, good, len);
	bad[off + offsetof(struct cstate, recent_next) - offsetof(struct cstate, transformer_ref)] =
	    CSTATE_RECENT_EVENTS;
	expect_decode_error(id, bad, len, "recent_next 4 out of range");

	int64_t open_uwh = cs->open_uwh;
	cs->open_uwh = -1;
	cstate_encode(table, cs, bad, sizeof(bad));
	cs->open_uwh = open_uwh;
	expect_decode_error(id, bad, len, "negative daily counter");

	/* A NULL errstr is allowed, and the good snapshot still decodes. */
	struct cstate out;
	cr_assert_eq(cstate_decode(table, id, bad, len, &out, NULL, 0), RISKD_ERR_INVALID);
	cr_assert_eq(cstate_decode(table, id, good, len, &out, NULL, 0), 0);
	cr_assert_str_eq(cstate_id(&out), "C0012345");
	cr_assert_str_eq(cstate_transformer_id(table, &out), "T-88");
	cstate_table_destroy(table);
}

/* cs's fields as version 9 held them (no coverage): the same up to days_closed. */
static struct cstate_v9 as_v9(const struct cstate *cs)
{
	struct cstate_v9 old;
	const size_t at = offsetof(struct cstate, transformer_ref);
	memset(&old, 0, sizeof(old));
	memcpy((uint8_t *)&old + offsetof(struct cstate_v9, transformer_ref),
	       (const uint8_t *)cs + at, offsetof(struct cstate, last_closed_uwh) - at);
	old.flags &= (uint8_t)~CSTATE_F_DIRTY;
	old.transformer_ref = 0;
	old.last_closed_day = cs->last_closed_day;
	old.last_closed_uwh = cs->last_closed_uwh;
	memcpy(old.recent_events, cs->recent_events, sizeof(old.recent_events));
	old.theft = cs->theft;
	old.pay = cs->pay;
	return old;
}

/* Writes header, body (body_len bytes) and transformer_id of an old snapshot; its length. */
static size_t encode_old(const struct cstate_table *table, const struct cstate *cs, int version,
                         const uint8_t *body, size_t body_len, uint8_t *buf)
{
	const char *transformer_id = cstate_transformer_id(table, cs);
	memcpy(buf, "RKS1", 4);
	buf[4] = (uint8_t)version;
	buf[5] = 0;
	buf[6] = (uint8_t)(body_len & 0xff);
	buf[7] = (uint8_t)(body_len >> 8);
	memcpy(buf + 8, body, body_len);
	buf[8 + body_len] = (uint8_t)strlen(transformer_id);
	memcpy(buf + 8 + body_len + 1, transformer_id, strlen(transformer_id));
	return 8 + body_len + 1 + strlen(transformer_id);
}

/*
 * Encodes cs as a version-8 snapshot would have held it (version `version`): the body
 * without the coverage and pay_state's graded_day, and with 8 recent event hashes where this
 * build keeps CSTATE_RECENT_EVENTS, `recent` (the ring's slots in order) and recent_next
 * `next`. Returns the length.
 */
static size_t encode_v8(const struct cstate_table *table, const struct cstate *cs, int version,
                        const uint64_t recent[8], uint8_t next, uint8_t *buf)
{
	const size_t at = offsetof(struct cstate_v9, transformer_ref);
	const size_t prefix = offsetof(struct cstate_v9, recent_events) - at;
	const size_t tail = offsetof(struct cstate_v9, pay) + PAY_STATE_V8_SIZE -
	                    offsetof(struct cstate_v9, theft);
	struct cstate_v9 old = as_v9(cs);
	uint8_t body[1024];
	old.recent_next = next;
	memcpy(body, (const uint8_t *)&old + at, prefix);
	memcpy(body + prefix, recent, 8 * sizeof(uint64_t));
	memcpy(body + prefix + 8 * sizeof(uint64_t), &old.theft, tail);
	return encode_old(table, cs, version, body, prefix + 8 * sizeof(uint64_t) + tail, buf);
}

/* Encodes cs as version 9 held it, with the open day's coverage `cover`. */
static size_t encode_v9(const struct cstate_table *table, const struct cstate *cs,
                        const uint16_t *cover, uint8_t *buf)
{
	const size_t at = offsetof(struct cstate_v9, transformer_ref);
	struct cstate_v9 old = as_v9(cs);
	memcpy(old.cover, cover, sizeof(old.cover));
	return encode_old(table, cs, 9, (const uint8_t *)&old + at, sizeof(old) - at, buf);
}

/* The state a snapshot decodes to in table (it must decode). */
static struct cstate decoded(struct cstate_table *table, const char *id, const uint8_t *buf,
                             size_t len)
{
	struct cstate got;
	char errstr[256] = "";
	cr_assert_eq(cstate_decode(table, id, buf, len, &got, errstr, sizeof(errstr)), 0, "%s",
	             errstr);
	return got;
}

/* A version-8 snapshot loads: every field but the coverage and graded_day as it was, the newest
 * CSTATE_RECENT_EVENTS of its 8 recent event hashes kept (the ring's next slot names the
 * oldest), the open day's coverage empty and graded_day 0 (grading goes on from the next
 * day graded). */
Test(cstate, a_version_8_snapshot_is_upgraded_when_read)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *cs = fill_state(table, "C0080008");
	payments_bill(&cs->pay, "B1", 2, 100.0, 20020, 20000);
	uint64_t recent[8];
	for (int i = 0; i < 8; i++)
		recent[i] = 100 + (uint64_t)i; /* slot i; with next = 3, slot 3 is the oldest */
	uint8_t buf[CSTATE_SNAPSHOT_MAX + 64];
	size_t len = encode_v8(table, cs, 8, recent, 3, buf);

	struct cstate got = decoded(table, "C0080008", buf, len);
	cr_assert_eq(got.open_uwh, cs->open_uwh);
	cr_assert_eq(got.last_closed_uwh, cs->last_closed_uwh);
	cr_assert_eq(memcmp(&got.theft, &cs->theft, sizeof(got.theft)), 0);
	cr_assert_eq(memcmp(&got.pay, &cs->pay, PAY_STATE_V8_SIZE), 0);
	cr_assert_eq(got.pay.graded_day, 0);
	cr_assert_str_eq(cstate_transformer_id(table, &got), "T-88");
	for (int i = 0; i < CSTATE_RECENT_EVENTS; i++)
		cr_assert_eq(cstate_seen_event(&got, 100 + (uint64_t)((3 + 8 - CSTATE_RECENT_EVENTS + i)
		                                                      % 8)),
		             1, "the newest hashes are kept (%d)", i);
	cr_assert_eq(cstate_seen_event(&got, 103), 0, "the oldest is gone");
	cr_assert_null(got.slots, "no readings of the open day held");
	cr_assert_eq(got.last_closed_day, cs->last_closed_day);

	/* and re-encodes as version 10 */
	uint8_t again[CSTATE_SNAPSHOT_MAX];
	size_t again_len = cstate_encode(table, &got, again, sizeof(again));
	cr_assert_gt(again_len, 0);
	cr_assert_eq(again[4], 10);
	cstate_table_destroy(table);
}

/* A version-9 snapshot loads: every field as it was, and its open day's coverage (100 codes a
 * quarter hour) as slots of a quarter hour that give the same verdicts and the same codes
 * back: exact where the code was a whole number of Wh, known by their hash where it was
 * hashed. A day without coverage has no slots. */
Test(cstate, a_version_9_snapshot_is_upgraded_when_read)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *cs = fill_state(table, "C0090009");
	payments_bill(&cs->pay, "B1", 2, 100.0, 20020, 20000);
	cs->pay.graded_day = 20500;
	uint16_t cover[CSTATE_COVER_SLOTS] = {0};
	daily_cover_add(cover, 0, 1800, 250000);    /* 250 Wh: code 251 */
	daily_cover_add(cover, 3600, 3600, 1500);   /* 1.5 Wh: hashed */
	daily_cover_add(cover, 85500, 7200, 9000);  /* runs past the day's end */
	uint8_t buf[CSTATE_SNAPSHOT_MAX + 256];
	size_t len = encode_v9(table, cs, cover, buf);

	struct cstate got = decoded(table, "C0090009", buf, len);
	cr_assert_eq(got.open_day, cs->open_day);
	cr_assert_eq(got.open_uwh, cs->open_uwh);
	cr_assert_eq(got.days_closed, cs->days_closed);
	cr_assert_eq(got.last_closed_day, cs->last_closed_day);
	cr_assert_eq(got.last_closed_uwh, cs->last_closed_uwh);
	cr_assert_eq(memcmp(&got.theft, &cs->theft, sizeof(got.theft)), 0);
	cr_assert_eq(memcmp(&got.pay, &cs->pay, sizeof(got.pay)), 0);
	cr_assert_eq(got.pay.graded_day, 20500);
	cr_assert_str_eq(cstate_transformer_id(table, &got), "T-88");
	cr_assert_eq(cstate_seen_event(&got, cstate_hash("e2", 2)), 1);

	cr_assert_not_null(got.slots);
	cr_assert_eq(got.slots->grid, 1);
	cr_assert_eq(got.slots->day, cs->open_day);
	uint16_t back[CSTATE_COVER_SLOTS];
	daily_open_cover(&got, got.open_day, back);
	cr_assert_eq(memcmp(back, cover, sizeof(back)), 0, "the same coverage codes");
	int64_t old;
	cr_assert_eq(daily_open_check(&got, got.open_day, 0, 1800, 250000, &old, NULL),
	             DAILY_COVER_SAME);
	cr_assert_eq(daily_open_check(&got, got.open_day, 0, 1800, 260000, &old, NULL),
	             DAILY_COVER_DIFFERS);
	cr_assert_eq(old, 250000);
	cr_assert_eq(daily_open_check(&got, got.open_day, 3600, 3600, 1500, &old, NULL),
	             DAILY_COVER_SAME, "by its hash");
	cr_assert_eq(daily_open_check(&got, got.open_day, 3600, 3600, 1501, &old, NULL),
	             DAILY_COVER_DIFFERS);
	cr_assert_eq(old, -1, "its energy is not known: it cannot be replaced");
	cr_assert_eq(daily_open_check(&got, got.open_day, 1800, 1800, 1, &old, NULL),
	             DAILY_COVER_NEW);

	/* it re-encodes as version 10, and reads back the same */
	uint8_t again[CSTATE_SNAPSHOT_MAX];
	size_t again_len = cstate_encode(table, &got, again, sizeof(again));
	cr_assert_eq(again[4], 10);
	struct cstate twice = decoded(table, "C0090009", again, again_len);
	daily_open_cover(&twice, twice.open_day, back);
	cr_assert_eq(memcmp(back, cover, sizeof(back)), 0);
	cstate_slots_free(table, twice.slots);
	cstate_slots_free(table, got.slots);

	/* without coverage: no slots */
	memset(cover, 0, sizeof(cover));
	len = encode_v9(table, cs, cover, buf);
	got = decoded(table, "C0090009", buf, len);
	cr_assert_null(got.slots);
	cstate_table_destroy(table);
}

/* The open day's slots travel in the snapshot: compact or wide, they read back the same,
 * into a fresh table, and re-encode to the same bytes; decoding into an entry frees the
 * slots it held. Bad slots are refused. */
Test(cstate, the_open_days_slots_round_trip)
{
	struct cstate_table *table = cstate_table_new(0), *fresh = cstate_table_new(0);
	char errstr[256];
	uint8_t buf[CSTATE_SNAPSHOT_MAX], again[CSTATE_SNAPSHOT_MAX];
	for (int wide = 0; wide < 2; wide++) {
		struct cstate *cs = upsert_str(table, wide ? "C2" : "C1", 3, NULL);
		for (int k = 0; k < 30; k++) {
			int64_t uwh = 1000 * (100 + k) + (wide && k == 7 ? 1 : 0);
			daily_apply_reading(cs, 20513, uwh, 1800, NULL);
			daily_open_add(table, cs, k * 1800, 1800, uwh);
		}
		cr_assert_eq(cs->slots->exact, wide);
		size_t len = cstate_encode(table, cs, buf, sizeof(buf));
		cr_assert_eq(len, 8 + offsetof(struct cstate, slots) -
		                      offsetof(struct cstate, transformer_ref) + 1 +
		                      (wide ? cstate_slots_size(50, 1) : 8 + 2 * 50) + 1,
		             "compact codes are stored in 16 bits");

		struct cstate *entry = upsert_str(fresh, wide ? "C2" : "C1", 3, NULL);
		for (int round = 0; round < 3; round++) { /* into the entry itself: no slots lost */
			cr_assert_eq(cstate_decode(fresh, cstate_id(entry), buf, len, entry, errstr,
			                           sizeof(errstr)), 0, "%s", errstr);
			cr_assert_neq(entry->slots, cs->slots, "its own record");
		}
		cr_assert_eq(memcmp(entry->slots, cs->slots, 4 + 3), 0, "day, grid, count, layout");
		uint16_t a[CSTATE_COVER_SLOTS], b[CSTATE_COVER_SLOTS];
		daily_open_cover(cs, 20513, a);
		daily_open_cover(entry, 20513, b);
		cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
		cr_assert_eq(cstate_encode(fresh, entry, again, sizeof(again)), len);
		cr_assert_eq(memcmp(buf, again, len), 0, "the same bytes");

		/* a bad grid, a bad count, a wide energy of no meaning */
		const size_t slots_at =
		    8 + offsetof(struct cstate, slots) - offsetof(struct cstate, transformer_ref) + 1;
		memcpy(again, buf, len);
		again[slots_at + 4] = 5; /* grid 5 does not divide a day */
		expect_decode_error("C1", again, len, "slots are cut short or malformed");
		memcpy(again, buf, len);
		again[slots_at + 5] = 49;
		expect_decode_error("C1", again, len, "slots are cut short or malformed");
		if (wide) {
			memcpy(again, buf, len);
			int64_t nonsense = -5;
			memcpy(again + slots_at + 8 + 8 * 40, &nonsense, sizeof(nonsense));
			expect_decode_error("C1", again, len, "slots are cut short or malformed");
		}
		expect_decode_error("C1", buf, len - 3, "cut short");
	}
	/* removing a partition frees its entities' slots for the next */
	size_t before = cstate_table_slots_memory(fresh);
	cr_assert_eq(cstate_table_remove_partition(fresh, 3), 2);
	struct cstate *next = upsert_str(fresh, "C3", 4, NULL);
	daily_apply_reading(next, 20513, 1000, 1800, NULL);
	daily_open_add(fresh, next, 0, 1800, 1000);
	cr_assert_eq(cstate_table_slots_memory(fresh), before, "a freed record reused");
	cstate_table_destroy(fresh);
	cstate_table_destroy(table);
}

/* A snapshot stores compact codes in 16 bits: one holding a reading above what memory's 12
 * bits hold (a version 10 snapshot written before they were 12 bits) reads back as wide slots
 * with every energy and length as it was, and writes back the same bytes but for the layout. */
Test(cstate, compact_codes_past_12_bits_read_as_wide_slots)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *cs = upsert_str(table, "C1", 3, NULL);
	for (int k = 0; k < 4; k++) {
		daily_apply_reading(cs, 20513, 1000 * (10 + k), 1800, NULL);
		daily_open_add(table, cs, k * 3600, k == 3 ? 3600 : 1800, 1000 * (10 + k));
	}
	cr_assert_not(cs->slots->exact);
	uint8_t buf[CSTATE_SNAPSHOT_MAX];
	size_t len = cstate_encode(table, cs, buf, sizeof(buf));
	const size_t codes_at = 8 + offsetof(struct cstate, slots) -
	                        offsetof(struct cstate, transformer_ref) + 1 + 8;
	uint16_t code;
	memcpy(&code, buf + codes_at + 2 * 2, sizeof(code));
	cr_assert_eq(code, 12, "slot 2 (an hour in): 11 Wh + 1, in 16 bits");
	memcpy(&code, buf + codes_at + 2 * 7, sizeof(code));
	cr_assert_eq(code, UINT16_MAX, "slot 7 continues the reading of slot 6");
	code = 60001; /* 60 kWh */
	memcpy(buf + codes_at + 2 * 2, &code, sizeof(code));

	char err[256] = "";
	struct cstate got;
	cr_assert_eq(cstate_decode(table, "C1", buf, len, &got, err, sizeof(err)), 0, "%s", err);
	cr_assert(got.slots->exact, "60,000 Wh need the wide layout");
	int64_t old;
	cr_assert_eq(daily_open_check(&got, 20513, 3600, 1800, 60000000, &old, NULL),
	             DAILY_COVER_SAME);
	cr_assert_eq(daily_open_check(&got, 20513, 0, 1800, 10000, &old, NULL), DAILY_COVER_SAME);
	cr_assert_eq(daily_open_check(&got, 20513, 3 * 3600, 3600, 13000, &old, NULL),
	             DAILY_COVER_SAME, "an hour's reading keeps its length");
	cr_assert_eq(daily_open_check(&got, 20513, 3 * 3600, 1800, 13000, &old, NULL),
	             DAILY_COVER_DIFFERS);
	cstate_slots_free(table, got.slots);
	cstate_table_destroy(table);
}

/* A version-7 snapshot (the older debt's bill count in the whole of pay.older_rev, no
 * reversal day) still loads after an upgrade: the count is clamped to 3 and a customer with
 * a reversal gets day 1 of its month. */
Test(cstate, a_version_7_snapshot_is_upgraded_when_read)
{
	struct cstate_table *table = cstate_table_new(0);
	struct cstate *cs = fill_state(table, "C0070007");
	int32_t day = 20000;
	payments_bill(&cs->pay, "B1", 2, 100.0, day + 20, day);
	payments_reversal(&cs->pay, 10.0, day + 5);
	uint8_t buf[CSTATE_SNAPSHOT_MAX + 64];
	uint64_t recent[8] = {0};
	size_t len = encode_v8(table, cs, 7, recent, 0, buf);
	const size_t older_at = 8 + offsetof(struct cstate_v9, pay) +
	                        offsetof(struct pay_state, older_rev) -
	                        offsetof(struct cstate_v9, transformer_ref) +
	                        (8 - CSTATE_RECENT_EVENTS) * sizeof(uint64_t);
	buf[older_at] = 200; /* version 7: 200 bills in the older debt */

	struct cstate got = decoded(table, "C0070007", buf, len);
	cr_assert_eq(got.pay.older_rev & 0x03, 3, "the count is clamped to 3");
	cr_assert_eq((got.pay.older_rev >> 2) & 0x1f, 1, "the reversal's day becomes the 1st");
	struct feature_vec fv;
	feature_vec_clear(&fv);
	payments_features(&got, day + 30, &fv);
	cr_assert(feature_known(&fv, FEAT_DAYS_SINCE_REVERSAL));
	cr_assert_geq(fv.value[FEAT_DAYS_SINCE_REVERSAL], 30.0,
	              "day 1 of the month is no later than the true day");
	cstate_table_destroy(table);
}
