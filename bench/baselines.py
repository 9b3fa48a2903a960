"""Part 1 (raw Kafka and PostgreSQL limits on this machine) and part 2 (codec)."""

from __future__ import annotations

import io
import resource
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from fastavro import schemaless_reader, schemaless_writer

from bench.common import sample_event, summary
from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings
from orchestrator.core import codec


def _topics(settings: Settings, names: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names], request_timeout=30)
    for f in futures.values():
        f.result(30)
    time.sleep(1.0)


def _consumer(settings: Settings, **extra: Any) -> Consumer:
    return Consumer({"bootstrap.servers": settings.bootstrap, "group.id": f"bench-{uuid.uuid4()}",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "enable.auto.offset.store": False, "isolation.level": "read_committed",
                     **extra})


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def kafka(settings: Settings, n: int) -> dict[str, Any]:
    prefix = settings.topic_prefix
    src, dst, ping = f"{prefix}.raw", f"{prefix}.loop", f"{prefix}.ping"
    _topics(settings, [src, dst], settings.partitions)
    _topics(settings, [f"{ping}0", f"{ping}1"], 1)
    event = sample_event()
    value = codec.encode(event)
    hdrs = codec.headers(event)
    keys = [str(uuid.uuid4()).encode() for _ in range(200)]
    out: dict[str, Any] = {"record_bytes": len(value), "records": n,
                           "producer_config": "bus.producer_config: idempotent, acks=all, linger 2 ms"}

    # produce: our producer settings, fire and forget, then flush
    p = Producer(bus.producer_config(settings))
    p.produce(f"{prefix}.ping0", value, b"warm")  # idempotent PID and metadata before timing
    p.flush(30)
    t0 = time.perf_counter()
    for i in range(n):
        while True:
            try:
                p.produce(src, value, keys[i % len(keys)], headers=hdrs)
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    p.flush(60)
    out["produce_msgs_s"] = n / (time.perf_counter() - t0)

    # consume: one consumer, poll() per message as an actor does, all partitions
    c = _consumer(settings)
    c.assign([TopicPartition(src, q, 0) for q in range(settings.partitions)])
    got, t0, deadline = 0, None, time.monotonic() + 120
    while got < n and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        if t0 is None:
            t0 = time.perf_counter()
        got += 1
    out["consume_msgs_s"] = (got - 1) / (time.perf_counter() - (t0 or time.perf_counter()) + 1e-9)
    c.close()

    # bare loop: consume -> produce, no logic; the ceiling for any Python actor
    c = _consumer(settings)
    c.assign([TopicPartition(src, q, 0) for q in range(settings.partitions)])
    p = Producer(bus.producer_config(settings))
    done, got, t0, deadline = [0], 0, None, time.monotonic() + 120
    cpu0 = 0.0

    def acked(err: Any, _m: Any) -> None:
        if err is None:
            done[0] += 1

    while got < n and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        if t0 is None:
            t0, cpu0 = time.perf_counter(), _cpu()
        while True:
            try:
                p.produce(dst, m.value(), m.key(), headers=m.headers(), on_delivery=acked)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
        got += 1
    p.flush(60)
    wall, cpu = time.perf_counter() - (t0 or time.perf_counter()), _cpu() - cpu0
    c.close()
    out["bare_loop_events_s"] = done[0] / wall
    out["bare_loop_cpu_us_per_event"] = cpu / max(done[0], 1) * 1e6
    out["bare_loop_note"] = "poll() one record, produce() it, poll(0); acks awaited only at the end (flush)"

    # bare loop that awaits every ack before the next record (what the shell does per record)
    c = _consumer(settings)
    c.assign([TopicPartition(src, q, 0) for q in range(settings.partitions)])
    m_count = min(n, 3000)
    got, t0 = 0, None
    deadline = time.monotonic() + 60
    while got < m_count and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is None or m.error():
            continue
        if t0 is None:
            t0 = time.perf_counter()
        p.produce(dst, m.value(), m.key(), headers=m.headers())
        p.flush(10)
        got += 1
    out["bare_loop_ack_each_events_s"] = got / (time.perf_counter() - (t0 or time.perf_counter()))
    c.close()

    # ping-pong latency: produce one, consume it, next; produce -> consume time
    for k, (label, extra) in enumerate((("ping", {}), ("ping_linger0", {"linger.ms": 0}))):
        topic = f"{ping}{k}"
        c = _consumer(settings, **{"fetch.wait.max.ms": 100})
        c.assign([TopicPartition(topic, 0, 1 if k == 0 else 0)])
        p2 = Producer(bus.producer_config(settings, **extra))
        lat: list[float] = []
        deadline = time.monotonic() + 60
        for _ in range(min(2000, n)):
            if time.monotonic() > deadline:
                break
            t = time.perf_counter()
            p2.produce(topic, value, b"k")
            p2.poll(0)
            while time.monotonic() < deadline:
                m = c.poll(1.0)
                if m is not None and not m.error():
                    break
            lat.append((time.perf_counter() - t) * 1000)
        p2.flush(10)
        c.close()
        out[f"{label}_ms"] = summary(lat[10:])
    out["txn_hop_ms"] = txn_hop(settings, value, min(500, n))
    return out


