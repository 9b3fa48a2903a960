"""The secure local broker (`stack up --secure`): TLS and SCRAM on its only client listener,
the StandardAuthorizer with the ACL table of orchestrator/adapters/acls.py, and the flow on top of it
with each service as its own principal."""

from __future__ import annotations

import shutil
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from typer.testing import CliRunner

from orchestrator.adapters import bus, client
from orchestrator.adapters import stack as local_stack
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack import kafka_secure
from orchestrator.core.envelope import Actor, Event
from orchestrator.core.events import Role, TaskCompleted
from orchestrator.entrypoints import demo
from orchestrator.entrypoints.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
REPO = Path(__file__).resolve().parents[2]

ONE_TASK = """\
apiVersion: orchestrator/v1
kind: Spec
project: Secure flow
modules:
  - area: backend
    requirements:
      - {id: FR-1, title: Works over SASL_SSL}
executors:
  dev: {kind: simulated, duration: 0s}
  qa: {kind: simulated, duration: 0s}
  devops: {kind: simulated, duration: 0s}
"""


@pytest.fixture(scope="module")
def secure() -> Iterator[Settings]:
    """A secure broker of its own (own run dir, own ports), its topics and ACLs for a fresh
    topic prefix; stopped and removed at the end."""
    run_dir = REPO / ".run" / f"test-secure-{uuid.uuid4().hex[:8]}"
    settings = Settings(run_dir=run_dir, kafka_bootstrap=None, database_url=None,
                        topic_prefix=f"t-{uuid.uuid4().hex[:12]}",
                        principal_tenants="ingest-a=team-a,ingest-b=team-b")
    try:
        local_stack.secure_up(settings)
        yield settings
    finally:
        local_stack.stop_kafka(settings)
        shutil.rmtree(run_dir, ignore_errors=True)


def as_(settings: Settings, principal: str) -> Settings:
    return kafka_secure.as_principal(settings, principal)


def forged_completion(project_id: str) -> Event:
    return Event(event_id=str(uuid.uuid4()), project_id=project_id, request_id=str(uuid.uuid4()),
                 causation_id=None, occurred_at=int(time.time() * 1000),
                 actor=Actor(Role.DEV, "backend", "forger"),
                 payload=TaskCompleted(task_id=f"{project_id}:backend:FR-1", area="backend",
                                       role=Role.DEV, attempt=1, round=1, summary="never done"))


def test_the_keys_and_passwords_are_readable_by_their_owner_only(secure: Settings) -> None:
    home = secure.run_dir / "kafka"
    for secret in (home / "tls" / "broker.pem", home / "users.json", home / "server.properties"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    assert b"PRIVATE KEY" not in (home / "tls" / "ca.pem").read_bytes()


def test_a_plaintext_client_gets_no_answer_from_the_broker(secure: Settings) -> None:
    bootstrap = secure.stack_state()["kafka"]["bootstrap"]
    plain = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000, "log_level": 0})
    with pytest.raises(KafkaException) as refused:
        plain.list_topics(timeout=5)
    assert refused.value.args[0].code() in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT)


def test_a_wrong_password_is_refused(secure: Settings) -> None:
    wrong = as_(secure, "dev").model_copy(update={"kafka_sasl_password": "not-the-password"})
    heard: list[int] = []
    admin = AdminClient(bus.client_config(wrong, **{"socket.timeout.ms": 3000, "log_level": 0,
                                                    "error_cb": lambda err: heard.append(err.code())}))
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)
    admin.poll(1)  # the client tells why through its error callback
    assert KafkaError._AUTHENTICATION in heard
    assert AdminClient(bus.client_config(as_(secure, "dev"))).list_topics(timeout=10).topics


def produce_as(settings: Settings, principal: str, event: Event, topic: str | None = None) -> set[int]:
    """Produce `event` as `principal` to `topic` (default: where bus.record_for puts it for
    that principal); the error codes heard (the delivery's, or the producer's fatal one),
    empty when the broker took it."""
    heard: set[int] = set()
    producer = Producer(bus.producer_config(as_(settings, principal)))
    where, key, value, headers = bus.record_for(as_(settings, principal), event)
    producer.produce(topic or where, value, key, headers=headers,
                     on_delivery=lambda err, _msg: heard.add(err.code()) if err else None)
    try:
        assert producer.flush(30) == 0
    except (KafkaException, SystemError) as exc:  # fatal: raised by flush, with the callback's frame
        fatal = exc if isinstance(exc, KafkaException) else exc.__cause__
        assert isinstance(fatal, KafkaException), exc
        heard.add(fatal.args[0].code())
    return heard


