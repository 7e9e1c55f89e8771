#!/usr/bin/python3
"""latency.py - reading-to-alert latency from one run of bench/latency (see bench/README.md).

  latency.py DIR      prints one key=value line for the run whose triggers.tsv and alerts.tsv
                      are in DIR (bench/report.py keeps these lines in var/bench/runs.txt)

bench/latency wrote, on one monotonic clock (nanoseconds since the paced part began):
  triggers.tsv  the first paced reading of each customer's local day: when producev() was
                called for it and when its delivery report arrived;
  alerts.tsv    every firing riskd committed during the paced part (alert opened or updated:
                one risk.alert_events row each) with the day riskd scored, when a poll first
                returned it, and when the poll before it started.

riskd scores a customer's day D when the first reading of a later local day arrives
(scoring/daily.c, detector/scorer.c): the firing's trigger is the customer's first paced
reading of the first day after D. Its latency is seen - produced: an upper bound, since the
firing became visible between the previous poll's start and this poll's end; the lower bound
(prev_poll - produced) is reported too.
"""

import bisect
import collections
import csv
import math
import os
import sys
from datetime import date, datetime, timedelta, timezone


def percentile(sorted_values, p):
    """Nearest-rank percentile (p in 0..100) of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def analyse(run_dir):
    """The latency figures of one run, as a dict of numbers."""
    by_customer = collections.defaultdict(list)  # customer -> [(day, produced, delivered)]
    for t in read_tsv(os.path.join(run_dir, "triggers.tsv")):
        by_customer[t["customer"]].append((t["day"], int(t["produced_ns"]),
                                           int(t["delivered_ns"])))
    for rows in by_customer.values():
        rows.sort()
    alerts = read_tsv(os.path.join(run_dir, "alerts.tsv"))

    latency, lower, kafka = [], [], []
    actions = collections.Counter()
    unmatched = next_day = revisions = negative = 0
    trigger_days = set()
    periods = []
    for a in alerts:
        rows = by_customer.get(a["customer"], [])
        i = bisect.bisect_right(rows, (a["day"], math.inf, math.inf))
        if i == len(rows):
            unmatched += 1
            continue
        day, produced, delivered = rows[i]
        seen, prev = int(a["seen_ns"]), int(a["prev_poll_ns"])
        latency.append((seen - produced) / 1e6)
        lower.append((prev - produced) / 1e6)
        periods.append((seen - prev) / 1e6)
        if seen < produced:
            negative += 1
        if delivered:
            kafka.append((delivered - produced) / 1e6)
        actions[a["action"]] += 1
        revisions += a["revision"] != ""
        trigger_days.add(day)
        next_day += day == next_local_day(a["day"])
    latency.sort()
    lower.sort()
    kafka.sort()
    periods.sort()

    def ms(v):
        return round(v, 1) if v is not None else None

    return {
        "alerts": len(latency),
        "opened": actions["opened"],
        "updated": actions["updated"],
        "new_revisions": revisions,
        "unmatched": unmatched,
        "seen_before_trigger": negative,
        "trigger_next_day_share": round(next_day / len(latency), 3) if latency else None,
        "trigger_days": len(trigger_days),
        "p50_ms": ms(percentile(latency, 50)),
        "p90_ms": ms(percentile(latency, 90)),
        "p99_ms": ms(percentile(latency, 99)),
        "max_ms": ms(latency[-1] if latency else None),
        "p99_lower_ms": ms(percentile(lower, 99)),
        "visibility_window_p50_ms": ms(percentile(periods, 50)),
        "visibility_window_max_ms": ms(periods[-1] if periods else None),
        "kafka_p50_ms": ms(percentile(kafka, 50)),
        "kafka_p99_ms": ms(percentile(kafka, 99)),
    }


def next_local_day(day):
    """The calendar day after YYYY-MM-DD."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def riskd_batches(run_dir):
    """riskd's batches during the paced part and until it had committed everything, from its
    debug log (batch_committed and area_balance lines), placed on the probe's time line with
    the probe's t0_unix_s. Log timestamps have millisecond resolution."""
    with open(os.path.join(run_dir, "probe.out"), encoding="utf-8") as f:
        probe = kv(f.read().strip().splitlines()[-1])
    t0 = float(probe["t0_unix_s"])
    end = float(probe["paced_s"]) + float(probe["drain_s"])
    commits, sizes, durations, drains = [], [], [], 0
    path = os.path.join(run_dir, "riskd.log")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            rec = kv(line)
            if rec.get("event") not in ("batch_committed", "area_balance"):
                continue
            t = datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=timezone.utc).timestamp() - t0
            if t < 0 or t > end + 0.01:
                continue
            if rec["event"] == "area_balance":
                drains += 1
                continue
            commits.append(t)
            sizes.append(int(rec["messages"]))
            durations.append(float(rec["ms"]))
    gaps = sorted(b - a for a, b in zip(commits, commits[1:]))
    sizes.sort()
    durations.sort()
    paced = int(probe["paced_messages"])
    return {
        "riskd_paced_events_per_s": round(paced / end) if end > 0 else None,
        "riskd_kept_up": int(float(probe["drain_s"]) < 2.0),
        "batches": len(commits),
        "batch_messages_p50": percentile(sizes, 50),
        "commit_ms_p50": percentile(durations, 50),
        "commit_ms_p99": percentile(durations, 99),
        "commit_ms_max": durations[-1] if durations else None,
        "commit_gap_ms_p50": round(1000 * percentile(gaps, 50)) if gaps else None,
        "commit_gap_ms_max": round(1000 * gaps[-1]) if gaps else None,
        "area_balance_drains": drains,
    }


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    res = analyse(argv[1])
    res.update(riskd_batches(argv[1]))
    print(" ".join(f"{k}={'' if v is None else v}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
