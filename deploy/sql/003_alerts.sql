-- 003_alerts.sql - theft alerts and their audit trail.
--
-- riskd raises alerts inside its batch transaction through risk.raise_alert, so an alert
-- exists exactly once whatever crashes happen. At most one alert per customer and kind is
-- active (open or in review): a new firing updates it. Every change is recorded in
-- risk.alert_events (append-only).

create table risk.alerts (
    alert_id        text primary key,     -- stable: <kind>-<customer_id>-<YYYYMMDD of first firing>
    customer_id     text not null,
    kind            text not null check (kind in ('theft')),
    status          text not null default 'open'
                    check (status in ('open', 'in_review', 'closed')),
    score           double precision not null,
    severity        text not null check (severity in ('low', 'medium', 'high', 'critical')),
    rules           jsonb not null,       -- [{id, title, score, severity, evidence: {feature: value}}]
    ruleset_name    text not null,
    ruleset_version text not null,
    ruleset_hash    text not null,
    curve           jsonb not null,       -- [{day, kwh, baseline}], the last 60 local days
    first_day       date not null,        -- local day of the first firing
    last_day        date not null,        -- local day of the latest firing
    firings         integer not null default 1,
    opened_at       timestamptz not null default now(),
    last_seen       timestamptz not null default now(),
    analyst         text,
    disposition     text check (disposition in ('confirmed_theft', 'meter_fault', 'billing_error',
                                                'false_positive', 'no_access')),
    note            text,
    closed_at       timestamptz
);
create unique index alerts_one_active on risk.alerts (customer_id, kind)
    where status in ('open', 'in_review');
create index alerts_status on risk.alerts (status, score desc);

create table risk.alert_events (
    id       bigserial primary key,
    alert_id text not null references risk.alerts (alert_id),
    at       timestamptz not null default now(),
    actor    text not null,                -- 'riskd' or the analyst
    action   text not null,                -- opened | updated | claimed | resolved | reopened
    before   jsonb,
    after    jsonb
);
create index alert_events_alert on risk.alert_events (alert_id, id);

-- Opens an alert, or updates the customer's active one of that kind. Returns the alert_id
-- and whether it was opened (true) or updated (false).
create function risk.raise_alert(p_customer text, p_kind text, p_day date, p_score float8,
                                 p_severity text, p_rules jsonb, p_ruleset_name text,
                                 p_ruleset_version text, p_ruleset_hash text, p_curve jsonb,
                                 out alert_id text, out opened boolean)
language plpgsql as $$
declare
    prev risk.alerts;
    n integer;
begin
    select * into prev from risk.alerts a
    where a.customer_id = p_customer and a.kind = p_kind and a.status in ('open', 'in_review')
    for update;
    if found then
        update risk.alerts a set score = p_score, severity = p_severity, rules = p_rules,
            ruleset_name = p_ruleset_name, ruleset_version = p_ruleset_version,
            ruleset_hash = p_ruleset_hash, curve = p_curve,
            last_day = greatest(a.last_day, p_day), firings = a.firings + 1, last_seen = now()
        where a.alert_id = prev.alert_id;
        insert into risk.alert_events (alert_id, actor, action, before, after)
        values (prev.alert_id, 'riskd', 'updated',
                jsonb_build_object('score', prev.score, 'severity', prev.severity,
                                   'rules', prev.rules, 'last_day', prev.last_day),
                jsonb_build_object('score', p_score, 'severity', p_severity,
                                   'rules', p_rules, 'last_day', p_day));
        alert_id := prev.alert_id;
        opened := false;
        return;
    end if;
    alert_id := p_kind || '-' || p_customer || '-' || to_char(p_day, 'YYYYMMDD');
    select count(*) into n from risk.alerts a where a.alert_id like raise_alert.alert_id || '%';
    if n > 0 then
        alert_id := alert_id || '-' || (n + 1);
    end if;
    insert into risk.alerts (alert_id, customer_id, kind, score, severity, rules, ruleset_name,
                             ruleset_version, ruleset_hash, curve, first_day, last_day)
    values (alert_id, p_customer, p_kind, p_score, p_severity, p_rules, p_ruleset_name,
            p_ruleset_version, p_ruleset_hash, p_curve, p_day, p_day);
    insert into risk.alert_events (alert_id, actor, action, after)
    values (alert_id, 'riskd', 'opened',
            jsonb_build_object('score', p_score, 'severity', p_severity, 'rules', p_rules,
                               'day', p_day));
    opened := true;
end
$$;
