#!/usr/bin/env bash
# run.sh - `make bench`: riskd end to end against two consumer ceilings and a Python peer,
# and its reading-to-alert latency at half that rate. `run.sh latency` (`make bench-latency`)
# runs the latency rounds alone.
#
# Generates a seeded city with `riskctl gen`, loads it into a private mock Kafka cluster (its
# own mock-kafka launcher under var/bench/, stopped at the end, so the local stack's broker does
# not keep a gigabyte of benchmark data), checks that no partition dropped anything, then
# measures, round by round (A, B, riskd, peer, then again), on the same topics from the
# beginning with a fresh consumer group each time:
#   ceiling_a    bench/ceiling read   (plain librdkafka group consumer)
#   ceiling_b    bench/ceiling parse  (the same + json_loadb/json_decref per message)
#   riskd        bin/riskd --until-idle with a fresh database (time from the partition
#                assignment to the last batch commit, from its debug log)
#   python_peer  bench/peer.py with its own fresh database
# then the latency rounds (bench/latency.sh: a paced producer at half riskd's median rate, and
# the time from each triggering reading's publish to its alert in risk.alerts), and measures the
# memory and restore figures (bench/statefill, bench/restore) and the attribution's cost per
# area-window (bench/attrib_bench). `run.sh profile` (`make
# bench-profile`) loads the same city and makes only the profiled riskd run of BENCH_PROFILE=1
# (var/bench/profile.txt): no measured rounds, no results written. `run.sh compare` (`make
# bench-compare BENCH_AGAINST="DIR..."`) loads the same city and times this checkout's riskd
# against the riskd of each other built checkout DIR, round by round: no results written. bench/report.py
# turns the measurements into bench/results.json and the table on stdout; bench/README.md
# explains every figure. PostgreSQL is the local stack's (deploy/local-stack.sh up).
#
# Knobs (environment, or make variables: `make bench BENCH_DAYS=2`):
#   BENCH_CUSTOMERS (20000), BENCH_DAYS (4), BENCH_INTERVAL_S (1800), BENCH_SEED (2026),
#   BENCH_BAD_RATE (0.0005), BENCH_DUP_RATE (0.001)   the city (riskctl gen)
#   BENCH_RUNS (3)                    measured runs per consumer (the median is reported)
#   BENCH_PARTITION_MIB (2)           mean bytes per partition, well under the mock's 5 MiB
#   BENCH_PEER_EVENTS (0)             events the Python peer reads (0 = all of them)
#   BENCH_STATE_CUSTOMERS (1000000)   customers of the memory and restore figures
#   BENCH_RESTORE_PARTITIONS (32)     partitions they are spread over for the restore figure
#   BENCH_ATTRIB_RUNS (20)            solves timed for the attribution figure (the median)
#   BENCH_PROFILE (0)                 1 = one more riskd run under `perf record` with its SQL
#                                     timed by PostgreSQL: var/bench/profile.txt
#   BENCH_AGAINST                     `compare`: the other checkouts (each built: DIR/bin/riskd)
#   BENCH_LATENCY_* (bench/latency.sh)  the latency city, rounds, polling period and rate
#   BENCH_RESULTS (bench/results.json)
set -euo pipefail
MODE=${1:-all}
[[ $MODE == all || $MODE == latency || $MODE == profile || $MODE == compare ]] \
    || { echo "usage: bench/run.sh [all|latency|profile|compare]" >&2; exit 2; }
if [[ $MODE == profile ]]; then BENCH_RUNS=0 BENCH_PROFILE=1; fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BIN=${RISKD_BIN:-$ROOT/bin}
BENCH_BIN=${BENCH_BIN:-$ROOT/build/rel/bench}
PY=/usr/bin/python3     # Debian's interpreter: python3-confluent-kafka and -psycopg2 live there
CUSTOMERS=${BENCH_CUSTOMERS:-20000}
DAYS=${BENCH_DAYS:-4}
INTERVAL=${BENCH_INTERVAL_S:-1800}
SEED=${BENCH_SEED:-2026}
BAD_RATE=${BENCH_BAD_RATE:-0.0005}
DUP_RATE=${BENCH_DUP_RATE:-0.001}
RUNS=${BENCH_RUNS:-3}
PART_MIB=${BENCH_PARTITION_MIB:-2}
STATE_CUSTOMERS=${BENCH_STATE_CUSTOMERS:-1000000}
RESTORE_PARTITIONS=${BENCH_RESTORE_PARTITIONS:-32}
PEER_EVENTS=${BENCH_PEER_EVENTS:-0}
ATTRIB_RUNS=${BENCH_ATTRIB_RUNS:-20}
PROFILE=${BENCH_PROFILE:-0}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results.json}
OUT=$ROOT/var/bench
PARTITIONS_MAX=4096          # riskd's limit per input topic (detector/pipeline.c)
MOCK_PART_BYTES=$((5 * 1048576))
CLK_TCK=$(getconf CLK_TCK)

