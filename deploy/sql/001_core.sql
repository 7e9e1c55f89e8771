-- 001_core.sql - riskd's core schema: ingestion state, daily usage, offsets and the outbox.
--
-- Every batch riskd processes commits in ONE transaction: its results (daily_usage,
-- transformer_daily, customers, ingest_counts, outbox rows), the snapshots of the entities it
-- touched (entity_state) and the next offsets per partition (kafka_offsets).

create schema if not exists risk;

-- Next offset to read per consumer group, topic and partition. riskd seeks here on assignment
-- and updates it only if it still holds the value riskd loaded (fencing a stale instance).
create table risk.kafka_offsets (
    consumer_group text    not null,
    topic          text    not null,
    partition      integer not null,
    next_offset    bigint  not null,
    updated_at     timestamptz not null default now(),
    primary key (consumer_group, topic, partition)
);

-- Snapshot of one entity's fixed-size in-memory state. kind 'c' = customer (partition of the
-- customer-keyed input topics), 't' = transformer (partition of the transformer topic).
create table risk.entity_state (
    kind       "char"  not null check (kind in ('c', 't')),
    entity_id  text    not null,
    partition  integer not null,
    state      bytea   not null,
    updated_at timestamptz not null default now(),
    primary key (kind, entity_id)
);
create index entity_state_partition on risk.entity_state (kind, partition);

-- Each customer's energy per local day: the sum of kwh of its meter readings.
-- kwh_uwh is the exact integer sum in micro-kWh; kwh is derived from it.
create table risk.daily_usage (
    customer_id text    not null,
    day         date    not null,
    kwh         double precision not null,
    readings    integer not null,
    kwh_uwh     bigint  not null,
    primary key (customer_id, day)
);

-- Each transformer area's metered energy per local day.
create table risk.transformer_daily (
    transformer_id text    not null,
    day            date    not null,
    kwh            double precision not null,
    readings       integer not null,
    kwh_uwh        bigint  not null,
    primary key (transformer_id, day)
);

-- Latest customer profile.
create table risk.customers (
    customer_id    text primary key,
    segment        text not null,
    transformer_id text not null,
    tariff         text,
    capacity_kw    double precision,
    since          date,
    updated_at     timestamptz not null default now()
);
create index customers_transformer on risk.customers (transformer_id);

-- What happened to every consumed message, per source partition (exact across restarts).
-- outcome: accepted | dead_letter | duplicate. event_type is '-' when the type is unknown.
create table risk.ingest_counts (
    topic      text    not null,
    partition  integer not null,
    event_type text    not null,
    outcome    text    not null check (outcome in ('accepted', 'dead_letter', 'duplicate')),
    count      bigint  not null,
    primary key (topic, partition, event_type, outcome)
);

-- Transactional outbox: Kafka messages written in the batch's transaction and published
-- afterwards by the relay (at least once; every payload carries a stable id or its source
-- coordinates so a reader can drop a repeat).
create table risk.outbox (
    id         bigserial primary key,
    topic      text  not null,
    msg_key    bytea,
    payload    bytea not null,
    headers    text[] not null default '{}',  -- name, value, name, value, ...
    created_at timestamptz not null default now()
);
