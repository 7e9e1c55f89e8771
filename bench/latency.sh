# latency.sh - the reading-to-alert latency rounds of `make bench` and `make bench-latency`.
#
# Sourced by bench/run.sh, which provides say, die, newdb, riskd_config, $BIN, $BENCH_BIN, $OUT,
# $PY, $RUNS_TXT and the private mock cluster ($BROKERS, $KDIR). latency_rounds RATE runs
# BENCH_LATENCY_RUNS rounds; each one:
#   - creates fresh topics and a fresh database and starts bin/riskd (default batching);
#   - runs bench/latency, which publishes the city's history as fast as it can, waits until
#     riskd has committed it, then publishes the rest at RATE events/s ("catchup": half of the
#     rate riskd caught up at in that round) while polling risk.alert_events, and writes the
#     triggers and the firings it saw under var/bench/latency-R/;
#   - stops riskd (SIGTERM) and appends one `kind=latency` line to runs.txt: bench/latency's
#     summary plus bench/latency.py's percentiles.
#
# The city (riskctl gen, reused while its options are unchanged): BENCH_LATENCY_CUSTOMERS
# (1000) customers, BENCH_LATENCY_DAYS (28) days of 30-minute readings from 2026-01-01,
# BENCH_LATENCY_THEFT_RATE (0.2) labelled thieves (and as many confounders); every labelled
# customer's onset is on day 15, full bypasses and reversed meters alert 3-4 days later and
# then fire again every day. Days before BENCH_LATENCY_PACED_FROM (17) are the history. The
# input topics have BENCH_LATENCY_PARTITIONS (32) partitions each: bench/latency feeds the
# history in chunks riskd consumes as it goes, so the mock's 5 MiB per partition only ever
# drops data riskd has committed.
# BENCH_LATENCY_POLL_MS (10) is the polling period; BENCH_LATENCY_RATE overrides the rate;
# BENCH_LATENCY_PROFILE=1 has PostgreSQL log every statement of the rounds' databases with its
# duration, ranked in var/bench/latency-R/pg-statements.txt; BENCH_LATENCY_BATCH_WAIT_MS sets
# riskd's batch.max_wait_ms for the rounds (a diagnostic: the figures of record use riskd's
# defaults).
# shellcheck shell=bash

LAT_CUSTOMERS=${BENCH_LATENCY_CUSTOMERS:-1000}
LAT_DAYS=${BENCH_LATENCY_DAYS:-28}
LAT_THEFT=${BENCH_LATENCY_THEFT_RATE:-0.2}
LAT_PACED_FROM=${BENCH_LATENCY_PACED_FROM:-17}
LAT_RUNS=${BENCH_LATENCY_RUNS:-3}
LAT_POLL_MS=${BENCH_LATENCY_POLL_MS:-10}
LAT_SEED=${BENCH_LATENCY_SEED:-7}
LAT_PROFILE=${BENCH_LATENCY_PROFILE:-0}
LAT_BATCH_WAIT=${BENCH_LATENCY_BATCH_WAIT_MS:-}
LAT_START=2026-01-01
LAT_PARTITIONS=${BENCH_LATENCY_PARTITIONS:-32}

# Generates (or reuses) var/bench/latency-city.jsonl; sets LAT_CITY, LAT_HISTORY (lines before
# the first paced day) and LAT_EVENTS.
latency_city() {
    LAT_CITY=$OUT/latency-city.jsonl
    local params="customers=$LAT_CUSTOMERS days=$LAT_DAYS theft=$LAT_THEFT seed=$LAT_SEED"
    params+=" start=$LAT_START riskctl=$(md5sum < "$BIN/riskctl" | cut -c1-12)"
    (( LAT_PACED_FROM >= 2 && LAT_PACED_FROM <= LAT_DAYS )) \
        || die "BENCH_LATENCY_PACED_FROM=$LAT_PACED_FROM: must be a day in 2..$LAT_DAYS"
    if [[ -s $LAT_CITY && -s $OUT/latency-city.params &&
          $(cat "$OUT/latency-city.params") == "$params" ]]; then
        say "latency city: reusing var/bench/latency-city.jsonl ($params)"
    else
        say "latency city: generating ($params)"
        rm -f "$OUT/latency-city.params"
        "$BIN/riskctl" gen --customers "$LAT_CUSTOMERS" --days "$LAT_DAYS" --seed "$LAT_SEED" \
            --start "$LAT_START" --theft-rate "$LAT_THEFT" --labels "$OUT/latency-labels.csv" \
            > "$LAT_CITY" 2> "$OUT/latency-gen.log"
        echo "$params" > "$OUT/latency-city.params"
    fi
    local paced_day
    paced_day=$(date -u -d "$LAT_START + $((LAT_PACED_FROM - 1)) days" +%F)
    local first
    first=$(grep -n -m1 -F "\"ts\":\"${paced_day}T" "$LAT_CITY" | cut -d: -f1)
    [[ -n $first ]] || die "latency city: no event on $paced_day"
    LAT_HISTORY=$((first - 1))
    LAT_EVENTS=$(wc -l < "$LAT_CITY")
    local bytes
    bytes=$(stat -c %s "$LAT_CITY")
    say "latency city: $LAT_EVENTS events ($((bytes / 1048576)) MiB, $LAT_PARTITIONS partitions per topic); history $LAT_HISTORY events before $paced_day, then $((LAT_EVENTS - LAT_HISTORY)) paced"
}

