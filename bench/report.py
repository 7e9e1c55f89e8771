#!/usr/bin/python3
"""report.py - the benchmark's arithmetic: riskd log timing, medians, ratios, results.json, table.

  report.py riskd-log LOG          prints riskd's measured run as key=value (see riskd_log)
  report.py pg-log LOG             ranks the statements of a PostgreSQL log written with
                                   log_min_duration_statement = 0 by total duration
  report.py summary RUNS META OUT  reads the measurements bench/run.sh collected (RUNS: one
                                   key=value line per measured run; META: key=value lines about
                                   the data set, machine and state fill), writes OUT (JSON) and
                                   prints the human table on stdout
  report.py latency RUNS META OUT  the same for the latency rounds alone (`make bench-latency`):
                                   updates the latency keys of OUT, keeping its other figures

Kept apart from run.sh so the figures come from one place and can be recomputed from
var/bench/ without measuring again.
"""

import collections
import json
import re
import statistics
import sys
from datetime import datetime

KINDS = [
    ("ceiling_a", "ceiling A: librdkafka consumer, read only"),
    ("ceiling_b", "ceiling B: + json_loadb/json_decref"),
    ("riskd", "riskd end to end (until idle)"),
    ("python_peer", "Python peer (confluent-kafka + psycopg2)"),
]


def kv(line):
    out = {}
    for word in line.split():
        if "=" in word:
            k, v = word.split("=", 1)
            out[k] = v
    return out


def log_ts(value):
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def riskd_log(path):
    """Processing time of one riskd run from its debug log: from the first partitions_assigned
    line (group joined, offsets and state loaded) to the last batch_committed line (the last
    batch is in PostgreSQL). The group join before and the idle wait after are left out; join_s
    is the time from the `starting` line to the assignment."""
    start = assigned = committed = None
    stopped = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            rec = kv(line)
            ev = rec.get("event")
            if ev == "starting" and start is None:
                start = log_ts(rec["ts"])
            elif ev == "partitions_assigned" and assigned is None:
                assigned = log_ts(rec["ts"])
            elif ev == "batch_committed":
                committed = log_ts(rec["ts"])
            elif ev == "stopped":
                stopped = rec
    if assigned is None or committed is None or stopped is None:
        raise SystemExit(f"report: {path}: no assignment, commit or stopped line")
    messages = int(stopped["messages"])
    seconds = committed - assigned
    return {
        "messages": messages,
        "accepted": int(stopped["accepted"]),
        "dead_letter": int(stopped["dead_letter"]),
        "duplicates": int(stopped["duplicates"]),
        "batches": int(stopped["batches"]),
        "resyncs": int(stopped.get("resyncs", "0")),
        "seconds": round(seconds, 3),
        "events_per_s": round(messages / seconds) if seconds > 0 else 0,
        "join_s": round(assigned - start, 3) if start else 0,
    }


def pg_log(path, top=20):
    """Sums statement durations by statement text (numbers folded), largest first."""
    line_re = re.compile(r"duration: ([\d.]+) ms\s+(statement|parse|bind|execute)[^:]*: (.*)")
    total = collections.Counter()
    count = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = line_re.search(line)
            if not m:
                continue
            key = re.sub(r"\d+", "N", re.sub(r"\s+", " ", m.group(3)))[:100]
            total[(m.group(2), key)] += float(m.group(1))
            count[(m.group(2), key)] += 1
    grand = sum(total.values())
    print(f"{grand / 1000:.1f} s in {sum(count.values())} statements")
    print(f"{'seconds':>8} {'share':>6} {'calls':>6}  statement")
    for (kind, key), ms in total.most_common(top):
        print(f"{ms / 1000:8.2f} {100 * ms / grand:5.1f}% {count[(kind, key)]:6d}  "
              f"{'' if kind == 'statement' else kind + ' '}{key}")


def median(values):
    return statistics.median(values) if values else None


