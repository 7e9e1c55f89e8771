/*
 * credit_policy.c - looking up and writing the service policy's actions (see credit_policy.h).
 */
#include "credit_policy.h"

const struct credit_actions *credit_policy_actions(const struct credit_policy *policy,
                                                   enum rule_grade grade, enum segment seg)
{
	if (!policy || (unsigned)grade >= RULE_GRADE__COUNT || (unsigned)seg >= SEGMENT__COUNT ||
	    !policy->set[grade][seg])
		return NULL;
	return &policy->actions[grade][seg];
}

void credit_actions_json(const struct credit_actions *actions, struct rbuf *out)
{
	if (!actions) {
		rbuf_puts(out, "null");
		return;
	}
	rbuf_printf(out,
	            "{\"deposit_multiple\":%.2f,\"prepayment_required\":%s,"
	            "\"payment_plan_eligible\":%s,\"reminder_days\":%d,"
	            "\"disconnection_notice_eligible\":%s}",
	            actions->deposit_multiple, actions->prepayment_required ? "true" : "false",
	            actions->payment_plan_eligible ? "true" : "false", actions->reminder_days,
	            actions->disconnection_notice_eligible ? "true" : "false");
}
