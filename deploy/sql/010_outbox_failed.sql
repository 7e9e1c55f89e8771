-- 010_outbox_failed.sql - outbox messages that fit, and a place for those Kafka refuses.
--
-- riskd's producer sends messages up to 1,000,000 bytes (librdkafka's message.max.bytes,
-- KAFKA_MESSAGE_MAX_BYTES in streams/kafka.h; Kafka's default topic limit is 1,048,588). A
-- dead letter (an outbox row with an x-error header) keeps the original bytes of the input it
-- rejects; an input larger than risk.outbox_payload_max() (512 KiB) is cut to its first
-- 524,288 bytes when the row is written, and the row gains the headers x-original-length (the
-- input's length in bytes), x-original-sha256 (hex SHA-256 of the whole input, computed here
-- with PostgreSQL's sha256()) and x-truncated: true. 512 KiB of payload leaves room under the
-- producer's limit for the key and the headers. docs/events.md describes the dead letters.
--
-- A row Kafka still rejects for good (message too large, invalid topic name or record) is
-- moved by the relay from risk.outbox to risk.outbox_failed with the error and the time, so
-- the rows after it are published; riskd counts it in riskd_outbox_failed_total.

-- The largest payload a dead letter carries, in bytes.
create function risk.outbox_payload_max() returns integer
language sql immutable parallel safe as $$ select 524288 $$;

-- Cuts an oversized dead letter to risk.outbox_payload_max() bytes and says so in its headers.
create function risk.outbox_fit_dead_letter() returns trigger
language plpgsql as $$
begin
    new.headers := new.headers || array[
        'x-original-length', octet_length(new.payload)::text,
        'x-original-sha256', encode(sha256(new.payload), 'hex'),
        'x-truncated', 'true'];
    new.payload := substring(new.payload from 1 for risk.outbox_payload_max());
    return new;
end
$$;

create trigger outbox_fit_dead_letter
    before insert on risk.outbox
    for each row
    when (octet_length(new.payload) > 524288 and 'x-error' = any(new.headers))
    execute function risk.outbox_fit_dead_letter();

-- Outbox rows Kafka rejected for good: the row as it was, why, and when it was moved here.
-- Nothing reads it back automatically: an operator inspects it and, once the cause is fixed,
-- may insert a row again into risk.outbox to publish it.
create table risk.outbox_failed (
    id         bigint primary key,            -- the row's id in risk.outbox
    topic      text  not null,
    msg_key    bytea,
    payload    bytea not null,
    headers    text[] not null default '{}',  -- name, value, name, value, ...
    created_at timestamptz not null,          -- when the row was written to risk.outbox
    error      text  not null,                -- the producer's error
    failed_at  timestamptz not null default now()
);

grant select, insert, update, delete on risk.outbox_failed to risk_detector;
grant execute on function risk.outbox_payload_max() to risk_detector, risk_lifecycle;
grant execute on function risk.outbox_fit_dead_letter() to risk_detector, risk_lifecycle;
