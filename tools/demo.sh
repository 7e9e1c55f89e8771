#!/usr/bin/env bash
# demo.sh - `make demo`: the whole riskd job end to end on the embedded defaults.
#
# Starts the local stack (PostgreSQL + mock Kafka), generates a seeded city, publishes it to
# fresh demo topics, runs riskd until idle and prints a readable summary from PostgreSQL, then
# leaves the analyst console (bin/riskd-console) running on the demo database with demo analyst
# roles, and prints its URL and their passwords.
# Knobs (environment): DEMO_CUSTOMERS (2000), DEMO_DAYS (60), DEMO_INTERVAL_S (3600),
# DEMO_SEED (42), DEMO_BAD_RATE (0.0005), DEMO_DUP_RATE (0.001), DEMO_THEFT_RATE (0.03: share
# of customers who steal, plus as many honest look-alikes, labelled in var/demo/labels.csv),
# DEMO_DISTRESS_RATE (0.08: share of customers who fall into payment trouble),
# DEMO_SILENT_RATE (0.01: share of customers whose meter goes silent, half cut by thieves, half
# offline),
# DEMO_BUSINESS_CUSTOMERS (1000: the city whose businesses' two years of daily readings show
# the early warning of operating risk, in a second run on a database of its own).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BIN=${RISKD_BIN:-$ROOT/bin}
CUSTOMERS=${DEMO_CUSTOMERS:-2000}
DAYS=${DEMO_DAYS:-60}
INTERVAL=${DEMO_INTERVAL_S:-3600}
SEED=${DEMO_SEED:-42}
BAD_RATE=${DEMO_BAD_RATE:-0.0005}
DUP_RATE=${DEMO_DUP_RATE:-0.001}
THEFT_RATE=${DEMO_THEFT_RATE:-0.03}
DISTRESS_RATE=${DEMO_DISTRESS_RATE:-0.08}
SILENT_RATE=${DEMO_SILENT_RATE:-0.01}
BIZ_CUSTOMERS=${DEMO_BUSINESS_CUSTOMERS:-1000}
DIR=$ROOT/var/demo
step() { printf '\n== %s\n' "$*"; }

step "local stack"
deploy/local-stack.sh up
eval "$(deploy/local-stack.sh env)"

step "generating a city: $CUSTOMERS customers, $DAYS days, ${INTERVAL}s readings (seed $SEED)"
mkdir -p "$DIR"
"$BIN/riskctl" gen --customers "$CUSTOMERS" --days "$DAYS" --interval-s "$INTERVAL" \
    --seed "$SEED" --bad-rate "$BAD_RATE" --dup-rate "$DUP_RATE" --theft-rate "$THEFT_RATE" \
    --distress-rate "$DISTRESS_RATE" --catch-up-rate 0.3 --silent-rate "$SILENT_RATE" --labels "$DIR/labels.csv" > "$DIR/city.jsonl" 2> "$DIR/gen.log"
lines=$(wc -l < "$DIR/city.jsonl")
bytes=$(stat -c %s "$DIR/city.jsonl")
echo "wrote $lines events ($((bytes / 1048576)) MiB) to var/demo/city.jsonl"

# Fresh topics and database for every demo run, so the summary counts exactly this city.
# The mock cluster keeps about 5 MiB per partition: size the partitions to hold it all.
run=demo$(date +%s)
partitions=$(( bytes / (2 * 1048576) + 1 ))
(( partitions < 6 )) && partitions=6
for t in meter.readings billing.events customer.profiles transformer.readings \
         risk.review-queue risk.credit-grades risk.dead-letter; do
    "$BIN/mock-kafka" ctl --control "$RISKD_MOCK_CONTROL" topic-create "$run.$t" "$partitions" >/dev/null
done
dsn=$(deploy/local-stack.sh newdb riskd_demo 2>/dev/null)
cat > "$DIR/riskd.yaml" <<YAML
# written by tools/demo.sh for run $run
kafka:
  brokers: "$RISKD_KAFKA_BROKERS"
  group_id: "riskd-$run"