say() { printf '== %s\n' "$*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

for f in "$BIN/riskd" "$BIN/riskctl" "$BIN/mock-kafka" "$BENCH_BIN/ceiling" "$BENCH_BIN/statefill" \
         "$BENCH_BIN/restore" "$BENCH_BIN/latency" "$BENCH_BIN/attrib_bench"; do
    [[ -x $f ]] || die "$f missing: run 'make bench' (it builds everything first)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (Debian package 'time')"
$PY -c 'import confluent_kafka, psycopg2' 2>/dev/null \
    || die "$PY cannot import confluent_kafka and psycopg2 (python3-confluent-kafka, python3-psycopg2)"
# shellcheck source=bench/latency.sh
source "$ROOT/bench/latency.sh"

mkdir -p "$OUT"
if [[ $MODE == all ]]; then
    rm -f "$OUT"/*.out "$OUT"/*.err "$OUT"/*.time "$OUT"/*.pgticks "$OUT"/*.result "$OUT"/*.yaml \
        "$OUT"/runs.txt "$OUT"/meta.txt
    RUNS_TXT=$OUT/runs.txt
else
    RUNS_TXT=$OUT/$MODE-runs.txt   # the last full run's runs.txt stays as it was
    rm -f "$RUNS_TXT"
fi

# ---- PostgreSQL (local stack) and a private mock Kafka cluster ----------------------------

say "local stack (PostgreSQL)"
RISKD_BIN=$BIN deploy/local-stack.sh up
eval "$(deploy/local-stack.sh env)"

KDIR=$OUT/kafka
if (( ${#KDIR} > 80 )); then KDIR=$(mktemp -d /tmp/riskd-bench-kafka.XXXXXX); fi
mkdir -p "$KDIR"
rm -f "$KDIR/bootstrap" "$KDIR/control.sock"
MOCK_PID=
stop_mock() {
    if [[ -n $MOCK_PID ]] && kill -0 "$MOCK_PID" 2>/dev/null; then
        "$BIN/mock-kafka" ctl --control "$KDIR/control.sock" shutdown >/dev/null 2>&1 \
            || kill "$MOCK_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$MOCK_PID" 2>/dev/null && kill "$MOCK_PID" 2>/dev/null || true
    fi
    MOCK_PID=
}
trap stop_mock EXIT
"$BIN/mock-kafka" serve --brokers 1 --bootstrap-file "$KDIR/bootstrap" \
    --control "$KDIR/control.sock" </dev/null >"$OUT/mock-kafka.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 300); do [[ -s $KDIR/bootstrap ]] && break; sleep 0.1; done
[[ -s $KDIR/bootstrap ]] || die "private mock-kafka did not start (log: $OUT/mock-kafka.log)"
BROKERS=$(cat "$KDIR/bootstrap")

# ---- helpers -----------------------------------------------------------------------------

# CPU ticks used so far by process $1 (utime + stime), 0 when it is gone.
cpu_ticks() {
    local stat f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    f=(${stat##*) })
    echo $(( f[11] + f[12] ))
}

# Samples, every 0.2 s until killed, the CPU ticks of the PostgreSQL backends serving database
# $1 (their process title is "postgres: USER DB ...") and writes the running total to file $2.
# Backends of other databases (other users of the local stack) are not counted.
pg_sampler() {
    local db=$1 out=$2 pid t sum
    declare -A seen=()
    while :; do
        for pid in $(pgrep -f "^postgres: [^ ]+ $db " || true); do
            t=$(cpu_ticks "$pid")
            (( t > ${seen[$pid]:-0} )) && seen[$pid]=$t
        done
        sum=0
        for pid in "${!seen[@]}"; do sum=$(( sum + seen[$pid] )); done
        echo "$sum" > "$out.tmp" && mv "$out.tmp" "$out"
        sleep 0.2
    done
}

# Busy CPU ticks of the whole machine so far (all CPUs: everything but idle and iowait).
machine_ticks() {
    local _cpu user nice system idle iowait irq softirq steal _rest
    read -r _cpu user nice system idle iowait irq softirq steal _rest < /proc/stat
    echo $(( user + nice + system + irq + softirq + steal ))
}

# Prints the DSN of a fresh database NAME with riskd's migrations. Other users of the local
# stack (the end-to-end suites) stop and restart PostgreSQL on purpose: wait for it to come
# back (up to 3 minutes), then start it ourselves if it did not.
newdb() {
    local i
    for ((i = 0; i < 180; i++)); do
        deploy/local-stack.sh status >/dev/null 2>&1 && break
        (( i == 0 )) && say "PostgreSQL is down (another user of the local stack?): waiting"
        sleep 1
    done
    if ! deploy/local-stack.sh status >/dev/null 2>&1; then
        RISKD_BIN=$BIN deploy/local-stack.sh up
    fi
    deploy/local-stack.sh newdb "$1"
}

# measure KIND RUN RESULTCMD [DB] -- CMD...: runs CMD under /usr/bin/time, then RESULTCMD (a
# shell snippet printing the key=value result line, kept in KIND-RUN.result) and appends one
# line to runs.txt with the result, peak RSS, times, the CPU seconds of the broker and of the
# PostgreSQL backends serving database DB, and what the rest of the machine used meanwhile.
measure() {
    local kind=$1 run=$2 resultcmd=$3 db=
    if [[ $4 != -- ]]; then db=$4; shift; fi
    shift 4
    local tf=$OUT/$kind-$run.time pgf=$OUT/$kind-$run.pgticks b0 b1 m0 m1 rc=0 sampler=
    echo 0 > "$pgf"
    if [[ -n $db ]]; then pg_sampler "$db" "$pgf" & sampler=$!; fi
    b0=$(cpu_ticks "$MOCK_PID"); m0=$(machine_ticks)
    /usr/bin/time -f "rss_kb=%M wall_s=%e user_s=%U sys_s=%S" -o "$tf" "$@" \
        > "$OUT/$kind-$run.out" 2> "$OUT/$kind-$run.err" || rc=$?
    b1=$(cpu_ticks "$MOCK_PID"); m1=$(machine_ticks)
    if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; fi
    if (( rc != 0 )); then
        tail -5 "$OUT/$kind-$run.err" >&2
        say "$kind run $run failed (exit $rc; var/bench/$kind-$run.err)"
        return 1
    fi
    local pg
    pg=$(cat "$pgf")
    local result
    result=$(eval "$resultcmd")
    echo "$result" > "$OUT/$kind-$run.result"
    local line="kind=$kind run=$run $result $(tail -1 "$tf")"
    line+=" broker_cpu_s=$(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
    line+=" postgres_cpu_s=$(awk -v p="$pg" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", p / t }')"
    # everything else the machine ran meanwhile (other users, builds): the noise indicator
    line+=" other_cpu_s=$(awk -v m0="$m0" -v m1="$m1" -v b="$((b1 - b0))" -v p="$pg" -v t="$CLK_TCK" \
        -v u="$(tail -1 "$tf")" 'BEGIN { split(u, f, /[ =]/); own = f[6] + f[8];
            o = (m1 - m0 - b - p) / t - own; printf "%.2f", o < 0 ? 0 : o }')"
    echo "$line" >> "$RUNS_TXT"
    local rate
    rate=$(tr ' ' '\n' <<<"$result" | sed -n 's/^events_per_s=//p')
    printf '   %-12s run %d: %9s events/s  (%s)\n' "$kind" "$run" "$rate" "$(tail -1 "$tf")" >&2
}

check_count() { # the result line of $1 must report $2 messages
    local got
    got=$(tr ' ' '\n' < "$1" | sed -n 's/^messages=//p' | tail -1)
    [[ $got == "$2" ]] || die "$1: read $got messages, expected $2"
}

# riskd's configuration for run $1 against database DSN $2 (written to stdout)
riskd_config() {
    cat <<YAML
# written by bench/run.sh
kafka:
  brokers: "$BROKERS"
  group_id: "riskd-$PREFIX-$1"
topics:
  readings: "${IN_TOPICS[0]}"
  billing: "${IN_TOPICS[1]}"
  profiles: "${IN_TOPICS[2]}"
  transformer: "${IN_TOPICS[3]}"
  review_queue: "$PREFIX.risk.review-queue"
  credit_grades: "$PREFIX.risk.credit-grades"
  dead_letter: "$PREFIX.risk.dead-letter"
postgres:
  dsn: "$2"
days:
  timezone: "Asia/Shanghai"
metrics:
  port: 0
stack_env: ""
YAML
}

if [[ $MODE == latency ]]; then
    # the rate: BENCH_LATENCY_RATE, else half of riskd's rate in the last full `make bench`
    # (bench/results.json), else half of the rate riskd catches up at in each round
    if [[ -n ${BENCH_LATENCY_RATE:-} ]]; then
        LAT_RATE=$BENCH_LATENCY_RATE; LAT_SOURCE=option
    elif full=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["riskd_events_per_s"])' \
                 "$RESULTS" 2>/dev/null) && [[ $full =~ ^[0-9]+$ ]]; then
        LAT_RATE=$((full / 2)); LAT_SOURCE=results_json
    else
        LAT_RATE=catchup; LAT_SOURCE=catchup
    fi
    latency_rounds "$LAT_RATE"
    stop_mock
    echo "latency_rate_source=$LAT_SOURCE" > "$OUT/latency-meta.txt"
    $PY bench/report.py latency "$RUNS_TXT" "$OUT/latency-meta.txt" "$RESULTS"
    echo "results: ${RESULTS#$ROOT/}   measurements: var/bench/latency-runs.txt   logs: var/bench/latency-*/"
    exit 0
fi

# ---- the city ------------------------------------------------------------------------------

CITY=$OUT/city.jsonl
# reused only when made by the same riskctl with the same options
params="customers=$CUSTOMERS days=$DAYS interval_s=$INTERVAL seed=$SEED bad=$BAD_RATE dup=$DUP_RATE"
params+=" riskctl=$(md5sum < "$BIN/riskctl" | cut -c1-12)"
if [[ -s $CITY && -s $OUT/city.params && $(cat "$OUT/city.params") == "$params" ]]; then
    say "city: reusing var/bench/city.jsonl ($params)"
else
    say "city: generating ($params)"
    rm -f "$OUT/city.params"
    "$BIN/riskctl" gen --customers "$CUSTOMERS" --days "$DAYS" --interval-s "$INTERVAL" \
        --seed "$SEED" --bad-rate "$BAD_RATE" --dup-rate "$DUP_RATE" >"$CITY" 2>"$OUT/gen.log"
    echo "$params" > "$OUT/city.params"
fi
EVENTS=$(wc -l < "$CITY")
BYTES=$(stat -c %s "$CITY")

# The mock keeps about 5 MiB per partition and silently drops the oldest data past that. Keyed
# messages spread unevenly (murmur2 of customer_id), so aim the mean well below the cap; the
# watermark check after loading proves nothing was dropped.
PARTITIONS=$(( (BYTES + PART_MIB * 1048576 - 1) / (PART_MIB * 1048576) ))
PARTITIONS=$(( (PARTITIONS + 7) / 8 * 8 ))
(( PARTITIONS >= 8 )) || PARTITIONS=8
if (( PARTITIONS > PARTITIONS_MAX )); then
    die "$EVENTS events ($((BYTES / 1048576)) MiB) need $PARTITIONS partitions of ${PART_MIB} MiB;" \
        "riskd takes at most $PARTITIONS_MAX per topic and the mock keeps 5 MiB per partition:" \
        "lower BENCH_DAYS or BENCH_CUSTOMERS (bench/README.md, 'Size')"
fi
per_customer=$(( BYTES / CUSTOMERS ))
if (( per_customer * ((CUSTOMERS + PARTITIONS - 1) / PARTITIONS) * 2 > MOCK_PART_BYTES )); then
    die "each customer has $((per_customer / 1024)) KiB of events; with $((CUSTOMERS / PARTITIONS))" \
        "customers per partition the fullest partitions would pass the mock's 5 MiB and lose data:" \
        "lower BENCH_DAYS (bench/README.md, 'Size')"
fi
say "city: $EVENTS events, $((BYTES / 1048576)) MiB -> $PARTITIONS partitions per topic"

# ---- topics and loading --------------------------------------------------------------------

PREFIX=bench$(date +%s)
IN_TOPICS=("$PREFIX.meter.readings" "$PREFIX.billing.events" "$PREFIX.customer.profiles"
           "$PREFIX.transformer.readings")
for t in "${IN_TOPICS[@]}"; do
    "$BIN/mock-kafka" ctl --control "$KDIR/control.sock" topic-create "$t" "$PARTITIONS" >/dev/null
done
for t in risk.review-queue risk.credit-grades risk.dead-letter; do
    "$BIN/mock-kafka" ctl --control "$KDIR/control.sock" topic-create "$PREFIX.$t" 4 >/dev/null
done

say "loading $EVENTS events into the mock cluster"
riskd_config load "dbname=unused" > "$OUT/produce.yaml"
t0=$(date +%s.%N)
env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskctl" produce --route --config "$OUT/produce.yaml" \
    < "$CITY" > "$OUT/produce.log" 2>&1 || { tail -5 "$OUT/produce.log" >&2; die "produce failed"; }
t1=$(date +%s.%N)
if ! "$BENCH_BIN/ceiling" watermarks --brokers "$BROKERS" "${IN_TOPICS[@]}" > "$OUT/watermarks.txt"; then
    cat "$OUT/watermarks.txt" >&2
    die "the mock cluster dropped messages (a partition passed 5 MiB): lower BENCH_PARTITION_MIB"
fi
held=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^messages=/) { split($i, a, "="); n += a[2] } } END { print n + 0 }' "$OUT/watermarks.txt")
(( held == EVENTS )) || die "the topics hold $held messages, the city has $EVENTS lines"
largest=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^largest_partition=/) { split($i, a, "="); if (a[2] > m) m = a[2] } } END { print m + 0 }' "$OUT/watermarks.txt")
say "loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; nothing dropped; fullest partition $largest messages"