# latency_rounds RATE: RATE in events/s, or "catchup" for half the round's own catch-up rate.
latency_rounds() {
    local rate=$1 r rc
    latency_city
    for ((r = 1; r <= LAT_RUNS; r++)); do
        local PREFIX
        PREFIX=lat$(date +%s)r$r
        local IN_TOPICS=("$PREFIX.meter.readings" "$PREFIX.billing.events"
                         "$PREFIX.customer.profiles" "$PREFIX.transformer.readings")
        local t
        for t in "${IN_TOPICS[@]}"; do
            "$BIN/mock-kafka" ctl --control "$KDIR/control.sock" topic-create "$t" \
                "$LAT_PARTITIONS" >/dev/null
        done
        for t in risk.review-queue risk.credit-grades risk.dead-letter; do
            "$BIN/mock-kafka" ctl --control "$KDIR/control.sock" topic-create "$PREFIX.$t" 4 >/dev/null
        done
        local dsn dir=$OUT/latency-$r pgline=
        dsn=$(newdb "bench_latency_$r")
        if [[ $LAT_PROFILE == 1 ]]; then
            psql "$dsn" -XAtqc "alter database bench_latency_$r set log_min_duration_statement = 0"
            pgline=$(wc -l < var/log/postgres.log)
        fi
        riskd_config lat "$dsn" > "$OUT/latency-$r.yaml"
        [[ -n $LAT_BATCH_WAIT ]] && printf 'batch:\n  max_wait_ms: %s\n' "$LAT_BATCH_WAIT" \
            >> "$OUT/latency-$r.yaml"
        rm -rf "$dir" && mkdir -p "$dir"
        say "latency round $r of $LAT_RUNS: riskd, $LAT_HISTORY history events, then $((LAT_EVENTS - LAT_HISTORY)) at ${rate} events/s"
        # CPU of everything taking part, to tell how much the rest of the machine used
        local m0 b0 w0 sampler
        m0=$(machine_ticks); b0=$(cpu_ticks "$MOCK_PID"); w0=$(date +%s.%N)
        echo 0 > "$dir/pgticks"
        pg_sampler "bench_latency_$r" "$dir/pgticks" & sampler=$!
        env -u RISKD_KAFKA_BROKERS -u RISKD_PG_DSN "$BIN/riskd" --config "$OUT/latency-$r.yaml" \
            --log-level debug 2> "$dir/riskd.log" > /dev/null &
        local riskd_pid=$!
        local pace=(--rate "$rate")
        [[ $rate == catchup ]] && pace=(--catchup-fraction 0.5)
        rc=0
        /usr/bin/time -f "probe_user_s=%U probe_sys_s=%S" -o "$dir/probe.time" \
            "$BENCH_BIN/latency" --brokers "$BROKERS" --dsn "$dsn" --group "riskd-$PREFIX-lat" \
            --readings "${IN_TOPICS[0]}" --billing "${IN_TOPICS[1]}" \
            --profiles "${IN_TOPICS[2]}" --transformer "${IN_TOPICS[3]}" \
            --city "$LAT_CITY" --history-lines "$LAT_HISTORY" --poll-ms "$LAT_POLL_MS" \
            --out "$dir" "${pace[@]}" > "$dir/probe.out" 2> "$dir/probe.err" || rc=$?
        local riskd_ticks
        riskd_ticks=$(cpu_ticks "$riskd_pid")
        kill -TERM "$riskd_pid" 2>/dev/null || true
        wait "$riskd_pid" || true
        local m1 b1 w1 pg
        m1=$(machine_ticks); b1=$(cpu_ticks "$MOCK_PID"); w1=$(date +%s.%N)
        kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
        pg=$(cat "$dir/pgticks")
        if (( rc != 0 )); then
            tail -5 "$dir/probe.err" >&2
            die "latency round $r failed (var/bench/latency-$r/)"
        fi
        grep -q 'event=resynced\|commit_failed' "$dir/riskd.log" \
            && say "latency round $r: riskd lost PostgreSQL during the round (see its log)"
        local cpu
        cpu=$(awk -v m="$((m1 - m0))" -v b="$((b1 - b0))" -v p="$pg" -v k="$riskd_ticks" \
            -v t="$CLK_TCK" -v w0="$w0" -v w1="$w1" -v n="$(nproc)" -v u="$(tail -1 "$dir/probe.time")" \
            'BEGIN { split(u, f, /[ =]/); probe = f[2] + f[4]; o = (m - b - p - k) / t - probe;
                     if (o < 0) o = 0;
                     printf "riskd_cpu_s=%.2f postgres_cpu_s=%.2f broker_cpu_s=%.2f probe_cpu_s=%.2f other_load=%.3f",
                            k / t, p / t, b / t, probe, o / (w1 - w0) / n }')
        if [[ -n $pgline ]]; then
            tail -n +"$((pgline + 1))" var/log/postgres.log > "$dir/pg-statements.log"
            $PY bench/report.py pg-log "$dir/pg-statements.log" > "$dir/pg-statements.txt"
        fi
        local line
        line="kind=latency run=$r $(tail -1 "$dir/probe.out") $($PY bench/latency.py "$dir") $cpu"
        echo "$line" >> "$RUNS_TXT"
        printf '   latency run %d: %s\n' "$r" "$(tr ' ' '\n' <<<"$line" | grep -E \
            '^(achieved_events_per_s|alerts|p50_ms|p99_ms|max_ms)=' | tr '\n' ' ')" >&2
    done
}
