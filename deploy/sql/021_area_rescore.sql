-- 021_area_rescore.sql - customer-days whose theft scoring waits for their area's results
-- (docs/detection.md, "Scoring after the area: live equals offline").
--
-- When a customer's local day closes, riskd has the customer's own models at hand but its
-- area's balance and attribution of that day come later: PostgreSQL balances the area-day
-- once every customer of the area has sent the day, and the attributor solves the window
-- after that. So riskd keeps what scoring needs from the customer (the models' features, the
-- drop it found and its 60-day history: a snapshot in the layout of detector/rescore.c) in
-- risk.pending_scores, in the batch's transaction, and scores the day when its area has
-- caught up: the area's balance as it stood on that day and the newest attribution window
-- ending on or before it, the inputs the offline engine scores the same day with.
create table risk.pending_scores (
    customer_id    text    not null,
    day            integer not null,   -- the closed local day, days since 1970-01-01
    transformer_id text    not null,   -- the customer's area when the day closed; '' when
                                       -- riskd had not read the customer's profile yet
    snapshot       bytea   not null,
    created_at     timestamptz not null default now(),
    primary key (customer_id, day)
);
create index pending_scores_area on risk.pending_scores (transformer_id, day);
-- the newest balanced day of any area, read by every claim
create index area_balance_day on risk.area_balance (day);

-- Takes the pending customer-days of one area whose area results are final, and returns them
-- in day and customer order, deleted in the caller's transaction (a rollback puts them back).
-- An area's day d is ready when
--   - no area-day is waiting to be balanced on or before d (risk.area_refresh_queue), and
--   - no window of the area ending on or before d is waiting to be attributed, and
--   - the area has a balanced day on or after d (a day that never balanced is scored with the
--     balance before it, as offline), or the newest balanced day of any area is p_late_days
--     past d (an area whose transformer never reports is not waited for for ever).
-- A day that closed before riskd read the customer's profile ('' for its area) takes the
-- area of the customer's stored profile; without one, it is ready once no area has a
-- balanced day, or the newest balanced day of any area is p_late_days past it.
-- The area taken is the one with the oldest ready day that no other instance is scoring
-- (an advisory lock per area, held to the end of the transaction): two instances never score
-- the same customer-day, and each customer's days are scored in order.
create function risk.claim_pending_scores(p_late_days integer)
returns table (transformer_id text, customer_id text, day integer, snapshot bytea)
language plpgsql as $$
declare
    v_refresh integer;
    v_global  integer;
    v_area    text;
    v_first   integer;
    v_ready   integer;
    v_queued  integer;
begin
    update risk.pending_scores p set transformer_id = c.transformer_id
    from risk.customers c
    where p.transformer_id = '' and c.customer_id = p.customer_id
      and coalesce(c.transformer_id, '') <> '';
    select min(q.day) - date '1970-01-01' into v_refresh from risk.area_refresh_queue q;
    select max(b.day) - date '1970-01-01' into v_global from risk.area_balance b;
    for v_area, v_first in
        select p.transformer_id, min(p.day) from risk.pending_scores p
        group by p.transformer_id order by 2, 1
    loop
        select max(b.day) - date '1970-01-01' into v_ready
        from risk.area_balance b where b.transformer_id = v_area;
        v_ready := greatest(v_ready, v_global - p_late_days);
        if v_area = '' and v_global is null then
            v_ready := 2147483646;  -- no area has a balance to wait for
        end if;
        continue when v_ready is null;
        select min(w.window_end_day) - date '1970-01-01' into v_queued
        from risk.area_attribution_queue w where w.transformer_id = v_area;
        v_ready := least(v_ready, coalesce(v_refresh - 1, v_ready), coalesce(v_queued - 1, v_ready));
        continue when v_first > v_ready;
        continue when not pg_try_advisory_xact_lock(hashtext('risk.pending_scores'),
                                                    hashtext(v_area));
        return query
            with taken as (
                delete from risk.pending_scores p
                where p.transformer_id = v_area and p.day <= v_ready
                returning p.transformer_id, p.customer_id, p.day, p.snapshot)
            select t.transformer_id, t.customer_id, t.day, t.snapshot from taken t
            order by t.day, t.customer_id collate "C";
        return;
    end loop;
end
$$;

grant select, insert, update, delete on risk.pending_scores to risk_detector;
grant execute on function risk.claim_pending_scores(integer) to risk_detector;
revoke execute on function risk.claim_pending_scores(integer) from public;
grant select on risk.pending_scores to risk_analyst;
