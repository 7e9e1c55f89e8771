/*
 * open_hours.h - the hourly sums of each entity's open local day, written once, whole, when
 * the day closes or its entity is checkpointed - as its daily sum is - rather than as a part
 * with every batch. They travel with the entity's state snapshot (risk.entity_state.hours),
 * so a restart restores them with the state they belong to and rebuilds the rest by
 * replaying.
 *
 * The sums are derived from the open day's slots (scoring/daily.h: daily_open_hours), which
 * hold each reading that starts on a quarter hour and lasts a whole number of them. This map
 * keeps only what the slots cannot give, for the few entities that have any: the hours of
 * readings off the quarter hours, the rounding an applied restatement of a reading longer
 * than an hour left (the sums move by the difference, spread as the new reading is), and
 * what a snapshot of an older build stored beyond its slots.
 *
 * Keyed by the entity's struct cstate (its address in its table): clear the map whenever the
 * tables are cleared, and forget a partition's entities before a table removes them
 * (open_hours_remove_partition). Single-threaded, like the tables.
 */
#ifndef RISKD_OPEN_HOURS_H
#define RISKD_OPEN_HOURS_H

#include <stddef.h>
#include <stdint.h>

#include "../scoring/cstate.h"
#include "../scoring/daily.h"
#include "batch.h"
#include "ingest.h"

struct open_hours;

/* Creates an empty map. Aborts on out-of-memory. */
struct open_hours *open_hours_new(void);

/* Frees m (NULL is fine). */
void open_hours_free(struct open_hours *m);

/* Forgets every entity (when the state tables are cleared). Keeps the memory. */
void open_hours_clear(struct open_hours *m);

/*
 * Applies reading r (an accepted reading's ingest_result, after ingest_event put it in its
 * entity's slots) to its entity's open-day hours. A reading shorter than a day adds to them
 * (daily_hours_add); one for a later day starts them anew. With a batch b (the first pass of
 * a message): when r closed the entity's day, that day's hours (r->closed_hours and what this
 * map kept) go into b whole (batch_set_hours), and a late reading's hours go in as an
 * addition (batch_add_hours). Without (a message replayed for state only) nothing is written:
 * the first pass wrote it. Allocates only for the entities whose hours the slots cannot give.
 */
void open_hours_reading(struct open_hours *m, struct batch *b, const struct ingest_result *r);

/* The hours of cs's open day `day` (its slots' and this map's), or NULL when it has none.
 * Valid until the next call on m. */
const struct daily_hours *open_hours_get(const struct open_hours *m, const struct cstate *cs,
                                         int32_t day);

/* Sets cs's open-day hours to sums (restored with its snapshot, after its slots): the map
 * keeps what sums hold beyond what cs's slots give, nothing when they agree. transformer: cs
 * lives in the transformer table. */
void open_hours_set(struct open_hours *m, const struct cstate *cs, int transformer,
                    int32_t day, const struct daily_hours *sums);

/* Forgets the entities of one input partition of the customer table (transformer 0) or of
 * the transformer table (1). Call it before the table removes them (it reads their
 * partition). */
void open_hours_remove_partition(struct open_hours *m, int transformer, int32_t partition);

/* Entities holding hours the slots cannot give. */
size_t open_hours_count(const struct open_hours *m);

/* Bytes m has allocated (its entries and its index, at their capacity). */
size_t open_hours_memory(const struct open_hours *m);

#endif