def test_a_client_principals_forged_task_completed_is_refused_by_the_broker(secure: Settings) -> None:
    assert produce_as(secure, "ingest", forged_completion("p-forged")) == {
        KafkaError.TOPIC_AUTHORIZATION_FAILED}
    # the same principal may still submit: the refusal is the log topic's ACL, not a failure
    submission = client.submission(b"not a spec", "bad.yaml", tenant="default")
    assert produce_as(secure, "ingest", submission) == set()


def test_a_tenants_principal_may_write_its_own_tenants_ingestion_topic_only(secure: Settings) -> None:
    claim = client.submission(b"not a spec", "bad.yaml", tenant="team-a")
    assert produce_as(secure, "ingest-a", claim) == set()  # to its tenant's topic
    for elsewhere in (secure.tenant_specs_topic("team-b"), secure.specs_topic):
        assert produce_as(secure, "ingest-a", claim, elsewhere) == {KafkaError.TOPIC_AUTHORIZATION_FAILED}
    assert produce_as(secure, "ingest-a", forged_completion("p-a")) == {KafkaError.TOPIC_AUTHORIZATION_FAILED}


def test_the_reader_may_read_the_log_but_write_nothing(secure: Settings) -> None:
    refused = produce_as(secure, "reader", forged_completion("p-reader"))
    assert refused & {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED}
    meta = AdminClient(bus.client_config(as_(secure, "reader"))).list_topics(timeout=10)
    assert secure.events_topic in meta.topics and secure.specs_topic not in meta.topics


COORDINATOR_MOVING = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                      KafkaError.COORDINATOR_LOAD_IN_PROGRESS}


