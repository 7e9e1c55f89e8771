/*
 * operating.h - the operating state of a business customer: what its consumption says about
 * how its business is going (the early warning of operating risk, docs/credit.md).
 *
 * A commercial or industrial customer's closed days are folded into weeks (Monday to Sunday,
 * local days); a ring of OP_WEEKS closed weeks keeps each week's energy (quantised against a
 * per-customer scale), its working days and its highest interval power as a share of the
 * contracted capacity: enough to compare the latest weeks with the same weeks a year earlier
 * and with the quarter before, without a year of daily history. struct op_state is
 * OP_STATE_BYTES bytes; it lives beside struct cstate (struct op_table), only for the
 * customers that are commercial or industrial, so households cost nothing.
 *
 * Pure code: no I/O. Not thread-safe: one table belongs to one loop.
 */
#ifndef RISKD_OPERATING_H
#define RISKD_OPERATING_H

#include <stddef.h>
#include <stdint.h>

#include "features.h"

/* Closed weeks the ring keeps: the last 8 weeks and the same 8 weeks a year (52 weeks)
 * earlier. */
#define OP_WEEKS 60
/* A stored week's energy marks: no data (the week was not seen whole). */
#define OP_KWH_NONE 0xFFFFu
/* A stored week's peak marks: capacity unknown or no data. */
#define OP_PEAK_NONE 0xFFu
/* Peak quanta per unit of capacity (254 = 1.016 x capacity at most). */
#define OP_PEAK_QUANTA 250.0

/* One closed week. */
struct op_week {
	uint16_t kwh_q;            /* energy / op_state.scale_kwh, OP_KWH_NONE: no data */
	uint8_t work_days;         /* days of the week that were working days, 0 .. 7 */
	uint8_t peak_q;            /* highest interval power / capacity x OP_PEAK_QUANTA */
};

/* The operating state of one business customer (OP_STATE_BYTES bytes). */
struct op_state {
	int32_t open_week;         /* week being accumulated (Monday-based weeks since 1970) */
	int32_t last_day;          /* newest day folded; INT32_MIN before any */
	float scale_kwh;           /* kWh per quantum of op_week.kwh_q; 0 before the first week */
	float ref_day_kwh;         /* usual energy of a working day (moving mean); 0 unknown */
	float open_kwh;            /* energy of the open week's days so far */
	float open_peak_q;         /* highest interval power of the open week so far in quanta
	                              of capacity (OP_PEAK_QUANTA); -1: not known every day */
	uint8_t open_days;         /* days folded into the open week */
	uint8_t open_work_days;    /* of those, working days */
	uint16_t stop_days;        /* current run of days below OP_STOP_SHARE of ref_day_kwh */
	uint32_t weeks_closed;     /* weeks closed so far (whole or not) */
	int32_t read_day;          /* local day whose readings op_state_reading follows;
	                              INT32_MIN before any */
	float read_peak_kw;        /* highest interval power of read_day so far, kW */
	struct op_week weeks[OP_WEEKS]; /* ring indexed by week % OP_WEEKS */
};
#define OP_STATE_BYTES sizeof(struct op_state)

/* A day is a working day when its energy reaches this share of ref_day_kwh ... */
#define OP_WORK_SHARE 0.5
/* ... and a stopped day when it stays under this share. */
#define OP_STOP_SHARE 0.1

/* Monday-based week number of a local day (days since 1970-01-01, a Thursday). */
static inline int32_t op_week_of(int32_t day)
{
	int32_t shifted = day + 3;
	return shifted >= 0 ? shifted / 7 : -((6 - shifted) / 7);
}

/* Starts an empty state. */
void op_state_init(struct op_state *op);

/*
 * Folds one closed local day: its energy kwh_day (>= 0), its highest interval power peak_kw
 * (kW; 0 when unknown) and the customer's contracted capacity_kw (0 unknown). Days must come
 * in increasing order; an older or repeated day is ignored (returns 0). When `day` opens a
 * later week, the open week is closed first (a week seen on fewer than 6 days is stored as no
 * data, and the weeks skipped without any day too). Returns 1 when the day was folded.
 */
int op_state_day(struct op_state *op, int32_t day, double kwh_day, double peak_kw,
                 double capacity_kw);

/*
 * Follows one reading of local day `day` whose interval power is kw (kW: its energy over its
 * length): the highest power of the day being read, which op_state_day_peak gives when the
 * day closes. A reading of an earlier day than the one followed is ignored (a late reading:
 * its day was folded already).
 */
void op_state_reading(struct op_state *op, int32_t day, double kw);

/* The highest interval power of local day `day` followed by op_state_reading, or 0 when no
 * reading of that day was followed. */
double op_state_day_peak(const struct op_state *op, int32_t day);

/*
 * The energy of the closed week `back` weeks before the open one (1 = the last closed week)
 * in kWh, and in *monday the local day its Monday is; NAN when the ring no longer (or not
 * yet) holds that week or it has no data. For an alert's evidence.
 */
double op_state_week_kwh(const struct op_state *op, int32_t back, int32_t *monday);

/* Bytes of an encoded state (op_state_encode). */
#define OP_STATE_ENCODED_BYTES 281

/* Writes op as OP_STATE_ENCODED_BYTES bytes into out (a snapshot: fixed byte order, a
 * version byte first). Returns OP_STATE_ENCODED_BYTES. */
size_t op_state_encode(const struct op_state *op, uint8_t *out);

/* Reads a state written by op_state_encode (len bytes at in) into *op. Returns 0, or -1
 * when the bytes are not one (wrong length or version, a counter out of range). */
int op_state_decode(const uint8_t *in, size_t len, struct op_state *op);

/*
 * Fills the operating features (yoy_change_8w, yoy_down_weeks_8w, quarter_change_4w,
 * work_days_4w, work_days_change, capacity_util_4w, capacity_util_change, stop_days) of fv
 * from op as of its newest folded day; a feature whose weeks are not all known stays
 * missing (docs/features.md gives the formulas). op NULL (a customer that is not a business)
 * leaves them all missing. Other features are untouched.
 */
void op_state_features(const struct op_state *op, struct feature_vec *fv);

/* ---- the side table: one op_state per business customer, keyed by its state entry ---- */

struct op_table;

/* Creates an empty table. Aborts on out-of-memory. */
struct op_table *op_table_new(void);

/* Frees the table (NULL is fine). */
void op_table_free(struct op_table *t);

/*
 * The state of the customer whose entry (struct cstate, or any stable address the caller
 * keys customers by) is `key`, created (op_state_init) when create is non-zero and it has
 * none. Returns NULL when absent and not created. The pointer stays valid until the table
 * is cleared or freed (or op_table_remove_if runs). Aborts on out-of-memory.
 */
struct op_state *op_table_get(struct op_table *t, const void *key, int create);

/* Forgets every customer (when the state tables are cleared). Keeps the memory. */
void op_table_clear(struct op_table *t);

/*
 * Forgets the customers for which drop(key, state, arg) returns non-zero (e.g. those of a revoked
 * partition, before their entries are removed). The states kept may move: pointers from
 * op_table_get are invalid afterwards.
 */
void op_table_remove_if(struct op_table *t,
                        int (*drop)(const void *key, void *record, void *arg), void *arg);

/* Customers held, and the bytes the table holds for them (states and index). */
size_t op_table_count(const struct op_table *t);
size_t op_table_memory(const struct op_table *t);

#endif
