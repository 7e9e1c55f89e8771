-- 006_credit.sql - credit grades, the payment status the collection department works from,
-- the analysts' confirmed-theft feedback into grades, and the collection dashboards' views.
--
-- riskd writes every table here in the same transaction as the batch of events that caused
-- the change (docs/credit.md, "Grades in riskd"); the views are documented with example
-- queries in docs/dashboards.md.

-- Grades best first; a rank for ordering (AAA 1 .. C 5, unknown last).
create function risk.grade_rank(p_grade text) returns integer
language sql immutable as $$
    select case p_grade when 'AAA' then 1 when 'AA' then 2 when 'A' then 3 when 'B' then 4
                        when 'C' then 5 else 6 end
$$;

-- Current grade of every graded customer: one row, replaced when the grade changes.
-- points and reasons are those of the grading that changed the grade.
create table risk.credit_grades (
    customer_id       text primary key,
    grade             text not null check (grade in ('AAA', 'AA', 'A', 'B', 'C')),
    previous_grade    text check (previous_grade in ('AAA', 'AA', 'A', 'B', 'C')),
    points            double precision not null,
    points_grade      text not null check (points_grade in ('AAA', 'AA', 'A', 'B', 'C')),
    capped            boolean not null,     -- a credit rule lowered the points grade
    floored           boolean not null,     -- a credit rule raised it
    reasons           jsonb not null,       -- [{code, text, points_lost}], most points lost first
    scorecard         text not null,        -- card name, e.g. residential
    scorecard_version text not null,
    scorecard_hash    text not null,
    policy            text not null,        -- credit rule set: "name version"
    as_of             date not null,        -- local day the grade was computed for
    changed_at        timestamptz not null default now()
);
create index credit_grades_grade on risk.credit_grades (grade);

