-- 005_rule_counts.sql - how often each rule was evaluated, fired and read a missing feature.
--
-- riskd adds its counts in every batch's transaction, so they are exact across restarts.
-- Shadow rules are counted like active ones (they never raise alerts): compare `fired` of a
-- shadow rule with its active sibling before promoting it. missing_reads counts comparisons
-- made false because a feature was not yet known for the customer.

create table risk.rule_counts (
    ruleset_name    text   not null,
    ruleset_version text   not null,
    rule_id         text   not null,
    mode            text   not null check (mode in ('active', 'shadow')),
    evaluations     bigint not null,
    fired           bigint not null,
    missing_reads   bigint not null,
    primary key (ruleset_name, ruleset_version, rule_id)
);

grant select, insert, update on risk.rule_counts to risk_detector;
grant select on risk.rule_counts to risk_analyst;
