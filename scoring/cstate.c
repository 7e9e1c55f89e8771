/*
 * cstate.c - the per-customer state table: open addressing over chunked, fixed-size entries.
 *
 * The detector's main loop looks up one struct cstate per event (by customer_id, or by
 * transformer_id in the transformer table), updates it in place and marks it dirty; at each
 * checkpoint it snapshots the dirty entries (cstate_encode) into PostgreSQL and clears the
 * list. On partition revocation it drops that partition's entries; on assignment it loads
 * snapshots back (cstate_decode).
 *
 * Layout:
 *  - Entries live in chunks of CSTATE_CHUNK_ENTRIES structs that are never moved or freed
 *    while the table lives (only cstate_table_clear frees them), so pointers handed out stay
 *    valid until the entry is removed. An entry is named by its number: chunk * size + slot.
 *    Removed entries go on a free list and are reused first.
 *  - Next to each chunk's entries sits its metadata (8 bytes): the low half of the id's
 *    64-bit hash (the index slot holds the high half, so the two give the whole hash back),
 *    whether the entry is live and on the dirty list, and for a free entry the free-list
 *    link. The metadata, not the struct's flags, is authoritative for the table, so a caller
 *    that overwrites a whole entry (cstate_decode into a table entry) cannot corrupt the
 *    table.
 *  - The index is a power-of-two array of 8-byte slots {entry number + 1, hash bits 32..63}
 *    with linear probing from the slot named by the hash's low bits. The stored hash bits let
 *    a probe skip non-matching entries without touching their memory. The index doubles
 *    before the load factor passes 7/10. Deletion shifts later members of the probe run
 *    back (no tombstones), so lookups never degrade after many removals.
 *  - The dirty list is an array of entry numbers in the order first dirtied.
 *  - Mapping a struct pointer back to its entry number uses a small array of the chunks'
 *    addresses kept sorted, searched by bisection.
 *  - Transformer ids are interned: each distinct id gets a number, its text sits in fixed
 *    slots of chunks that never move (so the strings handed out stay put), and a small
 *    open-addressing index of name numbers finds an id by its text. An entry's
 *    transformer_ref is that number + 1. Names are only ever added: a utility has a few
 *    thousand transformers, so keeping every id seen costs little and spares the per-entry
 *    reference counts that removal would need.
 *  - The open days' slots (struct cstate_slots) sit in a slab beside the entries
 *    (cstate_slab.c), one record an entity while it holds readings of its open day; removing
 *    or clearing an entry frees the record its `slots` names.
 *  - An id shorter than CSTATE_ID_INLINE bytes (the usual one) sits in its entry's 16 bytes;
 *    a longer one in a second slab, as its text and NUL, the entry holding its address and
 *    slab class (union cstate_id). A lookup compares the entry's own bytes for a short id and
 *    follows the address only for a long one; removing or clearing an entry frees its copy.
 */
#include "cstate.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cstate_int.h"

/* Entries per chunk; a chunk is about 1 MiB of customer state. */
#define CSTATE_CHUNK_SHIFT 12
#define CSTATE_CHUNK_ENTRIES ((uint32_t)1 << CSTATE_CHUNK_SHIFT)
#define CSTATE_CHUNK_MASK (CSTATE_CHUNK_ENTRIES - 1)

/* Smallest index (slots); always a power of two. */
#define CSTATE_INDEX_MIN 64
/* Entry numbers are stored +1 in 30 bits (a free entry's metadata), 0 meaning none. */
#define CSTATE_ENTRY_LIMIT (((uint32_t)1 << 30) - 1)

/* Interned transformer ids per name chunk (about 16 KiB). */
#define CSTATE_NAME_CHUNK_SHIFT 8
#define CSTATE_NAME_CHUNK_ENTRIES ((uint32_t)1 << CSTATE_NAME_CHUNK_SHIFT)
#define CSTATE_NAME_CHUNK_MASK (CSTATE_NAME_CHUNK_ENTRIES - 1)

/*
 * Snapshot layout (version 10): header - magic, version (LE uint16), fixed part's size (LE
 * uint16) - then the fixed part (the struct from its first field after the id up to the
 * slots pointer, with transformer_ref zero), then the open day's slots: one layout byte (0
 * none, 1 compact, 2 wide) and, unless none, the record's header (its size_class zero) and
 * its `count` slots: a compact one's codes in 16 bits each (0 free, 0xFFFF continued, else 1 +
 * Wh: memory packs them in 12, and a record read with a reading above CSTATE_SLOT_WH_MAX Wh
 * becomes wide), a wide one as it lies in memory; then the transformer_id: one length byte
 * (0..RISKD_ID_MAX) and that many bytes, no terminator.
 */
#define CSTATE_SNAPSHOT_MAGIC "RKS1"
#define CSTATE_SNAPSHOT_MAGIC_LEN 4
#define CSTATE_SNAPSHOT_VERSION 10
/*
 * The older versions still read, so that an upgrade keeps the stored state. Version 9 is
 * struct cstate_v9 (cstate_int.h): the open day's coverage as 100 closed-day codes inside the
 * struct (cstate_slots_from_v9_cover turns them into slots of a quarter hour: exact where the
 * code was, known by their hash where it was one), the last closed day before the recent
 * event hashes. Versions 7 and 8 hold 8 recent event hashes (for every kind of event) where
 * version 9 holds CSTATE_RECENT_EVENTS, a pay_state without its graded_day (it reads as zero,
 * "not graded yet") and no coverage of the open day (upgrade_v8: the day's readings so far
 * count as uncovered); version 7 also differs in the meaning of pay_state.older_rev
 * (payments_upgrade_from_v7).
 */
#define CSTATE_SNAPSHOT_V9 9
#define CSTATE_SNAPSHOT_V8 8
#define CSTATE_SNAPSHOT_V7 7
#define CSTATE_SNAPSHOT_HEADER 8
#define CSTATE_SNAPSHOT_BODY_AT offsetof(struct cstate, transformer_ref)
#define CSTATE_SNAPSHOT_BODY (offsetof(struct cstate, slots) - CSTATE_SNAPSHOT_BODY_AT)

_Static_assert(sizeof(struct cstate_v9) == 632, "version 9's struct was 632 bytes");
/* Versions 9 and 10 agree from transformer_ref up to days_closed (relative to the body: the
 * id before it held 64 bytes in version 9's struct, and is not part of a snapshot). */
