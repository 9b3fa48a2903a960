"""An ambiguous write: the broker appends a produce, the client never sees the answer.

A broker of this test's own advertises the address of a TCP proxy (harness.CuttingProxy),
so every client connection goes through it. Armed, the proxy forwards a Produce request to
the broker and then drops the client's connection before relaying the response; the
client (the project's own bus.Publisher: idempotent, acks=all) times out and retries. The
idempotent producer's sequence numbers must make the broker drop the retry: read back,
every record is on the topic exactly once. A non-idempotent producer through the same
proxy shows the test has teeth (it writes copies).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from orchestrator.adapters import bus, client, kafka_topics
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack import kafka
from orchestrator.adapters.stack.kafka_config import cluster_id, write_config
from orchestrator.adapters.stack.proc import free_port, tail, terminate
from orchestrator.core import codec, envelope

from . import harness
from .conftest import STACK, record

pytestmark = pytest.mark.reliability
REPO = Path(__file__).resolve().parents[2]
ROUNDS, PER_ROUND, CUTS = 6, 20, 4


@pytest.fixture(scope="module")
def proxied() -> Iterator[tuple[Settings, harness.CuttingProxy]]:
    """A broker whose advertised listener is the proxy's port: every client goes through it."""
    if STACK.kafka_bootstrap or not kafka.cached_classpath(STACK):
        pytest.skip("needs the local Kafka jars (the battery's own broker)")
    for attempt in range(3):
        home = (REPO / ".run" / "reliability" / f"proxied-{uuid.uuid4().hex[:8]}").resolve()
        proxy, proc = _start_proxied(home)
        if proc.poll() is None:
            break
        why = tail(home / "kafka.log", 30) + tail(home / "kafka.out", 10)
        proxy.close()
        shutil.rmtree(home, ignore_errors=True)
        # a port picked free can be taken before the broker binds it (a client's own
        # outgoing connection, in a busy suite): new ports, a new broker
        assert attempt < 2, f"the proxied broker did not come up three times; last log:\n{why}"
    try:
        settings = Settings(kafka_bootstrap=f"127.0.0.1:{proxy.port}",
                            topic_prefix=f"amb-{uuid.uuid4().hex[:8]}", run_dir=home)
        kafka_topics.provision(settings)
        yield settings, proxy
    finally:
        terminate(proc.pid, kafka.MARKER, timeout=20)
        proxy.close()
        shutil.rmtree(home, ignore_errors=True)


def _start_proxied(home: Path) -> tuple[harness.CuttingProxy, subprocess.Popen[bytes]]:
    """Format and start a broker behind a new proxy; return once it answers or has exited."""
    home.mkdir(parents=True)
    port = free_port()
    controller = free_port()
    while controller == port:
        controller = free_port()
    proxy = harness.CuttingProxy(port)
    props = write_config(home, port, controller, advertised_port=proxy.port)
    jvm = ["java", "-Xmx256m", "-Xms128m", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}", "-cp", kafka.classpath(STACK)]
    subprocess.run([*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props)],
                   check=True, capture_output=True, timeout=120)
    with (home / "kafka.out").open("ab") as out:
        proc = subprocess.Popen([*jvm, kafka.MARKER, str(props)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + kafka.READY_TIMEOUT
    while not kafka.ready(f"127.0.0.1:{proxy.port}", 2.0) and proc.poll() is None:
        if time.monotonic() > deadline:
            terminate(proc.pid, kafka.MARKER, timeout=20)
            proc.wait(20)
            break
    return proxy, proc


def _event(i: int) -> envelope.Event:
    return client.submission(f"record {i}".encode(), f"amb-{i}.yaml", str(uuid.uuid4()))


def _read_all(bootstrap: str, topic: str, partitions: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4()}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        hw = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
              for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(out) < sum(hw.values()) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.append(msg.value())
        return out
    finally:
        consumer.close()


def test_idempotent_producer_dedupes_a_retried_ambiguous_write(
        proxied: tuple[Settings, harness.CuttingProxy]) -> None:
    settings, proxy = proxied
    # a short request timeout so the retry comes soon after the dropped answer
    publisher = bus.Publisher(settings, **{"request.timeout.ms": 3000, "socket.timeout.ms": 3000})
    sent: list[envelope.Event] = []
    began = time.monotonic()
    try:
        warm = _event(-1)
        publisher.publish_sync([warm], timeout=30)  # connected; metadata known
        sent.append(warm)
        proxy.arm(CUTS)
        for r in range(ROUNDS):
            batch = [_event(r * PER_ROUND + i) for i in range(PER_ROUND)]
            publisher.publish_sync(batch, timeout=60)  # raises unless every record is acknowledged
            sent += batch
    finally:
        publisher.close()
    seconds = time.monotonic() - began
    assert proxy.cuts == CUTS, f"only {proxy.cuts} connections were cut"
    copies = Counter(codec.decode(v).event_id for v in
                     _read_all(settings.bootstrap, bus.record_for(settings, sent[0])[0], settings.partitions))
    ids = {e.event_id for e in sent}
    lost = len(ids - set(copies))
    dup = sum(n - 1 for n in copies.values())
    record({"fault": f"ambiguous write: {CUTS} produces appended, answer cut (records)",
            "projects": len(ids), "terminal": len(ids) - lost, "tasks_expected": len(ids),
            "tasks_verified": len(ids) - lost, "tasks_lost": lost, "duplicate_effects": dup,
            "log_copies": dup, "recovery_s": round(seconds, 1), "dlq": 0, "digest": "",
            "problems": [] if lost == dup == 0 else [f"{lost} lost, {dup} copies"],
            "projection": "-"})
    assert lost == 0 and dup == 0, (lost, dup)
    assert set(copies) == ids


def test_the_same_cut_duplicates_without_idempotence(proxied: tuple[Settings, harness.CuttingProxy]) -> None:
    """The control: the proxy really makes the broker append twice when nothing dedupes."""
    settings, proxy = proxied
    topic = f"{settings.topic_prefix}.control"
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": settings.bootstrap, "enable.idempotence": False,
                         "acks": "all", "request.timeout.ms": 3000, "socket.timeout.ms": 3000,
                         "retries": 5, "linger.ms": 1})
    producer.produce(topic, b"warm-up")
    assert producer.flush(30) == 0
    proxy.arm(1)
    errors: list[object] = []
    producer.produce(topic, b"once", on_delivery=lambda err, _m: errors.append(err) if err else None)
    assert producer.flush(60) == 0 and not errors, errors
    assert proxy.cuts >= 1
    values = _read_all(settings.bootstrap, topic, 1)
    assert values.count(b"once") >= 2, values
