-- 014_grade_actions.sql - the service policy by grade and the path to a better grade on every
-- grade: columns of risk.credit_grades and its history, keys of the credit-grades message, and
-- columns of the collection worklist.
--
-- The actions come from the `actions` section of the credit rule file (rules/credit.yaml) for
-- the customer's grade and segment; they are null on grades recorded before this migration and
-- when the policy sets none. path_to_better_grade is computed from the scorecard with each
-- change of grade (docs/credit.md, "Service policy by grade" and "The path to a better
-- grade"); null for AAA, the best grade.

alter table risk.credit_grades
    add column deposit_multiple              numeric(6, 2),  -- security deposit, in average bills
    add column prepayment_required           boolean,
    add column payment_plan_eligible         boolean,
    add column reminder_days                 integer,        -- days between payment reminders
    add column disconnection_notice_eligible boolean,        -- a person decides; never automatic
    add column path_to_better_grade          jsonb;          -- {target_grade, points_needed,
                                                             --  reachable, steps: [...]}

alter table risk.credit_grade_history
    add column deposit_multiple              numeric(6, 2),
    add column prepayment_required           boolean,
    add column payment_plan_eligible         boolean,
    add column reminder_days                 integer,
    add column disconnection_notice_eligible boolean,
    add column path_to_better_grade          jsonb;

-- The message riskd publishes for a change of grade: the keys of 006 unchanged, then
-- `actions` (null when the policy set none) and `path_to_better_grade`.
create or replace function risk.credit_grade_message(g risk.credit_grades, p_segment text)
returns json
language sql stable as $$
    select json_build_object(
        'customer_id', g.customer_id, 'segment', p_segment, 'grade', g.grade,
        'previous_grade', g.previous_grade, 'points', round(g.points::numeric, 2),
        'points_grade', g.points_grade, 'capped', g.capped, 'floored', g.floored,
        'reasons', g.reasons,
        'scorecard', json_build_object('name', g.scorecard, 'version', g.scorecard_version,
                                       'hash', g.scorecard_hash),
        'policy', g.policy, 'as_of', g.as_of, 'changed_at', risk.utc_text(g.changed_at),
        'actions', case when g.reminder_days is null then null else json_build_object(
            'deposit_multiple', g.deposit_multiple,
            'prepayment_required', g.prepayment_required,
            'payment_plan_eligible', g.payment_plan_eligible,
            'reminder_days', g.reminder_days,
            'disconnection_notice_eligible', g.disconnection_notice_eligible) end,
        'path_to_better_grade', g.path_to_better_grade)
$$;

-- The collection worklist of 006 with the grade's actions and path after its columns (the
-- same columns first, so its grants and the dashboards' queries stay as they are).
create or replace view risk.v_collection_worklist as
select row_number() over w as priority,
       c.customer_id,
       coalesce(cu.segment, 'unknown') as segment,
       cu.transformer_id,
       g.grade,
       round(g.points::numeric, 1) as points,
       c.days_past_due,
       c.arrears_amount,
       c.balance_owed,
       c.last_payment,
       exists (select 1 from risk.alerts a
               where a.customer_id = c.customer_id and a.kind = 'theft'
                 and a.status in ('open', 'in_review')) as open_theft_alert,
       c.as_of,
       g.deposit_multiple,
       g.prepayment_required,
       g.payment_plan_eligible,
       g.reminder_days,
       g.disconnection_notice_eligible,
       g.path_to_better_grade
from risk.customer_credit c
left join risk.credit_grades g on g.customer_id = c.customer_id
left join risk.customers cu on cu.customer_id = c.customer_id
where c.arrears_amount > 0
window w as (order by risk.grade_rank(g.grade) desc, c.days_past_due desc,
             c.arrears_amount desc, c.customer_id)
order by priority;