#define CSTATE_V9_BODY_AT offsetof(struct cstate_v9, transformer_ref)
#define CSTATE_V9_SAME_LEN (offsetof(struct cstate, last_closed_uwh) - CSTATE_SNAPSHOT_BODY_AT)
_Static_assert(offsetof(struct cstate_v9, days_closed) - CSTATE_V9_BODY_AT ==
               offsetof(struct cstate, days_closed) - CSTATE_SNAPSHOT_BODY_AT &&
               CSTATE_V9_SAME_LEN + CSTATE_SNAPSHOT_BODY_AT ==
               offsetof(struct cstate, days_closed) + sizeof(int32_t),
               "version 9's fields up to days_closed lie where version 10's do");
#define CSTATE_V9_BODY (sizeof(struct cstate_v9) - CSTATE_V9_BODY_AT)
/* Version 8's body: version 9's struct up to the recent event hashes, 8 of them, then the
 * theft state and the payment state's first PAY_STATE_V8_SIZE bytes; no coverage. */
#define CSTATE_V8_RECENT 8
#define CSTATE_V8_RECENT_AT (offsetof(struct cstate_v9, recent_events) - CSTATE_V9_BODY_AT)
#define CSTATE_V8_TAIL \
	(offsetof(struct cstate_v9, pay) + PAY_STATE_V8_SIZE - offsetof(struct cstate_v9, theft))
#define CSTATE_V8_BODY (CSTATE_V8_RECENT_AT + CSTATE_V8_RECENT * sizeof(uint64_t) + CSTATE_V8_TAIL)
_Static_assert(offsetof(struct cstate_v9, theft) ==
               offsetof(struct cstate_v9, recent_events) + CSTATE_RECENT_EVENTS * sizeof(uint64_t),
               "version 8 snapshots assume the theft state follows the recent event hashes");
_Static_assert(offsetof(struct cstate_v9, pay) ==
               offsetof(struct cstate_v9, theft) + sizeof(struct theft_state),
               "version 8 snapshots assume the payment state follows the theft state");
_Static_assert(offsetof(struct pay_state, graded_day) >= PAY_STATE_V8_SIZE,
               "graded_day must lie in the part of pay_state version 8 lacked");

_Static_assert(CSTATE_SNAPSHOT_BODY <= UINT16_MAX, "body size must fit the header's uint16");
_Static_assert(offsetof(struct cstate, slots) + sizeof(struct cstate_slots *) ==
               sizeof(struct cstate), "the slots pointer comes last, after no padding");
_Static_assert(CSTATE_SNAPSHOT_HEADER + CSTATE_SNAPSHOT_BODY + 1 + CSTATE_SLOTS_HEADER +
               12 * CSTATE_COVER_SLOTS + 1 + RISKD_ID_MAX <= CSTATE_SNAPSHOT_MAX,
               "the longest snapshot must fit CSTATE_SNAPSHOT_MAX");
_Static_assert(RISKD_ID_MAX <= UINT8_MAX, "a transformer_id length must fit one byte");

/* An entry's bookkeeping: 8 bytes. The index's slot holds the hash's other 32 bits. */
struct cstate_meta {
	uint32_t home;  /* bits 0..31 of the id's cstate_hash: its home slot in the index */
	uint32_t state; /* META_LIVE (| META_DIRTY: on the dirty list) for a live entry; for a
	                   free one, the next free entry number + 1 (0: end of list) << 2 */
};
#define META_LIVE 1u
#define META_DIRTY 2u
#define META_NEXT_SHIFT 2

struct cstate_chunk {
	struct cstate entries[CSTATE_CHUNK_ENTRIES];
	struct cstate_meta meta[CSTATE_CHUNK_ENTRIES];
};

struct cstate_slot {
	uint32_t ref;  /* entry number + 1; 0 = empty slot */
	uint32_t frag; /* hash bits 32..63 of the entry's id */
};

/*
 * The per-customer budget: an entry, its metadata, its share of the index at the lowest load
 * factor (just after doubling at 7/10, about 7/20: 20/7 slots per entry) and of the dirty
 * list at its largest (twice the entries), and the open day's slots of a half-hourly meter
 * (50 compact 12-bit slots and their header, 83 bytes, which the slab rounds to 84). Whole
 * chunks add under 2 bytes per customer at a million customers. 384 + 8 + 22 + 8 + 84 = 506
 * bytes at the worst for an id shorter than CSTATE_ID_INLINE bytes (bench/statefill measures
 * 500.3 at 1,000,000 customers); a longer id adds its length + 1, rounded up to 4, in the id
 * slab (docs/performance.md, "Memory per customer").
 */
_Static_assert(sizeof(struct cstate) + sizeof(struct cstate_meta) +
               sizeof(struct cstate_slot) * 20 / 7 + 2 * sizeof(uint32_t) +
               ((offsetof(struct cstate_slots, code) + (50 * 12 + 7) / 8 + 3) & ~(size_t)3) <=
               512,
               "per-customer memory (entry, metadata, index, dirty list, a half-hourly open "
               "day's slots) must stay within 512 bytes");
_Static_assert(sizeof(union cstate_id) == CSTATE_ID_INLINE &&
               CSTATE_ID_SLAB_CLASS >= sizeof(const char *) &&
               CSTATE_ID_SLAB_CLASS < CSTATE_ID_INLINE - 1,
               "a long id's pointer and slab class fit the id's bytes before its marker");

struct cstate_name_chunk {
	char id[CSTATE_NAME_CHUNK_ENTRIES][RISKD_ID_MAX + 1];
};

/* Interned transformer ids: name number n is chunks[n >> SHIFT]->id[n & MASK]. */
struct cstate_names {
	struct cstate_name_chunk **chunks;
	size_t chunk_cap;    /* allocated length of chunks */
	uint32_t count;      /* names interned: numbers 0..count-1 */
	uint32_t *index;     /* name number + 1; 0 = empty slot; linear probing */
	size_t index_cap;    /* slots, a power of two, kept at least twice count */
};

struct cstate_chunk_addr {
	uintptr_t base;    /* address of the chunk's entries[0] */
	uint32_t chunk_no; /* its position in table->chunks */
};

struct cstate_table {
	struct cstate_slot *index;
	size_t index_cap;   /* slots, a power of two */
	size_t grow_at;     /* count above which the index doubles (7/10 of index_cap) */
	size_t count;       /* live entries */

