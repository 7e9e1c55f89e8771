/*
 * pipeline_rescore.c - the main loop's scoring of customer-days that waited for their area
 * (pipeline_int.h; detector/rescore.h): between batches, once the area balance and the
 * attribution have caught up, the ready days are scored and their alerts raised.
 */
#include "log.h"
#include "metrics.h"
#include "pipeline_int.h"
#include "rescore.h"

int pipeline_rescore(struct pipeline *pl, int budget_ms, int64_t now)
{
	char errstr[512];
	struct rescorer_step done;
	pl->last_rescore_ms = now;
	int rc = rescorer_step(pl->rescorer, pl->store, pl->ingest.scorer, pl->cfg, budget_ms, &done,
	                       errstr, sizeof(errstr));
	for (int i = 0; i < done.opened; i++)
		metrics_alert_raised(i < done.no_data_opened ? METRICS_ALERT_NO_DATA : METRICS_ALERT_THEFT);
	pl->totals.alerts_opened += (uint64_t)done.opened;
	pl->totals.alerts_updated += (uint64_t)(done.alerts - done.opened);
	pl->relay_pending |= done.alerts > 0;
	if (rc != 0) {
		char q[600];
		log_kv(LOG_WARN, "rescore_failed", "error=%s", log_quote(q, sizeof(q), errstr));
		return rc;
	}
	pl->rescore_pending = done.more;
	return 0;
}
