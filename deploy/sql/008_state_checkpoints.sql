-- 008_state_checkpoints.sql - state checkpoints on their own cadence.
--
-- Every batch commits its results with next_offset; the state snapshots of a partition's
-- entities are written less often (batch.checkpoint_interval_ms). state_offset is the next
-- offset of the partition whose effects the stored snapshots do NOT hold yet: on assignment
-- riskd loads the snapshots, reads from state_offset and replays the messages below
-- next_offset for state only (their results are stored already). -1 = from the beginning.
-- NULL (rows written before this column existed) means the same as next_offset.
alter table risk.kafka_offsets add column state_offset bigint;
alter table risk.kafka_offsets add constraint kafka_offsets_state_behind
    check (state_offset is null or state_offset <= next_offset);
