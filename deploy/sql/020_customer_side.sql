-- What riskd keeps beside a customer's in-memory state, for the customers that have it: a
-- business's operating weeks (scoring/operating.h, the early warning of operating risk) and
-- a customer's attributes as its profile declared them (scoring/attributes.yaml). Written in
-- the batch transaction that writes the customer's snapshot in risk.entity_state, loaded
-- with it when a partition is assigned; a customer without side state has no row.
create table risk.customer_side (
    customer_id text primary key,
    partition   int not null,
    operating   bytea,             -- op_state_encode bytes; null: not a business
    attributes  bytea,             -- the attribute values by schema name; null: none
    updated_at  timestamptz not null default now()
);
create index customer_side_partition on risk.customer_side (partition);

grant select, insert, update, delete on risk.customer_side to risk_detector;
