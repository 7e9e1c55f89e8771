-- 004_review.sql - the review queue: alert lifecycle, publication, suppression, views, roles.
--
-- Analysts work theft alerts open -> in_review -> closed (with a disposition), and may reopen a
-- closed one. They change an alert only through risk.alert_claim / alert_resolve /
-- alert_reopen, which enforce the lifecycle, write risk.alert_events and publish the change.
-- riskd raises alerts through risk.raise_alert (inside its batch transaction): it honours the
-- suppressions analysts' dismissals created, and publishes every alert opened or materially
-- updated to the review-queue topic through risk.outbox, in the same transaction, so a crash
-- can repeat a message (the relay publishes at least once) but never lose one.
-- docs/review-queue.md describes the workflow, the message format and the roles.

-- ---------------------------------------------------------------------------------------------
-- Alerts: publication bookkeeping and claims

alter table risk.alerts
    add column review_topic       text,             -- where riskd publishes it; null = never
    add column revision           integer not null default 0, -- messages published so far
    add column published_score    double precision, -- as last published (materiality check)
    add column published_severity text,
    add column published_rules    text[],           -- sorted rule ids as last published
    add column claimed_at         timestamptz;

-- Who ran the statement, next to the actor the caller named (an analyst or 'riskd').
alter table risk.alert_events add column db_user text not null default session_user;

-- The audit trail is append-only for everyone, owner included.
create function risk.alert_events_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'risk.alert_events is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end
$$;
create trigger alert_events_no_change before update or delete on risk.alert_events
    for each row execute function risk.alert_events_append_only();
create trigger alert_events_no_truncate before truncate on risk.alert_events
    for each statement execute function risk.alert_events_append_only();

