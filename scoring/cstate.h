/*
 * cstate.h - fixed-size per-customer state and the open-addressing table that holds it.
 *
 * One struct cstate per customer (and, in a second table, per transformer), keyed by id.
 * Entries live in fixed chunks, so a pointer returned by the table stays valid until that
 * entry is removed, even when the index grows. The table also keeps the list of entries
 * touched since the last checkpoint ("dirty"), which the detector snapshots into PostgreSQL
 * in the same transaction as the batch's results and offsets.
 *
 * A customer's transformer_id is not stored in its entry: a utility has a few thousand
 * transformers for millions of customers, so each table interns the transformer ids it is
 * given and an entry holds a 4-byte reference (cstate_transformer_id_set and
 * cstate_transformer_id). The reference is meaningful only within its table and process;
 * snapshots carry the id as text.
 *
 * Pure code: no I/O. Not thread-safe: one table belongs to the detector's main loop.
 */
#ifndef RISKD_CSTATE_H
#define RISKD_CSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../config/riskd_base.h"
#include "models.h"
#include "payments.h"

/* How many recent event_id hashes each entity remembers to detect repeated events other
 * than readings (readings are checked against the open day's coverage, cover below). */
#define CSTATE_RECENT_EVENTS 4

/* A closed day's coverage (risk.reading_coverage, and the closed-day check of scoring/daily.h):
 * one code per quarter hour of the local day (a 25-hour day has 100), for readings that start
 * on a quarter hour and last a whole number of them. */
#define CSTATE_COVER_SLOT_S 900
#define CSTATE_COVER_SLOTS 100
#define CSTATE_COVER_NONE 0           /* no reading covers this quarter hour */
#define CSTATE_COVER_EXACT_MAX 0x7FFFu /* 1..this: a reading of (code - 1) Wh starts here */
#define CSTATE_COVER_HASHED 0x8000u   /* 0x8000..0xFFFD: a reading starts here whose energy is
                                         not a whole number of Wh below 32,767 Wh; the low
                                         bits are a hash of it (scoring/daily.c) */
#define CSTATE_COVER_CONT 0xFFFEu     /* covered by the reading that starts in an earlier slot */

/*
 * The open day's readings, held once, exactly, beside the entity's state in its table (a
 * slab of records of a few sizes, cstate_slots_alloc): the repeat check, the day's hourly
 * sums and its closed-day coverage are all derived from them (scoring/daily.h). A slot is
 * `grid` quarter hours long, grid dividing 96: the meter's own interval as a rule (a
 * half-hourly meter's 25-hour day has 50 slots, a daily meter's 2), finer when a reading
 * needs it. Slot j holds the reading that starts at j * grid quarter hours (its energy), or
 * is covered by one that starts earlier (CONT), or is free. Two layouts:
 *  - compact (exact == 0): a 12-bit code a slot: CSTATE_SLOT_NONE, CSTATE_SLOT_CONT, or
 *    1 + the reading's energy in whole Wh (0..CSTATE_SLOT_WH_MAX Wh); a reading lasts up to
 *    the next slot that is not CONT (snapshots store the codes in 16 bits, cstate_encode);
 *  - wide (exact == 1), for a day with a reading the compact codes cannot hold exactly (not a
 *    whole number of Wh, above CSTATE_SLOT_WH_MAX Wh, or running past the last slot): a
 *    64-bit energy in micro-kWh a slot (CSTATE_SLOT_WIDE_* below the readings' values) and
 *    then a 32-bit interval a slot (the reading's own length in seconds, for a start).
 * Only readings that start on a quarter hour and last a whole number of them are held.
 */