	struct cstate_chunk **chunks;
	struct cstate_chunk_addr *chunk_addrs; /* the same chunks sorted by address */
	size_t chunk_count;
	size_t chunk_cap;   /* allocated length of chunks and chunk_addrs */
	uint32_t used;      /* entry numbers handed out so far: 0..used-1 are live or free */
	uint32_t free_head; /* first free entry number + 1, 0 = none */

	uint32_t *dirty;    /* entry numbers, in the order first dirtied */
	size_t dirty_count;
	size_t dirty_cap;

	struct cstate_names names; /* transformer ids the entries refer to */
	struct cstate_slab slab;   /* the entries' open-day slots */
	struct cstate_slab ids;    /* the entries' ids too long to sit inline (union cstate_id) */
};

static inline struct cstate *entry_at(const struct cstate_table *table, uint32_t entry_no)
{
	return &table->chunks[entry_no >> CSTATE_CHUNK_SHIFT]->entries[entry_no & CSTATE_CHUNK_MASK];
}

static inline struct cstate_meta *meta_at(const struct cstate_table *table, uint32_t entry_no)
{
	return &table->chunks[entry_no >> CSTATE_CHUNK_SHIFT]->meta[entry_no & CSTATE_CHUNK_MASK];
}

static void index_set_capacity(struct cstate_table *table, size_t cap)
{
	table->index = xcalloc(cap, sizeof(*table->index));
	table->index_cap = cap;
	table->grow_at = cap / 10 * 7 + (cap % 10) * 7 / 10;
}

/* As declared in cstate.h. Only the index is sized up front; entry chunks come on demand. */
struct cstate_table *cstate_table_new(size_t expected)
{
	struct cstate_table *table = xcalloc(1, sizeof(*table));
	size_t cap = CSTATE_INDEX_MIN;
	/* Smallest power of two that holds `expected` entries under the load-factor limit. */
	while (cap / 10 * 7 < expected && cap < ((size_t)1 << 40))
		cap <<= 1;
	index_set_capacity(table, cap);
	return table;
}

/* Frees every chunk (the entries) and resets the entry bookkeeping. */
static void chunks_free(struct cstate_table *table)
{
	for (size_t i = 0; i < table->chunk_count; i++)
		free(table->chunks[i]);
	table->chunk_count = 0;
	table->used = 0;
	table->free_head = 0;
}

/* As declared in cstate.h. Every pointer into the table becomes invalid. */
void cstate_table_destroy(struct cstate_table *table)
{
	if (!table)
		return;
	chunks_free(table);
	cstate_slab_clear(&table->slab);
	cstate_slab_clear(&table->ids);
	free(table->chunks);
	free(table->chunk_addrs);
	free(table->index);
	free(table->dirty);
	for (size_t i = 0; i < table->names.chunk_cap; i++)
		free(table->names.chunks[i]);
	free(table->names.chunks);
	free(table->names.index);
	free(table);
}

/* Places entry_no (whose id hashes to hash) in the first empty slot of its probe run. The id
 * must not already be in the index and the index must have an empty slot. */
static void index_place(struct cstate_slot *index, size_t cap, uint64_t hash, uint32_t entry_no)
{
	size_t mask = cap - 1;
	size_t pos = (size_t)hash & mask;
	while (index[pos].ref)
		pos = (pos + 1) & mask;
	index[pos].ref = entry_no + 1;
	index[pos].frag = (uint32_t)(hash >> 32);
}

/* The full hash of the entry in index slot `slot`: its metadata's half and the slot's. */
static inline uint64_t slot_hash(const struct cstate_table *table, const struct cstate_slot *slot)
{
	return (uint64_t)slot->frag << 32 | meta_at(table, slot->ref - 1)->home;
}

/* Doubles the index and re-places every live entry (walking the old index). */
static void index_grow(struct cstate_table *table)
{
	struct cstate_slot *old = table->index;
	size_t old_cap = table->index_cap;
	index_set_capacity(table, old_cap * 2);
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].ref)
			index_place(table->index, table->index_cap, slot_hash(table, &old[i]),
			            old[i].ref - 1);
	free(old);
}

static inline int id_matches(const struct cstate *cs, const char *id, size_t id_len)
{
	int away = cs->key.text[CSTATE_ID_INLINE - 1] == CSTATE_ID_AWAY;
	if (id_len < CSTATE_ID_INLINE)
		return !away && cs->key.text[id_len] == '\0' &&
		       memcmp(cs->key.text, id, id_len) == 0;
	return away && cs->key.away[id_len] == '\0' && memcmp(cs->key.away, id, id_len) == 0;
}

/* Gives the zeroed entry cs the id (id_len bytes, 1..RISKD_ID_MAX, no NUL): inline when it
 * fits, else a copy in table's id slab. */
static void id_store(struct cstate_table *table, struct cstate *cs, const char *id,
                     size_t id_len)
{
	if (id_len < CSTATE_ID_INLINE) {
		memcpy(cs->key.text, id, id_len);
		return;
	}
	uint8_t size_class;
	/* id_len + 1 bytes, which the slab rounds up to 4: the ids of 16..63 bytes fall in 12 of
	 * its classes */
	char *copy = cstate_slab_alloc(&table->ids, id_len + 1, &size_class);
	memcpy(copy, id, id_len);
	copy[id_len] = '\0';
	cs->key.away = copy;
	cs->key.text[CSTATE_ID_SLAB_CLASS] = (char)size_class;
	cs->key.text[CSTATE_ID_INLINE - 1] = CSTATE_ID_AWAY;
}

/* Returns the copy of a long id that the entry cs holds to table's id slab (a short id holds
 * none). */
static void id_release(struct cstate_table *table, struct cstate *cs)
{
	if (cs->key.text[CSTATE_ID_INLINE - 1] == CSTATE_ID_AWAY)
		cstate_slab_free(&table->ids, (void *)(uintptr_t)cs->key.away,
		                 (uint8_t)cs->key.text[CSTATE_ID_SLAB_CLASS]);
}