topics:
  readings: "$run.meter.readings"
  billing: "$run.billing.events"
  profiles: "$run.customer.profiles"
  transformer: "$run.transformer.readings"
  review_queue: "$run.risk.review-queue"
  credit_grades: "$run.risk.credit-grades"
  dead_letter: "$run.risk.dead-letter"
postgres:
  dsn: "$dsn"
metrics:
  port: 0
stack_env: ""
# example prices for the generator's tariff codes: the back-billing of stolen energy
tariffs:
  currency: "EUR"
  prices: {residential_tiered: 0.21, commercial_flat: 0.18, industrial_two_part: 0.12, agricultural_flat: 0.09}
YAML

step "publishing to $partitions partitions per topic"
env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskctl" produce --route --config "$DIR/riskd.yaml" \
    < "$DIR/city.jsonl"

step "running riskd until idle"
env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskd" --config "$DIR/riskd.yaml" --until-idle 3 \
    2> "$DIR/riskd.log"
tail -n 1 "$DIR/riskd.log"

# The early warning of operating risk needs a year of a business's weeks to compare with: a
# second city, two years of daily readings, whose businesses alone go through riskd on
# topics and a database of their own (their profiles first, so that riskd follows every
# business from its first reading).
step "early warning of operating risk: the businesses of $BIZ_CUSTOMERS customers over 730 days (seed $SEED)"
biz=$DIR/business
mkdir -p "$biz"
"$BIN/riskctl" gen --customers "$BIZ_CUSTOMERS" --days 730 --interval-s 86400 --seed "$SEED" \
    --business-distress 0.2 > "$biz/city.jsonl" 2> "$biz/gen.log"
awk -v profiles="$biz/profiles.jsonl" -v rest="$biz/events.jsonl" '
    NR == FNR { if ($0 ~ /"type":"customer"/ && $0 ~ /"segment":"(commercial|industrial)"/ &&
                    match($0, /"customer_id":"[^"]*"/)) biz[substr($0, RSTART, RLENGTH)] = 1
                next }
    match($0, /"customer_id":"[^"]*"/) && (substr($0, RSTART, RLENGTH) in biz) {
        if ($0 ~ /"type":"customer"/) print > profiles; else print > rest }' \
    "$biz/city.jsonl" "$biz/city.jsonl"
biz_lines=$(cat "$biz/profiles.jsonl" "$biz/events.jsonl" | wc -l)
for t in meter.readings billing.events customer.profiles transformer.readings \
         risk.review-queue risk.credit-grades risk.dead-letter; do
    "$BIN/mock-kafka" ctl --control "$RISKD_MOCK_CONTROL" topic-create "$run.biz.$t" 16 >/dev/null
done
biz_dsn=$(deploy/local-stack.sh newdb riskd_demo_business 2>/dev/null)
sed -e "s|\"$run\.|\"$run.biz.|" -e "s|riskd-$run|riskd-$run-biz|" -e "s|^  dsn: .*|  dsn: \"$biz_dsn\"|" \
    "$DIR/riskd.yaml" > "$biz/riskd.yaml"
for part in profiles events; do
    env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskctl" produce --route --config "$biz/riskd.yaml" \
        < "$biz/$part.jsonl"
    env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskd" --config "$biz/riskd.yaml" --until-idle 3 \
        2>> "$biz/riskd.log"
done
echo "$biz_lines events of $(wc -l < "$biz/profiles.jsonl") businesses; $(tail -n 1 "$biz/riskd.log")"