-- One row of review settings. suppress_days: how long (in local days of data after the
-- alert's latest firing) a false_positive or meter_fault disposition quiets the alert's rules
-- for that customer; material_score_change: the relative score change that republishes an
-- active alert whose rules and severity did not change.
create table risk.review_settings (
    singleton             boolean primary key default true check (singleton),
    suppress_days         integer not null default 30 check (suppress_days between 0 and 3650),
    material_score_change double precision not null default 0.1
                          check (material_score_change >= 0)
);
insert into risk.review_settings default values;

-- Rules of a customer that riskd leaves out of its firings until until_day (inclusive), because
-- an analyst dismissed the alert they raised. Reopening that alert lifts them.
create table risk.suppressions (
    id           bigserial primary key,
    customer_id  text not null,
    kind         text not null,
    rule_id      text not null,
    alert_id     text not null references risk.alerts (alert_id),  -- the dismissed alert
    disposition  text not null check (disposition in ('false_positive', 'meter_fault')),
    from_day     date not null,        -- the alert's latest firing day when it was dismissed
    until_day    date not null,
    created_at   timestamptz not null default now(),
    created_by   text not null,
    lifted_at    timestamptz,
    lifted_by    text,
    hits         integer not null default 0,  -- firings of the rule left out so far
    last_hit_day date
);
create index suppressions_active on risk.suppressions (customer_id, kind)
    where lifted_at is null;
create index suppressions_alert on risk.suppressions (alert_id);

-- ---------------------------------------------------------------------------------------------
-- Helpers

create function risk.severity_rank(p_severity text) returns integer
language sql immutable as $$
    select case p_severity when 'low' then 1 when 'medium' then 2 when 'high' then 3
                           when 'critical' then 4 else 0 end
$$;

-- Sorted ids of the rules in an alert's rules array.
create function risk.rule_ids(p_rules jsonb) returns text[]
language sql immutable as $$
    select coalesce(array_agg(r->>'id' order by r->>'id'), '{}')
    from jsonb_array_elements(p_rules) r
$$;

create function risk.utc_text(p_at timestamptz) returns text
language sql stable as $$
    select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The customer's current credit grade, or null. Credit grading replaces this function once it
-- stores grades; until then no customer has one.
create function risk.customer_grade(p_customer text) returns text
language sql stable as $$
    select null::text
$$;

-- The review-queue message of alert a after change p_change (docs/review-queue.md).
create function risk.review_message(a risk.alerts, p_change text) returns json
language sql stable as $$
    select json_build_object(
        'alert_id', a.alert_id, 'revision', a.revision, 'change', p_change,
        'customer_id', a.customer_id, 'kind', a.kind, 'status', a.status,
        'score', a.score, 'severity', a.severity, 'rules', a.rules,
        'ruleset', json_build_object('name', a.ruleset_name, 'version', a.ruleset_version,
                                     'hash', a.ruleset_hash),
        'first_day', a.first_day, 'last_day', a.last_day, 'firings', a.firings,
        'analyst', a.analyst, 'disposition', a.disposition,
        'opened_at', risk.utc_text(a.opened_at), 'last_seen', risk.utc_text(a.last_seen),
        'closed_at', risk.utc_text(a.closed_at), 'published_at', risk.utc_text(now()))
$$;

-- Publishes alert p_alert_id's current state to its review topic through the outbox, in the
-- caller's transaction. Returns the new revision, or null when the alert has no topic.
create function risk.review_publish(p_alert_id text, p_change text) returns integer
language plpgsql as $$
declare
    a risk.alerts;
begin
    update risk.alerts x
    set revision = x.revision + 1, published_score = x.score,
        published_severity = x.severity, published_rules = risk.rule_ids(x.rules)
    where x.alert_id = p_alert_id and x.review_topic is not null
    returning * into a;
    if not found then
        return null;
    end if;
    insert into risk.outbox (topic, msg_key, payload, headers)
    values (a.review_topic, convert_to(a.customer_id, 'UTF8'),
            convert_to(risk.review_message(a, p_change)::text, 'UTF8'),
            array['x-alert-id', a.alert_id, 'x-change', p_change,
                  'x-revision', a.revision::text]);
    return a.revision;
end
$$;

-- An analyst's name as recorded: trimmed, 1..64 bytes, no control characters.
create function risk.analyst_name(p_analyst text) returns text
language plpgsql immutable as $$
declare
    v text := btrim(p_analyst);
begin
    if v is null or v = '' then
        raise exception 'an analyst name is required' using errcode = 'invalid_parameter_value';
    end if;
    if octet_length(v) > 64 or v ~ '[[:cntrl:]]' then
        raise exception 'analyst name % is not allowed (1..64 bytes, no control characters)',
            quote_literal(v) using errcode = 'invalid_parameter_value';
    end if;
    return v;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Raising alerts (riskd)

-- The 10-argument form of 003 neither suppresses nor publishes: replaced by the one below.
drop function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb);

-- Opens an alert, or updates the customer's active one of that kind, for a firing on local day
-- p_day whose active rules are p_rules ([{id, title, score, severity, evidence}]) with total
-- p_score. Rules suppressed for the customer on p_day are left out first: the score and
-- severity are recomputed from the remaining rules, and nothing is raised when none remain or
-- their score is below p_threshold (alert_id is then null). An alert opened, or updated in a
-- material way (another set of rules, another severity, or a score moved by
-- review_settings.material_score_change of the last published one), is published to
-- p_review_topic (null: not published). Returns the alert_id and whether it was opened.
create function risk.raise_alert(p_customer text, p_kind text, p_day date, p_score float8,
                                 p_severity text, p_rules jsonb, p_ruleset_name text,
                                 p_ruleset_version text, p_ruleset_hash text, p_curve jsonb,
                                 p_threshold float8, p_review_topic text,
                                 out alert_id text, out opened boolean)
language plpgsql as $$
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
    n integer := 1;
