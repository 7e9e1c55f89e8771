-- 009_identity.sql - who acts on an alert is the database's word, not the caller's.
--
-- The acting analyst of every lifecycle change is the session's login role (session_user):
-- the analyst argument the lifecycle functions kept for compatibility may be null or that same
-- name, anything else is refused. A held alert is resolved or released only by its holder or
-- by a member of risk_lead. Alerts change only through functions that run as risk_lifecycle
-- (security definer, fixed search_path) and write the audit row with the change: riskd's
-- risk.raise_alert and the analysts' claim, release, resolve and reopen. Neither riskd's role
-- nor the analysts' may write risk.alerts or risk.alert_events directly. The confirmed-theft
-- feedback riskd reads (risk.theft_confirmations) is recorded by resolve and reopen
-- themselves, so an UPDATE outside the lifecycle confirms nothing.
-- docs/review-queue.md describes the rules and how to create login roles.

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-wide, created when missing). risk_lead: analysts who may also resolve or
-- release an alert someone else holds. risk_lifecycle: owns the functions that change alerts;
-- nobody logs in as it or is granted it.

do $$
declare
    r text;
begin
    foreach r in array array['risk_lead', 'risk_lifecycle'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            begin
                execute format('create role %I nologin', r);
            exception when duplicate_object or unique_violation then
                null;  -- another database's migration created it meanwhile
            end;
        end if;
    end loop;
    -- a lead is an analyst too (riskctl runs `set role risk_analyst`)
    if not exists (select 1 from pg_auth_members m
                   where m.roleid = 'risk_analyst'::regrole and m.member = 'risk_lead'::regrole)
    then
        grant risk_analyst to risk_lead;
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Identity helpers

-- The acting analyst: the session's login role, checked as risk.analyst_name does. p_named is
-- the name a caller passed: null, or the login role's own name; another name raises
-- insufficient_privilege (42501).
create function risk.acting_analyst(p_named text) returns text
language plpgsql stable as $$
declare
    v_login text := risk.analyst_name(session_user::text);
begin
    if p_named is not null and btrim(p_named) is distinct from v_login then
        raise exception 'analyst % is not the login role %: the acting analyst is always the '
                        'session''s login role (give no analyst name)',
            quote_literal(p_named), quote_literal(v_login)
            using errcode = 'insufficient_privilege';
    end if;
    return v_login;
end
$$;

-- Refuses (insufficient_privilege, 42501) p_actor's p_action of alert a, held in review by
-- someone else, unless the session's login role is a member of risk_lead.
create function risk.require_holder_or_lead(a risk.alerts, p_actor text, p_action text)
returns void
language plpgsql stable as $$
begin
    if a.analyst is distinct from p_actor
       and not pg_catalog.pg_has_role(session_user, 'risk_lead', 'MEMBER') then
        raise exception 'alert % is in_review, held by %; % cannot % it (only the holder or a '
                        'member of risk_lead can)', a.alert_id, a.analyst, p_actor, p_action
            using errcode = 'insufficient_privilege';
    end if;
end
$$;

-- Records whether customer p_customer now has a theft alert closed as confirmed_theft in
-- risk.theft_confirmations (a new seq when that changes), for riskd's credit grades. Called by
-- the lifecycle functions that close or reopen an alert, in their transaction.
create function risk.record_theft_confirmation(p_customer text) returns void
language plpgsql as $$
declare
    v boolean;
begin
    v := exists (select 1 from risk.alerts a
                 where a.customer_id = p_customer and a.kind = 'theft'
                   and a.status = 'closed' and a.disposition = 'confirmed_theft');
    if v or exists (select 1 from risk.theft_confirmations t where t.customer_id = p_customer)
    then
        insert into risk.theft_confirmations as t (customer_id, confirmed, seq)
        values (p_customer, v, nextval('risk.theft_confirmation_seq'))
        on conflict (customer_id) do update
            set confirmed = excluded.confirmed, seq = excluded.seq, changed_at = now()
            where t.confirmed is distinct from excluded.confirmed;
    end if;
end
$$;

-- The trigger confirmed theft on any UPDATE of status or disposition, whoever ran it.
drop trigger alerts_theft_confirmation on risk.alerts;
drop function risk.note_theft_confirmation();

-- ---------------------------------------------------------------------------------------------
-- The lifecycle. Same signatures as before; p_analyst: null or the login role's own name.
-- Refusals raise (one line naming the alert and its status):
--   no_data_found (P0002)                      unknown alert id
--   object_not_in_prerequisite_state (55000)   wrong status, or another active alert for the
--                                              customer (reopen, claim of a held alert)
--   insufficient_privilege (42501)             another analyst named than the login role;
--                                              resolve or release of an alert someone else
--                                              holds, by an analyst outside risk_lead
--   invalid_parameter_value (22023)            bad disposition, note, login name or day count

-- Takes an open alert into review for the acting analyst. Returns true, or false when they
-- already hold it (nothing changes).
create or replace function risk.alert_claim(p_alert_id text, p_analyst text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(p_analyst);
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

-- Puts an alert in review back in the queue (open, unassigned), by its holder or a risk_lead
-- member; p_note (optional) goes into the audit row. Returns true.
create function risk.alert_release(p_alert_id text, p_note text default null) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(null);
    a risk.alerts := risk.alert_for_change(p_alert_id);
begin
    if a.status <> 'in_review' then
        raise exception 'alert % is %; only an alert in review can be released', a.alert_id,
            a.status using errcode = 'object_not_in_prerequisite_state';
    end if;
    perform risk.require_holder_or_lead(a, v_analyst, 'release');
    update risk.alerts x set status = 'open', analyst = null, claimed_at = null
    where x.alert_id = a.alert_id;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'released',
            jsonb_build_object('status', a.status, 'analyst', a.analyst),
            jsonb_build_object('status', 'open', 'note', nullif(btrim(p_note), '')));
    perform risk.review_publish(a.alert_id, 'released');
    return true;
end
$$;

-- Closes an alert in review with a disposition and a note, by its holder or a risk_lead
-- member (the holder stays recorded as the alert's analyst; the audit row names who closed
-- it). false_positive and meter_fault suppress the alert's rules for the customer for
-- p_suppress_days (null: review_settings.suppress_days; 0: none) days of data after its latest
-- firing; confirmed_theft reaches riskd's credit grades through risk.theft_confirmations.
-- Returns true.
create or replace function risk.alert_resolve(p_alert_id text, p_analyst text,
                                              p_disposition text, p_note text,
                                              p_suppress_days integer default null)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(p_analyst);
    a risk.alerts;
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
    if a.status <> 'in_review' then
        raise exception 'alert % is %; only an alert in review can be resolved%', a.alert_id,
            a.status, case a.status when 'open' then ' (claim it first)' else '' end
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    perform risk.require_holder_or_lead(a, v_analyst, 'resolve');
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
    if a.kind = 'theft' then
        perform risk.record_theft_confirmation(a.customer_id);
    end if;
    perform risk.review_publish(a.alert_id, 'resolved');
    return true;
end
$$;

-- Puts a closed alert back in the queue (open, unassigned), lifting the suppressions its
-- dismissal created and withdrawing a theft confirmation that rested on it. Refused when the
-- customer has another active alert of that kind. Returns true.
create or replace function risk.alert_reopen(p_alert_id text, p_analyst text,
                                             p_note text default null)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(p_analyst);
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
    if a.kind = 'theft' then
        perform risk.record_theft_confirmation(a.customer_id);
    end if;
    perform risk.review_publish(a.alert_id, 'reopened');
    return true;
end
$$;

-- riskd's firings run as risk_lifecycle too, so riskd's role needs no write privilege on
-- alerts, their audit trail or the suppressions. Every name in its body is schema-qualified.
alter function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                                float8, text)
    security definer set search_path = pg_catalog, pg_temp;

