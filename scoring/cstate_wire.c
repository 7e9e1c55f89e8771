/*
 * cstate_wire.c - the open day's slots (struct cstate_slots) as snapshots store them, for
 * scoring/cstate.c's encoding and decoding (cstate_int.h): a compact record's codes in 16
 * bits each, where memory packs them in 12, and version 9's coverage codes turned into slots.
 */
#include "cstate_int.h"

#include <string.h>

/* As declared in cstate_int.h. */
size_t cstate_wire_slots_size(unsigned count, int exact)
{
	return exact ? cstate_slots_size(count, 1) : CSTATE_SLOTS_HEADER + 2 * (size_t)count;
}

/* As declared in cstate_int.h. */
void cstate_slots_to_wire(const struct cstate_slots *slots, uint8_t *out, size_t len)
{
	if (slots->exact) {
		memcpy(out, slots, len);
	} else {
		memcpy(out, slots, CSTATE_SLOTS_HEADER);
		for (unsigned j = 0; j < slots->count; j++) {
			unsigned code = cstate_slot_code(slots, j);
			uint16_t wire = code == CSTATE_SLOT_CONT ? UINT16_MAX : (uint16_t)code;
			memcpy(out + CSTATE_SLOTS_HEADER + 2 * j, &wire, sizeof(wire));
		}
	}
	out[offsetof(struct cstate_slots, size_class)] = 0;
}

/*
 * Slots in table's slab for `count` codes of `grid` quarter hours on `day` given in 16 bits
 * (0 free, UINT16_MAX continued, hashed_from.. a reading known by its closed-day hash code,
 * else 1 + the reading's Wh): compact when every reading fits their 12 bits, else wide (a
 * reading lasting to the next slot that is not continued).
 */
static struct cstate_slots *slots_from_codes(struct cstate_table *table, int32_t day,
                                             unsigned grid, unsigned count,
                                             const uint16_t *codes, unsigned hashed_from)
{
	int wide = 0;
	for (unsigned j = 0; j < count; j++)
		wide |= codes[j] != UINT16_MAX && codes[j] > CSTATE_SLOT_WH_MAX + 1;
	size_t size = cstate_slots_size(count, wide);
	struct cstate_slots *slots = cstate_slots_alloc(table, size);
	uint8_t size_class = slots->size_class;
	memset(slots, 0, size);
	slots->day = day;
	slots->grid = (uint8_t)grid;
	slots->count = (uint8_t)count;
	slots->exact = (uint8_t)wide;
	slots->size_class = size_class;
	int64_t *energy = (int64_t *)(void *)slots->code;
	int32_t *interval = (int32_t *)(void *)(energy + count);
	for (unsigned j = 0; j < count; j++) {
		uint16_t c = codes[j];
		if (!wide) {
			cstate_slot_code_set(slots, j, c == UINT16_MAX ? CSTATE_SLOT_CONT : c);
			continue;
		}
		unsigned run = 1;
		while (c != 0 && c != UINT16_MAX && j + run < count && codes[j + run] == UINT16_MAX)
			run++;
		energy[j] = c == 0 ? CSTATE_SLOT_WIDE_NONE
		            : c == UINT16_MAX ? CSTATE_SLOT_WIDE_CONT
		            : c >= hashed_from ? CSTATE_SLOT_WIDE_HASHED(c)
		                               : (int64_t)(c - 1) * 1000;
		interval[j] =
		    c == 0 || c == UINT16_MAX ? 0 : (int32_t)(run * grid * CSTATE_COVER_SLOT_S);
	}
	return slots;
}

/* As declared in cstate_int.h. */
struct cstate_slots *cstate_slots_from_wire(struct cstate_table *table, const uint8_t *wire,
                                            size_t len)
{
	struct cstate_slots head;
	memcpy(&head, wire, CSTATE_SLOTS_HEADER);
	if (!head.exact) {
		uint16_t codes[CSTATE_COVER_SLOTS];
		memcpy(codes, wire + CSTATE_SLOTS_HEADER, 2 * (size_t)head.count);
		return slots_from_codes(table, head.day, head.grid, head.count, codes, UINT16_MAX);
	}
	struct cstate_slots *slots = cstate_slots_alloc(table, len);
	uint8_t size_class = slots->size_class;
	memcpy(slots, wire, len);
	slots->size_class = size_class;
	return slots;
}

/*
 * As declared in cstate_int.h: a slot a quarter hour, compact when every reading's energy is
 * a whole number of Wh up to CSTATE_SLOT_WH_MAX, else wide with the hashed ones known by
 * their code (CSTATE_SLOT_WIDE_HASHED). A reading's length is where its continuations end
 * (the hourly sums of one that ran past the day are restored from risk.entity_state.hours).
 */
struct cstate_slots *cstate_slots_from_v9_cover(struct cstate_table *table, int32_t day,
                                                const uint16_t *cover)
{
	int any = 0;
	uint16_t codes[CSTATE_COVER_SLOTS];
	for (int q = 0; q < CSTATE_COVER_SLOTS; q++) {
		any |= cover[q] != CSTATE_COVER_NONE;
		codes[q] = cover[q] == CSTATE_COVER_CONT ? UINT16_MAX : cover[q];
	}
	return any ? slots_from_codes(table, day, 1, CSTATE_COVER_SLOTS, codes, CSTATE_COVER_HASHED)
	           : NULL;
}

/* As declared in cstate_int.h: a grid dividing a day, the count it gives, and for a wide
 * record every energy a reading's, a free or continued slot's, or a hashed code, and no
 * interval negative. */
int cstate_wire_slots_valid(const struct cstate_slots *head, const uint8_t *record)
{
	if (head->grid == 0 || 96 % head->grid != 0 ||
	    head->count != (CSTATE_COVER_SLOTS + head->grid - 1) / head->grid)
		return 0;
	if (!head->exact)
		return 1;
	for (unsigned j = 0; j < head->count; j++) {
		int64_t energy;
		int32_t interval;
		memcpy(&energy, record + CSTATE_SLOTS_HEADER + 8 * j, sizeof(energy));
		memcpy(&interval, record + CSTATE_SLOTS_HEADER + 8 * head->count + 4 * j,
		       sizeof(interval));
		if (interval < 0 || (energy < CSTATE_SLOT_WIDE_CONT &&
		                     (energy > CSTATE_SLOT_WIDE_HASHED(CSTATE_COVER_HASHED) ||
		                      energy < CSTATE_SLOT_WIDE_HASHED(CSTATE_COVER_CONT - 1))))
			return 0;
	}
	return 1;
}
