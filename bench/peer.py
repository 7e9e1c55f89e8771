#!/usr/bin/python3
"""peer.py - the benchmark's peer: riskd's job as a straightforward Python consumer would do it.

Run by bench/run.sh with Debian's python3-confluent-kafka and python3-psycopg2 (it must run under
/usr/bin/python3, where those packages live). It reads the four input topics with its own
consumer group and writes to its own PostgreSQL schema `peer`:

  - consume(num_messages=5000) in a loop, json.loads per message, plain validation of the event
    contract (types, required and unknown fields, finite non-negative energy, timestamps with an
    offset, payload size, message key = customer_id / transformer_id, energy within capacity);
    rejects go to peer.dead_letter with the original bytes and a reason;
  - duplicates (an event_id among the entity's last 8) are counted and skipped;
  - meter readings roll up per customer and local day (Asia/Shanghai by default: the day of ts in
    that zone), transformer readings per transformer and day; every reading adds to its day's row;
  - on each closed day, the handful of daily features riskd's models compute, done the simple way:
    EWMA mean and variance of daily kWh and a z-score, the 7-day drop ratio against the baseline,
    a one-sided downward CUSUM with the day the shift started, and interval-level zero-run and
    flat-line run lengths;
  - one transaction per batch (100,000 messages or 500 ms, riskd's defaults) with the batch's daily
    usage rows (upsert adding to existing rows), transformer days, profiles, dead letters, the
    touched customers' state as JSON, and the next offset of every partition read; Kafka's own
    committed offsets follow asynchronously, for lag tools only. On assignment the offsets and
    the state of the assigned partitions are loaded from PostgreSQL and consumption starts there.

It stops after --count messages (or --idle-s seconds without a message) and prints one
key=value line: messages, seconds (from the first assignment to the last commit, so the group
join and the idle tail are not counted, as for riskd), events_per_s, join_s and counts.
"""

import argparse
import collections
import json
import math
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg2
import psycopg2.extras
from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING

EVENT_MAX_BYTES = 8192
RECENT_EVENTS = 8
EWMA_ALPHA = 0.1
DROP_WINDOW_DAYS = 7
CUSUM_K = 0.5
MAX_KW_UNKNOWN = 2000.0

SCHEMA = """
create schema if not exists peer;
create table if not exists peer.kafka_offsets (
    consumer_group text not null, topic text not null, partition integer not null,
    next_offset bigint not null, primary key (consumer_group, topic, partition));
create table if not exists peer.daily_usage (
    customer_id text not null, day date not null, kwh double precision not null,
    readings integer not null, kwh_uwh bigint not null, primary key (customer_id, day));
create table if not exists peer.transformer_daily (
    transformer_id text not null, day date not null, kwh double precision not null,
    readings integer not null, kwh_uwh bigint not null, primary key (transformer_id, day));
create table if not exists peer.customers (
    customer_id text primary key, segment text not null, transformer_id text not null,
    tariff text, capacity_kw double precision, since date);
create table if not exists peer.entity_state (
    kind "char" not null, entity_id text not null, partition integer not null,
    state text not null, primary key (kind, entity_id));
create index if not exists entity_state_partition on peer.entity_state (kind, partition);
create table if not exists peer.dead_letter (
    id bigserial primary key, topic text not null, partition integer not null,
    "offset" bigint not null, reason text not null, msg_key bytea, payload bytea not null);
"""

COMMON = {"type", "event_id", "ts"}
FIELDS = {
    # type: (required fields with their kinds, optional fields with their kinds)
    "meter_reading": ({"customer_id": "id", "meter_id": "id", "kwh": "energy", "interval_s": "int"},
                      {"voltage": "num", "current": "num", "power_factor": "num",
                       "reverse_kwh": "energy"}),
    "meter_event": ({"customer_id": "id", "meter_id": "id", "code": "str"}, {}),
    "bill": ({"customer_id": "id", "bill_id": "id", "amount": "num", "due_date": "date"},
             {"period_kwh": "energy"}),
    "payment": ({"customer_id": "id", "amount": "num"}, {"bill_id": "id", "channel": "str"}),
    "payment_reversal": ({"customer_id": "id", "amount": "num", "payment_event_id": "id"},
                         {"reason": "str"}),
    "customer": ({"customer_id": "id", "segment": "str", "transformer_id": "id"},
                 {"tariff": "str", "capacity_kw": "num", "since": "date"}),
    "transformer_reading": ({"transformer_id": "id", "kwh": "energy", "interval_s": "int"}, {}),
}
TOPIC_TYPES = {
    "readings": {"meter_reading", "meter_event"},
    "billing": {"bill", "payment", "payment_reversal"},
    "profiles": {"customer"},
    "transformer": {"transformer_reading"},
}
METER_CODES = {"cover_open", "magnetic_interference", "reverse_flow", "phase_loss", "clock_reset",
               "power_outage", "meter_replaced"}
