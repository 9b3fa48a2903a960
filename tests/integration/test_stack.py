"""The local stack: a real broker and a real PostgreSQL, started and stopped by pid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from orchestrator.adapters import stack
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import alive

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def own() -> Iterator[Settings]:
    """A stack of its own (not the session one); under the repo so the postgres user reaches it."""
    run_dir = REPO / ".run" / f"test-stack-{uuid.uuid4().hex[:8]}"
    # a stack of our own even when ORCH_KAFKA_BOOTSTRAP / ORCH_DATABASE_URL point elsewhere
    settings = Settings(run_dir=run_dir, kafka_bootstrap=None, database_url=None)
    stack.up(settings)
    yield settings
    stack.down(settings)
    shutil.rmtree(run_dir, ignore_errors=True)


def pids(settings: Settings) -> tuple[int, int]:
    state = settings.stack_state()
    return state["kafka"]["pid"], state["postgres"]["pid"]


def test_up_again_is_a_no_op_with_the_same_pids(own: Settings) -> None:
    before = pids(own)
    again = stack.up(own)
    assert {part["action"] for part in again.values()} == {"already running"}
    assert pids(own) == before


def test_status_reports_both_parts_running(own: Settings) -> None:
    found = stack.status(own)
    assert found["kafka"]["running"] and found["kafka"]["bootstrap"].startswith("127.0.0.1:")
    assert found["kafka"]["version"] == "4.3.1"
    assert found["postgres"]["running"] and found["postgres"]["url"].startswith("postgresql://")


def test_a_record_goes_through_the_broker_and_back(own: Settings) -> None:
    topic = f"t-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": own.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": own.bootstrap, "enable.idempotence": True})
    producer.produce(topic, key=b"k", value=b"hello")
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": own.bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        deadline, got = time.monotonic() + 60, None
        while got is None and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                got = (msg.key(), msg.value())
    finally:
        consumer.close()
    assert got == (b"k", b"hello")


def test_the_owner_writes_and_the_reader_only_reads(own: Settings) -> None:
    table = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(own.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("orchestrator",)
        conn.execute(f"CREATE TABLE {table} (id int)")
        conn.execute(f"INSERT INTO {table} VALUES (1)")
    reader_url = own.stack_state()["postgres"]["reader_url"]
    with psycopg.connect(reader_url, autocommit=True) as conn:
        assert conn.execute(f"SELECT id FROM {table}").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {table} VALUES (2)")


def test_parts_named_by_the_environment_are_only_checked(own: Settings, tmp_path: Path) -> None:
    external = Settings(run_dir=tmp_path, kafka_bootstrap=own.bootstrap, database_url=own.dsn)
    result = stack.up(external)
    assert {part["action"] for part in result.values()} == {"external"}
    assert not external.state_file.exists()
    unreachable = external.model_copy(
        update={"database_url": "postgresql://nobody@127.0.0.1:1/none"}
    )
    with pytest.raises(stack.StackError, match="not reachable"):
        stack.up(unreachable)


def test_down_leaves_no_process_behind_and_up_works_again(own: Settings) -> None:
    kafka_pid, pg_pid = pids(own)
    bootstrap = own.bootstrap
    stack.down(own)
    assert not alive(kafka_pid) and not alive(pg_pid)
    assert not any(part["running"] for part in stack.status(own).values())
    again = stack.up(own)
    assert {part["action"] for part in again.values()} == {"started"}
    assert own.bootstrap == bootstrap  # same port and data dir: clients reconnect as they were


def test_a_missing_java_is_one_clear_line_and_a_failure(tmp_path: Path) -> None:
    cli = Path(sys.executable).parent / "orchestrator"
    env = {**os.environ, "PATH": str(tmp_path), "ORCH_RUN_DIR": str(tmp_path / "run")}
    env.pop("ORCH_KAFKA_BOOTSTRAP", None)
    done = subprocess.run([str(cli), "stack", "up"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "java" in lines[0] and "openjdk" in lines[0]
    assert not (tmp_path / "run" / "stack.json").exists()


def test_postgres_asks_every_role_for_its_scram_password(own: Settings) -> None:
    state = own.stack_state()["postgres"]
    port = state["port"]
    for role in ("orchestrator", "orchestrator_reader", "postgres"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://{role}@127.0.0.1:{port}/orchestrator", connect_timeout=5)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://{role}:wrong@127.0.0.1:{port}/orchestrator", connect_timeout=5)
    with psycopg.connect(state["reader_url"], connect_timeout=5) as conn:
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
    kept = own.run_dir / "postgres" / "passwords.json"
    assert kept.stat().st_mode & 0o777 == 0o600
