/*
 * daily.c - rolls a customer's interval readings up into local days (integer micro-kWh).
 *
 * Called by the detector for every accepted meter reading, after scoring/localday.c has
 * mapped the reading's ts to a local day. The open day lives in struct cstate; when a reading
 * for a later day arrives, or the meter has stayed silent past the lateness
 * (daily_close_silent), the open day is handed back to the caller (struct daily_closed),
 * which feeds the daily models and the daily-usage table. The open day's readings are held
 * once, in its slots (struct cstate_slots, beside the state in its table's slab): the repeat
 * check, the hourly sums and the coverage a closed day keeps are derived from them. Pure
 * arithmetic; the slots' records come from the table's slab.
 */
#include "daily.h"

#include <math.h>
#include <string.h>

/* Largest kWh value that converts without overflow: just below INT64_MAX micro-kWh. */
#define DAILY_KWH_MAX 9.2e12

/*
 * As declared in daily.h. llround(kwh * 1e6): exact for every value the event contract
 * allows, since |kwh| < DAILY_KWH_MAX (about 9.2e12 kWh, the int64 limit in micro-kWh).
 * Inputs outside the contract are clamped rather than trusted to llround: NaN and negative
 * values give 0, values at or above DAILY_KWH_MAX give DAILY_KWH_MAX * 1e6.
 */
int64_t daily_kwh_to_uwh(double kwh)
{
	if (!(kwh > 0.0))
		return 0;
	if (kwh >= DAILY_KWH_MAX)
		return (int64_t)(DAILY_KWH_MAX * 1e6);
	return (int64_t)llround(kwh * 1e6);
}

/* Adds two non-negative energies, saturating at INT64_MAX instead of overflowing. */
static int64_t uwh_add(int64_t a, int64_t b)
{
	int64_t sum;
	if (__builtin_add_overflow(a, b, &sum))
		return INT64_MAX;
	return sum;
}

/* Opens `day` in cs with its first reading (slots of another day hold nothing for it). */
static void open_day(struct cstate *cs, int32_t day, int64_t uwh, int32_t interval_s)
{
	cs->open_day = day;
	cs->open_uwh = uwh;
	cs->open_readings = 1;
	cs->open_covered_s = interval_s;
}

/*
 * As declared in daily.h. The first reading of a customer opens its first day (and counts
 * as DAILY_SAME_DAY). A reading for a later day closes the open day even if days were
 * skipped: days without readings are not invented here. DAILY_LATE leaves cs unchanged.
 * closed may be NULL when the caller only needs the counters in cs.
 */
enum daily_result daily_apply_reading(struct cstate *cs, int32_t day, int64_t uwh,
                                      int32_t interval_s, struct daily_closed *closed)
{
	if ((cs->flags & CSTATE_F_SILENT) && day >= cs->open_day) {
		/* a silent meter is back: the empty day opened for it closes with the lateness
		 * (daily_close_silent), never with a reading */
		cs->flags &= (uint8_t)~CSTATE_F_SILENT;
		open_day(cs, day, uwh, interval_s);
		return DAILY_SAME_DAY;
	}
	if (!(cs->flags & CSTATE_F_HAS_DAY)) {
		cs->flags |= CSTATE_F_HAS_DAY;
		open_day(cs, day, uwh, interval_s);
		return DAILY_SAME_DAY;
	}
	if (day == cs->open_day) {
		cs->open_uwh = uwh_add(cs->open_uwh, uwh);
		if (cs->open_readings < INT32_MAX)
			cs->open_readings++;
		if (__builtin_add_overflow(cs->open_covered_s, interval_s, &cs->open_covered_s))
			cs->open_covered_s = INT32_MAX;
		return DAILY_SAME_DAY;
	}
	if (day < cs->open_day)
		return DAILY_LATE;

	if (closed) {
		closed->day = cs->open_day;
		closed->uwh = cs->open_uwh;
		closed->readings = cs->open_readings;
		closed->covered_s = cs->open_covered_s;
	}
	if (cs->days_closed < INT32_MAX)
		cs->days_closed++;
	cs->last_closed_day = cs->open_day;
	cs->last_closed_uwh = cs->open_uwh;
	open_day(cs, day, uwh, interval_s);
	return DAILY_CLOSED_DAY;
}