SEGMENTS = {"residential", "commercial", "industrial", "agricultural"}


class Invalid(Exception):
    """An event that breaks the contract; its message is the dead-letter reason."""


def check_value(name, kind, value):
    if kind in ("id", "str"):
        if not isinstance(value, str) or (kind == "id" and not 0 < len(value) <= 63):
            raise Invalid(f"{name}: expected a string")
    elif kind == "date":
        if not isinstance(value, str):
            raise Invalid(f"{name}: expected a date")
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise Invalid(f"{name}: expected a date YYYY-MM-DD")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f"{name}: expected a number")
        if not math.isfinite(value):
            raise Invalid(f"{name}: not finite")
        if kind == "energy" and value < 0:
            raise Invalid(f"{name}: negative energy")
        if kind == "int" and (not isinstance(value, int) or value <= 0):
            raise Invalid(f"{name}: expected a positive integer")


def parse_event(payload):
    """Decodes and validates one message; returns (event dict, ts datetime) or raises Invalid."""
    if len(payload) > EVENT_MAX_BYTES:
        raise Invalid("payload above 8192 bytes")
    try:
        ev = json.loads(payload)
    except ValueError as e:  # also invalid UTF-8 (UnicodeDecodeError)
        raise Invalid(f"malformed JSON: {e}")
    if not isinstance(ev, dict):
        raise Invalid("not a JSON object")
    spec = FIELDS.get(ev.get("type"))
    if spec is None:
        raise Invalid(f"unknown type {ev.get('type')!r}")
    required, optional = spec
    for name in ev:
        if name not in COMMON and name not in required and name not in optional:
            raise Invalid(f"unknown field {name}")
    event_id = ev.get("event_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 128:
        raise Invalid("event_id: expected a string of 1..128 bytes")
    for name, kind in required.items():
        if name not in ev:
            raise Invalid(f"missing field {name}")
        check_value(name, kind, ev[name])
    for name, kind in optional.items():
        if name in ev:
            check_value(name, kind, ev[name])
    try:
        ts = datetime.fromisoformat(ev["ts"])
    except (KeyError, TypeError, ValueError):
        raise Invalid("ts: expected an RFC 3339 timestamp")
    if ts.tzinfo is None:
        raise Invalid("ts: no UTC offset")
    if ev["type"] == "meter_event" and ev["code"] not in METER_CODES:
        raise Invalid("code: unknown meter event code")
    if ev["type"] == "customer" and ev["segment"] not in SEGMENTS:
        raise Invalid("segment: unknown segment")
    return ev, ts


def new_state(partition):
    return {
        "partition": partition, "recent": [], "segment": None, "transformer_id": None,
        "capacity_kw": 0.0, "last_ts": None,
        "open_day": None, "open_uwh": 0, "open_readings": 0, "days_closed": 0,
        "ewma_mean": None, "ewma_var": 0.0, "zscore": 0.0, "window": [], "drop_ratio": None,
        "cusum": 0.0, "shift_start_day": None,
        "zero_run": 0, "max_zero_run": 0, "flat_run": 0, "max_flat_run": 0, "last_kwh": None,
        "billed": 0.0, "paid": 0.0, "reversed": 0.0, "meter_events": 0,
    }


def close_day(st):
    """Feeds the open day into the daily features (EWMA baseline, drop ratio, CUSUM)."""
    x = st["open_uwh"] / 1e6
    mean = st["ewma_mean"]
    if mean is None:
        st["ewma_mean"], st["ewma_var"] = x, 0.0
    else:
        sd = math.sqrt(st["ewma_var"]) if st["ewma_var"] > 0 else max(abs(mean) * 0.1, 1e-3)
        st["zscore"] = (x - mean) / sd
        s = max(0.0, st["cusum"] + (mean - x) / sd - CUSUM_K)
        if s > 0 and st["cusum"] == 0:
            st["shift_start_day"] = st["open_day"]
        elif s == 0:
            st["shift_start_day"] = None
        st["cusum"] = s
        diff = x - mean
        st["ewma_mean"] = mean + EWMA_ALPHA * diff
        st["ewma_var"] = (1 - EWMA_ALPHA) * (st["ewma_var"] + EWMA_ALPHA * diff * diff)
    window = st["window"]
    window.append(x)
    if len(window) > DROP_WINDOW_DAYS:
        del window[0]
    base = st["ewma_mean"]
    st["drop_ratio"] = (sum(window) / len(window)) / base if base else None
    st["days_closed"] += 1


class Peer:
    def __init__(self, args):
        self.args = args
        self.tz = ZoneInfo(args.timezone)
        self.roles = {args.readings: "readings", args.billing: "billing",
                      args.profiles: "profiles", args.transformer: "transformer"}
        self.db = psycopg2.connect(args.dsn)
        with self.db, self.db.cursor() as cur:
            cur.execute(SCHEMA)
        self.customers = {}
        self.transformers = {}
        self.offsets = {}        # (topic, partition) -> next offset stored in PostgreSQL
        self.pending = {}        # (topic, partition) -> next offset after this batch
        self.assigned_at = None
        self.totals = collections.Counter()
        self.reset_batch()
        self.consumer = Consumer({
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 6000,
        })
        self.consumer.subscribe(list(self.roles), on_assign=self.on_assign,
                                on_revoke=self.on_revoke)

    def reset_batch(self):
        self.batch_messages = 0
        self.batch_started = None
        self.usage = {}          # (customer_id, day) -> [uwh, readings]
        self.tdaily = {}         # (transformer_id, day) -> [uwh, readings]
        self.profiles = {}
        self.dead = []
        self.dirty = {}          # (kind, entity_id) -> state

    def on_assign(self, consumer, partitions):
        self.commit()
        parts = [(p.topic, p.partition) for p in partitions]
        with self.db, self.db.cursor() as cur:
            cur.execute("select topic, partition, next_offset from peer.kafka_offsets "
                        "where consumer_group = %s", (self.args.group,))
            stored = {(t, p): o for t, p, o in cur.fetchall()}
            cust_parts = sorted({p for t, p in parts if self.roles[t] != "transformer"})
            trans_parts = sorted({p for t, p in parts if self.roles[t] == "transformer"})
            self.customers, self.transformers = {}, {}
            for kind, table, plist in (("c", self.customers, cust_parts),
                                       ("t", self.transformers, trans_parts)):
                if not plist:
                    continue
                cur.execute("select entity_id, state from peer.entity_state "
                            "where kind = %s and partition = any(%s)", (kind, plist))
                for entity_id, state in cur.fetchall():
                    table[entity_id] = json.loads(state)
        self.offsets = {tp: stored.get(tp, -1) for tp in parts}
        self.pending = dict(self.offsets)
        for p in partitions:
            off = self.offsets[(p.topic, p.partition)]
            p.offset = off if off >= 0 else OFFSET_BEGINNING
        consumer.assign(partitions)
        if self.assigned_at is None:
            self.assigned_at = time.monotonic()

    def on_revoke(self, consumer, partitions):
        self.commit()
        self.offsets, self.pending = {}, {}
        consumer.unassign()

    def dead_letter(self, msg, reason):
        self.dead.append((msg.topic(), msg.partition(), msg.offset(), reason[:500],
                          msg.key(), msg.value()))
        self.totals["dead_letter"] += 1

    def handle(self, msg):
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        tp = (topic, partition)
        if tp not in self.pending or offset < self.pending[tp]:
            return
        self.pending[tp] = offset + 1
        self.batch_messages += 1
        self.totals["messages"] += 1
        payload = msg.value()
        try:
            ev, ts = parse_event(payload)
            role = self.roles[topic]
            if ev["type"] not in TOPIC_TYPES[role]:
                raise Invalid(f"type {ev['type']} does not belong on topic {topic}")
            is_transformer = role == "transformer"
            entity_id = ev["transformer_id"] if is_transformer else ev["customer_id"]
            if (msg.key() or b"").decode("utf-8", "replace") != entity_id:
                raise Invalid("message key does not match the entity id")
            table = self.transformers if is_transformer else self.customers
            st = table.get(entity_id)
            if ev["type"] in ("meter_reading", "transformer_reading"):
                kw = st["capacity_kw"] if st and not is_transformer else 0.0
                if not kw > 0:
                    kw = MAX_KW_UNKNOWN
                if ev["kwh"] > kw * ev["interval_s"] / 3600.0 * (1 + 1e-9):
                    raise Invalid("kwh above what the capacity allows in the interval")
        except Invalid as e:
            self.dead_letter(msg, str(e))
            return
        if st is None:
            st = table[entity_id] = new_state(partition)
        if ev["event_id"] in st["recent"]:
            self.totals["duplicates"] += 1
            return
        st["recent"].append(ev["event_id"])
        if len(st["recent"]) > RECENT_EVENTS:
            del st["recent"][0]
        self.apply(ev, ts, st, entity_id, is_transformer)
        self.dirty[("t" if is_transformer else "c", entity_id)] = st
        self.totals["accepted"] += 1

    def apply(self, ev, ts, st, entity_id, is_transformer):
        epoch = ts.timestamp()
        if st["last_ts"] is None or epoch > st["last_ts"]:
            st["last_ts"] = epoch
        kind = ev["type"]
        if kind in ("meter_reading", "transformer_reading"):
            kwh = ev["kwh"]
            uwh = round(kwh * 1e6)
            day = ts.astimezone(self.tz).date()
            rows = self.tdaily if is_transformer else self.usage
            row = rows.get((entity_id, day))
            if row is None:
                rows[(entity_id, day)] = [uwh, 1]
            else:
                row[0] += uwh
                row[1] += 1
            ordinal = day.toordinal()
            if st["open_day"] is None:
                st["open_day"], st["open_uwh"], st["open_readings"] = ordinal, uwh, 1
            elif ordinal == st["open_day"]:
                st["open_uwh"] += uwh
                st["open_readings"] += 1
            elif ordinal > st["open_day"]:
                close_day(st)
                st["open_day"], st["open_uwh"], st["open_readings"] = ordinal, uwh, 1
            if kwh == 0:
                st["zero_run"] += 1
                st["max_zero_run"] = max(st["max_zero_run"], st["zero_run"])
            else:
                st["zero_run"] = 0
            if kwh == st["last_kwh"] and kwh > 0:
                st["flat_run"] += 1
                st["max_flat_run"] = max(st["max_flat_run"], st["flat_run"])
            else:
                st["flat_run"] = 0
            st["last_kwh"] = kwh
        elif kind == "customer":
            st["segment"] = ev["segment"]
            st["transformer_id"] = ev["transformer_id"]
            st["capacity_kw"] = float(ev.get("capacity_kw", 0.0))
            self.profiles[entity_id] = (entity_id, ev["segment"], ev["transformer_id"],
                                        ev.get("tariff"), ev.get("capacity_kw"), ev.get("since"))
        elif kind == "bill":
            st["billed"] += ev["amount"]
        elif kind == "payment":
            st["paid"] += ev["amount"]
        elif kind == "payment_reversal":
            st["reversed"] += ev["amount"]
        elif kind == "meter_event":
            st["meter_events"] += 1

    def commit(self):
        """Writes the batch, the touched entities' state and the offsets in one transaction."""
        moved = [(t, p, o) for (t, p), o in self.pending.items()
                 if o >= 0 and o != self.offsets.get((t, p))]
        if not moved and not self.batch_messages:
            return
        ex = psycopg2.extras.execute_values
        with self.db, self.db.cursor() as cur:
            if self.usage:
                ex(cur, "insert into peer.daily_usage as d (customer_id, day, kwh, readings, kwh_uwh) "
                        "values %s on conflict (customer_id, day) do update set "
                        "kwh_uwh = d.kwh_uwh + excluded.kwh_uwh, "
                        "kwh = (d.kwh_uwh + excluded.kwh_uwh) / 1e6, "
                        "readings = d.readings + excluded.readings",
                   [(c, d, u / 1e6, n, u) for (c, d), (u, n) in self.usage.items()],
                   page_size=5000)
            if self.tdaily:
                ex(cur, "insert into peer.transformer_daily as d (transformer_id, day, kwh, readings,"
                        " kwh_uwh) values %s on conflict (transformer_id, day) do update set "
                        "kwh_uwh = d.kwh_uwh + excluded.kwh_uwh, "
                        "kwh = (d.kwh_uwh + excluded.kwh_uwh) / 1e6, "
                        "readings = d.readings + excluded.readings",
                   [(t, d, u / 1e6, n, u) for (t, d), (u, n) in self.tdaily.items()],
                   page_size=5000)
            if self.profiles:
                ex(cur, "insert into peer.customers (customer_id, segment, transformer_id, tariff,"
                        " capacity_kw, since) values %s on conflict (customer_id) do update set "
                        "segment = excluded.segment, transformer_id = excluded.transformer_id, "
                        "tariff = excluded.tariff, capacity_kw = excluded.capacity_kw, "
                        "since = excluded.since", list(self.profiles.values()), page_size=5000)
            if self.dead:
                ex(cur, 'insert into peer.dead_letter (topic, partition, "offset", reason, msg_key,'
                        " payload) values %s", self.dead, page_size=5000)
            if self.dirty:
                ex(cur, "insert into peer.entity_state (kind, entity_id, partition, state) "
                        "values %s on conflict (kind, entity_id) do update set "
                        "partition = excluded.partition, state = excluded.state",
                   [(k, e, st["partition"], json.dumps(st)) for (k, e), st in self.dirty.items()],
                   page_size=5000)
            if moved:
                ex(cur, "insert into peer.kafka_offsets as o (consumer_group, topic, partition,"
                        " next_offset) values %s on conflict (consumer_group, topic, partition) "
                        "do update set next_offset = excluded.next_offset",
                   [(self.args.group, t, p, o) for t, p, o in moved], page_size=5000)
        for t, p, o in moved:
            self.offsets[(t, p)] = o
        if moved:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for t, p, o in moved],
                                 asynchronous=True)
        self.totals["batches"] += 1
        self.reset_batch()

    def run(self):
        args = self.args
        t_start = time.monotonic()
        last_message = t_start
        while self.totals["messages"] < args.count:
            msgs = self.consumer.consume(num_messages=5000, timeout=0.1)
            now = time.monotonic()
            for msg in msgs:
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        print(f"peer: consumer error: {msg.error()}", file=sys.stderr)
                    continue
                if self.batch_started is None:
                    self.batch_started = now
                self.handle(msg)
            if msgs:
                last_message = now
            elif now - last_message > args.idle_s and self.assigned_at is not None:
                break
            if self.batch_messages and (self.batch_messages >= args.batch_size or
                                        now - self.batch_started >= args.batch_wait_ms / 1000):
                self.commit()
        self.commit()
        t_end = time.monotonic()
        self.consumer.close()
        self.db.close()
        t0 = self.assigned_at if self.assigned_at is not None else t_start
        seconds = t_end - t0
        print(f"messages={self.totals['messages']} accepted={self.totals['accepted']} "
              f"dead_letter={self.totals['dead_letter']} duplicates={self.totals['duplicates']} "
              f"batches={self.totals['batches']} seconds={seconds:.3f} "
              f"events_per_s={self.totals['messages'] / seconds if seconds > 0 else 0:.0f} "
              f"join_s={t0 - t_start:.3f}", flush=True)
        return 0 if self.totals["messages"] >= args.count else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--readings", required=True)
    ap.add_argument("--billing", required=True)
    ap.add_argument("--profiles", required=True)
    ap.add_argument("--transformer", required=True)
    ap.add_argument("--count", type=int, required=True, help="stop after this many messages")
    ap.add_argument("--idle-s", type=float, default=60.0)
    ap.add_argument("--batch-size", type=int, default=100000)
    ap.add_argument("--batch-wait-ms", type=int, default=500)
    ap.add_argument("--timezone", default="Asia/Shanghai")
    return Peer(ap.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