/* Returns the slot holding id, or the empty slot that ends its probe run. */
static struct cstate_slot *index_find(const struct cstate_table *table, const char *id,
                                      size_t id_len, uint64_t hash)
{
	size_t mask = table->index_cap - 1;
	size_t pos = (size_t)hash & mask;
	uint32_t frag = (uint32_t)(hash >> 32);
	for (;;) {
		struct cstate_slot *slot = &table->index[pos];
		if (!slot->ref)
			return slot;
		if (slot->frag == frag && id_matches(entry_at(table, slot->ref - 1), id, id_len))
			return slot;
		pos = (pos + 1) & mask;
	}
}

/* Removes entry_no from the index, shifting later members of its probe run back so that
 * every remaining entry stays reachable from its home slot without gaps. */
static void index_remove(struct cstate_table *table, uint32_t entry_no, uint64_t hash)
{
	size_t mask = table->index_cap - 1;
	size_t hole = (size_t)hash & mask;
	while (table->index[hole].ref != entry_no + 1) {
		assert(table->index[hole].ref != 0);
		hole = (hole + 1) & mask;
	}
	size_t pos = hole;
	for (;;) {
		pos = (pos + 1) & mask;
		struct cstate_slot *slot = &table->index[pos];
		if (!slot->ref)
			break;
		size_t home = (size_t)meta_at(table, slot->ref - 1)->home & mask;
		/* The entry at pos may fill the hole only if the hole lies on its probe path,
		 * i.e. the hole is no further from pos than its home slot is. */
		if (((pos - home) & mask) >= ((pos - hole) & mask)) {
			table->index[hole] = *slot;
			hole = pos;
		}
	}
	table->index[hole].ref = 0;
	table->index[hole].frag = 0;
}

/* Allocates one more chunk, keeping chunk_addrs sorted by address. */
static void chunk_add(struct cstate_table *table)
{
	if (table->chunk_count == table->chunk_cap) {
		size_t cap = table->chunk_cap ? table->chunk_cap * 2 : 8;
		table->chunks = xrealloc(table->chunks, cap * sizeof(*table->chunks));
		table->chunk_addrs = xrealloc(table->chunk_addrs, cap * sizeof(*table->chunk_addrs));
		table->chunk_cap = cap;
	}
	struct cstate_chunk *chunk = xcalloc(1, sizeof(*chunk));
	uint32_t chunk_no = (uint32_t)table->chunk_count;
	uintptr_t base = (uintptr_t)&chunk->entries[0];
	size_t at = table->chunk_count;
	while (at > 0 && table->chunk_addrs[at - 1].base > base) {
		table->chunk_addrs[at] = table->chunk_addrs[at - 1];
		at--;
	}
	table->chunk_addrs[at].base = base;
	table->chunk_addrs[at].chunk_no = chunk_no;
	table->chunks[chunk_no] = chunk;
	table->chunk_count++;
}

/* Takes an entry number from the free list, or the next unused one. */
static uint32_t entry_alloc(struct cstate_table *table)
{
	if (table->free_head) {
		uint32_t entry_no = table->free_head - 1;
		table->free_head = meta_at(table, entry_no)->state >> META_NEXT_SHIFT;
		return entry_no;
	}
	if (table->used == CSTATE_ENTRY_LIMIT)
		abort(); /* a billion entries: far past any memory this process could have */
	if ((table->used >> CSTATE_CHUNK_SHIFT) == table->chunk_count)
		chunk_add(table);
	return table->used++;
}

/* Maps a pointer returned by the table back to its entry number. */
/* The position in chunk_addrs of the last chunk whose entries start at or before addr (0
 * when there is none: check its base). */
