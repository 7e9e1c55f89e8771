-- Silent meters: a customer whose meter stops reporting has its days closed after
-- days.lateness_s of event time (detector/silent.h). Such a day is stored like any other in
-- risk.daily_usage, with `silent` set: its readings (if any) do not cover the day, but no more
-- will come, so the area balance counts it as complete and balances the area-day with the
-- energy the meter did send. A silent day that the theft rules leave below their threshold
-- raises an alert of kind 'no_data' (not theft: a meter to visit); one whose area's loss rose
-- by about its usual load is a theft alert as any other (docs/detection.md, "Silent meters").

alter table risk.daily_usage add column silent boolean not null default false;
alter table risk.transformer_daily add column silent boolean not null default false;

alter table risk.alerts drop constraint alerts_kind_check;
alter table risk.alerts add constraint alerts_kind_check
    check (kind in ('theft', 'operating_risk', 'no_data'));

-- 002's balance, with a customer-day complete when its readings cover the whole day or it
-- closed silent. Everything else as before.
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
               count(u.customer_id) filter (where u.covered_s >= 86400 or u.silent) as complete,
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

-- Open no_data alerts: meters that sent nothing for a whole day, longest silent first, with
-- their area and the days since their last reading (from the alert's evidence).
create view risk.v_silent_meters as
select a.alert_id,
       a.customer_id,
       c.transformer_id,
       c.segment,
       a.status,
       a.analyst,
       a.first_day,
       a.last_day,
       (a.rules->0->'evidence'->>'silent_hours')::float8 as silent_hours,
       (a.rules->0->'evidence'->>'kwh_avg_14d')::float8 as usual_kwh_day,
       a.rules->0->'evidence'->>'area_attrib_carrier' as area_attrib_carrier,
       (a.rules->0->'evidence'->>'area_attrib_z')::float8 as area_attrib_z
from risk.alerts a
left join risk.customers c on c.customer_id = a.customer_id
where a.kind = 'no_data' and a.status in ('open', 'in_review')
order by a.first_day, a.customer_id;

grant select on risk.v_silent_meters to risk_analyst, risk_dashboard;
