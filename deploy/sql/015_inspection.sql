-- 015_inspection.sql - the energy a theft alert's customer has stolen, the amount to back-bill
-- for it at the customer's tariff, and the field crews' inspection list.
--
-- When riskd raises or updates a theft alert it estimates the energy stolen since the theft
-- began, with a 95% range, and the alert's probability of being a theft (scoring/stolen.h),
-- and hands both to risk.raise_alert with its tariff price table (config: tariffs.currency,
-- tariffs.prices). raise_alert stores them on the alert and prices the energy at the tariff the
-- customer's profile names (risk.customers.tariff), in the same transaction, before the
-- review-queue message is written, so the message carries them. A tariff the table does not
-- price gets no amount, with a reason: never a guessed price. docs/detection.md ("Stolen
-- energy and back-billing") and docs/review-queue.md describe the figures.

alter table risk.alerts
    add column stolen_method        text check (stolen_method in ('attribution', 'shortfall',
                                                                  'none')),
    add column stolen_from          date,             -- the period: onset ..
    add column stolen_to            date,             -- .. the latest firing's day
    add column stolen_days          integer,
    add column stolen_kwh           double precision, -- null: no estimate (method none)
    add column stolen_kwh_low       double precision, -- 95% range
    add column stolen_kwh_high      double precision,
    add column stolen_kwh_day       double precision,
    add column stolen_z             double precision, -- the attribution's z (method attribution)
    add column theft_probability    double precision check (theft_probability between 0 and 1),
    add column backbill_tariff      text,             -- the profile's tariff when priced
    add column backbill_price       double precision, -- per kWh, in backbill_currency
    add column backbill_currency    text,
    add column backbill_amount      numeric(14, 2),   -- stolen_kwh x backbill_price
    add column backbill_amount_low  numeric(14, 2),
    add column backbill_amount_high numeric(14, 2),
    add column backbill_reason      text check (backbill_reason in ('no_estimate',
                                                'tariff_missing', 'tariff_unknown'));

-- The back-billing of p_kwh (p_kwh_low .. p_kwh_high) kWh at tariff p_tariff of the price
-- table p_tariffs ({"currency": "EUR", "prices": {code: price per kWh}}): amounts rounded to
-- the cent, or null with the reason: no_estimate (no kWh), tariff_missing (the profile names
-- no tariff, or there is no profile), tariff_unknown (the table has no price for it).
create function risk.backbill(p_kwh float8, p_kwh_low float8, p_kwh_high float8,
                              p_tariff text, p_tariffs jsonb,
                              out price float8, out currency text, out amount numeric,
                              out amount_low numeric, out amount_high numeric, out reason text)
language sql immutable as $$
    select v.price,
           case when v.price is not null then p_tariffs->>'currency' end,
           round((p_kwh * v.price)::numeric, 2),
           round((p_kwh_low * v.price)::numeric, 2),
           round((p_kwh_high * v.price)::numeric, 2),
           case when p_kwh is null then 'no_estimate'
                when coalesce(p_tariff, '') = '' then 'tariff_missing'
                when v.price is null then 'tariff_unknown' end
    from (select case when jsonb_typeof(p_tariffs->'prices'->p_tariff) = 'number'
                      then (p_tariffs->'prices'->>p_tariff)::float8 end as price) v
$$;

-- Stores riskd's estimate p_stolen (detector/alerts.h: alert_stolen_json) on alert
-- p_alert_id of customer p_customer and prices it with p_tariffs. A null p_stolen changes
-- nothing (a caller that has no estimate).
create function risk.alert_set_stolen(p_alert_id text, p_customer text, p_stolen jsonb,
                                      p_tariffs jsonb) returns void
language plpgsql as $$
declare
    v_tariff text;
    b record;
begin
    if p_stolen is null then
        return;
    end if;
    select c.tariff into v_tariff from risk.customers c where c.customer_id = p_customer;
    select * into b from risk.backbill((p_stolen->>'kwh')::float8,
                                       (p_stolen->>'kwh_low')::float8,
                                       (p_stolen->>'kwh_high')::float8, v_tariff, p_tariffs);
    update risk.alerts a set
        stolen_method = p_stolen->>'method', stolen_from = (p_stolen->>'from')::date,
        stolen_to = (p_stolen->>'to')::date, stolen_days = (p_stolen->>'days')::integer,
        stolen_kwh = (p_stolen->>'kwh')::float8, stolen_kwh_low = (p_stolen->>'kwh_low')::float8,
        stolen_kwh_high = (p_stolen->>'kwh_high')::float8,
        stolen_kwh_day = (p_stolen->>'kwh_day')::float8, stolen_z = (p_stolen->>'z')::float8,
        theft_probability = (p_stolen->>'probability')::float8,
        backbill_tariff = nullif(v_tariff, ''), backbill_price = b.price,
        backbill_currency = b.currency, backbill_amount = b.amount,
        backbill_amount_low = b.amount_low, backbill_amount_high = b.amount_high,
        backbill_reason = b.reason
    where a.alert_id = p_alert_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- raise_alert with the estimate: 004's function (suppression, materiality, publication) plus
-- two arguments, p_stolen and p_tariffs, stored through risk.alert_set_stolen before the
-- alert is published. Both default to null, so the 12-argument calls keep working.

drop function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                               float8, text);