static size_t chunk_below(const struct cstate_table *table, uintptr_t addr)
{
	size_t lo = 0, hi = table->chunk_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (table->chunk_addrs[mid].base <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t entry_no_of(const struct cstate_table *table, const struct cstate *cs)
{
	uintptr_t addr = (uintptr_t)cs;
	size_t lo = chunk_below(table, addr);
	assert(table->chunk_count > 0 && table->chunk_addrs[lo].base <= addr);
	size_t offset = (addr - table->chunk_addrs[lo].base) / sizeof(struct cstate);
	assert(offset < CSTATE_CHUNK_ENTRIES);
	assert((addr - table->chunk_addrs[lo].base) % sizeof(struct cstate) == 0);
	return (table->chunk_addrs[lo].chunk_no << CSTATE_CHUNK_SHIFT) | (uint32_t)offset;
}

/* As declared in cstate.h. An id_len outside 1..RISKD_ID_MAX simply finds nothing. */
struct cstate *cstate_table_get(struct cstate_table *table, const char *id, size_t id_len)
{
	if (id_len == 0 || id_len > RISKD_ID_MAX)
		return NULL;
	struct cstate_slot *slot = index_find(table, id, id_len, cstate_hash(id, id_len));
	return slot->ref ? entry_at(table, slot->ref - 1) : NULL;
}

/*
 * As declared in cstate.h. An id_len outside 1..RISKD_ID_MAX, or an id containing a NUL
 * byte, is a caller bug (event validation rejects such ids); it returns NULL rather than
 * storing an id that could not be written back as text.
 */
struct cstate *cstate_table_upsert(struct cstate_table *table, const char *id, size_t id_len,
                                   int32_t partition, int *created)
{
	if (created)
		*created = 0;
	if (id_len == 0 || id_len > RISKD_ID_MAX || memchr(id, '\0', id_len))
		return NULL;
	uint64_t hash = cstate_hash(id, id_len);
	struct cstate_slot *slot = index_find(table, id, id_len, hash);
	if (slot->ref)
		return entry_at(table, slot->ref - 1);

	if (table->count + 1 > table->grow_at)
		index_grow(table);
	uint32_t entry_no = entry_alloc(table);
	struct cstate *cs = entry_at(table, entry_no);
	memset(cs, 0, sizeof(*cs));
	id_store(table, cs, id, id_len);
	cs->partition = partition;
	struct cstate_meta *meta = meta_at(table, entry_no);
	meta->home = (uint32_t)hash;
	meta->state = META_LIVE;
	index_place(table->index, table->index_cap, hash, entry_no);
	table->count++;
	if (created)
		*created = 1;
	return cs;
}

/*
 * As declared in cstate.h. cs must be a live entry of this table. Sets CSTATE_F_DIRTY and
 * appends the entry to the dirty list unless it is already there. The list grows by doubling,
 * so after the first checkpoints it no longer allocates.
 */
void cstate_table_mark_dirty(struct cstate_table *table, struct cstate *cs)
{
	uint32_t entry_no = entry_no_of(table, cs);
	struct cstate_meta *meta = meta_at(table, entry_no);
	assert(meta->state & META_LIVE);
	cs->flags |= CSTATE_F_DIRTY;
	if (meta->state & META_DIRTY)
		return;
	if (table->dirty_count == table->dirty_cap) {
		size_t cap = table->dirty_cap ? table->dirty_cap * 2 : 1024;
		table->dirty = xrealloc(table->dirty, cap * sizeof(*table->dirty));
		table->dirty_cap = cap;
	}
	meta->state |= META_DIRTY;
	table->dirty[table->dirty_count++] = entry_no;
}

/* As declared in cstate.h. fn must not add, remove or clear entries of this table. */
int cstate_table_foreach_dirty(struct cstate_table *table,
                               int (*fn)(struct cstate *cs, void *arg), void *arg)
{
	for (size_t i = 0; i < table->dirty_count; i++) {
		int rc = fn(entry_at(table, table->dirty[i]), arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* As declared in cstate.h. Walks the entry numbers handed out, skipping free entries. */
int cstate_table_foreach(struct cstate_table *table, int (*fn)(struct cstate *cs, void *arg),
                         void *arg)
{
	for (uint32_t entry_no = 0; entry_no < table->used; entry_no++) {
		if (!(meta_at(table, entry_no)->state & META_LIVE))
			continue;
		int rc = fn(entry_at(table, entry_no), arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* As declared in cstate.h. */
size_t cstate_table_dirty_count(const struct cstate_table *table)
{
	return table->dirty_count;
}

/* As declared in cstate.h. Also clears CSTATE_F_DIRTY in each listed entry. */
void cstate_table_clear_dirty(struct cstate_table *table)
{
	for (size_t i = 0; i < table->dirty_count; i++) {
		uint32_t entry_no = table->dirty[i];
		meta_at(table, entry_no)->state &= ~META_DIRTY;
		entry_at(table, entry_no)->flags &= (uint8_t)~CSTATE_F_DIRTY;
	}
	table->dirty_count = 0;
}

/* As declared in cstate.h. One pass over the dirty list, compacting it in place. */
size_t cstate_table_drain_dirty(struct cstate_table *table,
                                int (*take)(struct cstate *cs, void *arg), void *arg)
{
	size_t kept = 0, taken = 0;
	for (size_t i = 0; i < table->dirty_count; i++) {
		uint32_t entry_no = table->dirty[i];
		struct cstate *cs = entry_at(table, entry_no);
		if (take(cs, arg)) {
			meta_at(table, entry_no)->state &= ~META_DIRTY;
			cs->flags &= (uint8_t)~CSTATE_F_DIRTY;
			taken++;
		} else {
			table->dirty[kept++] = entry_no;
		}
	}
	table->dirty_count = kept;
	return taken;
}

/*
 * As declared in cstate.h. O(entries ever allocated + removed entries' probe runs); meant
 * for rebalances, not the per-event path. The dirty list keeps its order for the survivors.
 */
size_t cstate_table_remove_partition(struct cstate_table *table, int32_t partition)
{
	size_t removed = 0;
	for (uint32_t entry_no = 0; entry_no < table->used; entry_no++) {
		struct cstate_meta *meta = meta_at(table, entry_no);
		struct cstate *cs = entry_at(table, entry_no);
		if (!(meta->state & META_LIVE) || cs->partition != partition)
			continue;
		cstate_slots_free(table, cs->slots);
		cs->slots = NULL;
		id_release(table, cs);
		index_remove(table, entry_no, meta->home);
		meta->state = table->free_head << META_NEXT_SHIFT;
		table->free_head = entry_no + 1;
		removed++;
	}
	if (!removed)
		return 0;
	table->count -= removed;

	size_t kept = 0;
	for (size_t i = 0; i < table->dirty_count; i++) {
		uint32_t entry_no = table->dirty[i];
		struct cstate_meta *meta = meta_at(table, entry_no);
		if (meta->state & META_LIVE)
			table->dirty[kept++] = entry_no;
		else
			meta->state &= ~META_DIRTY;
	}
	table->dirty_count = kept;
	return removed;
}

/* As declared in cstate.h. Frees the entries' memory; the index keeps its size. */
void cstate_table_clear(struct cstate_table *table)
{
	chunks_free(table);
	cstate_slab_clear(&table->slab);
	cstate_slab_clear(&table->ids);
	memset(table->index, 0, table->index_cap * sizeof(*table->index));
	table->count = 0;
	table->dirty_count = 0;
}

/* As declared in cstate.h. */
size_t cstate_table_count(const struct cstate_table *table)
{
	return table->count;
}

/* As declared in cstate.h. Counts whole chunks (allocated, even if partly unused) and the
 * allocated capacity of every array, plus the table header. */
size_t cstate_table_memory(const struct cstate_table *table)
{
	const struct cstate_names *names = &table->names;
	size_t name_chunks = (names->count + CSTATE_NAME_CHUNK_MASK) >> CSTATE_NAME_CHUNK_SHIFT;
	return sizeof(*table) + table->index_cap * sizeof(*table->index) +
	       table->chunk_cap * (sizeof(*table->chunks) + sizeof(*table->chunk_addrs)) +
	       table->chunk_count * sizeof(struct cstate_chunk) +
	       table->dirty_cap * sizeof(*table->dirty) +
	       names->chunk_cap * sizeof(*names->chunks) +
	       name_chunks * sizeof(struct cstate_name_chunk) +
	       names->index_cap * sizeof(*names->index) + cstate_slab_memory(&table->slab) +
	       cstate_slab_memory(&table->ids);
}

/* As declared in cstate.h. */
size_t cstate_table_slots_memory(const struct cstate_table *table)
{
	return cstate_slab_memory(&table->slab);
}

/* As declared in cstate.h. */
size_t cstate_table_ids_memory(const struct cstate_table *table)
{
	return cstate_slab_memory(&table->ids);
}

/* As declared in cstate.h. */
struct cstate_slots *cstate_slots_alloc(struct cstate_table *table, size_t bytes)
{
	uint8_t size_class;
	struct cstate_slots *slots = cstate_slab_alloc(&table->slab, bytes, &size_class);
	slots->size_class = size_class;
	return slots;
}

/* As declared in cstate.h. */
void cstate_slots_free(struct cstate_table *table, struct cstate_slots *slots)
{
	if (slots)
		cstate_slab_free(&table->slab, slots, slots->size_class);
}

/* ---- interned transformer ids ---- */

static inline char *name_at(const struct cstate_names *names, uint32_t name_no)
{
	return names->chunks[name_no >> CSTATE_NAME_CHUNK_SHIFT]->id[name_no & CSTATE_NAME_CHUNK_MASK];
}

/* Places name_no (whose text hashes to hash) in the first empty slot of its probe run. */
static void names_index_place(struct cstate_names *names, uint64_t hash, uint32_t name_no)
{
	size_t mask = names->index_cap - 1;
	size_t pos = (size_t)hash & mask;
	while (names->index[pos])
		pos = (pos + 1) & mask;
	names->index[pos] = name_no + 1;
}

/* Doubles the name index (or creates it) and re-places every name. Rare: a utility's
 * transformers are interned once each. */
static void names_index_grow(struct cstate_names *names)
{
	free(names->index);
	names->index_cap = names->index_cap ? names->index_cap * 2 : 256;
	names->index = xcalloc(names->index_cap, sizeof(*names->index));
	for (uint32_t name_no = 0; name_no < names->count; name_no++) {
		const char *text = name_at(names, name_no);
		names_index_place(names, cstate_hash(text, strlen(text)), name_no);
	}
}

/* Returns the number of the name `text` (len bytes, 1..RISKD_ID_MAX), adding it if new. */
static uint32_t names_intern(struct cstate_names *names, const char *text, size_t len)
{
	uint64_t hash = cstate_hash(text, len);
	if (names->index_cap) {
		size_t mask = names->index_cap - 1;
		for (size_t pos = (size_t)hash & mask; names->index[pos]; pos = (pos + 1) & mask) {
			const char *known = name_at(names, names->index[pos] - 1);
			if (known[len] == '\0' && memcmp(known, text, len) == 0)
				return names->index[pos] - 1;
		}
	}
	if (names->count == CSTATE_ENTRY_LIMIT)
		abort(); /* 4 billion distinct transformer ids: far past any memory we could have */
	uint32_t name_no = names->count;
	size_t chunk_no = name_no >> CSTATE_NAME_CHUNK_SHIFT;
	if (chunk_no == names->chunk_cap) {
		size_t cap = names->chunk_cap ? names->chunk_cap * 2 : 4;
		names->chunks = xrealloc(names->chunks, cap * sizeof(*names->chunks));
		memset(&names->chunks[names->chunk_cap], 0,
		       (cap - names->chunk_cap) * sizeof(*names->chunks));
		names->chunk_cap = cap;
	}
	if (!names->chunks[chunk_no])
		names->chunks[chunk_no] = xcalloc(1, sizeof(struct cstate_name_chunk));
	memcpy(name_at(names, name_no), text, len); /* the chunk is zeroed: terminated */
	names->count++;
	if (2 * (size_t)names->count > names->index_cap)
		names_index_grow(names); /* re-places the new name too */
	else
		names_index_place(names, hash, name_no);
	return name_no;
}

/* As declared in cstate.h. An unchanged transformer (the usual repeated profile) costs one
 * string comparison, no hashing. */
int cstate_transformer_id_set(struct cstate_table *table, struct cstate *cs,
                              const char *transformer_id)
{
	size_t len = strnlen(transformer_id, RISKD_ID_MAX + 1);
	if (len > RISKD_ID_MAX)
		return RISKD_ERR_RANGE;
	if (strcmp(cstate_transformer_id(table, cs), transformer_id) == 0)
		return 0;
	cs->transformer_ref = len ? names_intern(&table->names, transformer_id, len) + 1 : 0;
	return 0;
}

/* As declared in cstate.h. */
const char *cstate_transformer_id(const struct cstate_table *table, const struct cstate *cs)
{
	uint32_t ref = cs->transformer_ref;
	if (ref == 0)
		return "";
	assert(ref <= table->names.count); /* else cs's reference is from another table */
	return name_at(&table->names, ref - 1);
}

/* ---- hashing ---- */

#define HASH_K0 0x9e3779b97f4a7c15ull
#define HASH_K1 0xbf58476d1ce4e5b9ull
#define HASH_K2 0x94d049bb133111ebull
#define HASH_K3 0xd6e8feb86659fd93ull

/* 64x64 -> 128-bit multiply, folded to 64 bits by xor of the halves. */
static inline uint64_t hash_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 product = (unsigned __int128)a * b;
	return (uint64_t)product ^ (uint64_t)(product >> 64);
}

/* Reads n (0..8) bytes as a little-endian integer, so the hash is the same on any host. */
static inline uint64_t hash_read_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * As declared in cstate.h. Folds 16-byte blocks through a 128-bit multiply (as wyhash does),
 * mixes in the length, and finishes with the splitmix64 finalizer. The value is part of
 * stored snapshots (recent event hashes), so the function must never change.
 */
uint64_t cstate_hash(const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t left = len;
	uint64_t seed = HASH_K0;
	while (left > 16) {
		seed = hash_mum(hash_read_le(p, 8) ^ HASH_K1, hash_read_le(p + 8, 8) ^ seed);
		p += 16;
		left -= 16;
	}
	uint64_t a, b;
	if (left > 8) {
		a = hash_read_le(p, 8);
		b = hash_read_le(p + 8, left - 8);
	} else {
		a = hash_read_le(p, left);
		b = 0;
	}
	uint64_t h = hash_mum(a ^ HASH_K1, b ^ seed);
	h = hash_mum(h ^ HASH_K3, (uint64_t)len ^ HASH_K2);
	h ^= h >> 30;
	h *= HASH_K1;
	h ^= h >> 27;
	h *= HASH_K2;
	h ^= h >> 31;
	return h ? h : HASH_K0;
}

/* As declared in cstate.h. event_hash must come from cstate_hash (never 0). */
int cstate_seen_event(struct cstate *cs, uint64_t event_hash)
{
	for (int i = 0; i < CSTATE_RECENT_EVENTS; i++)
		if (cs->recent_events[i] == event_hash)
			return 1;
	cs->recent_events[cs->recent_next % CSTATE_RECENT_EVENTS] = event_hash;
	cs->recent_next = (uint8_t)((cs->recent_next + 1) % CSTATE_RECENT_EVENTS);
	return 0;
}

/* ---- snapshots ---- */

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	if (!errstr || errstr_size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

/* Whether cs is an entry of table (rather than a struct outside it). */
static int is_entry(const struct cstate_table *table, const struct cstate *cs)
{
	uintptr_t addr = (uintptr_t)cs;
	if (table->chunk_count == 0 || table->chunk_addrs[0].base > addr)
		return 0;
	uintptr_t base = table->chunk_addrs[chunk_below(table, addr)].base;
	return addr < base + CSTATE_CHUNK_ENTRIES * sizeof(struct cstate);
}

/* The slots cs holds for its open day, or NULL: the ones a snapshot keeps. */
static const struct cstate_slots *open_slots(const struct cstate *cs)
{
	const struct cstate_slots *slots = cs->slots;
	return (cs->flags & CSTATE_F_HAS_DAY) && slots && slots->day == cs->open_day ? slots : NULL;
}

/*
 * As declared in cstate.h. The snapshot is canonical: CSTATE_F_DIRTY (table bookkeeping) is
 * cleared, the id, the process-local transformer_ref and the slots' pointer and slab class
 * are left out, so identical state always encodes to identical bytes as long as the struct
 * was zeroed before its fields were set (the table and cstate_decode do that).
 */
size_t cstate_encode(const struct cstate_table *table, const struct cstate *cs, uint8_t *buf,
                     size_t buf_size)
{
	const char *transformer_id = cstate_transformer_id(table, cs);
	size_t transformer_len = strlen(transformer_id);
	const struct cstate_slots *slots = open_slots(cs);
	size_t slots_len = slots ? cstate_wire_slots_size(slots->count, slots->exact) : 0;
	size_t len = CSTATE_SNAPSHOT_HEADER + CSTATE_SNAPSHOT_BODY + 1 + slots_len + 1 +
	             transformer_len;
	if (buf_size < len)
		return 0;
	struct cstate canon;
	memcpy(&canon, cs, sizeof(canon));
	canon.flags &= (uint8_t)~CSTATE_F_DIRTY;
	canon.transformer_ref = 0;

	uint8_t *p = buf;
	memcpy(p, CSTATE_SNAPSHOT_MAGIC, CSTATE_SNAPSHOT_MAGIC_LEN);
	p[4] = (uint8_t)(CSTATE_SNAPSHOT_VERSION & 0xff);
	p[5] = (uint8_t)(CSTATE_SNAPSHOT_VERSION >> 8);
	p[6] = (uint8_t)(CSTATE_SNAPSHOT_BODY & 0xff);
	p[7] = (uint8_t)(CSTATE_SNAPSHOT_BODY >> 8);
	p += CSTATE_SNAPSHOT_HEADER;
	memcpy(p, (const uint8_t *)&canon + CSTATE_SNAPSHOT_BODY_AT, CSTATE_SNAPSHOT_BODY);
	p += CSTATE_SNAPSHOT_BODY;
	*p++ = slots ? (uint8_t)(1 + slots->exact) : 0;
	if (slots) {
		cstate_slots_to_wire(slots, p, slots_len);
		p += slots_len;
	}
	*p++ = (uint8_t)transformer_len;
	memcpy(p, transformer_id, transformer_len);
	return len;
}

/*
 * Fills old (zeroed, id set) from a version 7 or 8 body: the fields before the recent event
 * hashes as they are, the newest CSTATE_RECENT_EVENTS of its 8 hashes (the ring's next slot
 * tells which are newest), then the theft and payment state. The open day has no coverage:
 * a repeat of a reading counted before the upgrade is counted again.
 */
static void upgrade_v8(struct cstate_v9 *old, const uint8_t *body)
{
	uint64_t recent[CSTATE_V8_RECENT];
	memcpy((uint8_t *)old + CSTATE_V9_BODY_AT, body, CSTATE_V8_RECENT_AT);
	memcpy(recent, body + CSTATE_V8_RECENT_AT, sizeof(recent));
	memcpy(&old->theft, body + CSTATE_V8_RECENT_AT + sizeof(recent), CSTATE_V8_TAIL);
	unsigned next = old->recent_next % CSTATE_V8_RECENT;
	for (unsigned i = 0; i < CSTATE_RECENT_EVENTS; i++)
		old->recent_events[i] =
		    recent[(next + CSTATE_V8_RECENT - CSTATE_RECENT_EVENTS + i) % CSTATE_V8_RECENT];
	old->recent_next = 0;
}

/* The sizes a snapshot of `version` declares, from its bytes after the header (body_len of
 * them): *slots_len is the open day's slots as stored (0 for none, and for older versions).
 * Returns 0, or -1 when the slots' layout byte or header is bad. */
static int snapshot_slots(unsigned version, const uint8_t *after, size_t after_len,
                          size_t body_len, size_t *slots_len)
{
	*slots_len = 0;
	if (version != CSTATE_SNAPSHOT_VERSION)
		return 0;
	if (after_len <= body_len)
		return -1;
	uint8_t layout = after[body_len];
	if (layout == 0)
		return 0;
	struct cstate_slots head;
	if (layout > 2 || after_len < body_len + 1 + CSTATE_SLOTS_HEADER)
		return -1;
	memcpy(&head, after + body_len + 1, CSTATE_SLOTS_HEADER);
	if (head.exact != layout - 1)
		return -1;
	*slots_len = cstate_wire_slots_size(head.count, head.exact);
	if (after_len < body_len + 1 + *slots_len ||
	    !cstate_wire_slots_valid(&head, after + body_len + 1))
		return -1;
	return 0;
}

/*
 * As declared in cstate.h. Besides the header it checks the id's length, the slots' layout,
 * that the transformer_id has no NUL byte, that recent_next is in range and that the
 * counters are not negative. On error *cs is left untouched (the transformer_id is interned
 * and the slots allocated only once the snapshot passed every check). On success
 * CSTATE_F_DIRTY is clear: dirtiness belongs to the table.
 */
int cstate_decode(struct cstate_table *table, const char *id, const uint8_t *buf, size_t len,
                  struct cstate *cs, char *errstr, size_t errstr_size)
{
	struct cstate decoded;
	struct cstate_v9 old = {.open_day = 0};
	size_t id_len = strnlen(id, RISKD_ID_MAX + 1);

	if (id_len == 0 || id_len > RISKD_ID_MAX) {
		set_err(errstr, errstr_size,
		        "customer state snapshot: id must be 1..%d bytes, got %s", RISKD_ID_MAX,
		        id_len ? "a longer one" : "an empty one");
		return RISKD_ERR_INVALID;
	}
	if (len < CSTATE_SNAPSHOT_HEADER) {
		set_err(errstr, errstr_size,
		        "customer state snapshot too short: %zu bytes, the header alone is %d", len,
		        CSTATE_SNAPSHOT_HEADER);
		return RISKD_ERR_INVALID;
	}
	if (memcmp(buf, CSTATE_SNAPSHOT_MAGIC, CSTATE_SNAPSHOT_MAGIC_LEN) != 0) {
		set_err(errstr, errstr_size,
		        "customer state snapshot has bad magic %02x %02x %02x %02x (expected \"%s\")",
		        buf[0], buf[1], buf[2], buf[3], CSTATE_SNAPSHOT_MAGIC);
		return RISKD_ERR_INVALID;
	}
	unsigned version = (unsigned)buf[4] | (unsigned)buf[5] << 8;
	int older = version == CSTATE_SNAPSHOT_V8 || version == CSTATE_SNAPSHOT_V7;
	if (version != CSTATE_SNAPSHOT_VERSION && version != CSTATE_SNAPSHOT_V9 && !older) {
		set_err(errstr, errstr_size,
		        "customer state snapshot version %u is not supported (this build reads "
		        "versions %d to %d)", version, CSTATE_SNAPSHOT_V7, CSTATE_SNAPSHOT_VERSION);
		return RISKD_ERR_INVALID;
	}
	size_t body = (size_t)buf[6] | (size_t)buf[7] << 8;
	size_t expected_body = older                           ? CSTATE_V8_BODY
	                       : version == CSTATE_SNAPSHOT_V9 ? CSTATE_V9_BODY
	                                                       : CSTATE_SNAPSHOT_BODY;
	if (body != expected_body) {
		set_err(errstr, errstr_size,
		        "customer state snapshot body is %zu bytes but this build's state is %zu "
		        "bytes (snapshot from an incompatible build)", body, expected_body);
		return RISKD_ERR_INVALID;
	}
	const uint8_t *after = buf + CSTATE_SNAPSHOT_HEADER;
	size_t slots_len;
	if (snapshot_slots(version, after, len - CSTATE_SNAPSHOT_HEADER, body, &slots_len) != 0) {
		set_err(errstr, errstr_size,
		        "customer state snapshot for '%s': the open day's slots are cut short or "
		        "malformed", id);
		return RISKD_ERR_INVALID;
	}
	size_t slots_at = body + (version == CSTATE_SNAPSHOT_VERSION); /* after the layout byte */
	const size_t fixed = CSTATE_SNAPSHOT_HEADER + slots_at + slots_len + 1;
	size_t transformer_len = len >= fixed ? buf[fixed - 1] : 0;
	if (len < fixed || len != fixed + transformer_len) {
		set_err(errstr, errstr_size,
		        "customer state snapshot is %zu bytes, expected %zu (header %d + body %zu + "
		        "open-day slots %zu + transformer_id 1 + %zu)", len, fixed + transformer_len,
		        CSTATE_SNAPSHOT_HEADER, body, slots_len + (slots_at - body), transformer_len);
		return RISKD_ERR_INVALID;
	}
	const char *transformer_id = (const char *)buf + fixed;
	if (transformer_len > RISKD_ID_MAX || memchr(transformer_id, '\0', transformer_len)) {
		set_err(errstr, errstr_size,
		        "customer state snapshot for '%s': transformer_id is %zu bytes or holds a NUL "
		        "byte", id, transformer_len);
		return RISKD_ERR_INVALID;
	}
	memset(&decoded, 0, sizeof(decoded));
	if (version == CSTATE_SNAPSHOT_VERSION) {
		memcpy((uint8_t *)&decoded + CSTATE_SNAPSHOT_BODY_AT, after, CSTATE_SNAPSHOT_BODY);
	} else {
		if (older)
			upgrade_v8(&old, after);
		else
			memcpy((uint8_t *)&old + CSTATE_V9_BODY_AT, after, CSTATE_V9_BODY);
		memcpy((uint8_t *)&decoded + CSTATE_SNAPSHOT_BODY_AT,
		       (const uint8_t *)&old + CSTATE_V9_BODY_AT, CSTATE_V9_SAME_LEN);
		decoded.last_closed_uwh = old.last_closed_uwh;
		memcpy(decoded.recent_events, old.recent_events, sizeof(decoded.recent_events));
		decoded.theft = old.theft;
		decoded.pay = old.pay;
		decoded.last_closed_day = old.last_closed_day;
	}
	if (decoded.recent_next >= CSTATE_RECENT_EVENTS) {
		set_err(errstr, errstr_size,
		        "customer state snapshot for '%s': recent_next %u out of range 0..%d",
		        id, (unsigned)decoded.recent_next, CSTATE_RECENT_EVENTS - 1);
		return RISKD_ERR_INVALID;
	}
	if (decoded.open_readings < 0 || decoded.open_uwh < 0 || decoded.days_closed < 0 ||
	    decoded.last_closed_uwh < 0) {
		set_err(errstr, errstr_size,
		        "customer state snapshot for '%s': negative daily counter", id);
		return RISKD_ERR_INVALID;
	}
	if (version == CSTATE_SNAPSHOT_V7)
		payments_upgrade_from_v7(&decoded.pay);
	decoded.flags &= (uint8_t)~CSTATE_F_DIRTY;
	decoded.transformer_ref =
	    transformer_len ? names_intern(&table->names, transformer_id, transformer_len) + 1 : 0;
	if (slots_len) {
		decoded.slots = cstate_slots_from_wire(table, after + body + 1, slots_len);
	} else if (version == CSTATE_SNAPSHOT_V9 && (decoded.flags & CSTATE_F_HAS_DAY)) {
		decoded.slots = cstate_slots_from_v9_cover(table, decoded.open_day, old.cover);
	}
	if (is_entry(table, cs)) {
		cstate_slots_free(table, cs->slots);
		decoded.key = cs->key; /* the entry keeps the id the table knows it by */
	} else {
		decoded.key = cstate_table_upsert(table, id, id_len, decoded.partition, NULL)->key;
	}
	memcpy(cs, &decoded, sizeof(*cs));
	return 0;
}
