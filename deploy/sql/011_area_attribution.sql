-- 011_area_attribution.sql - hourly energy sums, and the joint attribution of each area's
-- non-technical loss to its customers over a sliding window (docs/detection.md, "Joint
-- attribution of an area's loss").
--
-- Hourly sums. Beside each entity-day's daily sum, riskd adds the energy of its sub-daily
-- readings per hour of the local day: uwh[h] (h = 1..24, PostgreSQL arrays count from 1) is
-- the exact sum in micro-kWh of the readings of local hour h - 1 (the second of the day the
-- reading starts at, / 3600, at most 23); a reading longer than an hour is spread evenly over
-- the hours it covers within its day (the micro-kWh left over go to its first hours), so the
-- 24 slots of a day add up to the daily sum of its sub-daily readings. NULL: no reading began
-- in that hour (0 is a reading of nothing). A reading of a day or longer adds no hourly sum.
-- Batches add to the row as to daily_usage: each committed batch adds what it read, in the
-- same transaction as its offsets, so every reading counts exactly once.
--
-- Attribution. An area-window (transformer_id, window_end_day) is solved from these committed
-- rows by whichever riskd instance claims it from risk.area_attribution_queue (FOR UPDATE SKIP
-- LOCKED: two instances never solve the same one at once). A window is queued when its end
-- day is balanced for the first time or its balance changes (a late reading, a customer that
-- joined the area), and so is every window already solved whose days include that day. The
-- solve is a pure function of the rows it reads, so any instance, a restart or a replay
-- stores the same findings for the same window once its days are final.

create table risk.hourly_usage (
    customer_id text   not null,
    day         date   not null,
    uwh         bigint[] not null,   -- 24 hourly sums in micro-kWh, NULL: no reading
    primary key (customer_id, day)
) with (fillfactor = 70);

create table risk.transformer_hourly (
    transformer_id text   not null,
    day            date   not null,
    uwh            bigint[] not null,
    primary key (transformer_id, day)
) with (fillfactor = 70);

-- Adds two hourly arrays slot by slot; a NULL slot (no reading) plus a NULL slot stays NULL.
create function risk.hours_add(a bigint[], b bigint[])
returns bigint[] language sql immutable parallel safe as $$
    select array(select case when x is null then y when y is null then x else x + y end
                 from unnest(a, b) with ordinality as s(x, y, i) order by i)
$$;

-- One row per area-window solved: the area's outcome (scoring/attrib.h, struct
-- attrib_area_result). status: ok, too_few_rows (fewer than 3 transformer readings: nothing
-- attributed), no_dof (as many active columns as rows: no z).
create table risk.area_attribution_window (
    transformer_id  text    not null,
    window_end_day  date    not null,
    window_days     integer not null,   -- attribution.window_days of the solve
    history_days    integer not null,   -- attribution.history_days of the solve
    status          text    not null check (status in ('ok', 'too_few_rows', 'no_dof')),
    resolution_s    integer not null,   -- 3600 (hourly sums) or 86400 (daily sums)
    rows            integer not null,   -- intervals with a transformer reading: the fit's rows
    customers       integer not null,
    columns_active  integer not null,
    ntl_kwh         double precision not null,  -- feeder - customers - technical, over the rows
    technical_kwh   double precision not null,
    noload_kw       double precision not null,  -- technical loss: no-load part, kW
    load_per_kw     double precision not null,  -- and its part growing with load squared
    residual_mean   double precision not null,
    residual_sd     double precision not null,
    noise_sd        double precision not null,
    fit_r2          double precision not null,
    iterations      integer not null,
    computed_at     timestamptz not null default now(),
    primary key (transformer_id, window_end_day)
);

-- Each customer's finding in an area-window (struct attrib_finding): its share of the area's
-- non-technical loss, the stolen kWh per day and over the window's rows, z = stolen / standard
-- error, and the regressor that carried it (metered, shortfall, silent, none).
create table risk.area_attribution (
    transformer_id  text    not null,
    window_end_day  date    not null,
    customer_id     text    not null,
    resolution_s    integer not null,
    share           real    not null,
    kwh_day         real    not null,
    stolen_kwh      real    not null,
    z               real    not null,
    carrier         text    not null check (carrier in ('metered', 'shortfall', 'silent', 'none')),
    computed_at     timestamptz not null default now(),
    primary key (transformer_id, window_end_day, customer_id)
);
create index area_attribution_customer on risk.area_attribution (customer_id, window_end_day);

