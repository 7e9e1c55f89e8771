-- 023_alert_at_close.sql - a customer-day that alerts whatever its area says is raised at its
-- close and completed once its area is known; pending days given up per transformer
-- partition (docs/detection.md, "Scoring after the area: live equals offline").
--
-- With attribution.score_after_area on, a customer-day that may alert once its area's balance
-- and attribution are known waits in risk.pending_scores. When the rules that read nothing of
-- the area already reach the alert threshold (a bypass, a reversed meter), riskd raises the
-- alert at the close as well, with what it knows then (p_stage 'close'), and marks the
-- pending row `raised`; scoring the day after its area completes that same alert (p_stage
-- 'complete'): the final score, rules, curve and stolen-energy estimate, no second firing,
-- no second opening.

alter table risk.pending_scores
    add column raised boolean not null default false; -- an alert was raised at the close

-- Each transformer-topic partition's newest local day that one of its transformers closed
-- (days since 1970-01-01), written with the batch that closed it: how far the partition's
-- feed has come, which decides when an area's pending day stops waiting for its balance.
create table risk.transformer_progress (
    partition integer primary key,
    day       integer not null
);
insert into risk.transformer_progress (partition, day)
select s.partition, max(t.day) - date '1970-01-01'
from risk.transformer_daily t
join risk.entity_state s on s.kind = 't' and s.entity_id = t.transformer_id
group by s.partition;
grant select, insert, update on risk.transformer_progress to risk_detector;
grant select on risk.transformer_progress to risk_analyst;

-- ---------------------------------------------------------------------------------------------
-- raise_alert with a stage: 015's function (suppression, materiality, publication, the
-- estimate) plus p_stage, which defaults to 'final', so the 14-argument calls keep working.
--   'final'    the day's only scoring (every day with score_after_area off, and the days not
--              raised at their close): as before.
--   'close'    the day's scoring at its close, before its area is known; a 'complete' call
--              follows. It counts a firing; suppression hits are left to the day's final
--              scoring. It marks the day's risk.pending_scores row raised. When it would open
--              the alert while the customer has an earlier pending day not raised at its
--              close, it waits instead (raises nothing; the day is scored 'final' later): that
--              day may still open the alert, and must, so that the alert's first day and id
--              do not depend on when the area results came.
--   'complete' the final scoring of a day raised at its close: updates the active alert
--              (score, severity, rules, rule set, curve, estimate; a review-queue revision
--              when material) without counting a firing. Nothing when the alert that day
--              fired in is no longer active.
-- Whatever the stage, an alert shows its newest day's scoring: a day scored after a later
-- one was raised at its close counts its firing and leaves what the alert shows to that day
-- (the audit row records the day's own rules).
-- Each call writes one risk.alert_events row, whose `after` carries the stage.

drop function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                               float8, text, jsonb, jsonb);