-- ---------------------------------------------------------------------------------------------
-- Ownership and privileges

revoke execute on function risk.acting_analyst(text),
    risk.require_holder_or_lead(risk.alerts, text, text),
    risk.record_theft_confirmation(text), risk.alert_release(text, text) from public;

grant usage on schema risk to risk_lifecycle;
grant select, insert, update on risk.alerts, risk.suppressions, risk.theft_confirmations
    to risk_lifecycle;
grant insert on risk.alert_events, risk.outbox to risk_lifecycle;
grant select on risk.review_settings to risk_lifecycle;
grant usage on all sequences in schema risk to risk_lifecycle;
grant execute on function risk.analyst_name(text), risk.alert_for_change(text),
    risk.acting_analyst(text), risk.require_holder_or_lead(risk.alerts, text, text),
    risk.record_theft_confirmation(text), risk.review_publish(text, text),
    risk.review_message(risk.alerts, text), risk.rule_ids(jsonb), risk.severity_rank(text),
    risk.utc_text(timestamptz)
    to risk_lifecycle;

alter function risk.raise_alert(text, text, date, float8, text, jsonb, text, text, text, jsonb,
                                float8, text) owner to risk_lifecycle;
alter function risk.alert_claim(text, text) owner to risk_lifecycle;
alter function risk.alert_release(text, text) owner to risk_lifecycle;
alter function risk.alert_resolve(text, text, text, text, integer) owner to risk_lifecycle;
alter function risk.alert_reopen(text, text, text) owner to risk_lifecycle;

-- riskd: reads alerts and suppressions, raises alerts only through risk.raise_alert.
revoke insert, update, delete, truncate on risk.alerts from risk_detector;
revoke insert on risk.alert_events from risk_detector;
revoke insert, update, delete, truncate on risk.suppressions from risk_detector;
revoke execute on function risk.review_publish(text, text) from risk_detector;

grant execute on function risk.alert_release(text, text) to risk_analyst;
