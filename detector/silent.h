/*
 * silent.h - closing the days of meters that stop reporting, by event time.
 *
 * A customer's day closes when a reading of a later day arrives; a meter that goes silent
 * (cut cable, a bypass with the meter disconnected, lost communication) sends none. So each
 * input partition keeps a watermark, and once the watermark minus days.lateness_s has passed
 * the end of a local day, every customer of the partition whose open day is that day or
 * earlier has it closed (ingest_close_silent): its partial day first, then one empty day
 * after another while the meter stays silent.
 *
 * The watermark is the newest time a quorum of the partition's meters has reached: the
 * q-th newest last_ts (scoring/cstate.h) among the partition's customers with a counted
 * reading, each customer counted once, with q = min(SILENT_QUORUM, ceil(n / 2)) for n such
 * customers. Fewer than q meters cannot move it: a meter whose clock runs far ahead (or a
 * backfill's mistyped date) closes its own days through its own readings, as any reading
 * does, and no one else's. The price is the mirror image: a silent meter's days close only
 * while q meters of its partition still report, so up to half of a small partition's meters
 * may be silent (a tie goes to closing: one of two, two of four), all but SILENT_QUORUM of a
 * large one's. In a partition of fewer than SILENT_HELD customers a new customer's first
 * reading can raise q and so move the watermark back; the days it closed stay closed.
 *
 * Exactly-once: the watermark is a function of the partition's state (each customer's
 * last_ts only grows), and the sweep runs right after the reading that moves it past a
 * day's end, so restarts (the watermark is learned again from the restored state before the
 * partition's first reading), replays and instances close the same days at the same point of
 * the partition's input. Cost: per counted reading a comparison with the newest
 * SILENT_HELD customers' oldest last_ts, and when it is newer an insertion into that sorted
 * array of SILENT_HELD entries; one pass over the table per partition and local day of
 * event time (amortised over the day's readings), the customers it closes sorted by id.
 * Single-threaded; no I/O.
 */
#ifndef RISKD_SILENT_H
#define RISKD_SILENT_H

#include <stddef.h>
#include <stdint.h>

#include "../scoring/cstate.h"
#include "ingest.h"

/* Empty days closed (and scored) after a customer's last day with readings, at most: a meter
 * silent for longer waits, unscored, for its next reading (a reading dated far ahead cannot
 * make every customer close thousands of days). */
#define SILENT_MAX_DAYS 60

/* The most meters whose readings the watermark waits for: at most SILENT_QUORUM - 1 meters
 * of a partition reading ahead of the others cannot move it. */
#define SILENT_QUORUM 4

/* The customers a partition's watermark keeps: enough to know the quorum (while it holds
 * fewer, it holds every customer of the partition with a reading). */
#define SILENT_HELD (2 * SILENT_QUORUM - 1)

/* What the sweep's caller does with the days it closes. */
struct silent_hooks {
	/* Before anything closes (may be NULL): the customers whose open days through `through`
	 * are about to close, n of them in id order (the offline engine counts them in its
	 * area-days first, as PostgreSQL does before riskd scores them). */
	void (*due)(void *arg, struct cstate *const *due, size_t n, int32_t through);
	/* Each day closed, with its result (valid during the call only). */
	void (*closed)(void *arg, struct ingest_result *r);
	void *arg;
};

/* A partition's newest readings: its SILENT_HELD customers with the newest last_ts. */
struct silent_mark {
	int32_t held;                 /* entries in use; -1: to learn from the table */
	int64_t last_ts[SILENT_HELD]; /* newest first; ties in any order */
	const struct cstate *customer[SILENT_HELD]; /* whose: compared, never read */
};

struct silent_sweep {
	int32_t lateness_s;           /* days.lateness_s */
	struct silent_mark *mark;     /* by partition number */
	size_t n_partitions;
	struct cstate **due;          /* the sweep's customers, reused */
	size_t due_cap;
	struct ingest_result result;  /* the sweep's close, reused */
	uint64_t days_closed;         /* counters since init: days closed, empty ones among them */
	uint64_t empty_days;
};

/* Starts with no watermark known; lateness_s is days.lateness_s (0..604800). */
void silent_sweep_init(struct silent_sweep *sw, int32_t lateness_s);

/* Frees what the sweep holds. */
void silent_sweep_free(struct silent_sweep *sw);

/* Forgets every watermark (after state was loaded or dropped, or entries were removed):
 * each is learned again from the table before its partition's next reading. */
void silent_sweep_forget(struct silent_sweep *sw);

/*
 * Before a customer reading of `partition` is applied: learns the partition's watermark from
 * the customers of in->customers when it is not known (a pass over the table, once after each
 * forget). Allocates only when it meets a partition number it has not seen.
 */
void silent_sweep_before(struct silent_sweep *sw, struct ingest *in, int32_t partition);

/*
 * The watermark of `partition` (Unix seconds): the q-th newest last_ts of its customers as
 * the top of this file says; 0 when none has a reading, INT64_MIN when it is not known
 * (forgotten, or a partition the sweep has not met).
 */
int64_t silent_sweep_watermark(const struct silent_sweep *sw, int32_t partition);

/*
 * After customer cs's reading of `partition` was counted (cs->last_ts holds its ts): moves
 * the watermark (a customer of another partition moves none), and when it has passed the end
 * of a day plus the lateness since the last move, closes the due days of the partition's
 * customers in customer-id order through hooks. Returns the days closed.
 */
size_t silent_sweep_after(struct silent_sweep *sw, struct ingest *in, int32_t partition,
                          const struct cstate *cs, const struct silent_hooks *hooks);

#endif