-- Area-windows waiting to be solved. A row is taken (locked, solved, its findings written,
-- deleted) in one transaction; queueing a row that an instance is solving waits for it and
-- then queues it again, so a change that came too late for that solve gets its own.
create table risk.area_attribution_queue (
    transformer_id  text not null,
    window_end_day  date not null,
    queued_at       timestamptz not null default now(),
    primary key (transformer_id, window_end_day)
);
-- claims take the oldest end day first
create index area_attribution_queue_order on risk.area_attribution_queue
    (window_end_day, transformer_id);

-- 002's balance, which also queues the attribution of the area-days whose balance is new or
-- changed, and of the windows already solved over them.
create or replace function risk.refresh_area_balance(p_days date[])
returns integer language plpgsql as $$
declare
    n integer;
begin
    create temp table if not exists tmp_balanced (transformer_id text, day date)
        on commit drop;
    with feeder as (
        select t.transformer_id, t.day, t.kwh_uwh
        from risk.transformer_daily t
        where t.day = any(p_days) and t.covered_s >= 86400
    ), area as (
        -- sums in exact integer micro-kWh, so the result does not depend on row order
        select f.transformer_id, f.day, f.kwh_uwh / 1e6::float8 as feeder_kwh,
               count(c.customer_id) as customers,
               count(u.customer_id) filter (where u.covered_s >= 86400) as complete,
               coalesce(sum(u.kwh_uwh), 0) / 1e6::float8 as customers_kwh
        from feeder f
        join risk.customers c on c.transformer_id = f.transformer_id
        left join risk.daily_usage u on u.customer_id = c.customer_id and u.day = f.day
        group by f.transformer_id, f.day, f.kwh_uwh
    ), changed as (
        -- every statement of this query sees area_balance as it was before the insert below
        select a.transformer_id, a.day
        from area a
        left join risk.area_balance b on b.transformer_id = a.transformer_id and b.day = a.day
        where a.customers = a.complete
          and (b.transformer_id is null or b.feeder_kwh <> a.feeder_kwh
               or b.customers_kwh <> a.customers_kwh or b.customers <> a.customers)
    ), queued as (
        insert into risk.area_attribution_queue as q (transformer_id, window_end_day)
        select transformer_id, day from changed
        union
        select w.transformer_id, w.window_end_day
        from changed c
        join risk.area_attribution_window w
          on w.transformer_id = c.transformer_id and w.window_end_day > c.day
         and w.window_end_day - (w.history_days + w.window_days) < c.day
        on conflict (transformer_id, window_end_day) do update set queued_at = now()
    ), written as (
        insert into risk.area_balance as b (transformer_id, day, feeder_kwh, customers_kwh,
                                            loss_rate, customers)
        select transformer_id, day, feeder_kwh, customers_kwh,
               (feeder_kwh - customers_kwh) / nullif(feeder_kwh, 0), customers
        from area
        where customers = complete
        on conflict (transformer_id, day) do update set
            feeder_kwh = excluded.feeder_kwh, customers_kwh = excluded.customers_kwh,
            loss_rate = excluded.loss_rate, customers = excluded.customers, computed_at = now()
        returning b.transformer_id, b.day
    )
    insert into tmp_balanced select * from written;
    get diagnostics n = row_count;

    update risk.area_balance b
    set baseline_loss_rate = s.baseline,
        excess_kwh = (b.loss_rate - s.baseline) * b.feeder_kwh
    from (
        select a.transformer_id, a.day, risk.area_baseline_loss(a.transformer_id, a.day) as baseline
        from risk.area_balance a
        join (select transformer_id, min(day) as first_day from tmp_balanced
              group by transformer_id) t
          on t.transformer_id = a.transformer_id and a.day >= t.first_day
    ) s
    where b.transformer_id = s.transformer_id and b.day = s.day;
    drop table tmp_balanced;
    return n;
end
$$;

grant select, insert, update, delete on risk.hourly_usage, risk.transformer_hourly,
    risk.area_attribution_window, risk.area_attribution, risk.area_attribution_queue
    to risk_detector;
grant execute on function risk.hours_add(bigint[], bigint[]) to risk_detector;
grant select on risk.hourly_usage, risk.area_attribution_window, risk.area_attribution
    to risk_analyst;
revoke execute on function risk.hours_add(bigint[], bigint[]) from public;