begin
    opened := false;
    select array_agg(distinct s.rule_id) into v_dropped
    from risk.suppressions s
    where s.customer_id = p_customer and s.kind = p_kind and s.lifted_at is null
      and p_day <= s.until_day
      and s.rule_id in (select r->>'id' from jsonb_array_elements(p_rules) r);
    if v_dropped is not null then
        update risk.suppressions s
        set hits = s.hits + 1, last_hit_day = greatest(s.last_hit_day, p_day)
        where s.customer_id = p_customer and s.kind = p_kind and s.lifted_at is null
          and p_day <= s.until_day and s.rule_id = any(v_dropped);
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

    -- Update the active alert, or open one. If an analyst reopens this customer's alert
    -- between the two (the insert then conflicts), the next turn updates that one instead.
    loop
        select * into prev from risk.alerts a
        where a.customer_id = p_customer and a.kind = p_kind
          and a.status in ('open', 'in_review')
        for update;
        if found then
            update risk.alerts a set score = v_score, severity = v_severity, rules = v_rules,
                ruleset_name = p_ruleset_name, ruleset_version = p_ruleset_version,
                ruleset_hash = p_ruleset_hash, curve = p_curve,
                last_day = greatest(a.last_day, p_day), firings = a.firings + 1,
                last_seen = now(), review_topic = coalesce(p_review_topic, a.review_topic)
            where a.alert_id = prev.alert_id
            returning * into cur;
            select s.material_score_change into v_change from risk.review_settings s;
            if cur.published_rules is distinct from risk.rule_ids(cur.rules)
               or cur.published_severity is distinct from cur.severity
               or cur.published_score is null
               or abs(cur.score - cur.published_score) >= v_change * abs(cur.published_score)
            then
                v_revision := risk.review_publish(cur.alert_id, 'updated');
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
                                       'published_revision', v_revision));
            alert_id := prev.alert_id;
            return;
        end if;

        -- Stable id: kind, customer and first day; a later alert first firing the same day
        -- gets -2, -3...
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
        exit when found;
    end loop;
    v_revision := risk.review_publish(alert_id, 'opened');
    insert into risk.alert_events (alert_id, actor, action, after)
    values (alert_id, 'riskd', 'opened',
            jsonb_build_object('score', v_score, 'severity', v_severity, 'rules', v_rules,
                               'day', p_day, 'ruleset_name', p_ruleset_name,
                               'ruleset_version', p_ruleset_version,
                               'suppressed_rules', to_jsonb(v_dropped),
                               'published_revision', v_revision));
    opened := true;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The analyst's lifecycle functions. They run as their owner (security definer) so that
-- analysts need no write privilege on any table. Refusals raise:
--   no_data_found (P0002)                      unknown alert id
--   object_not_in_prerequisite_state (55000)   wrong status, held by someone else, or another
--                                              active alert for the customer (reopen)
--   invalid_parameter_value (22023)            bad disposition, note, analyst or day count
-- with a one-line message naming the alert and its status.

-- The alert row locked for a change; raises no_data_found for an unknown id.
create function risk.alert_for_change(p_alert_id text) returns risk.alerts
language plpgsql as $$
declare
    a risk.alerts;
begin
    select * into a from risk.alerts x where x.alert_id = p_alert_id for update;
    if not found then
        raise exception 'alert % not found', p_alert_id using errcode = 'no_data_found';
    end if;
    return a;
end
$$;

-- Takes an open alert into review for p_analyst. Returns true, or false when p_analyst
-- already holds it (nothing changes).
create function risk.alert_claim(p_alert_id text, p_analyst text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.analyst_name(p_analyst);
    a risk.alerts := risk.alert_for_change(p_alert_id);
begin
    if a.status = 'in_review' then
        if a.analyst = v_analyst then
            return false;
        end if;
        raise exception 'alert % is in_review, held by %; it cannot be claimed by %',
            a.alert_id, a.analyst, v_analyst using errcode = 'object_not_in_prerequisite_state';
    elsif a.status = 'closed' then
        raise exception 'alert % is closed (%); reopen it before claiming it',
            a.alert_id, a.disposition using errcode = 'object_not_in_prerequisite_state';
    end if;
    update risk.alerts x set status = 'in_review', analyst = v_analyst, claimed_at = now()
    where x.alert_id = a.alert_id;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'claimed',
            jsonb_build_object('status', a.status, 'analyst', a.analyst),
            jsonb_build_object('status', 'in_review', 'analyst', v_analyst));
    perform risk.review_publish(a.alert_id, 'claimed');
    return true;
