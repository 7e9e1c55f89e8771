/*
 * cstate_int.h - private to scoring/cstate*.c: the slab that holds the open days' slots
 * (struct cstate_slots, cstate.h) beside a state table, and a second one its long ids
 * (union cstate_id). Not for other modules: they use cstate.h (cstate_slots_alloc,
 * cstate_slots_free, cstate_id).
 */
#ifndef RISKD_CSTATE_INT_H
#define RISKD_CSTATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cstate.h"

/* Record sizes the slab keeps apart: one class per size asked for (rounded up to 4 bytes). The
 * slots come in 12 compact and 12 wide sizes, the long ids in 12 (17 to 64 bytes). */
#define CSTATE_SLAB_CLASSES 32

/* One size of record: chunks of about CSTATE_SLAB_CHUNK_BYTES that never move, and a list of
 * freed records (linked through their first bytes) that are handed out first. */
struct cstate_slab_class {
	uint32_t size;        /* bytes a record */
	uint32_t per_chunk;   /* records a chunk */
	uint8_t **chunks;
	size_t chunk_count, chunk_cap;
	uint32_t used_in_last; /* records handed out of the newest chunk */
	void *free_head;      /* a freed record, or NULL */
};

struct cstate_slab {
	struct cstate_slab_class cls[CSTATE_SLAB_CLASSES];
	unsigned class_count;
};

/* A record of at least `bytes` bytes (8 <= bytes <= 64 KiB) from slab; *size_class is set to
 * its class, which cstate_slab_free needs back. Aligned to 8 when its class size is a
 * multiple of 8, else to 4. Aborts on out-of-memory or when the classes run out. */
void *cstate_slab_alloc(struct cstate_slab *slab, size_t bytes, uint8_t *size_class);

/* Returns record (of class size_class) to slab. */
void cstate_slab_free(struct cstate_slab *slab, void *record, uint8_t size_class);

/* Frees every chunk: every record handed out is gone. The slab stays usable. */
void cstate_slab_clear(struct cstate_slab *slab);

/* Bytes slab has allocated (whole chunks and their pointer arrays). */
size_t cstate_slab_memory(const struct cstate_slab *slab);

/* The slots' header as stored: day, grid, count, exact, size_class (written as 0). */
#define CSTATE_SLOTS_HEADER offsetof(struct cstate_slots, code)

/* Bytes of a record of `count` slots as a snapshot stores it: a compact one's codes in 16
 * bits each (0 free, 0xFFFF continued, else 1 + Wh), a wide one as it lies in memory. */
size_t cstate_wire_slots_size(unsigned count, int exact);

/* Writes slots as a snapshot stores them: cstate_wire_slots_size(count, exact) = len bytes at
 * out, the slab class zero. */
void cstate_slots_to_wire(const struct cstate_slots *slots, uint8_t *out, size_t len);

/* Whether a stored record's header (head) and its slots (the record at `record`, as long as
 * its header says) are well formed. */
int cstate_wire_slots_valid(const struct cstate_slots *head, const uint8_t *record);

/* The slots of a stored record (len bytes at wire, checked by cstate_wire_slots_valid), in a
 * record of table's slab: compact when every reading fits 12 bits, else wide. */
struct cstate_slots *cstate_slots_from_wire(struct cstate_table *table, const uint8_t *wire,
                                            size_t len);

/* The slots of version 9's open-day coverage (100 CSTATE_COVER_* codes) for `day`, in a
 * record of table's slab, or NULL when it covers nothing (cstate_wire.c says how). */
struct cstate_slots *cstate_slots_from_v9_cover(struct cstate_table *table, int32_t day,
                                                const uint16_t *cover);

/* struct cstate as snapshots of version 9 laid it out (632 bytes; versions 7 and 8 as far as
 * their bodies go), for reading them: the open day's coverage as a closed day keeps it (100
 * codes), the last closed day before the recent event hashes. */
struct cstate_v9 {
	char id[RISKD_ID_MAX + 1]; /* not in a snapshot: its body starts after it */
	uint32_t transformer_ref;
	int32_t partition;
	uint8_t flags, credit, segment, recent_next;
	float capacity_kw;
	int64_t last_ts;
	int32_t open_day, open_readings;
	int64_t open_uwh;
	int32_t open_covered_s, days_closed, last_closed_day;
	int64_t last_closed_uwh;
	uint64_t recent_events[CSTATE_RECENT_EVENTS];
	struct theft_state theft;
	struct pay_state pay;
	uint16_t cover[CSTATE_COVER_SLOTS];
};

#endif