def read_kv_file(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def num(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


LATENCY_GOAL_P99_MS = 1000


def latency_summary(recs, meta):
    """The latency keys of results.json from the kind=latency lines of runs.txt: medians over
    the rounds of each round's p50, p99 and max, and the firings measured in all of them."""
    if not recs:
        return {}

    def med(key, digits=1):
        vals = [float(r[key]) for r in recs if r.get(key, "") != ""]
        return round(median(vals), digits) if vals else None

    return {
        "latency_p50_ms": med("p50_ms"),
        "latency_p99_ms": med("p99_ms"),
        "latency_max_ms": med("max_ms"),
        "latency_alerts": sum(int(r["alerts"]) for r in recs),
        "latency_rate_events_per_s": round(med("target_events_per_s", 0)),
        "latency": {
            "rate_source": meta.get("latency_rate_source"),
            "achieved_events_per_s": round(med("achieved_events_per_s", 0)),
            "poll_period_ms": med("poll_period_ms", 2),
            "runs": [{k: num(v) for k, v in r.items() if k != "kind"} for r in recs],
        },
    }


def print_latency(res):
    lat = res.get("latency")
    if not lat:
        return
    runs = lat["runs"]
    print(f"reading-to-alert latency: {len(runs)} rounds, {runs[0].get('paced_messages', '?'):,} "
          f"events paced at {res['latency_rate_events_per_s']:,} events/s "
          f"(source: {lat['rate_source']}; achieved {lat['achieved_events_per_s']:,}), "
          f"risk.alert_events polled every {lat['poll_period_ms']} ms")
    print(f"{'round':>6} {'alerts':>7} {'opened':>7} {'updated':>8} {'days':>5} {'p50 ms':>8} "
          f"{'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'kafka p99':>10} {'rate':>8} "
          f"{'riskd rate':>10} {'kept up':>7} {'other':>6}")
    noisy = False
    for r in runs:
        other = r.get("other_load")
        noisy = noisy or (other or 0) > 0.1
        print(f"{r['run']:>6} {r['alerts']:>7} {r['opened']:>7} {r['updated']:>8} "
              f"{r['trigger_days']:>5} {r['p50_ms']:>8} {r['p90_ms']:>8} {r['p99_ms']:>8} "
              f"{r['max_ms']:>8} {r['kafka_p99_ms']:>10} {r['achieved_events_per_s']:>8} "
              f"{r.get('riskd_paced_events_per_s', '-'):>10} "
              f"{'yes' if r.get('riskd_kept_up') else 'NO':>7} "
              f"{'-' if other is None else f'{100 * other:.0f}%':>6}")
    if noisy:
        print("warning: other programs used more than 10% of the machine during some rounds "
              "('other'): the latency figures are noisy")
    if any(not r.get("riskd_kept_up") for r in runs):
        print("riskd fell behind the producer in some rounds ('kept up' NO: its rate on the paced "
              "part, 'riskd rate', was below the producer's): their latency includes a backlog")
    p99 = res["latency_p99_ms"]
    verdict = "n/a" if p99 is None else "met" if p99 < LATENCY_GOAL_P99_MS else "NOT met"
    print(f"median of rounds: p50 {res['latency_p50_ms']} ms, p99 {p99} ms, max "
          f"{res['latency_max_ms']} ms over {res['latency_alerts']} alert firings; "
          f"goal p99 < {LATENCY_GOAL_P99_MS} ms: {verdict}")
    print()


def latency_only(runs_path, meta_path, out_path):
    """`make bench-latency`: replaces the latency keys of out_path (kept otherwise)."""
    meta = read_kv_file(meta_path)
    recs = []
    with open(runs_path, encoding="utf-8") as f:
        for line in f:
            rec = kv(line)
            if rec.get("kind") == "latency":
                recs.append(rec)
    try:
        with open(out_path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    results.update(latency_summary(recs, meta))
    results.setdefault("goals", {})["latency_p99_ms_max"] = LATENCY_GOAL_P99_MS
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print()
    print_latency(results)


def summary(runs_path, meta_path, out_path):
    meta = read_kv_file(meta_path)
    runs = {kind: [] for kind, _ in KINDS}
    runs["latency"] = []
    with open(runs_path, encoding="utf-8") as f:
        for line in f:
            rec = kv(line)
            if rec.get("kind") in runs:
                runs[rec["kind"]].append(rec)

    ncpus = int(meta.get("machine_cpus", "1"))

    def per_million(recs, seconds):
        try:
            return round(median([seconds(r) / float(r["messages"]) * 1e6 for r in recs]), 2)
        except (KeyError, ValueError, ZeroDivisionError):
            return None

    consumers = {}
    for kind, label in KINDS:
        recs = runs[kind]
        rates = [float(r["events_per_s"]) for r in recs]
        rss = [int(r["rss_kb"]) * 1024 for r in recs if "rss_kb" in r]
        consumers[kind] = {
            "label": label,
            "runs": [{k: num(v) for k, v in r.items() if k != "kind"} for r in recs],
            "events_per_s": round(median(rates)) if rates else None,
            "events_per_s_min": round(min(rates)) if rates else None,
            "events_per_s_max": round(max(rates)) if rates else None,
            "peak_rss_bytes": max(rss) if rss else None,
            "cpu_s_per_million": per_million(recs, lambda r: float(r["user_s"]) +
                                             float(r["sys_s"])),
            "postgres_cpu_s_per_million": per_million(recs, lambda r: float(r["postgres_cpu_s"])),
            "broker_cpu_s_per_million": per_million(recs, lambda r: float(r["broker_cpu_s"])),
            # share of the machine (all CPUs, over the run's wall time) used by other programs
            "other_load": (round(median([float(r["other_cpu_s"]) / float(r["wall_s"]) / ncpus
                                         for r in recs]), 3)
                           if recs and all("other_cpu_s" in r for r in recs) else None),
        }

    def ratio(a, b):
        ea, eb = consumers[a]["events_per_s"], consumers[b]["events_per_s"]
        return round(ea / eb, 3) if ea and eb else None

    customers = int(meta.get("customers", "0"))
    riskd_rss = consumers["riskd"]["peak_rss_bytes"]
    results = {
        "machine": {k[8:]: meta[k] for k in meta if k.startswith("machine_")},
        "data_set": {k[5:]: num(meta[k]) for k in meta if k.startswith("data_")},
        "customers": customers,
        "runs_per_consumer": int(meta.get("runs", "0")),
        "consumers": consumers,
        "ceiling_a_events_per_s": consumers["ceiling_a"]["events_per_s"],
        "ceiling_b_events_per_s": consumers["ceiling_b"]["events_per_s"],
        "riskd_events_per_s": consumers["riskd"]["events_per_s"],
        "python_peer_events_per_s": consumers["python_peer"]["events_per_s"],
        "ratio_to_ceiling_a": ratio("riskd", "ceiling_a"),
        "ratio_to_ceiling_b": ratio("riskd", "ceiling_b"),
        "ratio_to_python_peer": ratio("riskd", "python_peer"),
        "riskd_peak_rss_bytes": riskd_rss,
        "riskd_peak_rss_per_customer": round(riskd_rss / customers, 1)
        if riskd_rss and customers else None,
        "bytes_per_customer": num(meta["state_bytes_per_customer"])
        if "state_bytes_per_customer" in meta else None,
        "state_fill": {k[6:]: num(meta[k]) for k in meta if k.startswith("state_")},
        "restore": {k[8:]: num(meta[k]) for k in meta if k.startswith("restore_")},
        "attribution": {k[7:]: num(meta[k]) for k in meta if k.startswith("attrib_")},
        "peer_matches_riskd": meta.get("peer_matches_riskd") == "true",
        **latency_summary(runs["latency"], meta),
        "goals": {
            "ratio_to_ceiling_b_min": 2.0, "ratio_to_python_peer_min": 3.0,
            "ratio_to_ceiling_a_min": 0.4, "bytes_per_customer_max": 512,
            "latency_p99_ms_max": LATENCY_GOAL_P99_MS,
            "attribution_city_core_fraction_max": 1.0,
        },
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print_table(results, meta)


def fmt_rate(v):
    return f"{v:>11,}" if v is not None else f"{'-':>11}"


def print_table(res, meta):
    runs = res["runs_per_consumer"]
    print()
    print(f"riskd benchmark: {meta.get('data_events', '?')} events "
          f"({meta.get('data_customers', '?')} customers, {meta.get('data_days', '?')} days at "
          f"{meta.get('data_interval_s', '?')} s), {meta.get('data_partitions', '?')} partitions "
          f"per topic, median of {runs} runs")
    print(f"machine: {meta.get('machine_cpus', '?')} CPUs, {meta.get('machine_cpu_model', '?')}, "
          f"librdkafka {meta.get('machine_librdkafka', '?')}, PostgreSQL "
          f"{meta.get('machine_postgres', '?')}")
    print()
    print(f"{'':<44} {'':>11} {'':>19} {'':>8} {'CPU s per M events':^20} {'other':>6}")
    print(f"{'consumer':<44} {'events/s':>11} {'min..max':>19} {'peak RSS':>8} "
          f"{'own':>6} {'PG':>6} {'broker':>6} {'load':>6} {'riskd/this':>10}")

    def f1(v):
        return f"{v:.1f}" if v is not None else "-"

    noisy = False
    for kind, label in KINDS:
        c = res["consumers"][kind]
        rng = (f"{c['events_per_s_min']:,}..{c['events_per_s_max']:,}"
               if c["events_per_s_min"] is not None else "-")
        rss = f"{c['peak_rss_bytes'] / 1048576:.0f} MiB" if c["peak_rss_bytes"] else "-"
        other = f"{100 * c['other_load']:.0f}%" if c["other_load"] is not None else "-"
        noisy = noisy or (c["other_load"] or 0) > 0.1
        rel = {"ceiling_a": res["ratio_to_ceiling_a"], "ceiling_b": res["ratio_to_ceiling_b"],
               "python_peer": res["ratio_to_python_peer"]}.get(kind)
        rel = f"{rel:.2f}x" if rel else ""
        print(f"{label:<44} {fmt_rate(c['events_per_s'])} {rng:>19} {rss:>8} "
              f"{f1(c['cpu_s_per_million']):>6} {f1(c['postgres_cpu_s_per_million']):>6} "
              f"{f1(c['broker_cpu_s_per_million']):>6} {other:>6} {rel:>10}")
    print()
    if noisy:
        print("warning: other programs used more than 10% of the machine during some "
              "measurements ('other load'): the figures are noisy; run again on a quiet machine")
        print()
    g = res["goals"]

    def verdict(v, goal, higher=True):
        if v is None:
            return "n/a"
        ok = v >= goal if higher else v <= goal
        return "met" if ok else "NOT met"

    print(f"riskd / ceiling A   {res['ratio_to_ceiling_a']:<8} goal >= {g['ratio_to_ceiling_a_min']:<5} "
          f"{verdict(res['ratio_to_ceiling_a'], g['ratio_to_ceiling_a_min'])}")
    print(f"riskd / ceiling B   {res['ratio_to_ceiling_b']:<8} goal >= {g['ratio_to_ceiling_b_min']:<5} "
          f"{verdict(res['ratio_to_ceiling_b'], g['ratio_to_ceiling_b_min'])}")
    print(f"riskd / Python peer {res['ratio_to_python_peer']:<8} goal >= {g['ratio_to_python_peer_min']:<5} "
          f"{verdict(res['ratio_to_python_peer'], g['ratio_to_python_peer_min'])}")
    sf = res["state_fill"]
    print(f"bytes per customer  {res['bytes_per_customer']:<8} goal <= {g['bytes_per_customer_max']:<5} "
          f"{verdict(res['bytes_per_customer'], g['bytes_per_customer_max'], False)}"
          f"   (state table at {sf.get('customers', '?'):,} customers; "
          f"riskd peak RSS / customer in this run: {res['riskd_peak_rss_per_customer']})")
    if "slots_bytes_per_customer" in sf:
        print(f"  of which the open day's slots of a half-hourly meter: "
              f"{sf['slots_bytes_per_customer']} bytes ({sf.get('bytes_per_slot')} a slot); "
              f"struct cstate {sf.get('sizeof_cstate')} bytes")
    if "with_open_hours_bytes_per_customer" in sf:
        print(f"  with the hourly sums the slots cannot give, beside the state: "
              f"{sf['with_open_hours_bytes_per_customer']} bytes per customer "
              f"({sf.get('open_hours_bytes_per_customer')} for those hours)")
    rs = res["restore"]
    if rs:
        print(f"state restore       {rs.get('restore_partition_s')} s for one partition of "
              f"{rs.get('restore_partition_customers'):,} customers "
              f"({rs.get('restore_customers_per_s'):,} customers/s; all {rs.get('customers'):,} in "
              f"{rs.get('restore_all_s')} s); checkpoint writes {rs.get('checkpoint_rows_per_s'):,} "
              f"rows/s")
    at = res.get("attribution") or {}
    if "city_core_fraction" in at:
        frac = at["city_core_fraction"]
        goal = g["attribution_city_core_fraction_max"]
        print(f"attribution         {100 * frac:.1f}% of one core for 1,000,000 customers in 20,000 "
              f"hourly areas, each attributed once a day, goal <= {100 * goal:.0f}% "
              f"{verdict(frac, goal, False)}   ({at.get('cpu_ms_per_area_window')} ms CPU per "
              f"area-window of {at.get('customers')} customers x {at.get('intervals')} hours; "
              f"workspace {at.get('workspace_bytes', 0) / 1e6:.1f} MB)")
    print(f"Python peer's daily usage identical to riskd's: "
          f"{'yes' if res['peer_matches_riskd'] else 'NO'}")
    print()
    print_latency(res)


def main(argv):
    if len(argv) == 3 and argv[1] == "riskd-log":
        r = riskd_log(argv[2])
        print(" ".join(f"{k}={v}" for k, v in r.items()))
        return 0
    if len(argv) == 3 and argv[1] == "pg-log":
        pg_log(argv[2])
        return 0
    if len(argv) == 5 and argv[1] == "summary":
        summary(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 5 and argv[1] == "latency":
        latency_only(argv[2], argv[3], argv[4])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