end
$$;

-- Closes an alert in review with a disposition and a note. p_analyst null means its holder;
-- another name than the holder's is refused. false_positive and meter_fault suppress the
-- alert's rules for the customer for p_suppress_days (null: review_settings.suppress_days;
-- 0: none) days of data after its latest firing. Returns true.
create function risk.alert_resolve(p_alert_id text, p_analyst text, p_disposition text,
                                   p_note text, p_suppress_days integer default null)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    a risk.alerts;
    v_analyst text;
    v_note text := btrim(p_note);
    v_days integer := p_suppress_days;
    v_until date;
    v_rules text[] := '{}';
begin
    if p_disposition is null or p_disposition not in ('confirmed_theft', 'meter_fault',
            'billing_error', 'false_positive', 'no_access') then
        raise exception 'disposition % is not one of confirmed_theft, meter_fault, '
                        'billing_error, false_positive, no_access', quote_nullable(p_disposition)
            using errcode = 'invalid_parameter_value';
    end if;
    if v_note is null or v_note = '' then
        raise exception 'a note is required to resolve alert %', p_alert_id
            using errcode = 'invalid_parameter_value';
    end if;
    if v_days is null then
        select s.suppress_days into v_days from risk.review_settings s;
    elsif v_days < 0 or v_days > 3650 then
        raise exception 'suppression of % days is outside 0..3650', v_days
            using errcode = 'invalid_parameter_value';
    end if;
    a := risk.alert_for_change(p_alert_id);
    v_analyst := case when p_analyst is null then a.analyst else risk.analyst_name(p_analyst) end;
    if a.status <> 'in_review' then
        raise exception 'alert % is %; only an alert in review can be resolved%', a.alert_id,
            a.status, case a.status when 'open' then ' (claim it first)' else '' end
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    if p_analyst is not null and v_analyst <> a.analyst then
        raise exception 'alert % is in_review, held by %; % cannot resolve it', a.alert_id,
            a.analyst, v_analyst using errcode = 'object_not_in_prerequisite_state';
    end if;
    update risk.alerts x set status = 'closed', disposition = p_disposition, note = v_note,
        closed_at = now()
    where x.alert_id = a.alert_id;
    if p_disposition in ('false_positive', 'meter_fault') and v_days > 0 then
        v_until := a.last_day + v_days;
        v_rules := risk.rule_ids(a.rules);
        insert into risk.suppressions (customer_id, kind, rule_id, alert_id, disposition,
                                       from_day, until_day, created_by)
        select a.customer_id, a.kind, r, a.alert_id, p_disposition, a.last_day, v_until,
               v_analyst
        from (select distinct unnest(v_rules) as r) ids;
    end if;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'resolved',
            jsonb_build_object('status', a.status, 'analyst', a.analyst),
            jsonb_build_object('status', 'closed', 'disposition', p_disposition,
                               'note', v_note, 'suppressed_rules', to_jsonb(v_rules),
                               'suppressed_until', v_until));
    perform risk.review_publish(a.alert_id, 'resolved');
    return true;
end
$$;

-- Puts a closed alert back in the queue (open, unassigned), lifting the suppressions its
-- dismissal created. Refused when the customer has another active alert of that kind.
-- Returns true.
create function risk.alert_reopen(p_alert_id text, p_analyst text, p_note text default null)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.analyst_name(p_analyst);
    a risk.alerts := risk.alert_for_change(p_alert_id);
    v_other text;
    v_lifted text[];
