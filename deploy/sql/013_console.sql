-- 013_console.sql - what the analyst console adds to the review lifecycle: notes without
-- resolving, assignment by a lead, four-eyes closure of confirmed_theft, and the indexes the
-- queue page filters and sorts by.
--
-- Four-eyes: while risk.review_settings.theft_approval is true (the default), resolving an
-- alert as confirmed_theft does not close it: the resolution waits in risk.alert_approvals
-- until another analyst approves it with risk.alert_approve, which closes the alert as
-- confirmed_theft (and so caps the customer's credit grade) in the same transaction. The
-- proposer can never approve their own resolution, whatever their roles. Every function runs
-- as risk_lifecycle with a fixed search_path and writes its audit row in the same transaction;
-- the acting analyst is always session_user (risk.acting_analyst). docs/console.md and
-- docs/review-queue.md describe them.

alter table risk.review_settings
    add column theft_approval boolean not null default true;

-- A confirmed_theft resolution waiting for a second analyst: one per alert at most.
create table risk.alert_approvals (
    alert_id    text primary key references risk.alerts (alert_id),
    disposition text not null check (disposition = 'confirmed_theft'),
    note        text not null,
    proposed_by text not null,
    proposed_at timestamptz not null default now()
);

-- The queue page (docs/performance.md): the active queue in priority order with the columns
-- its filters read, so a page and its count are index-only scans that never touch the wide
-- rows (curves, rules); the queue by age, per status; an analyst's inbox.
create index alerts_queue on risk.alerts (score desc, opened_at, alert_id)
    include (status, severity, kind, analyst, customer_id)
    where status in ('open', 'in_review');
create index alerts_status_age on risk.alerts (status, opened_at);
create index alerts_analyst on risk.alerts (analyst, status) where analyst is not null;

-- ---------------------------------------------------------------------------------------------
-- Closing an alert, shared by resolve and approve: the row a (locked by the caller) closed as
-- p_disposition with p_note by p_actor, suppressions for a dismissal, the audit row, the
-- theft confirmation and the review-queue message. p_days: days of suppression (0: none).
create function risk.alert_close(a risk.alerts, p_actor text, p_disposition text, p_note text,
                                 p_days integer, p_approved_by text)
returns void
language plpgsql as $$
declare
    v_until date;
    v_rules text[] := '{}';
begin
    update risk.alerts x set status = 'closed', disposition = p_disposition, note = p_note,
        closed_at = now()
    where x.alert_id = a.alert_id;
    if p_disposition in ('false_positive', 'meter_fault') and p_days > 0 then
        v_until := a.last_day + p_days;
        v_rules := risk.rule_ids(a.rules);
        insert into risk.suppressions (customer_id, kind, rule_id, alert_id, disposition,
                                       from_day, until_day, created_by)
        select a.customer_id, a.kind, r, a.alert_id, p_disposition, a.last_day, v_until,
               p_actor
        from (select distinct unnest(v_rules) as r) ids;
    end if;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, p_actor, 'resolved',
            jsonb_build_object('status', a.status, 'analyst', a.analyst),
            jsonb_build_object('status', 'closed', 'disposition', p_disposition,
                               'note', p_note, 'suppressed_rules', to_jsonb(v_rules),
                               'suppressed_until', v_until)
            || case when p_approved_by is null then '{}'::jsonb
                    else jsonb_build_object('approved_by', p_approved_by) end);
    if a.kind = 'theft' then
        perform risk.record_theft_confirmation(a.customer_id);
    end if;
    perform risk.review_publish(a.alert_id, 'resolved');
end
$$;

-- Closes an alert in review with a disposition and a note, by its holder or a risk_lead
-- member. confirmed_theft, while review_settings.theft_approval is on, is recorded as a
-- resolution awaiting approval instead (audit action 'proposed'; the alert stays in review).
-- Same signature, arguments and refusals as before. Returns true when the alert closed, false
-- when the resolution awaits a second analyst's approval.
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
    v_four_eyes boolean;
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
    select s.suppress_days, s.theft_approval into v_days, v_four_eyes
    from risk.review_settings s;
    if p_suppress_days is not null then
        v_days := p_suppress_days;
        if v_days < 0 or v_days > 3650 then
            raise exception 'suppression of % days is outside 0..3650', v_days
                using errcode = 'invalid_parameter_value';
        end if;
    end if;
    a := risk.alert_for_change(p_alert_id);
    if a.status <> 'in_review' then
        raise exception 'alert % is %; only an alert in review can be resolved%', a.alert_id,
            a.status, case a.status when 'open' then ' (claim it first)' else '' end
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    perform risk.require_holder_or_lead(a, v_analyst, 'resolve');
    if p_disposition = 'confirmed_theft' and v_four_eyes then
        insert into risk.alert_approvals as p (alert_id, disposition, note, proposed_by)
        values (a.alert_id, p_disposition, v_note, v_analyst)
        on conflict (alert_id) do update
            set note = excluded.note, proposed_by = excluded.proposed_by, proposed_at = now();
        insert into risk.alert_events (alert_id, actor, action, before, after)
        values (a.alert_id, v_analyst, 'proposed',
                jsonb_build_object('status', a.status, 'analyst', a.analyst),
                jsonb_build_object('status', a.status, 'disposition', p_disposition,
                                   'note', v_note, 'awaiting_approval', true));
        return false;
    end if;
    delete from risk.alert_approvals p where p.alert_id = a.alert_id;
    perform risk.alert_close(a, v_analyst, p_disposition, v_note, v_days, null);
    return true;
