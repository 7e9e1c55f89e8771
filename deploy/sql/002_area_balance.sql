-- 002_area_balance.sql - energy balance per transformer area and local day.
--
-- An area-day is complete when the transformer's readings and every customer of the area
-- cover the whole day (covered_s >= 86400). The balance is computed here, from committed
-- rows, so it is right whichever riskd instance (and partition) each customer lives in: every
-- instance calls risk.refresh_area_balance for the days its batch touched, after its commit,
-- and the last writer of an area-day always sees all of it.

alter table risk.daily_usage add column covered_s integer not null default 0;
alter table risk.transformer_daily add column covered_s integer not null default 0;

create table risk.area_balance (
    transformer_id     text    not null,
    day                date    not null,
    feeder_kwh         double precision not null,  -- transformer meter
    customers_kwh      double precision not null,  -- sum of its customers' daily energy
    loss_rate          double precision,           -- (feeder - customers) / feeder
    excess_kwh         double precision,           -- (loss_rate - baseline_loss_rate) * feeder
    baseline_loss_rate double precision,           -- the area's own normal loss (see below)
    customers          integer not null,
    computed_at        timestamptz not null default now(),
    primary key (transformer_id, day)
);

-- The area's normal (technical) loss rate for a day: the 20th percentile of its loss rate
-- over the 60 days before, once at least 7 balanced days exist. A low quantile stays near the
-- technical loss while theft raises part of the window.
create function risk.area_baseline_loss(p_transformer text, p_day date)
returns double precision language sql stable as $$
    select case when count(*) >= 7
                then percentile_cont(0.2) within group (order by loss_rate) end
    from risk.area_balance
    where transformer_id = p_transformer and day >= p_day - 60 and day < p_day
      and loss_rate is not null
$$;

-- Computes (or recomputes) the balance of every complete area-day on the given days, then the
-- baseline and excess of those areas' days from the earliest given day on (a baseline reads
-- only earlier loss rates, so the result does not depend on the order in which area-days
-- complete). Returns the number of area-days balanced. Idempotent: reads committed rows only.
create function risk.refresh_area_balance(p_days date[])
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

-- Days whose area balance must be (re)computed. Each batch adds the days it touched in its
-- own transaction; after committing, riskd drains the queue (risk.drain_area_balance). A
-- drain sees every row committed before it, so the drain that takes the last row of a day
-- sees all of that day's data, whichever instance wrote it. Drains are serialised.
create table risk.area_refresh_queue (
    id  bigserial primary key,
    day date not null
);

create function risk.drain_area_balance()
returns integer language plpgsql as $$
declare
    days date[];
begin
    -- One drain at a time: a baseline reads other days' loss rates, which a concurrent drain
    -- may be writing; serialised, every drain sees all earlier drains' results.
    perform pg_advisory_xact_lock(hashtext('risk.drain_area_balance'));
    with taken as (delete from risk.area_refresh_queue returning day)
    select array_agg(distinct day) into days from taken;
    if days is null then
        return 0;
    end if;
    return risk.refresh_area_balance(days);
end
$$;