begin
    if a.status <> 'closed' then
        raise exception 'alert % is %; only a closed alert can be reopened', a.alert_id,
            a.status using errcode = 'object_not_in_prerequisite_state';
    end if;
    select x.alert_id into v_other from risk.alerts x
    where x.customer_id = a.customer_id and x.kind = a.kind
      and x.status in ('open', 'in_review');
    if found then
        raise exception 'alert % is closed but customer % already has active alert %; '
                        'work that one instead', a.alert_id, a.customer_id, v_other
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    update risk.alerts x set status = 'open', analyst = null, claimed_at = null,
        disposition = null, note = null, closed_at = null
    where x.alert_id = a.alert_id;
    with lifted as (
        update risk.suppressions s set lifted_at = now(), lifted_by = v_analyst
        where s.alert_id = a.alert_id and s.lifted_at is null
        returning s.rule_id
    )
    select coalesce(array_agg(rule_id order by rule_id), '{}') into v_lifted from lifted;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'reopened',
            jsonb_build_object('status', a.status, 'analyst', a.analyst,
                               'disposition', a.disposition, 'note', a.note),
            jsonb_build_object('status', 'open', 'note', nullif(btrim(p_note), ''),
                               'lifted_suppressions', to_jsonb(v_lifted)));
    perform risk.review_publish(a.alert_id, 'reopened');
    return true;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Views

-- The area's latest balanced day, per transformer.
create view risk.v_area_latest as
select distinct on (b.transformer_id) b.transformer_id, b.day, b.loss_rate,
       b.baseline_loss_rate, b.excess_kwh, b.customers
from risk.area_balance b
order by b.transformer_id, b.day desc;

-- Open and in-review alerts by priority: score, then severity, then age (oldest first).
create view risk.v_review_queue as
select row_number() over w as priority,
       a.alert_id, a.customer_id, a.kind, a.status, a.analyst, a.claimed_at,
       a.score, a.severity, risk.rule_ids(a.rules) as rule_ids,
       jsonb_array_length(a.rules) as rule_count,
       a.ruleset_name, a.ruleset_version, a.first_day, a.last_day, a.firings,
       a.opened_at, a.last_seen, now() - a.opened_at as age,
       c.segment, c.transformer_id, ar.loss_rate as area_loss_rate, ar.day as area_day
from risk.alerts a
left join risk.customers c on c.customer_id = a.customer_id
left join risk.v_area_latest ar on ar.transformer_id = c.transformer_id
where a.status in ('open', 'in_review')
window w as (order by a.score desc, risk.severity_rank(a.severity) desc, a.opened_at,
             a.alert_id)
order by priority;

-- Per rule and rule set version, over the alerts the rule fired into (at any firing, under that
-- version): hits (firings that included it), alerts, what analysts decided about those alerts,
-- and its precision: confirmed / (confirmed + dismissed), where dismissed = false_positive,
-- meter_fault or billing_error (no_access decides nothing). median_time_to_disposition is from
-- opening to closing, over its closed alerts.
create view risk.v_rule_performance as
with fired as (
    select r->>'id' as rule_id,
           coalesce(e.after->>'ruleset_name', a.ruleset_name) as ruleset_name,
           coalesce(e.after->>'ruleset_version', a.ruleset_version) as ruleset_version,
           a.alert_id, a.status, a.disposition, a.closed_at - a.opened_at as time_to_disposition
    from risk.alert_events e
    join risk.alerts a on a.alert_id = e.alert_id
    cross join lateral jsonb_array_elements(e.after->'rules') r
    where e.action in ('opened', 'updated')
), per_alert as (
    select rule_id, ruleset_name, ruleset_version, alert_id, count(*) as hits,
           min(status) as status, min(disposition) as disposition,
           min(time_to_disposition) as time_to_disposition
    from fired
    group by rule_id, ruleset_name, ruleset_version, alert_id
), per_rule as (
    select rule_id, ruleset_name, ruleset_version,
           sum(hits)::bigint as hits,
           count(*) as alerts,
           count(*) filter (where status <> 'closed') as active,
           count(*) filter (where disposition = 'confirmed_theft') as confirmed,
           count(*) filter (where disposition in ('false_positive', 'meter_fault',
                                                  'billing_error')) as dismissed,
           count(*) filter (where disposition = 'false_positive') as false_positive,
           count(*) filter (where disposition = 'meter_fault') as meter_fault,
           count(*) filter (where disposition = 'billing_error') as billing_error,
           count(*) filter (where disposition = 'no_access') as no_access,
           percentile_cont(0.5) within group (order by time_to_disposition)
               filter (where status = 'closed') as median_time_to_disposition
    from per_alert
    group by rule_id, ruleset_name, ruleset_version
)
select rule_id, ruleset_name, ruleset_version, hits, alerts, active, confirmed, dismissed,
       false_positive, meter_fault, billing_error, no_access,
       confirmed::float8 / nullif(confirmed + dismissed, 0) as precision,
       median_time_to_disposition