step "summary"
q() { psql "$dsn" -XAtq -c "$1"; }
bq() { psql "$biz_dsn" -XAtq -c "$1"; }
events=$(q "select coalesce(sum(count),0) from risk.ingest_counts")
accepted=$(q "select coalesce(sum(count),0) from risk.ingest_counts where outcome='accepted'")
dead=$(q "select coalesce(sum(count),0) from risk.ingest_counts where outcome='dead_letter'")
dups=$(q "select coalesce(sum(count),0) from risk.ingest_counts where outcome='duplicate'")
customers=$(q "select count(*) from risk.customers")
days=$(q "select count(*) from risk.daily_usage")
kwh=$(q "select round(sum(kwh)::numeric, 1) from risk.daily_usage")
tdays=$(q "select count(*) from risk.transformer_daily")
loss=$(q "select round(100 * (1 - (select sum(kwh) from risk.daily_usage) / nullif(sum(kwh), 0))::numeric, 2) from risk.transformer_daily")
states=$(q "select count(*) from risk.entity_state")
behind=$(q "select count(*) from risk.kafka_offsets where state_offset is distinct from next_offset")
parts=$(q "select count(*) from risk.kafka_offsets")
# riskd's own time from start to exit, minus the idle wait that ends it
busy=$(grep -o ' seconds=[0-9.]*' "$DIR/riskd.log" | tail -n 1 | cut -d= -f2)
gaps=$(grep -o ' input_gaps=[0-9]*' "$DIR/riskd.log" | tail -n 1 | cut -d= -f2)
# riskd stops only once the area-windows its input queued are attributed (--until-idle)
windows=$(q "select count(*) from risk.area_attribution_window")
rate=$(awk -v n="$events" -v s="$busy" 'BEGIN { printf "%d", (s > 4 ? n / (s - 3) : n / s) }')
printf '  %-34s %s\n' \
    "events read"                        "$events (input lines: $lines)" \
    "  accepted"                         "$accepted" \
    "  dead-lettered"                    "$dead" \
    "  duplicates skipped"               "$dups" \
    "customers"                          "$customers" \
    "customer-days stored"               "$days ($kwh kWh)" \
    "transformer-days stored"            "$tdays (area loss ${loss}%)" \
    "riskd run time"                     "${busy}s (includes ~3s group join, the 3s idle wait and attributing $windows area-windows)" \
    "input lost before riskd read it"    "${gaps:-0}" \
    "state checkpointed"                 "$states customers and transformers; $behind of $parts partitions would replay input after a restart" \
    "throughput"                         "~$rate events/s over the whole run, attributions included (make bench times ingestion)"
# theft alerts against the generator's ground truth
q "create table if not exists demo_labels (customer_id text primary key, pattern text, confounder boolean, onset_day date)" >/dev/null
q "truncate demo_labels" >/dev/null
psql "$dsn" -XAtq -c "\copy demo_labels from '$DIR/labels.csv' with (format csv, header)"
echo
echo "  theft alerts (kind theft, rule set $(q "select coalesce(max(ruleset_name || ' ' || ruleset_version), 'none') from risk.alerts"))"
psql "$dsn" -XAtq -F $'\t' -c "
    select coalesce(l.pattern, 'honest') || case when l.confounder then ' (look-alike)' else '' end,
           count(distinct c.customer_id),
           count(distinct a.customer_id)
    from risk.customers c
    left join demo_labels l using (customer_id)
    left join risk.alerts a on a.customer_id = c.customer_id and a.kind = 'theft'
    group by 1 order by 1" |
    awk -F'\t' 'BEGIN { printf "    %-32s %9s %9s\n", "customers", "count", "alerted" }
                { printf "    %-32s %9d %9d\n", $1, $2, $3 }'
# meters that went silent: no_data alerts, and the thefts the area's loss shows behind them
echo "  silent meters (docs/detection.md, \"Silent meters\"): $(q "select count(*) from risk.v_silent_meters") in risk.v_silent_meters," \
     "$(q "select count(*) from risk.alerts where kind = 'no_data' and status = 'open'") no_data alerts open," \
     "$(q "select count(distinct a.customer_id) from risk.alerts a where a.kind = 'theft' and exists
           (select 1 from jsonb_array_elements(a.rules) r where r->>'id' = 'silent_meter_area_loss')") thefts alerted by silent_meter_area_loss" \
     "(truth: $(q "select count(*) from demo_labels where pattern = 'meter_silenced'") meters cut by thieves," \
     "$(q "select count(*) from demo_labels where pattern = 'meter_offline'") offline)"