struct cstate_slots {
	int32_t day;         /* the local day held; a record of another day holds nothing */
	uint8_t grid;        /* quarter hours a slot: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48 or 96 */
	uint8_t count;       /* slots: 100 / grid rounded up */
	uint8_t exact;       /* 0 compact, 1 wide */
	uint8_t size_class;  /* the slab class it came from (cstate.c) */
	uint8_t code[];      /* compact: count 12-bit codes, two in three bytes (cstate_slot_code);
	                        wide: int64 energies then int32 intervals */
};
#define CSTATE_SLOT_NONE 0
#define CSTATE_SLOT_WH_MAX 4093u        /* codes 1..4094: (code - 1) Wh */
#define CSTATE_SLOT_CONT 0xFFFu
#define CSTATE_SLOT_WIDE_NONE (-1)      /* wide energies: >= 0 a reading starts here */
#define CSTATE_SLOT_WIDE_CONT (-2)
/* wide energies -16 - h: a reading known by its closed-day hash code h only (read from a
 * snapshot of version 9, which kept no more) */
#define CSTATE_SLOT_WIDE_HASHED(h) (-16 - (int64_t)(h))

/* Bytes of a record of `count` slots in the given layout (exact: wide), header included; a
 * wide record is a whole number of 8 bytes, so that its energies stay aligned in the slab. */
static inline size_t cstate_slots_size(unsigned count, int exact)
{
	size_t head = offsetof(struct cstate_slots, code);
	if (!exact)
		return head + (count * 12 + 7) / 8;
	return (head + count * (sizeof(int64_t) + sizeof(int32_t)) + 7) & ~(size_t)7;
}

/* Compact slot j's code (CSTATE_SLOT_NONE, CSTATE_SLOT_CONT or 1 + Wh): codes are 12 bits,
 * slot j's in the 16 bits (host order; records never leave the process as they are) from
 * byte 3j/2 on: an even slot's the low 12 of them, an odd one's the high 12. */
static inline unsigned cstate_slot_code(const struct cstate_slots *slots, unsigned j)
{
	uint16_t pair;
	memcpy(&pair, slots->code + j * 3 / 2, sizeof(pair));
	return j & 1 ? (unsigned)pair >> 4 : (unsigned)pair & CSTATE_SLOT_CONT;
}

/* Sets compact slot j's code (0..CSTATE_SLOT_CONT). */
static inline void cstate_slot_code_set(struct cstate_slots *slots, unsigned j, unsigned code)
{
	uint16_t pair;
	memcpy(&pair, slots->code + j * 3 / 2, sizeof(pair));
	pair = j & 1 ? (uint16_t)((pair & 0x000Fu) | code << 4)
	             : (uint16_t)((pair & 0xF000u) | (code & CSTATE_SLOT_CONT));
	memcpy(slots->code + j * 3 / 2, &pair, sizeof(pair));
}

#define CSTATE_F_PROFILE 0x0001u   /* a customer profile event has been seen */
#define CSTATE_F_DIRTY   0x0002u   /* changed since the last checkpoint (managed by the table) */
#define CSTATE_F_HAS_DAY 0x0004u   /* open_day holds a day */
#define CSTATE_F_SILENT  0x0008u   /* open_day was opened by daily_close_silent, not by a
                                      reading: it holds none yet (scoring/daily.h) */

/*
 * An entity's id (customer_id or transformer_id, 1..RISKD_ID_MAX bytes) as its struct holds
 * it: an id of up to CSTATE_ID_INLINE - 1 bytes sits in `text`, NUL-terminated and padded with
 * zeros; a longer one is a NUL-terminated copy elsewhere (in its table's slab for an entry)
 * that `away` points at, with text[CSTATE_ID_SLAB_CLASS] its slab class and
 * text[CSTATE_ID_INLINE - 1] set to CSTATE_ID_AWAY. Read it with cstate_id only.
 */
#define CSTATE_ID_INLINE 16
#define CSTATE_ID_SLAB_CLASS 8
#define CSTATE_ID_AWAY 1
union cstate_id {
	char text[CSTATE_ID_INLINE];
	const char *away;
};