create function risk.raise_alert(p_customer text, p_kind text, p_day date, p_score float8,
                                 p_severity text, p_rules jsonb, p_ruleset_name text,
                                 p_ruleset_version text, p_ruleset_hash text, p_curve jsonb,
                                 p_threshold float8, p_review_topic text,
                                 p_stolen jsonb default null, p_tariffs jsonb default null,
                                 p_stage text default 'final',
                                 out alert_id text, out opened boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    prev risk.alerts;
    cur risk.alerts;
    v_rules jsonb := p_rules;
    v_score float8 := p_score;
    v_severity text := p_severity;
    v_dropped text[];
    v_change float8;
    v_revision integer;
    v_base text;
    v_day integer := p_day - date '1970-01-01';
    v_shown boolean;
    n integer := 1;
begin
    opened := false;
    if p_stage is null or p_stage not in ('final', 'close', 'complete') then
        raise exception 'risk.raise_alert: unknown stage %', coalesce(p_stage, 'null')
            using errcode = 'invalid_parameter_value';
    end if;
    select array_agg(distinct s.rule_id) into v_dropped
    from risk.suppressions s
    where s.customer_id = p_customer and s.kind = p_kind and s.lifted_at is null
      and p_day <= s.until_day
      and s.rule_id in (select r->>'id' from jsonb_array_elements(p_rules) r);
    if v_dropped is not null then
        if p_stage <> 'close' then
            update risk.suppressions s
            set hits = s.hits + 1, last_hit_day = greatest(s.last_hit_day, p_day)
            where s.customer_id = p_customer and s.kind = p_kind and s.lifted_at is null
              and p_day <= s.until_day and s.rule_id = any(v_dropped);
        end if;
        select coalesce(jsonb_agg(e.r order by e.ord), '[]'::jsonb),
               coalesce(sum((e.r->>'score')::float8), 0),
               (array_agg(e.r->>'severity'
                          order by risk.severity_rank(e.r->>'severity') desc))[1]
        into v_rules, v_score, v_severity
        from jsonb_array_elements(p_rules) with ordinality as e(r, ord)
        where not (e.r->>'id' = any(v_dropped));
        if jsonb_array_length(v_rules) = 0 or v_score < p_threshold then
            return;
        end if;
    end if;

    loop
        select * into prev from risk.alerts a
        where a.customer_id = p_customer and a.kind = p_kind
          and a.status in ('open', 'in_review')
        for update;
        if found then
            if p_stage = 'complete' and prev.first_day > p_day then
                return; -- the alert the day fired in was closed; this one is not its
            end if;
            -- what the alert shows is its newest day's scoring: a day scored after its area
            -- once a later day was raised at its close counts its firing and leaves the
            -- rest to that day
            v_shown := p_day >= prev.last_day;
            cur := prev;
            if v_shown then
                update risk.alerts a set score = v_score, severity = v_severity,
                    rules = v_rules, ruleset_name = p_ruleset_name,
                    ruleset_version = p_ruleset_version, ruleset_hash = p_ruleset_hash,
                    curve = p_curve, last_day = greatest(a.last_day, p_day),
                    firings = a.firings + case when p_stage = 'complete' then 0 else 1 end,
                    last_seen = now(), review_topic = coalesce(p_review_topic, a.review_topic)
                where a.alert_id = prev.alert_id
                returning * into cur;
                perform risk.alert_set_stolen(prev.alert_id, p_customer, p_stolen, p_tariffs);
                select s.material_score_change into v_change from risk.review_settings s;
                if cur.published_rules is distinct from risk.rule_ids(cur.rules)
                   or cur.published_severity is distinct from cur.severity
                   or cur.published_score is null
                   or abs(cur.score - cur.published_score) >= v_change * abs(cur.published_score)
                then
                    v_revision := risk.review_publish(cur.alert_id, 'updated');
                end if;
            elsif p_stage <> 'complete' then
                update risk.alerts a set firings = a.firings + 1, last_seen = now()
                where a.alert_id = prev.alert_id
                returning * into cur;
            end if;
            insert into risk.alert_events (alert_id, actor, action, before, after)
            values (prev.alert_id, 'riskd', 'updated',
                    jsonb_build_object('score', prev.score, 'severity', prev.severity,
                                       'rules', prev.rules, 'last_day', prev.last_day),
                    jsonb_build_object('score', v_score, 'severity', v_severity,
                                       'rules', v_rules, 'day', p_day,
                                       'last_day', cur.last_day,
                                       'ruleset_name', p_ruleset_name,
                                       'ruleset_version', p_ruleset_version,
                                       'suppressed_rules', to_jsonb(v_dropped),
                                       'published_revision', v_revision,
                                       'stage', p_stage, 'shown', v_shown));
            alert_id := prev.alert_id;
            exit;
        end if;
        if p_stage = 'complete' then
            return; -- the alert raised at the close was closed since: nothing to complete
        end if;
        if p_stage = 'close' and exists (
            select 1 from risk.pending_scores p
            where p.customer_id = p_customer and p.day < v_day and not p.raised) then
            return; -- an earlier day may still open it: it must, so the alert's first day
                    -- and id do not depend on when the area results came
        end if;

        v_base := p_kind || '-' || p_customer || '-' || to_char(p_day, 'YYYYMMDD');
        alert_id := v_base;
        n := 1;
        while exists (select 1 from risk.alerts a where a.alert_id = raise_alert.alert_id) loop
            n := n + 1;
            alert_id := v_base || '-' || n;
        end loop;
        insert into risk.alerts (alert_id, customer_id, kind, score, severity, rules,
                                 ruleset_name, ruleset_version, ruleset_hash, curve, first_day,
                                 last_day, review_topic)
        values (alert_id, p_customer, p_kind, v_score, v_severity, v_rules, p_ruleset_name,
                p_ruleset_version, p_ruleset_hash, p_curve, p_day, p_day, p_review_topic)
        on conflict (customer_id, kind) where status in ('open', 'in_review') do nothing;
        if found then
            perform risk.alert_set_stolen(alert_id, p_customer, p_stolen, p_tariffs);
            v_revision := risk.review_publish(alert_id, 'opened');
            insert into risk.alert_events (alert_id, actor, action, after)
            values (alert_id, 'riskd', 'opened',
                    jsonb_build_object('score', v_score, 'severity', v_severity,
                                       'rules', v_rules, 'day', p_day,
                                       'ruleset_name', p_ruleset_name,
                                       'ruleset_version', p_ruleset_version,
                                       'suppressed_rules', to_jsonb(v_dropped),
                                       'published_revision', v_revision,
                                       'stage', p_stage));
            opened := true;
            exit;
        end if;
    end loop;
    if p_stage = 'close' then
        update risk.pending_scores p set raised = true
        where p.customer_id = p_customer and p.day = v_day;
    end if;
end
$$;

alter function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                                float8, text, jsonb, jsonb, text) owner to risk_lifecycle;
revoke execute on function
    risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb, float8,
                     text, jsonb, jsonb, text) from public;