end
$$;

-- Approves the confirmed_theft resolution awaiting approval on alert p_alert_id, as the
-- login role, which must not be the analyst who proposed it: the alert closes as
-- confirmed_theft with the proposer's note (p_note, optional, goes into the approval's audit
-- row). Refusals: no_data_found (unknown alert), object_not_in_prerequisite_state (nothing
-- awaits approval, or the alert is no longer in review), insufficient_privilege (the proposer
-- approving their own resolution). Returns true.
create function risk.alert_approve(p_alert_id text, p_note text default null)
returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(null);
    a risk.alerts := risk.alert_for_change(p_alert_id);
    p risk.alert_approvals;
begin
    select * into p from risk.alert_approvals x where x.alert_id = a.alert_id;
    if not found or a.status <> 'in_review' then
        raise exception 'alert % is %; no confirmed_theft resolution of it awaits approval',
            a.alert_id, a.status using errcode = 'object_not_in_prerequisite_state';
    end if;
    if p.proposed_by = v_analyst then
        raise exception 'alert % was resolved as confirmed_theft by %; a second analyst must '
                        'approve it', a.alert_id, p.proposed_by
            using errcode = 'insufficient_privilege';
    end if;
    delete from risk.alert_approvals x where x.alert_id = a.alert_id;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'approved',
            jsonb_build_object('status', a.status, 'proposed_by', p.proposed_by),
            jsonb_build_object('disposition', p.disposition,
                               'note', nullif(btrim(p_note), '')));
    perform risk.alert_close(a, p.proposed_by, p.disposition, p.note, 0, v_analyst);
    return true;
end
$$;

-- Adds a note to alert p_alert_id's audit trail without changing the alert (audit action
-- 'commented'), as the login role. The note: 1..4000 bytes after trimming. Returns true.
create function risk.alert_comment(p_alert_id text, p_note text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(null);
    v_note text := btrim(p_note);
    a risk.alerts := risk.alert_for_change(p_alert_id);
begin
    if v_note is null or v_note = '' or octet_length(v_note) > 4000 then
        raise exception 'a comment on alert % needs 1..4000 bytes of text', a.alert_id
            using errcode = 'invalid_parameter_value';
    end if;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'commented', null, jsonb_build_object('note', v_note));
    return true;
end
$$;

-- Hands alert p_alert_id (open or in review) to analyst p_to, a login role in risk_analyst;
-- only a member of risk_lead may. The alert goes in review, held by p_to (audit action
-- 'assigned', published as 'claimed'). Returns true, or false when p_to already holds it.
create function risk.alert_assign(p_alert_id text, p_to text) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_analyst text := risk.acting_analyst(null);
    v_to text := risk.analyst_name(p_to);
    a risk.alerts;
begin
    if not pg_catalog.pg_has_role(session_user, 'risk_lead', 'MEMBER') then
        raise exception '% cannot assign alert %: only a member of risk_lead can', v_analyst,
            p_alert_id using errcode = 'insufficient_privilege';
    end if;
    if not exists (select 1 from pg_catalog.pg_roles r
                   where r.rolname = v_to and r.rolcanlogin
                     and pg_catalog.pg_has_role(r.oid, 'risk_analyst', 'MEMBER')) then
        raise exception '% is not a login role in risk_analyst; alert % cannot be assigned '
                        'to it', quote_literal(v_to), p_alert_id
            using errcode = 'invalid_parameter_value';
    end if;
    a := risk.alert_for_change(p_alert_id);
    if a.status = 'closed' then
        raise exception 'alert % is closed (%); reopen it before assigning it', a.alert_id,
            a.disposition using errcode = 'object_not_in_prerequisite_state';
    end if;
    if a.status = 'in_review' and a.analyst = v_to then
        return false;
    end if;
    update risk.alerts x set status = 'in_review', analyst = v_to, claimed_at = now()
    where x.alert_id = a.alert_id;
    insert into risk.alert_events (alert_id, actor, action, before, after)
    values (a.alert_id, v_analyst, 'assigned',
            jsonb_build_object('status', a.status, 'analyst', a.analyst),
            jsonb_build_object('status', 'in_review', 'analyst', v_to));
    perform risk.review_publish(a.alert_id, 'claimed');
    return true;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Ownership and privileges

revoke execute on function risk.alert_close(risk.alerts, text, text, text, integer, text),
    risk.alert_approve(text, text), risk.alert_comment(text, text),
    risk.alert_assign(text, text) from public;

grant select, insert, update, delete on risk.alert_approvals to risk_lifecycle;
grant execute on function risk.alert_close(risk.alerts, text, text, text, integer, text)
    to risk_lifecycle;
alter function risk.alert_approve(text, text) owner to risk_lifecycle;
alter function risk.alert_comment(text, text) owner to risk_lifecycle;
alter function risk.alert_assign(text, text) owner to risk_lifecycle;

grant select on risk.alert_approvals to risk_analyst;
grant execute on function risk.alert_approve(text, text), risk.alert_comment(text, text),
    risk.alert_assign(text, text) to risk_analyst;

-- A resolution awaiting approval lapses when its alert goes back to the queue (release),
-- so a later holder's alert is never closed on a stale proposal.
create function risk.alert_approvals_lapse() returns trigger
language plpgsql as $$
begin
    delete from risk.alert_approvals p where p.alert_id = new.alert_id;
    return null;
end
$$;
create trigger alerts_approval_lapse after update of status on risk.alerts
    for each row when (new.status = 'open') execute function risk.alert_approvals_lapse();
