-- 016_reading_coverage.sql - input sent again, told apart from new input at any distance
-- (docs/events.md, "Repeated readings"): which time of each closed local day riskd has
-- counted readings for, so that a reading sent again (a file resent days later, after a
-- restart) is recognised; and the bills, payments and reversals it has counted, unique for
-- ever.
--
-- One row per entity-day that closed: kind 'c' (a customer, risk.daily_usage) or 't' (a
-- transformer, risk.transformer_daily), the local day as days since 1970-01-01, and cover:
-- 100 little-endian 16-bit codes, one per quarter hour of the local day (a 25-hour day has
-- 100): 0 no reading covers it; 1..32767 a reading of (code - 1) Wh starts here; 32768..65533
-- a reading starts here whose energy is not a whole number of Wh below 32,767 Wh (a hash of
-- it); 65534 covered by a reading that starts in an earlier quarter hour. riskd writes a
-- day's row whole when the day closes, in the batch's transaction, and rewrites it when a
-- late reading for that day is counted (or a restatement applied). A late reading reads its day's row once per
-- batch. The open day's coverage travels in the entity's state snapshot (risk.entity_state).
create table risk.reading_coverage (
    kind      "char"  not null,
    entity_id text    not null,
    day       integer not null,
    cover     bytea   not null,
    primary key (kind, entity_id, day)
) with (fillfactor = 70);

grant select, insert, update, delete on risk.reading_coverage to risk_detector;

-- Bills, payments and reversals are unique by their ids for ever: a bill by its bill_id, a
-- payment by its event_id, a reversal by the payment_event_id it reverses, each per
-- customer. riskd records every one it counts here, with the message that carried it, in
-- the batch's transaction; the primary key refuses a second copy. A batch that would record
-- a second copy is rolled back instead and read again with that message skipped as a
-- duplicate (counted, not an error); the skipped messages are kept in
-- risk.billing_repeats, so that a replay after a restart skips them too.
create table risk.billing_event_ids (
    customer_id text    not null,
    kind        text    not null check (kind in ('bill', 'payment', 'payment_reversal')),
    id          text    not null,
    topic       text    not null,
    partition   integer not null,
    msg_offset  bigint  not null,
    primary key (customer_id, kind, id)
);

create table risk.billing_repeats (
    topic      text    not null,
    partition  integer not null,
    msg_offset bigint  not null,
    primary key (topic, partition, msg_offset)
);

grant select, insert, update, delete on risk.billing_event_ids, risk.billing_repeats
    to risk_detector;