echo "  area attribution (risk.area_attribution; docs/detection.md): $(q "select count(*) from risk.area_attribution_window") area-windows solved by riskd," \
     "$(q "select count(*) from risk.area_attribution_window where resolution_s = 3600") of them hourly"
echo "    largest attributed losses in each area's newest window (customer, area, share, kWh a day, z, truth):"
psql "$dsn" -XAtq -F $'\t' -c "
    select a.customer_id, a.transformer_id, round(a.share::numeric, 2), round(a.kwh_day::numeric, 1),
           round(a.z::numeric, 1), coalesce(l.pattern, 'honest')
    from risk.area_attribution a
    join (select transformer_id, max(window_end_day) d from risk.area_attribution_window
          group by 1) w on w.transformer_id = a.transformer_id and w.d = a.window_end_day
    left join demo_labels l using (customer_id)
    where a.kwh_day > 0 order by a.kwh_day desc limit 5" |
    awk -F'\t' '{ printf "    %-10s %-8s %5.2f %7.1f %7.1f  %s\n", $1, $2, $3, $4, $5, $6 }'
# meters that falsify their readings (false-data injection), on observer-style areas of the
# generator: one area of 30 households whose transformer observes their sum (docs/detection.md)
echo "  false-data injection on observer-style areas (bin/riskctl eval --observer-sets 5 --seed 101;"
echo "    30 households, 5 thieves each, readings scaled, cut, flattened or the day reversed):"
env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskctl" eval --observer-sets 5 --seed 101 --json |
    /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("    precision at 5 %.2f (random ranking %.2f), honest households alerted %.1f%%" % (
    r["observer_precision_at_5"], r["random_precision_at_5"], 100 * r["honest_alerted_share"]))
print("    " + ", ".join("%s %d/%d" % (a["pattern"], round(a["recall"] * a["thieves"]), a["thieves"])
                      for a in r["attacks"]))'
echo "  top rules in alerts:"
psql "$dsn" -XAtq -F $'\t' -c "
    select r->>'id', count(*) from risk.alerts a, jsonb_array_elements(a.rules) r
    group by 1 order by 2 desc, 1 limit 5" | awk -F'\t' '{ printf "    %-32s %9d\n", $1, $2 }'
echo "  review queue: $(kcat -C -b "$RISKD_KAFKA_BROKERS" -t "$run.risk.review-queue" -e -q -f '%k\n' 2>/dev/null | wc -l) messages on $run.risk.review-queue, $(q "select coalesce(sum(revision), 0) from risk.alerts") published by $(q "select count(*) from risk.alerts") alerts"
echo "  work it: bin/riskctl alerts list --config var/demo/riskd.yaml (docs/review-queue.md)"
echo "  who acts: each analyst is a PostgreSQL login role in risk_analyst (leads: risk_lead) and the"
echo "    audit trail records that role; riskd's own role may set an alert's status directly:" \
     "$(q "select case when has_column_privilege('risk_detector', 'risk.alerts', 'status', 'UPDATE') then 'yes' else 'no' end")"
# stolen energy since onset, its back-billing, and the field crews' inspection list
echo "  stolen energy and back-billing of the top alerts (risk.v_review_queue; docs/detection.md):"
psql "$dsn" -XAtq -F $'\t' -c "
    select q.customer_id, q.stolen_method, round(q.stolen_kwh::numeric, 1),
           round(q.stolen_kwh_low::numeric, 1) || '..' || round(q.stolen_kwh_high::numeric, 1),
           coalesce(q.backbill_amount || ' ' || q.backbill_currency, 'none (' || q.backbill_reason || ')'),
           coalesce(l.pattern, 'honest')
    from risk.v_review_queue q left join demo_labels l using (customer_id)
    order by q.priority limit 5" |
    awk -F'\t' 'BEGIN { printf "    %-10s %-11s %10s %-19s %-16s %s\n", "customer", "method", "kWh", "95% range", "back-bill", "truth" }
                { printf "    %-10s %-11s %10s %-19s %-16s %s\n", $1, $2, $3, $4, $5, $6 }'
