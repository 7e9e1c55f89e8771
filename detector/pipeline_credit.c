/*
 * pipeline_credit.c - the main loop's credit work (pipeline_int.h): grading each partition's
 * customers as its billing stream moves on, and applying the analysts' confirmed-theft
 * dispositions to the customers in state (their regrades go into the batch being filled).
 */
#include <string.h>

#include "../scoring/cstate.h"
#include "../scoring/payments.h"
#include "batch.h"
#include "grader.h"
#include "log.h"
#include "pipeline_int.h"
#include "store.h"

/* The batch being filled. */
static struct batch *filling(struct pipeline *pl)
{
	return &committer_current(&pl->committer)->batch;
}

static void add_grade(struct cstate *cs, const struct grader_result *r, void *arg)
{
	batch_add_grade(filling(arg), cs, r);
}

void pipeline_grade_before_billing(struct pipeline *pl, const struct event *ev,
                                   int32_t partition, int replay)
{
	if (ev->type == EVENT_BILL || ev->type == EVENT_PAYMENT || ev->type == EVENT_PAYMENT_REVERSAL)
		grader_on_billing(pl->ingest.grader, pl->ingest.customers, partition,
		                  localday_of(&pl->ingest.localday, ev->ts), replay ? NULL : add_grade,
		                  pl);
}

static int apply_confirmation(const struct store_confirmation *c, void *arg)
{
	struct pipeline *pl = arg;
	pl->feedback_seq = c->seq;
	struct cstate *cs = cstate_table_get(pl->ingest.customers, c->customer_id,
	                                     strlen(c->customer_id));
	if (!cs || ((cs->pay.flags & PAY_F_THEFT) != 0) == (c->confirmed != 0))
		return 0; /* another instance's customer, or nothing new */
	payments_set_confirmed_theft(cs, c->confirmed);
	struct grader_result r;
	if (grader_regrade(pl->ingest.grader, cs, &r))
		batch_add_grade(filling(pl), cs, &r);
	cstate_table_mark_dirty(pl->ingest.customers, cs);
	pl->totals.confirmations++;
	log_kv(LOG_INFO, "theft_confirmation", "customer=%s confirmed=%d grade=%s", cstate_id(cs),
	       c->confirmed, credit_grade_name(grader_held_grade(cs)));
	return 0;
}

int pipeline_apply_feedback(struct pipeline *pl)
{
	char errstr[512];
	int n;
	uint64_t before = pl->totals.confirmations;
	do {
		n = store_load_confirmations(pl->store, pl->feedback_seq, FEEDBACK_ROWS,
		                             apply_confirmation, pl, errstr, sizeof(errstr));
	} while (n == FEEDBACK_ROWS);
	if (n < 0) {
		char q[600];
		log_kv(LOG_WARN, "feedback_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return n;
	}
	return (int)(pl->totals.confirmations - before);
}

