/*
 * silent.h - closing the days of meters that stop reporting, by event time.
 *
 * A customer's day closes when a reading of a later day arrives; a meter that goes silent
 * (cut cable, a bypass with the meter disconnected, lost communication) sends none. So each
 * input partition keeps a watermark - the newest `ts` of the customer readings counted in it,
 * which is the largest last_ts of its customers (scoring/cstate.h) - and once the watermark
 * minus days.lateness_s has passed the end of a local day, every customer of the partition
 * whose open day is that day or earlier has it closed (ingest_close_silent): its partial day
 * first, then one empty day after another while the meter stays silent.
 *
 * Exactly-once: the watermark is a function of the partition's readings, and the sweep runs
 * right after the reading that moves it past a day's end, so restarts (the watermark is
 * learned again from the restored state before the partition's first reading), replays and
 * instances close the same days at the same point of the partition's input. Cost: one pass
 * over the table per partition and local day of event time (amortised over the day's
 * readings), the customers it closes sorted by id; nothing per event but a comparison.
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

struct silent_sweep {
	int32_t lateness_s;           /* days.lateness_s */
	int64_t *watermark;           /* by partition number; INT64_MIN: to learn */
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

/* Forgets every watermark (after state was loaded or dropped): each is learned again from
 * the table before its partition's next reading. */
void silent_sweep_forget(struct silent_sweep *sw);

/*
 * Before a customer reading of `partition` is applied: learns the partition's watermark from
 * the customers of in->customers when it is not known (a pass over the table, once after each
 * forget). Allocates only when it meets a partition number it has not seen.
 */
void silent_sweep_before(struct silent_sweep *sw, struct ingest *in, int32_t partition);

/*
 * After customer cs's reading of `partition` was counted (cs->last_ts holds its ts): moves
 * the watermark, and when it has passed the end of a day plus the lateness since the last
 * move, closes the due days of the partition's customers in customer-id order through
 * hooks. Returns the days closed.
 */
size_t silent_sweep_after(struct silent_sweep *sw, struct ingest *in, int32_t partition,
                          const struct cstate *cs, const struct silent_hooks *hooks);

#endif