echo "  inspection list, top 5 (bin/riskctl inspect --budget 5 --config var/demo/riskd.yaml):"
env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskctl" inspect --budget 5 --config "$DIR/riskd.yaml" |
    sed 's/^./    &/'
echo
echo "  credit grades ($(q "select coalesce(max(policy), 'none') from risk.credit_grades"), hysteresis $(grep -o 'hysteresis_points=[0-9.]*' "$DIR/riskd.log" | head -n 1 | cut -d= -f2) points)"
psql "$dsn" -XAtq -F $'\t' -c "select grade, customers, share_pct, upgrades_30d, downgrades_30d
    from (select grade, sum(customers) customers,
                 round(100.0 * sum(customers) / sum(sum(customers)) over (), 1) share_pct,
                 sum(upgrades_30d) upgrades_30d, sum(downgrades_30d) downgrades_30d
          from risk.v_grade_distribution group by grade) x order by risk.grade_rank(grade)" |
    awk -F'\t' 'BEGIN { printf "    %-8s %9s %7s %14s %14s\n", "grade", "customers", "share", "up (30 days)", "down (30 days)" }
                { printf "    %-8s %9d %6.1f%% %14d %14d\n", $1, $2, $3, $4, $5 }'
echo "  grade changes: $(q "select count(*) from risk.credit_grade_history") recorded, $(kcat -C -b "$RISKD_KAFKA_BROKERS" -t "$run.risk.credit-grades" -e -q -f '%k\n' 2>/dev/null | wc -l) messages on $run.risk.credit-grades"
echo "  arrears by age (risk.v_arrears_ageing, all segments):"
psql "$dsn" -XAtq -F $'\t' -c "select bucket, sum(customers), sum(arrears_amount) from risk.v_arrears_ageing
    group by bucket order by min(case bucket when '0-30' then 1 when '31-60' then 2 when '61-90' then 3 else 4 end)" |
    awk -F'\t' '{ printf "    %-8s %6d customers %14.2f\n", $1, $2, $3 }'
echo "  service policy by grade (the actions of rules/credit.yaml recorded with each grade; docs/credit.md):"
psql "$dsn" -XAtq -F $'\t' -c "select grade, count(*), coalesce(deposit_multiple::text, '-'),
    case when prepayment_required then 'yes' else 'no' end, case when payment_plan_eligible then 'yes' else 'no' end,
    coalesce(reminder_days::text, '-'), case when disconnection_notice_eligible then 'eligible' else 'no' end
    from risk.credit_grades group by grade, deposit_multiple, prepayment_required, payment_plan_eligible,
    reminder_days, disconnection_notice_eligible order by risk.grade_rank(grade), 2 desc" |
    awk -F'\t' 'BEGIN { printf "    %-6s %9s %9s %8s %6s %10s %22s\n", "grade", "customers", "deposit", "prepay", "plan", "reminders", "disconnection notice" }
                { printf "    %-6s %9d %9s %8s %6s %9sd %22s\n", $1, $2, $3, $4, $5, $6, $7 }'
# the early warning of operating risk, from the business run
echo "  operating-risk warnings (kind operating_risk, $(bq "select coalesce(max(ruleset_name || ' ' || ruleset_version), 'none') from risk.alerts where kind = 'operating_risk'"); docs/credit.md), second run:"
echo "    $(bq "select count(*) from risk.v_operating_risk_warnings") open for $(bq "select count(*) from risk.customers") businesses;" \
     "$(bq "select count(*) from risk.v_operating_risk_warnings where days_past_due >= 30") of them 30+ days past due by now," \
     "$(bq "select count(*) from risk.customer_credit c where days_past_due >= 30 and not exists (select 1 from risk.alerts a where a.customer_id = c.customer_id and a.kind = 'operating_risk')") in arrears without a warning"