struct cstate {
	union cstate_id key;                    /* customer_id (or transformer_id): cstate_id */
	uint32_t transformer_ref;               /* the profile's transformer_id, interned in the
	                                           owning table (cstate_transformer_id); 0 until
	                                           known */
	int32_t partition;                      /* input partition that owns this entity */
	uint8_t flags;                          /* CSTATE_F_* */
	uint8_t credit;                         /* credit grade held (detector/grader.h): low
	                                           nibble the published grade + 1, high nibble
	                                           the points grade + 1; 0 = not graded yet */
	uint8_t segment;                        /* enum segment */
	uint8_t recent_next;                    /* next slot of recent_events to overwrite */
	float capacity_kw;                      /* from the profile; 0 = unknown */
	int64_t last_ts;                        /* ts (Unix seconds) of the newest reading
	                                           counted; 0 = none. A quorum of a partition's
	                                           newest makes its watermark, which closes
	                                           silent meters' days (detector/silent.h) */
	/* daily rollup of interval readings (local days) */
	int32_t open_day;                       /* local day being accumulated (days since epoch) */
	int32_t open_readings;                  /* readings counted in open_day */
	int64_t open_uwh;                       /* energy of open_day in micro-kWh (1 uWh = 1e-6 kWh) */
	int32_t open_covered_s;                 /* seconds of open_day its readings cover */
	int32_t days_closed;                    /* number of days closed so far */
	int64_t last_closed_uwh;                /* energy of the most recent closed day in
	                                           micro-kWh, valid if days_closed > 0 */
	uint64_t recent_events[CSTATE_RECENT_EVENTS]; /* hashes of recent event_ids of events
	                                           other than readings; 0 = empty */
	struct theft_state theft;               /* theft models (scoring/models.h), 192 bytes */
	struct pay_state pay;                   /* payment behaviour and the day graded
	                                           (scoring/payments.h), 76 bytes */
	int32_t last_closed_day;                /* the most recent closed day, valid if
	                                           days_closed > 0 (here, after pay, so that no
	                                           padding is needed) */
	struct cstate_slots *slots;             /* the open day's readings, owned by the table
	                                           (NULL: none held); process-local, so left out
	                                           of snapshots' fixed part */
	/* 384 bytes, no padding. A customer with half-hourly readings also has its open day's
	 * slots beside it (84 bytes: 1.68 a slot), and the table's bookkeeping (metadata, index
	 * and dirty list) adds about 30: a static assertion in cstate.c holds the three at their
	 * worst within 512 bytes (bench/statefill: 500.3 at 1,000,000 customers). An id of 16
	 * bytes or more adds its length + 1, rounded up to 4, beside the table; a shorter one
	 * costs nothing more (docs/performance.md, "Memory per customer"). Keep the struct
	 * fixed-size, with the slots pointer last (snapshots' fixed part is everything between
	 * the id and it). */
};

/* The id of cs, NUL-terminated: stable while cs holds it (for an entry, until it is removed).
 * O(1), no allocation. */
static inline const char *cstate_id(const struct cstate *cs)
{
	return cs->key.text[CSTATE_ID_INLINE - 1] == CSTATE_ID_AWAY ? cs->key.away : cs->key.text;
}

/*
 * Gives cs, a struct outside any table (a tool's or a test's), the id text (NUL-terminated,
 * 1..RISKD_ID_MAX bytes, no check): copied when shorter than CSTATE_ID_INLINE bytes, else
 * referred to, so text must then outlive cs's use of it. Entries of a table get their ids
 * from cstate_table_upsert instead.
 */
static inline void cstate_id_bind(struct cstate *cs, const char *text)
{
	size_t len = strlen(text);
	memset(&cs->key, 0, sizeof(cs->key));
	if (len < CSTATE_ID_INLINE) {
		memcpy(cs->key.text, text, len);
	} else {
		cs->key.away = text;
		cs->key.text[CSTATE_ID_INLINE - 1] = CSTATE_ID_AWAY;
	}
}

struct cstate_table;

/* Creates an empty table sized for about expected entries (it grows as needed). */
struct cstate_table *cstate_table_new(size_t expected);