def txn_hop(settings: Settings, value: bytes, n: int) -> dict[str, Any]:
    """The floor of one exactly-once hop here: a record produced, consumed by a relay that
    re-produces it in a transaction with its input offset (KIP-447), read `read_committed`
    at the far end. The actors' hop pays this plus its own decision."""
    prefix = settings.topic_prefix
    src, dst = f"{prefix}.txn-in", f"{prefix}.txn-out"
    _topics(settings, [src, dst], 1)
    group = f"bench-txn-{uuid.uuid4()}"
    relay_in = _consumer(settings, **{"group.id": group, "fetch.wait.max.ms": 100})
    relay_in.assign([TopicPartition(src, 0, 0)])
    relay = Producer(bus.producer_config(settings, **{"transactional.id": group, "linger.ms": 0}))
    relay.init_transactions(30)
    sink = _consumer(settings, **{"fetch.wait.max.ms": 100})
    sink.assign([TopicPartition(dst, 0, 0)])
    source = Producer(bus.producer_config(settings, **{"linger.ms": 0}))
    lat: list[float] = []
    deadline = time.monotonic() + 60
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        t = time.perf_counter()
        source.produce(src, value, b"k")
        source.poll(0)
        m = None
        while m is None or m.error():
            m = relay_in.poll(1.0)
        relay.begin_transaction()
        relay.produce(dst, m.value(), m.key())
        relay.send_offsets_to_transaction([TopicPartition(src, 0, (m.offset() or 0) + 1)],
                                          relay_in.consumer_group_metadata(), 10)
        relay.commit_transaction(10)
        got = None
        while got is None or got.error():
            got = sink.poll(1.0)
        lat.append((time.perf_counter() - t) * 1000)
    for c in (relay_in, sink):
        c.close()
    source.flush(10)
    return summary(lat[10:])


def postgres(settings: Settings, n: int) -> dict[str, Any]:
    import psycopg

    event = sample_event()
    body = codec.encode(event)
    rows = [(str(uuid.uuid4()), event.project_id, "task.assigned", event.occurred_at + i, body)
            for i in range(n)]
    out: dict[str, Any] = {"rows": n}
    table = f"bench_scratch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS {table} (event_id text PRIMARY KEY, "
                     "project_id text, type text, occurred_at bigint, body bytea)")
        conn.execute(f"ALTER TABLE {table} SET LOGGED")
        try:
            t0 = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, \
                    cur.copy(f"COPY {table} FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            out["copy_rows_s"] = n / (time.perf_counter() - t0)
            conn.execute(f"TRUNCATE {table}")
            sql = (f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO UPDATE "
                   "SET occurred_at = EXCLUDED.occurred_at, body = EXCLUDED.body")
            t0 = time.perf_counter()
            batch = 1000
            with conn.cursor() as cur:
                for i in range(0, n, batch):
                    with conn.transaction():
                        cur.executemany(sql, rows[i:i + batch])
            out["upsert_rows_s"] = n / (time.perf_counter() - t0)
            out["upsert_batch"] = batch
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return out


def codec_bench(n: int) -> dict[str, Any]:
    from orchestrator.core.codec import _current, to_dict

    event = sample_event()
    data = codec.encode(event)
    _, schema = _current()
    d = to_dict(event)
    out: dict[str, Any] = {"events": n, "bytes": len(data)}
    t0 = time.perf_counter()
    for _ in range(n):
        codec.encode(event)
    out["encode_s"] = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        codec.decode(data)
    out["decode_s"] = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        b = io.BytesIO()
        schemaless_writer(b, schema, d)
        b.getvalue()
    out["raw_encode_s"] = n / (time.perf_counter() - t0)
    body = data[codec.HEADER_LEN:]
    t0 = time.perf_counter()
    for _ in range(n):
        schemaless_reader(io.BytesIO(body), schema, None, return_record_name=True)
    out["raw_decode_s"] = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        to_dict(event)
    out["to_dict_s"] = n / (time.perf_counter() - t0)
    rec = schemaless_reader(io.BytesIO(body), schema, None, return_record_name=True)
    t0 = time.perf_counter()
    for _ in range(n):
        codec.from_dict(rec)
    out["from_dict_s"] = n / (time.perf_counter() - t0)
    out["encode_ratio"] = out["encode_s"] / out["raw_encode_s"]
    out["decode_ratio"] = out["decode_s"] / out["raw_decode_s"]
    return out