def test_the_lag_principal_reads_a_workers_committed_offset_and_the_logs_end_only(secure: Settings) -> None:
    """What the prod overlay's KEDA scalers do as `lag`: a group's committed offsets and the
    log's end offsets; and it may not write the log."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    group, topic = secure.group("dev", "backend"), secure.events_topic
    worker = Consumer(bus.consumer_config(as_(secure, "dev"), group))
    deadline = time.monotonic() + 60
    while True:  # as the worker does; a fresh broker answers NOT_COORDINATOR until its offsets topic is up
        try:
            worker.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
            break
        except KafkaException as exc:
            if exc.args[0].code() not in COORDINATOR_MOVING or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    worker.close()
    lag = AdminClient(bus.client_config(as_(secure, "lag")))
    (found,) = lag.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    committed = {tp.partition: tp.offset for tp in found.result(30).topic_partitions if tp.topic == topic}
    assert committed[0] == 0
    (end,) = lag.list_offsets({TopicPartition(topic, 0): OffsetSpec.latest()}).values()
    assert end.result(30).offset >= 0
    assert produce_as(secure, "lag", forged_completion("p-lag")) & {
        KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED}


def every_binding(admin: Settings) -> set[object]:
    client = AdminClient(bus.client_config(admin))
    every = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                             AclOperation.ANY, AclPermissionType.ANY)
    return set(client.describe_acls(every, request_timeout=30).result(30))


def test_kafka_acls_apply_creates_the_table_once_and_again_changes_nothing(
        secure: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a cluster's provision Job runs, as the admin, for another installation's prefix."""
    admin = as_(secure, "admin").model_copy(update={
        "topic_prefix": f"t-{uuid.uuid4().hex[:12]}", "principal_tenants": "ingest-c=team-c"})
    env = {**kafka_secure.env_of(admin), "ORCH_KAFKA_BOOTSTRAP": str(admin.kafka_bootstrap),
           "ORCH_TOPIC_PREFIX": admin.topic_prefix, "ORCH_PRINCIPAL_TENANTS": "ingest-c=team-c"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    wanted = set(kafka_secure.bindings(admin))
    before = every_binding(admin)
    assert not wanted <= before  # the fresh prefix's table is not there yet
    after: list[set[object]] = []
    for _ in range(2):
        result = CliRunner().invoke(app, ["kafka", "acls", "apply"])
        assert result.exit_code == 0, result.output
        assert f"applied {len(wanted)} ACL bindings for {admin.topic_prefix}.* as admin" in result.output
        after.append(every_binding(admin))
    assert after[0] == after[1]  # idempotent: the second run added nothing
    assert after[0] - before == wanted - before and wanted <= after[0]


def service_env(secure: Settings, name: str, label: str) -> dict[str, str]:
    """Each service as its own principal; the `spec@T` instance reads tenant T's topic."""
    env = kafka_secure.env_of(kafka_secure.as_principal(secure, name))
    return {**env, "ORCH_INTAKE_TENANT": label.split("@")[1]} if "@" in label else env


def api_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 60) -> dict[str, str]:
    """POST once the API answers (it is starting beside the fleet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=10)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_flow_reaches_project_completed_with_every_service_its_own_principal(
        secure: Settings, stack: Settings, api_headers: dict[str, str], tmp_path: Path) -> None:
    """Three one-task specs: through the API (principal `api`, tenant of the token), the shared
    ingestion topic (`ingest`), and team-a's topic (`ingest-a`) claiming team-b, which the
    broker's ACL makes team-a's. The projector (principal `projector`) seals each project."""
    run_dir = REPO / ".run" / "fleets" / secure.topic_prefix
    info = secure.stack_state()["kafka"]
    fleet_settings = secure.model_copy(update={"run_dir": run_dir, "kafka_bootstrap": info["bootstrap"],
                                               "database_url": stack.dsn})
    fleet = demo.Fleet(fleet_settings, env_of=lambda name, label: service_env(secure, name, label))
    spec = tmp_path / "one.yaml"
    spec.write_text(ONE_TASK)
    try:
        demo.start_actors(fleet)
        fleet.start("spec", label="spec@team-a")
        api = demo.start_read_side(fleet)
        since = int(time.time() * 1000) - 1000
        via_api = api_post(f"{api}/specs", ONE_TASK.encode(), api_headers)["request_id"]
        shared = client.submit(as_(secure, "ingest"), spec).request_id
        claim = client.submission(ONE_TASK.encode(), "one.yaml", tenant="team-b")
        assert produce_as(secure, "ingest-a", claim) == set()
        wanted = (via_api, shared, claim.request_id)
        types: dict[str, Counter[str]] = {r: Counter() for r in wanted}
        tenants: dict[str, set[str | None]] = {r: set() for r in wanted}
        projects: dict[str, str] = {}
        for event in client.follow(as_(secure, "reader"), since, 120, lambda e: e.request_id in types):
            types[event.request_id][event.type] += 1
            tenants[event.request_id].add(event.tenant)  # the projector's seal too
            projects[event.request_id] = event.project_id or projects.get(event.request_id, "")
            if all(c["project.sealed"] for c in types.values()):
                break
        assert fleet.dead() == []
        for counts in types.values():
            assert counts["project.completed"] == 1 and counts["project.sealed"] == 1, dict(counts)
            assert counts["task.completed"] == 1 and counts["qa.passed"] == 1 and counts["smoke.passed"] == 1
        assert tenants == {via_api: {"default"}, shared: {"default"}, claim.request_id: {"team-a"}}
        mine = httpx.get(f"{api}/projects/{projects[via_api]}", headers=api_headers, timeout=10)
        assert mine.status_code == 200 and mine.json()["status"] == "completed"
        theirs = httpx.get(f"{api}/projects/{projects[claim.request_id]}", headers=api_headers, timeout=10)
        assert theirs.status_code == 404  # team-a's project is not the default tenant's token's
    finally:
        fleet.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_a_broker_formatted_without_users_is_not_started_secure(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_bootstrap=None, database_url=None)
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("node.id=1\n")
    with pytest.raises(local_stack.StackError, match="formatted without SCRAM users"):
        local_stack.secure_up(settings)
    assert not (tmp_path / "kafka" / "users.json").exists()