/* Frees the table and every entry. NULL is a no-op. */
void cstate_table_destroy(struct cstate_table *table);

/* Returns the entry for id (id_len bytes), or NULL if absent. */
struct cstate *cstate_table_get(struct cstate_table *table, const char *id, size_t id_len);

/*
 * Returns the entry for id, creating a zeroed one (id and partition set) if absent; *created
 * (if not NULL) tells which. id_len must be 1..RISKD_ID_MAX. The pointer stays valid until
 * the entry is removed. Aborts on out-of-memory.
 */
struct cstate *cstate_table_upsert(struct cstate_table *table, const char *id, size_t id_len,
                                   int32_t partition, int *created);

/* Marks an entry changed since the last checkpoint (idempotent). */
void cstate_table_mark_dirty(struct cstate_table *table, struct cstate *cs);

/*
 * Dirty-list iteration: calls fn(cs, arg) for each dirty entry in the order first dirtied.
 * Stops early and returns fn's value when fn returns non-zero; returns 0 otherwise.
 * Does not clear the list: call cstate_table_clear_dirty after the checkpoint committed.
 */
int cstate_table_foreach_dirty(struct cstate_table *table,
                               int (*fn)(struct cstate *cs, void *arg), void *arg);

/*
 * Calls fn(cs, arg) for every entry, in no particular order, until fn returns non-zero (that
 * value is returned; 0 otherwise). fn may change and mark entries, but must not add or remove
 * any. O(entries ever allocated): for work done once per day of input, not per event.
 */
int cstate_table_foreach(struct cstate_table *table, int (*fn)(struct cstate *cs, void *arg),
                         void *arg);

/* Number of dirty entries. */
size_t cstate_table_dirty_count(const struct cstate_table *table);

/* Clears the dirty list and flags (after a successful checkpoint). */
void cstate_table_clear_dirty(struct cstate_table *table);

/*
 * Partial checkpoint: calls take(cs, arg) for each dirty entry in the order first dirtied;
 * the entries for which take returns non-zero (it has captured them) leave the dirty list
 * and lose CSTATE_F_DIRTY, the others stay in order. take must not add, remove or mark
 * entries of this table. Returns how many entries were taken.
 */
size_t cstate_table_drain_dirty(struct cstate_table *table,
                                int (*take)(struct cstate *cs, void *arg), void *arg);

/* Removes every entry whose partition is `partition` (after the partition was revoked);
 * also drops them from the dirty list. Returns how many were removed. */
size_t cstate_table_remove_partition(struct cstate_table *table, int32_t partition);

/* Removes every entry (e.g. to resynchronise from PostgreSQL). Interned transformer ids
 * stay (see cstate_transformer_id_set). */
void cstate_table_clear(struct cstate_table *table);

/* Number of entries. */
size_t cstate_table_count(const struct cstate_table *table);

/* Bytes the table has allocated (entries, index, dirty list, interned transformer ids, the
 * open days' slots): for metrics and benchmarks. */
size_t cstate_table_memory(const struct cstate_table *table);

/* Of cstate_table_memory, the bytes of the open days' slots (their slab's chunks, whole). */
size_t cstate_table_slots_memory(const struct cstate_table *table);

/* Of cstate_table_memory, the bytes of the ids too long to sit in their entries (their
 * slab's chunks, whole); 0 while every id is shorter than CSTATE_ID_INLINE bytes. */
size_t cstate_table_ids_memory(const struct cstate_table *table);

/*
 * Storage for open-day slots (struct cstate_slots), from the table's slab: a record of at
 * least `bytes` bytes (8-byte aligned, its size_class set, the rest undefined), stable until
 * freed. The table frees the record an entry's `slots` names when it removes or clears the
 * entry, so the caller hands each record to exactly one entity (or frees it). O(1); it
 * allocates memory only when its class has no free record left. Aborts on out-of-memory.
 */
struct cstate_slots *cstate_slots_alloc(struct cstate_table *table, size_t bytes);