/* As declared in daily.h. */
int daily_close_silent(struct cstate *cs, struct daily_closed *closed)
{
	int had_readings = !(cs->flags & CSTATE_F_SILENT);
	closed->day = cs->open_day;
	closed->uwh = had_readings ? cs->open_uwh : 0;
	closed->readings = had_readings ? cs->open_readings : 0;
	closed->covered_s = had_readings ? cs->open_covered_s : 0;
	if (had_readings) {
		if (cs->days_closed < INT32_MAX)
			cs->days_closed++;
		cs->last_closed_day = cs->open_day;
		cs->last_closed_uwh = cs->open_uwh;
	}
	cs->flags |= CSTATE_F_SILENT;
	cs->open_day++;
	cs->open_uwh = 0;
	cs->open_readings = 0;
	cs->open_covered_s = 0;
	return had_readings;
}

/* ---- a closed day's coverage ---- */

/* The quarter hours [first, first + count) a reading covers, clipped to the day's
 * CSTATE_COVER_SLOTS; returns whether it is tracked (starts on a quarter hour and lasts a
 * whole number of them). An untracked reading gets the quarter hours it touches. */
static int cover_span(int32_t second_of_day, int32_t interval_s, int32_t *first, int32_t *count)
{
	int32_t start = second_of_day < 0 ? 0 : second_of_day;
	int64_t end = (int64_t)start + (interval_s > 0 ? interval_s : 1);
	*first = start / CSTATE_COVER_SLOT_S;
	int64_t last = (end - 1) / CSTATE_COVER_SLOT_S;
	if (*first >= CSTATE_COVER_SLOTS)
		*first = CSTATE_COVER_SLOTS - 1;
	if (last >= CSTATE_COVER_SLOTS)
		last = CSTATE_COVER_SLOTS - 1;
	*count = (int32_t)(last - *first + 1);
	return start % CSTATE_COVER_SLOT_S == 0 && interval_s % CSTATE_COVER_SLOT_S == 0;
}

/* Hashed codes: CSTATE_COVER_HASHED plus 0 .. COVER_HASH_SPAN - 1, below CSTATE_COVER_CONT. */
#define COVER_HASH_SPAN (CSTATE_COVER_CONT - CSTATE_COVER_HASHED)

/* The coverage code of a reading of uwh micro-kWh: its whole Wh + 1 when that fits, else a
 * hash of its energy (two energies share a hashed code once in 32,766). */
static uint16_t cover_code(int64_t uwh)
{
	if (uwh >= 0 && uwh % 1000 == 0 && uwh / 1000 < CSTATE_COVER_EXACT_MAX)
		return (uint16_t)(uwh / 1000 + 1);
	uint8_t bytes[8];
	for (int i = 0; i < 8; i++)
		bytes[i] = (uint8_t)((uint64_t)uwh >> (8 * i));
	return (uint16_t)(CSTATE_COVER_HASHED + cstate_hash(bytes, sizeof(bytes)) % COVER_HASH_SPAN);
}

/* Whether the tracked reading [first, first + count) has exactly the shape of a counted
 * one: a start code at first, continuations after it, and no continuation past its end. */
static int cover_same_shape(const uint16_t *cover, int32_t first, int32_t count)
{
	uint16_t head = cover[first];
	if (head == CSTATE_COVER_NONE || head == CSTATE_COVER_CONT)
		return 0;
	for (int32_t i = first + 1; i < first + count; i++)
		if (cover[i] != CSTATE_COVER_CONT)
			return 0;
	return first + count >= CSTATE_COVER_SLOTS || cover[first + count] != CSTATE_COVER_CONT;
}

enum daily_cover daily_cover_check(const uint16_t *cover, int32_t second_of_day,
                                   int32_t interval_s, int64_t uwh, int64_t *old_uwh)
{
	int32_t first, count;
	int tracked = cover_span(second_of_day, interval_s, &first, &count);
	int overlaps = 0;
	*old_uwh = -1;
	for (int32_t i = first; i < first + count; i++)
		overlaps |= cover[i] != CSTATE_COVER_NONE;
	if (!overlaps)
		return DAILY_COVER_NEW;
	if (!tracked || !cover_same_shape(cover, first, count))
		return DAILY_COVER_DIFFERS;
	uint16_t counted = cover[first];
	if (counted == cover_code(uwh))
		return DAILY_COVER_SAME;
	if (counted <= CSTATE_COVER_EXACT_MAX)
		*old_uwh = (int64_t)(counted - 1) * 1000;
	return DAILY_COVER_DIFFERS;
}