grant execute on function
    risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb, float8,
                     text, jsonb, jsonb, text) to risk_detector;
grant select, update (raised) on risk.pending_scores to risk_lifecycle;

-- ---------------------------------------------------------------------------------------------
-- 021's claim, with each day's `raised` and another give-up condition. An area's day d is
-- ready when
--   - no area-day is waiting to be balanced on or before d, and no window of the area ending
--     on or before d is waiting to be attributed, and
--   - the area has a balanced day on or after d (a day that never balanced is scored with the
--     balance before it, as offline), or its transformer's partition of the transformer topic
--     has closed a transformer day p_late_days past d (risk.transformer_progress): the
--     transformer's readings of d would have come by then. An area whose transformer riskd
--     has no state for (it never reported) takes the slowest partition's progress, and waits
--     while no partition has any. A partition merely behind holds its areas back; a
--     transformer that stopped does not hold its area for ever.
-- A day that closed before riskd read the customer's profile ('' for its area) takes the
-- area of the customer's stored profile; without one, it is ready once no area has a
-- balanced day, or the slowest partition is p_late_days past it.
-- The area taken is the one with the oldest ready day that no other instance is scoring
-- (an advisory lock per area, held to the end of the transaction).

drop function risk.claim_pending_scores(integer);

create function risk.claim_pending_scores(p_late_days integer)
returns table (transformer_id text, customer_id text, day integer, snapshot bytea,
               raised boolean)
language plpgsql as $$
declare
    v_refresh  integer;
    v_slowest  integer;
    v_balanced boolean;
    v_area     text;
    v_first    integer;
    v_ready    integer;
    v_progress integer;
    v_queued   integer;
begin
    update risk.pending_scores p set transformer_id = c.transformer_id
    from risk.customers c
    where p.transformer_id = '' and c.customer_id = p.customer_id
      and coalesce(c.transformer_id, '') <> '';
    select min(q.day) - date '1970-01-01' into v_refresh from risk.area_refresh_queue q;
    select min(t.day) into v_slowest from risk.transformer_progress t;
    v_balanced := exists (select 1 from risk.area_balance);
    for v_area, v_first in
        select p.transformer_id, min(p.day) from risk.pending_scores p
        group by p.transformer_id order by 2, 1
    loop
        select max(b.day) - date '1970-01-01' into v_ready
        from risk.area_balance b where b.transformer_id = v_area;
        select t.day into v_progress
        from risk.entity_state s join risk.transformer_progress t on t.partition = s.partition
        where s.kind = 't' and s.entity_id = v_area;
        v_ready := greatest(v_ready, coalesce(v_progress, v_slowest) - p_late_days);
        if v_area = '' and not v_balanced then
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
                returning p.transformer_id, p.customer_id, p.day, p.snapshot, p.raised)
            select t.transformer_id, t.customer_id, t.day, t.snapshot, t.raised from taken t
            order by t.day, t.customer_id collate "C";
        return;
    end loop;
end
$$;

grant execute on function risk.claim_pending_scores(integer) to risk_detector;
revoke execute on function risk.claim_pending_scores(integer) from public;