/* Returns a record to the table's slab (NULL is a no-op). It must be one cstate_slots_alloc
 * of this table returned, not held by any entity any more. */
void cstate_slots_free(struct cstate_table *table, struct cstate_slots *slots);

/*
 * Sets the transformer of cs to transformer_id (a NUL-terminated string; "" = unknown),
 * interning the id in table: the first time the table sees an id it copies it (and may
 * allocate); later calls with the same id only look it up, in O(1) on average. cs must be an
 * entry of table, or a struct copied into one afterwards, whose reference is 0 or was set in
 * table: the reference is meaningful only within this table. Interned ids are never removed while the
 * table lives (a utility has a few thousand transformers), so a pointer returned by
 * cstate_transformer_id stays valid until cstate_table_destroy.
 * Returns 0, or RISKD_ERR_RANGE (cs unchanged) when the id is longer than RISKD_ID_MAX
 * bytes. Aborts on out-of-memory.
 */
int cstate_transformer_id_set(struct cstate_table *table, struct cstate *cs,
                              const char *transformer_id);

/* The transformer_id of cs's profile as interned in table (which must be the table cs's
 * reference was set in), or "" when not known. O(1), no allocation. */
const char *cstate_transformer_id(const struct cstate_table *table, const struct cstate *cs);

/* 64-bit hash of bytes (never 0, so 0 can mean "empty slot"). Stable across runs and hosts. */
uint64_t cstate_hash(const void *data, size_t len);

/*
 * Duplicate detection for events other than readings: returns 1 if event_hash is among the
 * entity's CSTATE_RECENT_EVENTS recent event hashes (a duplicate: the caller counts and
 * skips it), else records it and returns 0.
 */
int cstate_seen_event(struct cstate *cs, uint64_t event_hash);

/*
 * Snapshot encoding for PostgreSQL (risk.entity_state.state bytea), keyed there by the
 * entity's id: a small versioned header, the struct's fixed part (everything between the id
 * and the slots pointer), the open day's slots, then the transformer_id as text (the
 * interned reference is process-local). cstate_encode resolves cs's transformer through
 * table, writes the snapshot into buf and returns its length, or 0 (nothing written) when
 * buf_size is too small for it; CSTATE_SNAPSHOT_MAX bytes are always enough.
 * cstate_decode checks header, version and sizes (and `id`, the row's key: a NUL-terminated
 * string of 1..RISKD_ID_MAX bytes), interns the transformer_id in table, gives the open
 * day's slots a record of table's slab and fills *cs; returns 0 or RISKD_ERR_INVALID with
 * errstr set (a snapshot from an incompatible build, or a bad id), creating nothing.
 * *cs may be an entry of table (the one named id): its old slots are freed and it keeps its
 * id. Otherwise decoding creates id's entry in table when absent (zeroed but for the
 * snapshot's partition) and *cs takes that entry's id, so that copying *cs into the entry
 * (as the detector does: decode, upsert, copy) leaves the entry its own id and its table the
 * only copy of a long one; the decoded slots belong to whichever entry of table *cs is
 * copied into, and a copy that is dropped should free them (cstate_slots_free).
 * Snapshots of versions 7, 8 and 9 read too (cstate.c says how they are upgraded).
 */
/* header 8, fixed part, slots (a layout byte, day 4, grid, count, at most 100 wide slots of
 * 12 bytes), transformer_id (a length byte and the text) */
#define CSTATE_SNAPSHOT_MAX \
	(sizeof(struct cstate) + 8 + 7 + 12 * CSTATE_COVER_SLOTS + 1 + RISKD_ID_MAX)
size_t cstate_encode(const struct cstate_table *table, const struct cstate *cs, uint8_t *buf,
                     size_t buf_size);
int cstate_decode(struct cstate_table *table, const char *id, const uint8_t *buf, size_t len,
                  struct cstate *cs, char *errstr, size_t errstr_size);

#endif