void daily_cover_add(uint16_t *cover, int32_t second_of_day, int32_t interval_s, int64_t uwh)
{
	int32_t first, count;
	if (!cover_span(second_of_day, interval_s, &first, &count))
		return;
	cover[first] = cover_code(uwh);
	for (int32_t i = first + 1; i < first + count; i++)
		cover[i] = CSTATE_COVER_CONT;
}

int daily_reading_tracked(int32_t second_of_day, int32_t interval_s)
{
	return second_of_day >= 0 && second_of_day < CSTATE_COVER_SLOTS * CSTATE_COVER_SLOT_S &&
	       second_of_day % CSTATE_COVER_SLOT_S == 0 && interval_s > 0 &&
	       interval_s % CSTATE_COVER_SLOT_S == 0;
}

/* ---- the open day's slots ---- */

enum slot_kind { SLOT_FREE, SLOT_START, SLOT_CONT };

static inline int64_t *wide_energy(struct cstate_slots *slots)
{
	return (int64_t *)(void *)slots->code;
}

static inline const int64_t *wide_energy_c(const struct cstate_slots *slots)
{
	return (const int64_t *)(const void *)slots->code;
}

static inline int32_t *wide_interval(struct cstate_slots *slots)
{
	return (int32_t *)(void *)(wide_energy(slots) + slots->count);
}

static inline const int32_t *wide_interval_c(const struct cstate_slots *slots)
{
	return (const int32_t *)(const void *)(wide_energy_c(slots) + slots->count);
}

/* The slots cs holds for its open day `day`, or NULL. */
static const struct cstate_slots *held(const struct cstate *cs, int32_t day)
{
	const struct cstate_slots *slots = cs->slots;
	return (cs->flags & CSTATE_F_HAS_DAY) && cs->open_day == day && slots && slots->day == day
	           ? slots
	           : NULL;
}

static enum slot_kind slot_kind(const struct cstate_slots *slots, unsigned j)
{
	if (!slots->exact) {
		unsigned code = cstate_slot_code(slots, j);
		return code == CSTATE_SLOT_NONE ? SLOT_FREE : code == CSTATE_SLOT_CONT ? SLOT_CONT
		                                                                       : SLOT_START;
	}
	int64_t energy = wide_energy_c(slots)[j];
	return energy == CSTATE_SLOT_WIDE_NONE   ? SLOT_FREE
	       : energy == CSTATE_SLOT_WIDE_CONT ? SLOT_CONT
	                                         : SLOT_START;
}

/* Quarter hour q (0..99) as a closed day's coverage sees it: free, a reading's start, or
 * covered by one that starts earlier. */
static enum slot_kind quarter_kind(const struct cstate_slots *slots, int32_t q)
{
	enum slot_kind kind = slot_kind(slots, (unsigned)q / slots->grid);
	return kind == SLOT_START && q % slots->grid ? SLOT_CONT : kind;
}

/* The energy of the reading starting in slot j: >= 0 micro-kWh, or a hashed code's
 * CSTATE_SLOT_WIDE_HASHED value (below CSTATE_SLOT_WIDE_CONT). */
static int64_t start_energy(const struct cstate_slots *slots, unsigned j)
{
	return slots->exact ? wide_energy_c(slots)[j]
	                    : (int64_t)(cstate_slot_code(slots, j) - 1) * 1000;
}

/* The length in seconds of the reading starting in slot j. */
static int32_t start_interval(const struct cstate_slots *slots, unsigned j)
{
	if (slots->exact)
		return wide_interval_c(slots)[j];
	unsigned run = 1;
	while (j + run < slots->count && cstate_slot_code(slots, j + run) == CSTATE_SLOT_CONT)
		run++;
	return (int32_t)(run * slots->grid * CSTATE_COVER_SLOT_S);
}

/* A closed-day coverage code for a reading of uwh (or a hashed code's slot value). */
static uint16_t start_code(int64_t energy)
{
	if (energy < CSTATE_SLOT_WIDE_CONT)
		return (uint16_t)(-16 - energy);
	return cover_code(energy);
}