-- Every change of grade, append-only (a customer's first grade included).
create table risk.credit_grade_history (
    id                bigserial primary key,
    customer_id       text not null,
    grade             text not null,
    previous_grade    text,
    points            double precision not null,
    points_grade      text not null,
    capped            boolean not null,
    floored           boolean not null,
    reasons           jsonb not null,
    scorecard         text not null,
    scorecard_version text not null,
    scorecard_hash    text not null,
    policy            text not null,
    as_of             date not null,
    recorded_at       timestamptz not null default now()
);
create index credit_grade_history_customer on risk.credit_grade_history (customer_id, as_of);
create index credit_grade_history_as_of on risk.credit_grade_history (as_of);

-- Payment status of every customer with billing history, as of its latest grading (each
-- billing event and each closed local day).
create table risk.customer_credit (
    customer_id    text primary key,
    days_past_due  integer not null,          -- oldest unpaid debt, days past its due date
    arrears_amount numeric(14, 2) not null,   -- debt past its due date
    balance_owed   numeric(14, 2) not null,   -- all unpaid debt, due or not
    last_payment   date,
    as_of          date not null,             -- local day of the figures
    updated_at     timestamptz not null default now()
);
create index customer_credit_arrears on risk.customer_credit (days_past_due desc)
    where arrears_amount > 0;
create index customer_credit_as_of on risk.customer_credit (as_of);

-- The message riskd publishes to topics.credit_grades for a change of grade
-- (docs/credit.md, "The credit-grades topic").
create function risk.credit_grade_message(g risk.credit_grades, p_segment text) returns json
language sql stable as $$
    select json_build_object(
        'customer_id', g.customer_id, 'segment', p_segment, 'grade', g.grade,
        'previous_grade', g.previous_grade, 'points', round(g.points::numeric, 2),
        'points_grade', g.points_grade, 'capped', g.capped, 'floored', g.floored,
        'reasons', g.reasons,
        'scorecard', json_build_object('name', g.scorecard, 'version', g.scorecard_version,
                                       'hash', g.scorecard_hash),
        'policy', g.policy, 'as_of', g.as_of, 'changed_at', risk.utc_text(g.changed_at))
$$;

-- Confirmed-theft feedback: whether a customer has a theft alert closed as confirmed_theft,
-- with a sequence number riskd follows (it re-reads from 0 after every rebalance, so a
-- customer's grade reflects the disposition whichever instance owns it).
create sequence risk.theft_confirmation_seq;
create table risk.theft_confirmations (
    customer_id text primary key,
    confirmed   boolean not null,
    seq         bigint not null,
    changed_at  timestamptz not null default now()
);
create index theft_confirmations_seq on risk.theft_confirmations (seq);

create function risk.note_theft_confirmation() returns trigger
language plpgsql security definer set search_path = pg_catalog, risk as $$
declare
    v boolean;
begin
    v := exists (select 1 from risk.alerts a
                 where a.customer_id = new.customer_id and a.kind = 'theft'
                   and a.status = 'closed' and a.disposition = 'confirmed_theft');
    if v or exists (select 1 from risk.theft_confirmations t
                    where t.customer_id = new.customer_id) then
        insert into risk.theft_confirmations as t (customer_id, confirmed, seq)
        values (new.customer_id, v, nextval('risk.theft_confirmation_seq'))
        on conflict (customer_id) do update
            set confirmed = excluded.confirmed, seq = excluded.seq, changed_at = now()
            where t.confirmed is distinct from excluded.confirmed;
    end if;
    return null;
end
$$;

create trigger alerts_theft_confirmation
    after update of status, disposition on risk.alerts
    for each row
    when (old.status is distinct from new.status
          or old.disposition is distinct from new.disposition)
    execute function risk.note_theft_confirmation();

-- The analysts' view of a customer's grade (used by riskctl alerts show).
create or replace function risk.customer_grade(p_customer text) returns text
language sql stable as $$
    select grade from risk.credit_grades where customer_id = p_customer
$$;

-- ---- the collection department's views (docs/dashboards.md) ----

-- Customers with arrears, most urgent first: worst grade first, then the oldest debt, then
-- the largest amount. priority is the row's place in that order (1 = first).
create view risk.v_collection_worklist as
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
       c.as_of
from risk.customer_credit c
left join risk.credit_grades g on g.customer_id = c.customer_id
left join risk.customers cu on cu.customer_id = c.customer_id
where c.arrears_amount > 0
window w as (order by risk.grade_rank(g.grade) desc, c.days_past_due desc,
             c.arrears_amount desc, c.customer_id)
order by priority;

-- Arrears by age of the oldest unpaid debt (days past due 0-30, 31-60, 61-90, 90+) and
-- segment: customers and amounts. Every bucket of a segment with arrears is listed.
create view risk.v_arrears_ageing as
with buckets (bucket, lo, hi, ord) as (
    values ('0-30', 0, 30, 1), ('31-60', 31, 60, 2), ('61-90', 61, 90, 3),
           ('90+', 91, 2147483647, 4)
), owing as (
    select coalesce(cu.segment, 'unknown') as segment, c.days_past_due, c.arrears_amount
    from risk.customer_credit c
    left join risk.customers cu on cu.customer_id = c.customer_id
    where c.arrears_amount > 0
)
select s.segment, b.bucket,
       count(o.segment) as customers,
       coalesce(sum(o.arrears_amount), 0)::numeric(16, 2) as arrears_amount
from (select distinct segment from owing) s
cross join buckets b
left join owing o on o.segment = s.segment and o.days_past_due between b.lo and b.hi
group by s.segment, b.bucket, b.ord
order by s.segment, b.ord;

-- Customers per segment and grade now and 30 days before the newest data (days are the
-- data's local days, so a replayed history reads as it did then), with the change and the
-- moves into the grade over those 30 days (upgrades: from a worse grade).
create view risk.v_grade_distribution as
with ref as (
    select greatest((select max(as_of) from risk.customer_credit),
                    (select max(as_of) from risk.credit_grade_history)) as day
), then_grade as (
    select distinct on (h.customer_id) h.customer_id, h.grade
    from risk.credit_grade_history h, ref
    where h.as_of <= ref.day - 30
    order by h.customer_id, h.as_of desc, h.id desc
), moves as (
    select h.customer_id, h.grade,
           risk.grade_rank(h.grade) < risk.grade_rank(h.previous_grade) as upgrade
    from risk.credit_grade_history h, ref
    where h.as_of > ref.day - 30 and h.previous_grade is not null
), now_n as (
    select coalesce(cu.segment, 'unknown') as segment, g.grade, count(*) as n
    from risk.credit_grades g left join risk.customers cu on cu.customer_id = g.customer_id
    group by 1, 2
), then_n as (
    select coalesce(cu.segment, 'unknown') as segment, t.grade, count(*) as n
    from then_grade t left join risk.customers cu on cu.customer_id = t.customer_id
    group by 1, 2
), move_n as (
    select coalesce(cu.segment, 'unknown') as segment, m.grade,
           count(*) filter (where m.upgrade) as up, count(*) filter (where not m.upgrade) as down
    from moves m left join risk.customers cu on cu.customer_id = m.customer_id
    group by 1, 2
), cells as (
    select segment, grade from now_n union select segment, grade from then_n
    union select segment, grade from move_n
)
select c.segment, c.grade,
       coalesce(n.n, 0) as customers,
       round(100.0 * coalesce(n.n, 0)
             / nullif(sum(coalesce(n.n, 0)) over (partition by c.segment), 0), 1) as share_pct,
       coalesce(t.n, 0) as customers_30d_ago,
       coalesce(n.n, 0) - coalesce(t.n, 0) as change_30d,
       coalesce(m.up, 0) as upgrades_30d,
       coalesce(m.down, 0) as downgrades_30d,
       (select day from ref) as as_of
from cells c
left join now_n n on n.segment = c.segment and n.grade = c.grade
left join then_n t on t.segment = c.segment and t.grade = c.grade
left join move_n m on m.segment = c.segment and m.grade = c.grade
order by c.segment, risk.grade_rank(c.grade);

-- ---- roles ----
grant select, insert, update on risk.credit_grades, risk.customer_credit to risk_detector;
grant select, insert on risk.credit_grade_history to risk_detector;
grant select on risk.theft_confirmations to risk_detector;
grant usage on all sequences in schema risk to risk_detector;
grant execute on function risk.grade_rank(text),
    risk.credit_grade_message(risk.credit_grades, text) to risk_detector;

grant select on risk.credit_grades, risk.credit_grade_history, risk.customer_credit,
    risk.theft_confirmations, risk.v_collection_worklist, risk.v_arrears_ageing,
    risk.v_grade_distribution to risk_analyst;
grant execute on function risk.grade_rank(text) to risk_analyst;

grant select on risk.v_collection_worklist, risk.v_arrears_ageing, risk.v_grade_distribution
    to risk_dashboard;
grant execute on function risk.grade_rank(text) to risk_dashboard;