create function risk.raise_alert(p_customer text, p_kind text, p_day date, p_score float8,
                                 p_severity text, p_rules jsonb, p_ruleset_name text,
                                 p_ruleset_version text, p_ruleset_hash text, p_curve jsonb,
                                 p_threshold float8, p_review_topic text,
                                 p_stolen jsonb default null, p_tariffs jsonb default null,
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
            perform risk.alert_set_stolen(prev.alert_id, p_customer, p_stolen, p_tariffs);
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
    perform risk.alert_set_stolen(alert_id, p_customer, p_stolen, p_tariffs);
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
-- The estimate and the amount as the review-queue message and `riskctl alerts show` carry
-- them (docs/review-queue.md): null when the alert has none (raised before this migration,
-- or by a caller without an estimate).

create function risk.alert_stolen_energy(a risk.alerts) returns json
language sql stable as $$
    select case when a.stolen_method is not null then json_build_object(
        'method', a.stolen_method, 'from', a.stolen_from, 'to', a.stolen_to,
        'days', a.stolen_days, 'kwh', a.stolen_kwh, 'kwh_low', a.stolen_kwh_low,
        'kwh_high', a.stolen_kwh_high, 'kwh_day', a.stolen_kwh_day, 'z', a.stolen_z,
        'probability', a.theft_probability) end
$$;

create function risk.alert_backbill(a risk.alerts) returns json
language sql stable as $$
    select case when a.stolen_method is not null then json_build_object(
        'tariff', a.backbill_tariff, 'price_per_kwh', a.backbill_price,
        'currency', a.backbill_currency, 'amount', a.backbill_amount,
        'amount_low', a.backbill_amount_low, 'amount_high', a.backbill_amount_high,
        'reason', a.backbill_reason) end
$$;

-- 004's message with two more keys: stolen_energy and backbill.
create or replace function risk.review_message(a risk.alerts, p_change text) returns json
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
        'closed_at', risk.utc_text(a.closed_at), 'published_at', risk.utc_text(now()),
        'stolen_energy', risk.alert_stolen_energy(a), 'backbill', risk.alert_backbill(a))
$$;

-- ---------------------------------------------------------------------------------------------
-- Views

-- 004's review queue with the estimate and the amount as its last columns.
create or replace view risk.v_review_queue as
select row_number() over w as priority,
       a.alert_id, a.customer_id, a.kind, a.status, a.analyst, a.claimed_at,
       a.score, a.severity, risk.rule_ids(a.rules) as rule_ids,
       jsonb_array_length(a.rules) as rule_count,
       a.ruleset_name, a.ruleset_version, a.first_day, a.last_day, a.firings,
       a.opened_at, a.last_seen, now() - a.opened_at as age,
       c.segment, c.transformer_id, ar.loss_rate as area_loss_rate, ar.day as area_day,
       a.stolen_kwh, a.stolen_kwh_low, a.stolen_kwh_high, a.stolen_from, a.stolen_to,
       a.stolen_method, a.theft_probability, a.backbill_amount, a.backbill_currency,
       a.backbill_reason
from risk.alerts a
left join risk.customers c on c.customer_id = a.customer_id
left join risk.v_area_latest ar on ar.transformer_id = c.transformer_id
where a.status in ('open', 'in_review')
window w as (order by a.score desc, risk.severity_rank(a.severity) desc, a.opened_at,
             a.alert_id)
order by priority;

-- The field crews' list: customers with an active (open or in review) theft alert, ranked by
-- expected recovered energy, theft_probability x stolen_kwh (ties: score, then alert id);
-- alerts without an estimate come last. The top evidence is the fired rule with the highest
-- score (ties: its id) with the evidence values it showed at the latest firing.
create view risk.v_inspection_list as
select row_number() over w as rank,
       a.alert_id, a.customer_id, c.transformer_id, c.segment, c.tariff, a.status,
       a.score, a.severity, a.theft_probability as probability,
       a.theft_probability * a.stolen_kwh as expected_kwh,
       a.stolen_kwh, a.stolen_kwh_low, a.stolen_kwh_high, a.stolen_from, a.stolen_to,
       a.stolen_method, a.backbill_amount, a.backbill_currency, a.backbill_reason,
       round((a.theft_probability * a.backbill_amount)::numeric, 2) as expected_amount,
       top.rule->>'id' as top_rule, top.rule->>'title' as top_rule_title,
       top.rule->'evidence' as top_evidence, a.first_day, a.last_day
from risk.alerts a
left join risk.customers c on c.customer_id = a.customer_id
left join lateral (select r as rule from jsonb_array_elements(a.rules) r
                   order by (r->>'score')::float8 desc, r->>'id' limit 1) top on true
where a.kind = 'theft' and a.status in ('open', 'in_review')
window w as (order by a.theft_probability * a.stolen_kwh desc nulls last, a.score desc,
             a.alert_id)
order by rank;

-- ---------------------------------------------------------------------------------------------
-- Ownership and privileges (as 009_identity.sql: raise_alert runs as risk_lifecycle)

alter function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                                float8, text, jsonb, jsonb) owner to risk_lifecycle;
revoke execute on function
    risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb, float8,
                     text, jsonb, jsonb),
    risk.alert_set_stolen(text, text, jsonb, jsonb),
    risk.backbill(float8, float8, float8, text, jsonb),
    risk.alert_stolen_energy(risk.alerts), risk.alert_backbill(risk.alerts) from public;
grant execute on function
    risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb, float8,
                     text, jsonb, jsonb) to risk_detector;
grant select on risk.customers to risk_lifecycle;
grant execute on function risk.alert_set_stolen(text, text, jsonb, jsonb),
    risk.backbill(float8, float8, float8, text, jsonb) to risk_lifecycle;
grant execute on function risk.alert_stolen_energy(risk.alerts), risk.alert_backbill(risk.alerts)
    to risk_lifecycle, risk_detector, risk_analyst;
grant select on risk.v_inspection_list to risk_analyst, risk_dashboard;
