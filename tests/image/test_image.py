"""The dev overlay run from the built image, the way its manifests run it (`make image-test`).

`kubectl kustomize deploy/k8s/overlays/dev` is rendered; the provision Job and every
Deployment's init and main containers run under podman with the command, args, env,
ports, probes, volumes and security context the YAML gives them (tests/image/pods.py),
against the local Kafka and PostgreSQL in place of the overlay's StatefulSets. A spec
posted to the API container must reach `project.completed`, with Dev, QA and DevOps in
different containers sharing the project directory; every declared probe must answer on
its declared port; the evidence must be on the shared volume and match its digests.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from pods import REPO, Cluster, Container, container, podman

from orchestrator.adapters import client
from orchestrator.adapters.config import Settings
from orchestrator.core.envelope import Event

pytestmark = pytest.mark.image

IMAGE = "ghcr.io/delivery-orchestrator/orchestrator:0.1.0"
SPEC = Path(__file__).with_name("shared-workspace.yaml")
ARTIFACTS_IN_POD = "/var/lib/orchestrator/artifacts"


@dataclass
class Fleet:
    settings: Settings  # the host's view: same Kafka, same topic prefix
    containers: dict[str, Container]  # by Deployment name
    pods: dict[str, dict[str, Any]]  # pod templates (metadata and spec), by Deployment name
    volumes: Path
    started_s: float  # first `podman run` -> every startup probe answered
    figures: dict[str, float]


def _render() -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(REPO / "deploy/k8s/overlays/dev")],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _orchestrator_pods(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    found = {o["metadata"]["name"]: o["spec"]["template"]["spec"] for o in objects if o["kind"] == kind}
    for name, pod in found.items():
        for c in pod.get("initContainers", []) + pod["containers"]:
            assert c["image"] == IMAGE, f"{kind}/{name}/{c['name']} runs {c['image']}, built is {IMAGE}"
    return found


def _run_to_completion(c: Container) -> None:
    podman(*c.argv)
    code = podman("wait", c.name, timeout=180).stdout.strip()
    logs = podman("logs", c.name, check=False).stdout + podman("logs", c.name, check=False).stderr
    podman("rm", "-f", c.name, check=False)
    assert code == "0", f"{c.name} exited {code}:\n{logs[-3000:]}"


def _await_probe(c: Container, kind: str) -> None:
    probe = c.spec[kind]
    deadline = time.monotonic() + probe.get("initialDelaySeconds", 0) + \
        probe["periodSeconds"] * probe["failureThreshold"]
    while True:
        try:
            if httpx.get(c.probe_url(kind), timeout=probe["timeoutSeconds"]).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        state = podman("inspect", "-f", "{{.State.Status}}", c.name, check=False).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            logs = podman("logs", "--tail", "40", c.name, check=False)
            pytest.fail(f"{c.name}: {kind} {c.probe_url(kind)} never answered 200 (state {state}):\n"
                        f"{logs.stdout}{logs.stderr}")
        time.sleep(0.5)


def _reader_url(stack: Settings) -> str:
    """The local stack's read-only role when `stack` is that stack's server; else the owner's
    URL (test containers, or an external server: their state file is not about them)."""
    found = stack.stack_state().get("postgres", {}).get("reader_url")
    same = found and urlsplit(found).port == urlsplit(stack.dsn).port
    return str(found) if same else stack.dsn


@pytest.fixture(scope="module")
def fleet(stack: Settings) -> Iterator[Fleet]:
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"image {IMAGE} is not built: run `make image` (make image-test does)", pytrace=False)
    prefix = f"img-{uuid.uuid4().hex[:10]}"
    run = REPO / ".run" / "image-test" / prefix
    objects = _render()
    cluster = Cluster(
        objects,
        config={"ORCH_KAFKA_BOOTSTRAP": stack.bootstrap, "ORCH_TOPIC_PREFIX": prefix,
                "ORCH_API_HOST": "127.0.0.1", "ORCH_HEALTH_HOST": "127.0.0.1"},
        secrets={("orchestrator-db", "url"): stack.dsn,
                 ("orchestrator-db", "reader-url"): _reader_url(stack)},
        volumes=run / "volumes")
    started: list[str] = []
    try:
        for job, pod in _orchestrator_pods(objects, "Job").items():
            for spec in pod.get("initContainers", []) + pod["containers"]:
                _run_to_completion(container(cluster, pod, spec, f"{prefix}-{job}-{spec['name']}"))
        deployments = _orchestrator_pods(objects, "Deployment")
        inits: set[str] = set()
        for name, pod in deployments.items():  # identical init containers run once
            for spec in pod.get("initContainers", []):
                key = json.dumps(spec, sort_keys=True)
                if key not in inits:
                    inits.add(key)
                    _run_to_completion(container(cluster, pod, spec, f"{prefix}-{name}-{spec['name']}"))
        began = time.monotonic()
        mains = {name: container(cluster, pod, pod["containers"][0], f"{prefix}-{name}")
                 for name, pod in deployments.items()}
        for c in mains.values():
            podman(*c.argv)
            started.append(c.name)
        for c in mains.values():
            _await_probe(c, "startupProbe")
        settings = stack.model_copy(update={"topic_prefix": prefix})
        templates = {o["metadata"]["name"]: o["spec"]["template"] for o in objects
                     if o["kind"] == "Deployment" and o["metadata"]["name"] in mains}
        yield Fleet(settings, mains, templates, cluster.volumes, time.monotonic() - began, {})
    finally:
        logs = run / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in started:
            out = podman("logs", name, check=False)
            (logs / f"{name}.log").write_text(out.stdout + out.stderr)
            podman("rm", "-f", "-t", "10", name, check=False)


def _events_until_terminal(settings: Settings, request_id: str, since_ms: int,
                           timeout: float) -> list[Event]:
    """Every event of one submission, read from the log, until its terminal event."""
    seen: dict[str, Event] = {}
    for event in client.follow(settings, since_ms, timeout, lambda e: e.request_id == request_id):
        seen.setdefault(event.event_id, event)
        if event.type in client.TERMINAL:
            break
    return list(seen.values())


@pytest.fixture(scope="module")
def outcome(fleet: Fleet) -> tuple[str, list[Event]]:
    """POST the spec to the API container; every event of that submission, to its end."""
    api = fleet.containers["api"]
    base = f"http://127.0.0.1:{api.ports['http']}"
    since = int(time.time() * 1000) - 1000
    began = time.monotonic()
    answer = httpx.post(f"{base}/specs", content=SPEC.read_bytes(),
                        headers={"content-type": "application/yaml"}, timeout=30)
    assert answer.status_code == 202, answer.text
    request_id = answer.json()["request_id"]
    events = _events_until_terminal(fleet.settings, request_id, since, timeout=300)
    fleet.figures["spec_to_terminal_s"] = time.monotonic() - began
    fleet.figures["startup_s"] = fleet.started_s
    fleet.figures["events"] = len(events)
    out = REPO / ".run" / "image-test" / "figures.json"
    out.write_text(json.dumps(fleet.figures, indent=1))
    print(f"\nimage test figures: {json.dumps(fleet.figures)}")
    terminal = [e.type for e in events if e.type in client.TERMINAL]
    return (terminal[0] if terminal else "timeout"), events


def test_a_spec_posted_to_the_api_container_reaches_project_completed(
        outcome: tuple[str, list[Event]]) -> None:
    terminal, events = outcome
    failed = [f"{e.type}: {e.payload}" for e in events if e.type in ("qa.failed", "task.failed")]
    assert terminal == "project.completed", f"{terminal}; failures: {failed[:5]}"
    assert not failed, "QA saw every file Dev wrote in another container"
    smoke = {e.payload.area for e in events if e.type == "smoke.passed"}  # type: ignore[union-attr]
    assert smoke == {"backend", "web", "mobile"}


def test_the_read_model_answers_through_the_api_container(
        fleet: Fleet, outcome: tuple[str, list[Event]]) -> None:
    project_id = next(e.project_id for e in outcome[1] if e.type == "project.created")
    base = f"http://127.0.0.1:{fleet.containers['api'].ports['http']}"
    deadline = time.monotonic() + 60
    while True:  # the projector catches up with the log
        found = httpx.get(f"{base}/projects/{project_id}", timeout=10)
        if found.status_code == 200 and found.json()["status"] == "completed":
            break
        assert time.monotonic() < deadline, f"projection: {found.status_code} {found.text[:300]}"
        time.sleep(0.5)
    tasks = httpx.get(f"{base}/projects/{project_id}/tasks", timeout=10).json()
    items = tasks["items"] if isinstance(tasks, dict) else tasks
    assert {t["role"] for t in items} >= {"dev", "qa", "devops"}


def test_every_declared_probe_answers_on_its_declared_port(
        fleet: Fleet, outcome: tuple[str, list[Event]]) -> None:
    for name, c in fleet.containers.items():
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert kind in c.spec, f"{name}: no {kind}"
            _await_probe(c, kind)
    for name, pod in fleet.pods.items():  # what Prometheus scrapes, by the pod's annotations
        notes = pod["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true", name
        port = fleet.containers[name].ports[notes["prometheus.io/port"]]
        metrics = httpx.get(f"http://127.0.0.1:{port}{notes['prometheus.io/path']}", timeout=5)
        assert metrics.status_code == 200, name
        assert metrics.headers["content-type"].startswith("text/plain"), name


def test_evidence_is_on_the_shared_volume_and_matches_its_digests(
        fleet: Fleet, outcome: tuple[str, list[Event]]) -> None:
    refs = {a.uri: a for e in outcome[1] for a in e.artifacts}
    writers = {e.actor.role.value for e in outcome[1] if e.artifacts}
    assert {"spec", "cto", "pm", "devops"} <= writers, writers
    for uri, ref in refs.items():
        assert uri.startswith(f"file://{ARTIFACTS_IN_POD}/"), uri
        host = fleet.volumes / "orchestrator-shared" / "artifacts" / uri.removeprefix(
            f"file://{ARTIFACTS_IN_POD}/")
        data = host.read_bytes()
        assert hashlib.sha256(data).hexdigest() == ref.sha256 and len(data) == ref.size, uri


def test_the_image_reads_and_verifies_artifacts_in_s3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prod overlay's object store path, in the image: s3fs inside, the AWS variables
    honoured; an artifact stored from the host against moto's S3 server comes back verified."""
    from s3server import CREDENTIALS, moto_server

    from orchestrator.adapters import artifacts
    from orchestrator.core.envelope import Attachment

    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"image {IMAGE} is not built: run `make image`", pytrace=False)
    with moto_server(tmp_path / "moto.log") as endpoint:
        env = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        ref = artifacts.store(f"s3://image-{uuid.uuid4().hex[:8]}/artifacts",
                              Attachment("report.txt", "text/plain", b"evidence\n"))
        flags = [f"--env={k}={v}" for k, v in env.items()]
        got = podman("run", "--rm", "--read-only", "--mount", "type=tmpfs,destination=/tmp,chown=true",
                     *flags, IMAGE, "artifacts", "get", ref.uri, "--sha256", ref.sha256, check=False)
        assert got.returncode == 0, got.stderr
        assert got.stdout == "evidence\n"
        bad = podman("run", "--rm", "--read-only", *flags, IMAGE, "artifacts", "get", ref.uri,
                     "--sha256", "0" * 64, check=False)
        assert bad.returncode == 3 and "digest mismatch" in bad.stderr