enum daily_cover daily_open_check(const struct cstate *cs, int32_t day, int32_t second_of_day,
                                  int32_t interval_s, int64_t uwh, int64_t *old_uwh,
                                  int32_t *old_interval_s)
{
	int32_t first, count;
	const struct cstate_slots *slots = held(cs, day);
	*old_uwh = -1;
	if (old_interval_s)
		*old_interval_s = 0;
	if (!slots)
		return DAILY_COVER_NEW;
	int tracked = cover_span(second_of_day, interval_s, &first, &count);
	int overlaps = 0;
	for (int32_t q = first; q < first + count && !overlaps; q++)
		overlaps = quarter_kind(slots, q) != SLOT_FREE;
	if (!overlaps)
		return DAILY_COVER_NEW;
	if (!tracked || quarter_kind(slots, first) != SLOT_START)
		return DAILY_COVER_DIFFERS;
	for (int32_t q = first + 1; q < first + count; q++)
		if (quarter_kind(slots, q) != SLOT_CONT)
			return DAILY_COVER_DIFFERS;
	if (first + count < CSTATE_COVER_SLOTS && quarter_kind(slots, first + count) == SLOT_CONT)
		return DAILY_COVER_DIFFERS;
	unsigned j = (unsigned)first / slots->grid;
	int64_t counted = start_energy(slots, j);
	if (counted < CSTATE_SLOT_WIDE_CONT) /* known by its hash only */
		return start_code(counted) == cover_code(uwh) ? DAILY_COVER_SAME : DAILY_COVER_DIFFERS;
	if (counted == uwh)
		return DAILY_COVER_SAME;
	*old_uwh = counted;
	if (old_interval_s)
		*old_interval_s = start_interval(slots, j);
	return DAILY_COVER_DIFFERS;
}

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* A fresh record of table's slab for `day`: every slot free. */
static struct cstate_slots *slots_new(struct cstate_table *table, int32_t day, unsigned grid,
                                      int exact)
{
	unsigned count = (CSTATE_COVER_SLOTS + grid - 1) / grid;
	size_t size = cstate_slots_size(count, exact);
	struct cstate_slots *slots = cstate_slots_alloc(table, size);
	uint8_t size_class = slots->size_class;
	memset(slots, 0, size); /* also the padding, which snapshots copy */
	slots->day = day;
	slots->grid = (uint8_t)grid;
	slots->count = (uint8_t)count;
	slots->exact = (uint8_t)exact;
	slots->size_class = size_class;
	if (exact)
		for (unsigned j = 0; j < count; j++)
			wide_energy(slots)[j] = CSTATE_SLOT_WIDE_NONE;
	return slots;
}

/* Marks slots [from, from + n) continued (those that exist). */
static void slots_continue(struct cstate_slots *slots, unsigned from, unsigned n)
{
	for (unsigned j = from; j < from + n && j < slots->count; j++) {
		if (slots->exact) {
			wide_energy(slots)[j] = CSTATE_SLOT_WIDE_CONT;
			wide_interval(slots)[j] = 0;
		} else {
			cstate_slot_code_set(slots, j, CSTATE_SLOT_CONT);
		}
	}
}

/* Writes a reading of energy (a value start_energy gives) and length interval_s that starts
 * in slot j and covers `run` slots (those that exist). Compact slots must hold it exactly. */
static void slots_write(struct cstate_slots *slots, unsigned j, unsigned run, int64_t energy,
                        int32_t interval_s)
{
	if (slots->exact) {
		wide_energy(slots)[j] = energy;
		wide_interval(slots)[j] = interval_s;
	} else {
		cstate_slot_code_set(slots, j, (unsigned)(energy / 1000 + 1));
	}
	slots_continue(slots, j + 1, run - 1);
}

/* cs's slots again with `grid` (dividing theirs) and the given layout: each reading where it
 * was. A reading that would run past the last slot of compact ones makes them wide. */
static struct cstate_slots *slots_relayout(struct cstate_table *table, struct cstate *cs,
                                           unsigned grid, int exact)
{
	struct cstate_slots *old = cs->slots;
	unsigned ratio = old->grid / grid, count = (CSTATE_COVER_SLOTS + grid - 1) / grid;
	for (unsigned j = 0; j < old->count && !exact; j++)
		if (slot_kind(old, j) == SLOT_START &&
		    j * ratio + (unsigned)start_interval(old, j) / (grid * CSTATE_COVER_SLOT_S) > count)
			exact = 1;
	struct cstate_slots *slots = slots_new(table, old->day, grid, exact);
	for (unsigned j = 0; j < old->count && j * ratio < count; j++) {
		enum slot_kind kind = slot_kind(old, j);
		if (kind == SLOT_START)
			slots_write(slots, j * ratio, ratio, start_energy(old, j), start_interval(old, j));
		else if (kind == SLOT_CONT)
			slots_continue(slots, j * ratio, ratio);
	}
	cstate_slots_free(table, old);
	cs->slots = slots;
	return slots;
}

