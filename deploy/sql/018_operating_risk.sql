-- Early warning of operating risk: an alert of kind 'operating_risk' is raised for a
-- commercial or industrial customer whose consumption predicts arrears (the operating rules,
-- rules/operating.yaml; docs/credit.md). It lives in the review queue beside theft alerts:
-- risk.raise_alert opens and updates it, analysts claim and resolve it with the same
-- functions and statuses, and a dismissal suppresses its rules as for theft. A warning is
-- never confirmed as theft.
alter table risk.alerts drop constraint alerts_kind_check;
alter table risk.alerts add constraint alerts_kind_check
    check (kind in ('theft', 'operating_risk'));
alter table risk.alerts add constraint alerts_operating_risk_disposition
    check (kind <> 'operating_risk' or disposition is distinct from 'confirmed_theft');

-- The collection worklist with each customer's open operating-risk warning (null: none).
-- It reads every column of risk.v_collection_worklist as that view stands when this file is
-- applied, and adds the warning's columns after them.
create view risk.v_collection_worklist_operating as
select w.*,
       a.alert_id as operating_risk_alert,
       a.first_day as operating_risk_since,
       a.score as operating_risk_score
from risk.v_collection_worklist w
left join risk.alerts a on a.customer_id = w.customer_id and a.kind = 'operating_risk'
                       and a.status in ('open', 'in_review');

-- Open operating-risk warnings, arrears or not (a warning comes before the arrears): the
-- businesses collection should call before their bills go unpaid, most recent first.
create view risk.v_operating_risk_warnings as
select a.alert_id,
       a.customer_id,
       coalesce(cu.segment, 'unknown') as segment,
       a.status,
       a.analyst,
       a.first_day,
       a.last_day,
       a.score,
       a.severity,
       a.rules,
       g.grade,
       coalesce(c.days_past_due, 0) as days_past_due,
       coalesce(c.arrears_amount, 0) as arrears_amount,
       c.last_payment
from risk.alerts a
left join risk.customers cu on cu.customer_id = a.customer_id
left join risk.customer_credit c on c.customer_id = a.customer_id
left join risk.credit_grades g on g.customer_id = a.customer_id
where a.kind = 'operating_risk' and a.status in ('open', 'in_review')
order by a.first_day desc, a.customer_id;

grant select on risk.v_collection_worklist_operating, risk.v_operating_risk_warnings
    to risk_analyst;
grant select on risk.v_collection_worklist_operating to risk_dashboard;