PEER_COUNT=$EVENTS
if (( PEER_EVENTS > 0 && PEER_EVENTS < EVENTS )); then PEER_COUNT=$PEER_EVENTS; fi

# ---- compare: this checkout's riskd against other checkouts' -------------------------------

# Prints the DSN of a fresh database $2 migrated by checkout $1's riskctl with its own
# deploy/sql, so an older riskd runs against the schema it was written for.
newdb_from() {
    local dir=$1 db=$2 dsn
    newdb "$db" >/dev/null   # waits for PostgreSQL; the schema is dropped below
    psql "$RISKD_PG_DSN" -XAtq -c "drop database if exists \"$db\" with (force)" \
        -c "create database \"$db\"" >/dev/null
    dsn=$(sed -E "s/dbname=[^ ]+/dbname=$db/" <<<"$RISKD_PG_DSN")
    "$dir/bin/riskctl" migrate --dir "$dir/deploy/sql" --dsn "$dsn" >/dev/null \
        || die "migrations of $dir failed on $db"
    echo "$dsn"
}

# BENCH_RUNS rounds; in each, riskd of every contender (this checkout, then BENCH_AGAINST) on
# a fresh database, run from its own checkout so that it reads its own rule sets, cards and
# attribute schema, the order rotated from round to round so that the machine's drift falls
# on all alike. Prints each contender's median events/s, its ratio to this checkout's, and the
# digest of its daily usage and alerts (equal digests: the same results).
compare_rounds() {
    local dirs=("$ROOT") d r k i n dsn q a
    for d in ${BENCH_AGAINST:-}; do
        d=$(cd "$d" && pwd -P) || die "BENCH_AGAINST: no directory $d"
        [[ -x $d/bin/riskd && -x $d/bin/riskctl && -d $d/deploy/sql ]] \
            || die "BENCH_AGAINST: $d has no bin/riskd, bin/riskctl or deploy/sql (run make there)"
        dirs+=("$d")
    done
    (( ${#dirs[@]} > 1 )) || die "compare: BENCH_AGAINST names no other checkout"
    n=${#dirs[@]}
    q="copy (select customer_id, day, kwh_uwh, readings from risk.daily_usage order by 1, 2) to stdout"
    q+="; copy (select customer_id, kind, first_day, score from risk.alerts order by 1, 2, 3) to stdout"
    for ((r = 1; r <= RUNS; r++)); do
        say "round $r of $RUNS"
        for ((k = 0; k < n; k++)); do
            i=$(( (k + r - 1) % n )); d=${dirs[$i]}
            dsn=$(newdb_from "$d" "bench_cmp_$i")
            riskd_config "cmp$i-$r" "$dsn" > "$OUT/cmp$i-$r.yaml"
            measure "cmp$i" "$r" "$PY bench/report.py riskd-log '$OUT/cmp$i-$r.err'" "bench_cmp_$i" -- \
                env -C "$d" -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$d/bin/riskd" --config "$OUT/cmp$i-$r.yaml" \
                --until-idle 3 --log-level debug || die "riskd of $d failed (var/bench/cmp$i-$r.err)"
            check_count "$OUT/cmp$i-$r.result" "$EVENTS"
            grep -q ' resyncs=0' "$OUT/cmp$i-$r.result" \
                || die "riskd of $d: PostgreSQL went away during the run (resyncs > 0); run again"
            a=$(psql "$dsn" -XAtq -c "$q" | md5sum)
            echo "${a%% *}" > "$OUT/cmp$i.digest"
        done
    done
    echo
    printf '%-10s %-44s %12s %8s  %s\n' contender checkout "events/s" ratio "results digest"
    local base=
    for ((i = 0; i < n; i++)); do
        local med
        med=$(sed -n "s/^kind=cmp$i run=[0-9]* .*events_per_s=\([0-9.]*\).*/\1/p" "$RUNS_TXT" | sort -n \
            | awk '{ v[NR] = $1 } END { printf "%d", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
        [[ -n $base ]] || base=$med
        printf '%-10s %-44s %12s %8s  %s\n' "cmp$i" \
            "$(git -C "${dirs[$i]}" log -1 --format=%h 2>/dev/null || echo '?') ${dirs[$i]}" "$med" \
            "$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.3f", a / b }')" "$(cat "$OUT/cmp$i.digest")"
    done
    echo "runs: var/bench/compare-runs.txt (each run's rate, CPU and the machine's other load)"
}

# ---- measuring -----------------------------------------------------------------------------

if [[ $MODE == compare ]]; then
    compare_rounds
    stop_mock
    exit 0
fi

PEER_MATCH=unknown
for ((r = 1; r <= RUNS; r++)); do
    say "round $r of $RUNS"
    measure ceiling_a "$r" "tail -1 '$OUT/ceiling_a-$r.out'" -- \
        "$BENCH_BIN/ceiling" read --brokers "$BROKERS" --group "ceil-a-$PREFIX-$r" \
        --count "$EVENTS" "${IN_TOPICS[@]}" || die "ceiling A failed"
    check_count "$OUT/ceiling_a-$r.result" "$EVENTS"
    measure ceiling_b "$r" "tail -1 '$OUT/ceiling_b-$r.out'" -- \
        "$BENCH_BIN/ceiling" parse --brokers "$BROKERS" --group "ceil-b-$PREFIX-$r" \
        --count "$EVENTS" "${IN_TOPICS[@]}" || die "ceiling B failed"
    check_count "$OUT/ceiling_b-$r.result" "$EVENTS"

    # riskd logs to stderr: riskd-R.err is its log (debug level adds one line per batch). A run
    # in which PostgreSQL went away (the end-to-end suites restart the local stack's server on
    # purpose: resyncs > 0) measured the outage, not riskd: it is discarded and run again, once.
    # The same for a Python peer run that failed (psycopg2 gives up when the server goes away).
    for attempt in 1 2; do
        rdsn=$(newdb "bench_riskd_$r")
        riskd_config "$r-$attempt" "$rdsn" > "$OUT/riskd-$r.yaml"
        if measure riskd "$r" "$PY bench/report.py riskd-log '$OUT/riskd-$r.err'" "bench_riskd_$r" -- \
            env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskd" --config "$OUT/riskd-$r.yaml" \
            --until-idle 3 --log-level debug; then
            check_count "$OUT/riskd-$r.result" "$EVENTS"
            grep -q ' resyncs=0' "$OUT/riskd-$r.result" && break
            sed -i '$d' "$RUNS_TXT"
            say "riskd run $r: PostgreSQL went away during the run (resyncs > 0)"
        fi
        (( attempt == 2 )) && die "riskd run $r failed twice"
        say "riskd run $r: running it again"
    done

    for attempt in 1 2; do
        pdsn=$(newdb "bench_peer_$r")
        if measure python_peer "$r" "tail -1 '$OUT/python_peer-$r.out'" "bench_peer_$r" -- \
            $PY bench/peer.py --brokers "$BROKERS" --group "peer-$PREFIX-$r-$attempt" --dsn "$pdsn" \
            --readings "${IN_TOPICS[0]}" --billing "${IN_TOPICS[1]}" --profiles "${IN_TOPICS[2]}" \
            --transformer "${IN_TOPICS[3]}" --count "$PEER_COUNT" --timezone Asia/Shanghai; then
            break
        fi
        (( attempt == 2 )) && die "Python peer run $r failed twice"
        say "Python peer run $r: running it again"
    done
    check_count "$OUT/python_peer-$r.result" "$PEER_COUNT"

    if (( r == 1 && PEER_COUNT == EVENTS )); then
        # Same job, same answer: the peer's daily usage must equal riskd's, row for row.
        q="copy (select customer_id, day, kwh_uwh, readings from %s order by 1, 2) to stdout"
        a=$(psql "$rdsn" -XAtq -c "$(printf "$q" risk.daily_usage)" | md5sum)
        b=$(psql "$pdsn" -XAtq -c "$(printf "$q" peer.daily_usage)" | md5sum)
        if [[ $a == "$b" ]]; then PEER_MATCH=true; else PEER_MATCH=false; fi
        say "Python peer's daily usage identical to riskd's: $PEER_MATCH"
        # riskd's own digest, to compare one version of riskd with another on the same city
        say "riskd daily usage digest: ${a%% *}"
        echo "${a%% *}" > "$OUT/daily_usage.md5"
    fi
done

if [[ $PROFILE == 1 ]]; then
    # One more riskd run, profiled on both sides: perf samples riskd's threads (with call
    # chains, summarised by bench/perfsum.py) while PostgreSQL logs the duration of every
    # statement of this run's database (log_min_duration_statement for that database only).
    if perf record -q -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
        say "profile: one more riskd run under perf record, PostgreSQL statements timed"
        rdsn=$(newdb bench_riskd_profile)
        psql "$rdsn" -XAtqc "alter database bench_riskd_profile set log_min_duration_statement = 0"
        riskd_config profile "$rdsn" > "$OUT/riskd-profile.yaml"
        pglog=var/log/postgres.log
        pgline=$(wc -l < "$pglog")
        perf record -q -e cpu-clock -F 299 --call-graph dwarf,16384 -o "$OUT/perf-riskd.data" -- \
            env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskd" \
            --config "$OUT/riskd-profile.yaml" --until-idle 3 --log-level debug \
            2> "$OUT/riskd-profile.log" >/dev/null
        tail -n +"$((pgline + 1))" "$pglog" > "$OUT/pg-statements.log"
        {
            echo "riskd run: $($PY bench/report.py riskd-log "$OUT/riskd-profile.log")"
            echo
            echo "== riskd's threads (perf, cpu-clock at 299 Hz)"
            perf script -i "$OUT/perf-riskd.data" -F comm,tid,ip,sym,dso 2>/dev/null \
                | $PY bench/perfsum.py --binary riskd --top 30
            echo
            echo "== PostgreSQL statements of the run (server-side durations)"
            $PY bench/report.py pg-log "$OUT/pg-statements.log"
        } > "$OUT/profile.txt"
        say "profile: var/bench/profile.txt"
    else
        say "profile: perf cannot record here (kernel.perf_event_paranoid?); skipped"
    fi
fi
if [[ $MODE == profile ]]; then
    stop_mock
    exit 0
fi

# ---- latency -------------------------------------------------------------------------------

# Half of riskd's median rate of the rounds above, unless BENCH_LATENCY_RATE says otherwise.
if [[ -n ${BENCH_LATENCY_RATE:-} ]]; then
    LAT_RATE=$BENCH_LATENCY_RATE; LAT_SOURCE=option
else
    LAT_RATE=$(cat "$OUT"/riskd-*.result | tr ' ' '\n' | sed -n 's/^events_per_s=//p' | sort -n \
        | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                  printf "%d", m / 2 }')
    LAT_SOURCE=riskd_median
fi
latency_rounds "$LAT_RATE"

stop_mock

# ---- memory figure -------------------------------------------------------------------------

say "state table fill: $CUSTOMERS and $STATE_CUSTOMERS customers"
"$BENCH_BIN/statefill" --customers "$CUSTOMERS" > "$OUT/statefill-small.out"
"$BENCH_BIN/statefill" --customers "$STATE_CUSTOMERS" > "$OUT/statefill.out"
say "state restore: $STATE_CUSTOMERS customers checkpointed over $RESTORE_PARTITIONS partitions, then loaded back"
"$BENCH_BIN/restore" --dsn "$(newdb bench_restore)" \
    --customers "$STATE_CUSTOMERS" --partitions "$RESTORE_PARTITIONS" > "$OUT/restore.out"
psql "$RISKD_PG_DSN" -XAtq -c "drop database if exists bench_restore with (force)" # ~0.5 GB

# ---- attribution figure --------------------------------------------------------------------

# The joint attribution's CPU per area-window (50 customers x 28 days at hourly transformer
# readings, the solve riskd runs) on one core, and what a city of 1,000,000 customers in
# 20,000 areas, each attributed once a day, asks of that core (bench/attrib_bench.c).
say "attribution: CPU per hourly area-window, and the 1,000,000-customer city on one core"
"$BENCH_BIN/attrib_bench" --areas 0 --runs "$ATTRIB_RUNS" > "$OUT/attrib.out"

# ---- report --------------------------------------------------------------------------------

META=$OUT/meta.txt
{
    echo "runs=$RUNS"
    echo "customers=$CUSTOMERS"
    echo "data_customers=$CUSTOMERS"
    echo "data_days=$DAYS"
    echo "data_interval_s=$INTERVAL"
    echo "data_seed=$SEED"
    echo "data_bad_rate=$BAD_RATE"
    echo "data_dup_rate=$DUP_RATE"
    echo "data_events=$EVENTS"
    echo "data_bytes=$BYTES"
    echo "data_partitions=$PARTITIONS"
    echo "data_largest_partition_messages=$largest"
    echo "data_peer_events=$PEER_COUNT"
    echo "data_load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
    echo "machine_cpus=$(nproc)"
    echo "machine_cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -s ' ')"
    echo "machine_memory_mib=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 ))"
    echo "machine_kernel=$(uname -r)"
    echo "machine_librdkafka=$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || echo '?')"
    echo "machine_jansson=$(dpkg-query -W -f='${Version}' libjansson4 2>/dev/null || echo '?')"
    echo "machine_postgres=$(psql "$RISKD_PG_DSN" -XAtqc 'show server_version' 2>/dev/null || echo '?')"
    echo "machine_python=$($PY -c 'import platform; print(platform.python_version())')"
    echo "machine_confluent_kafka=$($PY -c 'import confluent_kafka; print(confluent_kafka.version()[0])')"
    echo "peer_matches_riskd=$PEER_MATCH"
    echo "latency_rate_source=$LAT_SOURCE"
    tr ' ' '\n' < "$OUT/statefill.out" | sed 's/^/state_/'
    tr ' ' '\n' < "$OUT/statefill-small.out" | sed -n 's/^bytes_per_customer=/state_bytes_per_customer_at_bench_size=/p'
    tr ' ' '\n' < "$OUT/restore.out" | sed 's/^/restore_/'
    tr ' ' '\n' < "$OUT/attrib.out" | sed -n 's/^hourly\./attrib_/p'
} > "$META"
mkdir -p "$(dirname "$RESULTS")"
$PY bench/report.py summary "$RUNS_TXT" "$META" "$RESULTS"
echo "results: ${RESULTS#$ROOT/}   measurements: var/bench/runs.txt   logs: var/bench/"
