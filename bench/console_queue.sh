#!/usr/bin/env bash
# console_queue.sh - the analyst console's queue page at 100,000 alerts: server time per page.
#
#   bench/console_queue.sh [ALERTS]        (default 100000; the local stack must be up)
#
# Fills database riskd_bench_console with ALERTS theft alerts (70% closed, 20% open, 10% in
# review, 60-day curves, customers spread over 500 areas and 3 segments), starts
# bin/riskd-console on it, logs in as an analyst and times each queue page a person would
# open (curl's time from request to last byte, on loopback: the console's and PostgreSQL's
# time). Prints the median of 5 runs per page. docs/performance.md keeps the figures.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BIN=${RISKD_BIN:-$ROOT/bin}
ALERTS=${1:-100000}
DIR=$ROOT/var/bench-console
PASSWORD=bench-$(openssl rand -hex 6)
mkdir -p "$DIR"
eval "$(deploy/local-stack.sh env)"
dsn=$(deploy/local-stack.sh newdb riskd_bench_console 2>/dev/null)
q() { psql "$dsn" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

q "set client_min_messages = warning; do \$\$ begin if not exists (select from pg_roles where rolname = 'bench_analyst') then
     create role bench_analyst login; end if; end \$\$;
   grant risk_analyst, stack_password_users to bench_analyst;
   alter role bench_analyst password '$PASSWORD'" >/dev/null
t0=$(date +%s.%N)
q "insert into risk.customers (customer_id, segment, transformer_id)
   select 'C' || lpad(i::text, 7, '0'), (array['residential', 'commercial', 'industrial'])[1 + i % 3],
          'T' || lpad((i % 500)::text, 4, '0')
   from generate_series(1, $ALERTS) i" >/dev/null
q "with curve as (select jsonb_agg(jsonb_build_object('day', d::date, 'kwh', 9 - (d > '2026-02-15')::int * 7,
                                                 'baseline', 9) order by d) c
                  from generate_series(date '2026-01-02', date '2026-03-01', interval '1 day') d)
   insert into risk.alerts (alert_id, customer_id, kind, status, score, severity, rules, ruleset_name,
                            ruleset_version, ruleset_hash, curve, first_day, last_day, firings,
                            opened_at, analyst, disposition, note, closed_at)
   select 'theft-C' || lpad(i::text, 7, '0') || '-20260301', 'C' || lpad(i::text, 7, '0'), 'theft',
          s, 30 + (i * 7919 % 700) / 10.0, (array['low', 'medium', 'high', 'critical'])[1 + i % 4],
          jsonb_build_array(jsonb_build_object('id', (array['sudden_drop', 'zeroed_hours', 'peak_plateau'])[1 + i % 3],
                                               'title', 'rule', 'score', 30, 'severity', 'high', 'evidence', '{}'::jsonb)),
          'theft', '1.0.0', 'h', c, date '2026-03-01', date '2026-03-01', 1,
          now() - (i % 90) * interval '1 day',
          case when s <> 'open' then 'bench_analyst' end,
          case when s = 'closed' then 'false_positive' end,
          case when s = 'closed' then 'n' end,
          case when s = 'closed' then now() end
   from curve, generate_series(1, $ALERTS) i,
        lateral (select case when i % 10 < 7 then 'closed' when i % 10 < 9 then 'open'
                             else 'in_review' end as s) st" >/dev/null
q "vacuum analyze risk.alerts" >/dev/null  # as autovacuum would
q "vacuum analyze risk.customers" >/dev/null
printf 'filled %s alerts in %.1f s\n' "$ALERTS" "$(echo "$(date +%s.%N) - $t0" | bc)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$DIR/console.yaml" <<YAML
stack_env: ""
console:
  port: $port
  database: "host=localhost port=$RISKD_PG_PORT dbname=riskd_bench_console sslmode=verify-full sslrootcert=$RISKD_PG_CA"
YAML
"$BIN/riskd-console" -c "$DIR/console.yaml" > "$DIR/console.log" 2>&1 &
console=$!
trap 'kill $console 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
jar=$DIR/cookies
rm -f "$jar"
csrf=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$port/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode username=bench_analyst \
    --data-urlencode "password=$PASSWORD" --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/login"

printf '%-52s %10s\n' "queue page (50 rows)" "median ms"
for page in "/queue" "/queue?sort=age" "/queue?status=all" "/queue?status=open&severity=critical" \
            "/queue?rule=zeroed_hours" "/queue?area=T0042" "/queue?segment=industrial&age=30" \
            "/queue?assigned=me" "/queue?status=all&page=1000" "/queue.csv?status=open"; do
    times=()
    for _ in 1 2 3 4 5; do
        times+=("$(curl -s -o /dev/null -b "$jar" -w '%{time_total}' "http://127.0.0.1:$port$page")")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    printf '%-52s %10.1f\n' "$page" "$(echo "$median * 1000" | bc)"
done