psql "$biz_dsn" -XAtq -F $'\t' -c "
    select w.customer_id, w.segment, w.first_day, string_agg(r->>'id', '+' order by r->>'id'),
           (select string_agg(e.key || ' ' || round(e.value::numeric, 2), ', ' order by e.key)
            from jsonb_each(w.rules->0->'evidence') e where jsonb_typeof(e.value) = 'number'),
           coalesce(w.grade, '-'), w.days_past_due
    from risk.v_operating_risk_warnings w, jsonb_array_elements(w.rules) r
    group by w.customer_id, w.segment, w.first_day, w.rules, w.grade, w.days_past_due
    order by w.days_past_due desc, w.customer_id limit 1" |
    awk -F'\t' '{ printf "    e.g. %s (%s): warned since %s by %s (%s); now grade %s, %d days past due\n", $1, $2, $3, $4, $5, $6, $7 }'
echo "    collection worklist with the warnings: risk.v_collection_worklist_operating ($(bq "select count(*) from risk.v_collection_worklist_operating where operating_risk_alert is not null") rows warned); database: psql \"$biz_dsn\""
explain_id=$(q "select customer_id from risk.credit_grades where grade = 'C' and path_to_better_grade is not null order by customer_id limit 1")
if [[ -n $explain_id ]]; then
    echo "  path to a better grade, e.g. $explain_id (C): $(q "select string_agg(s->>'text', '; ') from risk.credit_grades, jsonb_array_elements(path_to_better_grade->'steps') s where customer_id = '$explain_id'")"
    echo "  explain it: bin/riskctl credit explain $explain_id --config var/demo/riskd.yaml"
fi
# the collection department's dashboards log in as a role of their own in risk_dashboard
q "do \$\$ begin if not exists (select from pg_roles where rolname = 'collections') then
     create role collections login in role risk_dashboard; end if; end \$\$" >/dev/null
echo "  collection worklist, first 3, as the dashboards' login role collections (risk.v_collection_worklist; docs/dashboards.md):"
psql "${dsn/user=postgres/user=collections}" -XAtq -F $'\t' -c "select priority, customer_id, coalesce(grade, '-'), days_past_due, arrears_amount,
    case when open_theft_alert then 'theft alert open' else '' end from risk.v_collection_worklist limit 3" |
    awk -F'\t' '{ printf "    %2d. %-10s %-4s %4d days past due %12.2f  %s\n", $1, $2, $3, $4, $5, $6 }'
if [[ $events -ne $lines ]]; then
    echo "demo: error: riskd accounted for $events events but the file has $lines lines" >&2
    exit 1
fi

# The analyst console on this database, with demo analysts that log in with a password over
# TLS (members of stack_password_users); a console an earlier demo started is stopped first.
console_pid=$(cat "$DIR/console.pid" 2>/dev/null || true)
if [[ -n $console_pid ]] && [[ $(ps -o comm= -p "$console_pid" 2>/dev/null) == riskd-console ]]; then
    kill "$console_pid"
fi
console_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
declare -A pw
for who in demo_alice:risk_analyst demo_bob:risk_analyst demo_lead:risk_lead; do
    role=${who%%:*}
    pw[$role]=$(openssl rand -hex 8)
    q "do \$\$ begin if not exists (select from pg_roles where rolname = '$role') then
         create role $role login; end if; end \$\$;
       grant ${who#*:}, stack_password_users to $role;
       alter role $role password '${pw[$role]}'" >/dev/null
done
cat >> "$DIR/riskd.yaml" <<YAML
console:
  port: $console_port
  database: "host=localhost port=$RISKD_PG_PORT dbname=riskd_demo sslmode=verify-full sslrootcert=$RISKD_PG_CA"
YAML
nohup "$BIN/riskd-console" -c "$DIR/riskd.yaml" > "$DIR/console.log" 2>&1 &
echo $! > "$DIR/console.pid"
echo
echo "  analyst console: http://127.0.0.1:$console_port/login (docs/console.md; log var/demo/console.log)"
echo "    analysts demo_alice / ${pw[demo_alice]} and demo_bob / ${pw[demo_bob]}, lead demo_lead / ${pw[demo_lead]}"
echo "    stop it: kill \$(cat var/demo/console.pid)"
echo
echo "Logs: var/demo/riskd.log   Database: psql \"$dsn\""