from per_rule
order by ruleset_name, ruleset_version, rule_id;

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-wide: created once, granted per database). Login roles are made members:
--   grant risk_analyst to alice;   (riskctl alerts then runs `set role risk_analyst`)

do $$
declare
    r text;
begin
    foreach r in array array['risk_detector', 'risk_analyst', 'risk_dashboard'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            begin
                execute format('create role %I nologin', r);
            exception when duplicate_object or unique_violation then
                null;  -- another database's migration created it meanwhile
            end;
        end if;
    end loop;
end
$$;

revoke all on all tables in schema risk from public;
revoke all on all sequences in schema risk from public;
revoke execute on all functions in schema risk from public;
grant usage on schema risk to risk_detector, risk_analyst, risk_dashboard;

-- riskd: its batch tables, the outbox it fills and relays, alerts through raise_alert. It may
-- append to the audit trail but never change it.
grant select, insert, update, delete on risk.kafka_offsets, risk.entity_state, risk.daily_usage,
    risk.transformer_daily, risk.customers, risk.ingest_counts, risk.outbox, risk.area_balance,
    risk.area_refresh_queue to risk_detector;
grant select, insert, update on risk.alerts to risk_detector;
grant insert on risk.alert_events to risk_detector;
grant select, update on risk.suppressions to risk_detector;
grant select on risk.review_settings to risk_detector;
grant usage on all sequences in schema risk to risk_detector;
grant execute on function
    risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb, float8, text),
    risk.review_publish(text, text), risk.review_message(risk.alerts, text),
    risk.refresh_area_balance(date[]), risk.drain_area_balance(),
    risk.area_baseline_loss(text, date), risk.severity_rank(text), risk.rule_ids(jsonb),
    risk.utc_text(timestamptz)
    to risk_detector;

-- Analysts: read alerts, their history and the customer's context; change alerts only
-- through the lifecycle functions.
grant select on risk.alerts, risk.alert_events, risk.suppressions, risk.customers,
    risk.daily_usage, risk.area_balance, risk.review_settings,
    risk.v_area_latest, risk.v_review_queue, risk.v_rule_performance to risk_analyst;
grant execute on function
    risk.alert_claim(text, text), risk.alert_resolve(text, text, text, text, integer),
    risk.alert_reopen(text, text, text), risk.customer_grade(text),
    risk.severity_rank(text), risk.rule_ids(jsonb), risk.utc_text(timestamptz)
    to risk_analyst;

-- Dashboards: the v_* views only. Views read their tables with their owner's rights, so
-- risk_dashboard needs nothing else; a later migration that adds a v_* view grants it too.
grant select on risk.v_review_queue, risk.v_rule_performance, risk.v_area_latest
    to risk_dashboard;
grant execute on function risk.severity_rank(text), risk.rule_ids(jsonb) to risk_dashboard;
