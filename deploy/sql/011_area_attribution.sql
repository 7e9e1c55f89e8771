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
-- riskd writes a day's hours as it writes its daily sum: whole when the day closes or its
-- entity is checkpointed (the open day's hours travel with the entity's state snapshot,
-- risk.entity_state.hours), and a late reading for a closed day as an addition: a part
-- (risk.hourly_usage_part, risk.transformer_hourly_part), appended in the batch's transaction.
-- An entity-day's hourly sums are its row here plus its parts, slot by slot (a NULL slot adds
-- nothing); the attribution folds the parts of the days it reads into these rows when it
-- claims a window (detector/store_attrib.c).
--
-- Attribution. An area-window (transformer_id, window_end_day) is solved from these committed
-- rows by whichever riskd instance claims it from risk.area_attribution_queue (FOR UPDATE SKIP
-- LOCKED: two instances never solve the same one at once). A window is queued when its end
-- day is balanced for the first time or its balance changes (a late reading, a customer that
-- joined the area: triggers on risk.area_balance, which risk.refresh_area_balance writes), and
-- so is every window already solved whose days include that day. The
-- solve is a pure function of the rows it reads, so any instance, a restart or a replay
-- stores the same findings for the same window once its days are final.

-- The open day's hourly sums of an entity travel with its state snapshot (riskd writes a
-- day's hours whole when it closes or its entity is checkpointed, as it does the daily sums):
-- hours_day is the local day (days since 1970-01-01) of hours; NULL when none.
alter table risk.entity_state add column hours_day integer, add column hours bigint[];

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

-- Parts not yet folded in; day is days since 1970-01-01 (as riskd writes it).
create table risk.hourly_usage_part (
    customer_id text    not null,
    day         integer not null,
    uwh         bigint[] not null
);
create index hourly_usage_part_entity on risk.hourly_usage_part (customer_id, day);

create table risk.transformer_hourly_part (
    transformer_id text    not null,
    day            integer not null,
    uwh            bigint[] not null
);
create index transformer_hourly_part_entity on risk.transformer_hourly_part (transformer_id, day);

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

-- Queues the attribution of an area-day whose balance is new or changed (its transformer
-- energy, its customers' energy or their number; risk.refresh_area_balance writes
-- risk.area_balance), and of every window already solved whose days include that day.
create function risk.queue_area_attribution() returns trigger
language plpgsql as $$
begin
    insert into risk.area_attribution_queue as q (transformer_id, window_end_day)
    select new.transformer_id, new.day
    union
    select w.transformer_id, w.window_end_day
    from risk.area_attribution_window w
    where w.transformer_id = new.transformer_id and w.window_end_day > new.day
      and w.window_end_day - (w.history_days + w.window_days) < new.day
    on conflict (transformer_id, window_end_day) do update set queued_at = now();
    return null;
end
$$;

create trigger area_balance_new_queues_attribution
    after insert on risk.area_balance
    for each row execute function risk.queue_area_attribution();

create trigger area_balance_change_queues_attribution
    after update on risk.area_balance
    for each row
    when (old.feeder_kwh is distinct from new.feeder_kwh
          or old.customers_kwh is distinct from new.customers_kwh
          or old.customers is distinct from new.customers)
    execute function risk.queue_area_attribution();

grant select, insert, update, delete on risk.hourly_usage, risk.transformer_hourly,
    risk.hourly_usage_part, risk.transformer_hourly_part,
    risk.area_attribution_window, risk.area_attribution, risk.area_attribution_queue
    to risk_detector;
grant execute on function risk.queue_area_attribution() to risk_detector;
revoke execute on function risk.queue_area_attribution() from public;
grant select on risk.hourly_usage, risk.hourly_usage_part, risk.area_attribution_window, risk.area_attribution
    to risk_analyst;