/* Whether compact slots hold a reading of uwh exactly. */
static int compact_energy(int64_t uwh)
{
	return uwh >= 0 && uwh % 1000 == 0 && uwh / 1000 <= CSTATE_SLOT_WH_MAX;
}

/* Puts a tracked reading counted into cs's open day (or restating one of it) into its slots,
 * making them anew, finer or wide as it needs. */
static void slots_put(struct cstate_table *table, struct cstate *cs, int32_t second_of_day,
                      int32_t interval_s, int64_t uwh)
{
	unsigned start = (unsigned)second_of_day / CSTATE_COVER_SLOT_S;
	unsigned length = (unsigned)interval_s / CSTATE_COVER_SLOT_S;
	unsigned grid = gcd(gcd(start, length), 96);
	struct cstate_slots *slots = cs->slots;
	if (slots && slots->day != cs->open_day) { /* another day's: start over */
		cstate_slots_free(table, slots);
		slots = cs->slots = NULL;
	}
	if (!slots)
		slots = cs->slots = slots_new(table, cs->open_day, grid, 0);
	else if (grid % slots->grid) /* the reading is off the slots' grid: finer ones */
		slots = slots_relayout(table, cs, gcd(slots->grid, grid), slots->exact);
	unsigned j = start / slots->grid, run = length / slots->grid;
	if (!slots->exact && (!compact_energy(uwh) || j + run > slots->count))
		slots = slots_relayout(table, cs, slots->grid, 1);
	slots_write(slots, j, run, uwh, interval_s);
}

void daily_open_add(struct cstate_table *table, struct cstate *cs, int32_t second_of_day,
                    int32_t interval_s, int64_t uwh)
{
	if (daily_reading_tracked(second_of_day, interval_s))
		slots_put(table, cs, second_of_day, interval_s, uwh);
}

void daily_restate(struct cstate_table *table, struct cstate *cs, int32_t second_of_day,
                   int32_t interval_s, int64_t old_uwh, int64_t uwh)
{
	int64_t day_uwh = cs->open_uwh - old_uwh;
	cs->open_uwh = uwh_add(day_uwh > 0 ? day_uwh : 0, uwh);
	daily_open_add(table, cs, second_of_day, interval_s, uwh);
}

void daily_open_cover(const struct cstate *cs, int32_t day, uint16_t cover[CSTATE_COVER_SLOTS])
{
	const struct cstate_slots *slots = held(cs, day);
	for (int32_t q = 0; q < CSTATE_COVER_SLOTS; q++) {
		enum slot_kind kind = slots ? quarter_kind(slots, q) : SLOT_FREE;
		cover[q] = kind == SLOT_FREE   ? CSTATE_COVER_NONE
		           : kind == SLOT_CONT ? CSTATE_COVER_CONT
		                               : start_code(start_energy(slots, (unsigned)q / slots->grid));
	}
}
void daily_hours_add(struct daily_hours *h, int32_t second_of_day, int32_t interval_s,
                     int64_t uwh)
{
	int32_t first = second_of_day / 3600;
	if (first < 0)
		first = 0;
	if (first > DAILY_HOURS - 1)
		first = DAILY_HOURS - 1;
	int64_t hours = interval_s <= 3600 ? 1 : ((int64_t)interval_s + 3599) / 3600;
	for (int64_t k = 0; k < hours; k++) {
		int32_t at = first + k < DAILY_HOURS ? first + (int32_t)k : DAILY_HOURS - 1;
		h->uwh[at] += uwh * (k + 1) / hours - uwh * k / hours;
		h->mask |= 1u << at;
	}
}

void daily_open_hours(const struct cstate *cs, int32_t day, struct daily_hours *h)
{
	const struct cstate_slots *slots = held(cs, day);
	for (unsigned j = 0; slots && j < slots->count; j++) {
		if (slot_kind(slots, j) != SLOT_START)
			continue;
		int64_t energy = start_energy(slots, j);
		int32_t interval_s = start_interval(slots, j);
		if (energy >= 0 && interval_s < 86400)
			daily_hours_add(h, (int32_t)(j * slots->grid * CSTATE_COVER_SLOT_S), interval_s,
			                energy);
	}
}
