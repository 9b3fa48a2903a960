"""CI validation of the Kubernetes manifests in deploy/k8s (fast, offline, no cluster).

* every kustomization (base and each overlay) renders with `kubectl kustomize`;
* every rendered object of a Kubernetes API group validates (strict: no unknown
  fields) against the OpenAPI schemas bundled with `kubernetes-validate`, newest
  release; custom resources (KEDA, Strimzi) are checked for structure instead;
* policy: restricted Pod Security, resources, pinned images, probes, NetworkPolicies,
  ServiceAccount tokens, no committed secret values;
* the committed generated files equal deploy/k8s/generate.py's output;
* every `orchestrator ...` command line in a manifest names a real CLI command.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TARGETS = ("base", "overlays/dev", "overlays/prod")
NAMESPACE = "orchestrator"
ORCH_IMAGE = "ghcr.io/delivery-orchestrator/orchestrator"
ORCH_UID = 10001
# Custom resources: not in the Kubernetes schemas, validated for structure below.
CRD_GROUPS = {"keda.sh", "kafka.strimzi.io"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
K8S_VERSION = kubernetes_validate.latest_version()


# ----------------------------------------------------------------------------- helpers


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not on PATH: these tests render deploy/k8s with `kubectl kustomize` "
            "(kustomize is built into kubectl >= 1.14). Install kubectl in CI.",
            pytrace=False,
        )
    return kubectl


@functools.cache
def _render(target: str) -> tuple[dict[str, Any], ...]:
    proc = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"`kubectl kustomize {target}` failed:\n{proc.stderr}", pytrace=False)
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def objects(target: str) -> tuple[dict[str, Any], ...]:
    return _render(target)


def _api_group(obj: dict[str, Any]) -> str:
    api_version = obj["apiVersion"]
    return api_version.split("/")[0] if "/" in api_version else ""


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return obj["spec"]["template"]


def _workloads(objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in WORKLOADS]


def _containers(pod: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = pod["spec"]
    return [("initContainer", c) for c in spec.get("initContainers", [])] + [
        ("container", c) for c in spec["containers"]
    ]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels AND matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _orchestrator_commands(objects: tuple[dict[str, Any], ...]) -> list[tuple[str, list[str]]]:
    """(where, argv after `orchestrator`) of every container running the orchestrator image."""
    out = []
    for obj in _workloads(objects):
        for _, c in _containers(_pod_template(obj)):
            if not c["image"].startswith(ORCH_IMAGE + ":"):
                continue
            command = c.get("command") or []
            if command and command != ["orchestrator"]:
                pytest.fail(f"{_name(obj)}/{c['name']}: orchestrator image with command {command}")
            out.append((f"{_name(obj)}/{c['name']}", list(c.get("args") or ["service", "api"])))
    return out


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("k8s_generate", K8S / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("k8s_generate", module)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- rendering


def test_every_kustomization_renders(objects: tuple[dict[str, Any], ...], target: str) -> None:
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Deployment", "Job", "NetworkPolicy", "ConfigMap"} <= kinds, target
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, _name(obj)
    names = [(_api_group(o), o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), "duplicate objects"


def test_schema_version_is_recent() -> None:
    major, minor = (int(x) for x in K8S_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 33), f"kubernetes-validate bundles only up to {K8S_VERSION}"


def test_objects_validate_against_kubernetes_openapi(
    objects: tuple[dict[str, Any], ...], target: str
) -> None:
    errors, skipped = [], []
    for obj in objects:
        if _api_group(obj) in CRD_GROUPS:
            skipped.append(_name(obj))  # custom resource: structure checked below
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{_name(obj)}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{_name(obj)}: {e.message}")
    assert not errors, f"{target} against Kubernetes {K8S_VERSION}:\n" + "\n".join(errors)
    if target == "overlays/prod":
        assert len(skipped) == 10, skipped  # the KEDA ScaledObjects and their TriggerAuthentication


def test_generated_manifests_are_up_to_date() -> None:
    generator = _load_generator()
    stale = [
        str(rel)
        for rel, text in generator.render().items()
        if not (K8S / rel).exists() or (K8S / rel).read_text() != text
    ]
    assert not stale, f"run `python deploy/k8s/generate.py`; stale: {stale}"


def test_one_deployment_per_actor_per_area() -> None:
    from orchestrator.entrypoints.services import AREAS, SERVICES

    deployments = {o["metadata"]["name"] for o in _render("base") if o["kind"] == "Deployment"}
    areas = [a for a in AREAS if a != "all"]
    expected = {"spec", "cto", "projector", "api"}
    expected |= {
        f"{svc}-{area}" for svc in ("pm", "monitor", "dev", "qa", "devops") for area in areas
    }
    assert deployments == expected
    assert set(SERVICES) == {d.split("-")[0] for d in deployments}


# ----------------------------------------------------------------------------- policy


def test_namespace_enforces_restricted_pod_security(objects: tuple[dict[str, Any], ...]) -> None:
    (ns,) = [o for o in objects if o["kind"] == "Namespace"]
    assert ns["metadata"]["name"] == NAMESPACE
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_containers_are_restricted_and_bounded(objects: tuple[dict[str, Any], ...]) -> None:
    problems = []
    for obj in _workloads(objects):
        pod = _pod_template(obj)
        pod_sc = pod["spec"].get("securityContext") or {}
        if (
            pod["spec"].get("hostNetwork")
            or pod["spec"].get("hostPID")
            or pod["spec"].get("hostIPC")
        ):
            problems.append(f"{_name(obj)}: host namespaces")
        for vol in pod["spec"].get("volumes", []):
            if "hostPath" in vol:
                problems.append(f"{_name(obj)}: hostPath volume {vol['name']}")
        for what, c in _containers(pod):
            where = f"{_name(obj)} {what} {c['name']}"
            sc = c.get("securityContext") or {}

            def eff(key: str, sc: dict[str, Any] = sc, pod_sc: dict[str, Any] = pod_sc) -> Any:
                return sc.get(key, pod_sc.get(key))

            if eff("runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot")
            uid = eff("runAsUser")
            if not uid:  # None (image default) or 0
                problems.append(f"{where}: runAsUser must be a non-zero uid")
            if c["image"].startswith(ORCH_IMAGE + ":") and uid != ORCH_UID:
                problems.append(f"{where}: orchestrator runs as uid {ORCH_UID}, got {uid}")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem")
            caps = sc.get("capabilities") or {}
            if caps.get("drop") != ["ALL"] or caps.get("add"):
                problems.append(f"{where}: capabilities must drop ALL and add none")
            if sc.get("privileged"):
                problems.append(f"{where}: privileged")
            if (eff("seccompProfile") or {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile RuntimeDefault")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (res.get(kind) or {}):
                        problems.append(f"{where}: resources.{kind}.{resource}")
    assert not problems, "\n".join(problems)


def test_images_are_pinned(objects: tuple[dict[str, Any], ...]) -> None:
    problems = []
    for obj in _workloads(objects):
        for _, c in _containers(_pod_template(obj)):
            image = c["image"]
            if "@sha256:" in image:
                continue
            last = image.rsplit("/", 1)[-1]
            if ":" not in last:
                problems.append(f"{_name(obj)}/{c['name']}: untagged image {image}")
            elif last.rsplit(":", 1)[1] in ("latest", ""):
                problems.append(f"{_name(obj)}/{c['name']}: floating tag {image}")
    assert not problems, "\n".join(problems)


def test_long_running_containers_have_probes(objects: tuple[dict[str, Any], ...]) -> None:
    problems = []
    for obj in _workloads(objects):
        if obj["kind"] not in LONG_RUNNING:
            continue
        for c in _pod_template(obj)["spec"]["containers"]:
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{_name(obj)}/{c['name']}: no {probe}")
    assert not problems, "\n".join(problems)


def test_orchestrator_probes_hit_health_endpoints() -> None:
    for obj in _render("base"):
        if obj["kind"] != "Deployment":
            continue
        (c,) = _pod_template(obj)["spec"]["containers"]
        port = {p["name"]: p["containerPort"] for p in c["ports"]}
        expected = {"http": 8080} if obj["metadata"]["name"] == "api" else {"health": 9100}
        assert port == expected, _name(obj)
        (port_name,) = expected
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port_name}
        ann = _pod_template(obj)["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true"
        assert ann["prometheus.io/port"] == str(expected[port_name])
        assert ann["prometheus.io/path"] == "/metrics"


def test_service_accounts_do_not_mount_tokens(objects: tuple[dict[str, Any], ...]) -> None:
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    for sa in accounts.values():
        assert sa.get("automountServiceAccountToken") is False, _name(sa)
    for obj in _workloads(objects):
        spec = _pod_template(obj)["spec"]
        assert spec.get("automountServiceAccountToken") is False, _name(obj)
        assert spec.get("serviceAccountName") in accounts, f"{_name(obj)}: no own ServiceAccount"


def test_every_workload_has_a_network_policy(objects: tuple[dict[str, Any], ...]) -> None:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny (ingress + egress) NetworkPolicy"
    specific = [p for p in policies if p["spec"]["podSelector"] != {}]
    for obj in _workloads(objects):
        if obj["kind"] not in LONG_RUNNING:
            continue
        labels = _pod_template(obj)["metadata"]["labels"]
        assert any(_selects(p["spec"]["podSelector"], labels) for p in specific), (
            f"{_name(obj)} is selected by no NetworkPolicy besides the namespace-wide ones"
        )


def test_network_policies_grant_what_each_service_needs() -> None:
    objects = _render("base")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]

    def ports(labels: dict[str, str], direction: str) -> set[int]:
        found: set[int] = set()
        for p in policies:
            if direction.capitalize() in p["spec"]["policyTypes"] and _selects(
                p["spec"]["podSelector"], labels
            ):
                for rule in p["spec"].get(direction, []):
                    found |= {port["port"] for port in rule.get("ports", [])}
        return found

    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        labels = _pod_template(obj)["metadata"]["labels"]
        component = labels["app.kubernetes.io/component"]
        egress = ports(labels, "egress")
        assert {53, 9092, 443} <= egress, _name(obj)  # 443: the object store
        assert (5432 in egress) == (component in ("projector", "api")), _name(obj)
        assert (80 in egress) == (component in ("dev", "qa", "devops")), _name(obj)
        ingress = ports(labels, "ingress")
        assert (9100 in ingress) or (8080 in ingress), f"{_name(obj)}: metrics not scrapeable"
    api_labels = next(
        _pod_template(o)["metadata"]["labels"] for o in objects if _name(o) == "Deployment/api"
    )
    assert 8080 in ports(api_labels, "ingress")


def test_disruption_budgets_and_api_autoscaling(objects: tuple[dict[str, Any], ...]) -> None:
    pdbs = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        labels = _pod_template(obj)["metadata"]["labels"]
        assert any(_selects(p["spec"]["selector"], labels) for p in pdbs), f"{_name(obj)}: no PDB"
    (hpa,) = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "api",
    }
    (api,) = [o for o in objects if _name(o) == "Deployment/api"]
    assert "replicas" not in api["spec"], "the HPA owns the api's replica count"
    (svc,) = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "api"]
    assert svc["spec"]["ports"][0]["port"] == 8080


def test_secrets_are_referenced_never_committed(
    objects: tuple[dict[str, Any], ...], target: str
) -> None:
    secrets = [o for o in objects if o["kind"] == "Secret"]
    if target == "overlays/dev":
        (secret,) = secrets
        assert secret["metadata"]["name"] == "orchestrator-db"
        assert secret["metadata"]["labels"]["orchestrator.dev/dev-only"] == "true"
    else:
        assert not secrets, f"{target} must not carry Secret values"
    for obj in objects:
        if obj["kind"] != "Deployment" or not obj["metadata"]["name"]:
            continue
        c = _pod_template(obj)["spec"]["containers"][0]
        if not c["image"].startswith(ORCH_IMAGE + ":"):
            continue
        db = {e["name"]: e for e in c.get("env", [])}["ORCH_DATABASE_URL"]
        ref = db["valueFrom"]["secretKeyRef"]
        expected = "reader-url" if obj["metadata"]["name"] == "api" else "url"
        assert ref == {"name": "orchestrator-db", "key": expected}, _name(obj)
    config = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("orchestrator-config")
    ]
    (cm,) = config
    for key in cm["data"]:
        assert not any(w in key.upper() for w in ("PASSWORD", "DATABASE_URL", "SECRET", "TOKEN")), (
            key
        )


def test_provisioning_job_creates_topics_then_checks_schemas() -> None:
    (job,) = [o for o in _render("base") if o["kind"] == "Job"]
    spec = _pod_template(job)["spec"]
    steps = [c["args"] for c in spec.get("initContainers", [])] + [
        c["args"] for c in spec["containers"]
    ]
    assert steps == [["topics", "create"], ["schemas", "check"]]
    assert spec["restartPolicy"] in ("OnFailure", "Never")


def test_provision_stage_can_be_applied_alone(target: str) -> None:
    """Upgrade step 1 (README): `kubectl apply -k <overlay> -l orchestrator.dev/stage=provision`
    must bring the Job and everything it references (the ConfigMap)."""
    staged = {
        o["kind"]
        for o in _render(target)
        if (o["metadata"].get("labels") or {}).get("orchestrator.dev/stage") == "provision"
    }
    assert staged == {"Job", "ConfigMap"}, staged


def test_writable_paths_are_volumes() -> None:
    for obj in _render("base"):
        if obj["kind"] not in WORKLOADS:
            continue
        pod = _pod_template(obj)
        for _, c in _containers(pod):
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert {"/tmp", "/var/run/orchestrator"} <= mounts, _name(obj)
    (cm,) = [o for o in _render("base") if o["kind"] == "ConfigMap"]
    assert cm["data"]["ORCH_RUN_DIR"] == "/var/run/orchestrator"
    assert cm["data"]["HOME"] == "/tmp"


def test_evidence_and_workspaces_are_shared_by_every_pod_and_outlive_it(target: str) -> None:
    """Artifacts and the projects' shared directories: an object store, or a path on one
    PersistentVolumeClaim that every orchestrator Deployment mounts, never a per-pod emptyDir."""
    objects = _render(target)
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap"
             and o["metadata"]["name"].startswith("orchestrator-config")]
    for key in ("ORCH_ARTIFACT_ROOT", "ORCH_WORKSPACE_ROOT"):
        root = cm["data"][key]
        if root.startswith("s3://"):
            continue
        for obj in objects:
            if obj["kind"] != "Deployment":
                continue
            spec = _pod_template(obj)["spec"]
            claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
                      for v in spec["volumes"] if "persistentVolumeClaim" in v}
            mounted = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
            backing = [claims.get(name) for path, name in mounted.items()
                       if root == path or root.startswith(path.rstrip("/") + "/")]
            assert backing and backing[0], f"{_name(obj)}: {key}={root} is not on a shared volume"
            assert backing[0] == "orchestrator-shared", _name(obj)


# ----------------------------------------------------------------------------- the CLI


def _typer_commands() -> set[tuple[str, ...]]:
    """Every command path the Typer app registers, e.g. ("service",), ("topics", "create")."""
    from typer.models import DefaultPlaceholder

    from orchestrator.entrypoints.cli import app

    def name_of(value: Any, fallback: str) -> str:
        return fallback if value is None or isinstance(value, DefaultPlaceholder) else str(value)

    def walk(typer_app: Any, prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        found = set()
        for cmd in typer_app.registered_commands:
            found.add((*prefix, name_of(cmd.name, cmd.callback.__name__.replace("_", "-"))))
        for group in typer_app.registered_groups:
            sub = group.typer_instance
            gname = name_of(group.name, name_of(sub.info.name, ""))
            found |= walk(sub, (*prefix, gname))
        return found

    return walk(app, ())


def test_service_commands_name_real_services_and_areas(target: str) -> None:
    from orchestrator.entrypoints.services import AREAS, SERVICES

    assert ("service",) in _typer_commands()
    seen = 0
    for where, argv in _orchestrator_commands(_render(target)):
        if argv[0] != "service":
            continue
        seen += 1
        assert len(argv) in (2, 4), f"{where}: {argv}"
        assert argv[1] in SERVICES, f"{where}: unknown service {argv[1]!r}"
        if len(argv) == 4:
            assert argv[2] == "--area" and argv[3] in AREAS, f"{where}: {argv}"
    assert seen == 19


def test_other_orchestrator_commands_exist() -> None:
    """`topics create`, `schemas check` and `kafka acls apply` (provision Job and init containers) must be
    commands of the Typer app. Until they are registered this test is reported as
    XFAIL with the missing names (never a silent pass); once they exist it asserts."""
    used = {
        tuple(argv[:3] if argv[0] == "kafka" else argv[:2])
        for target in TARGETS
        for _, argv in _orchestrator_commands(_render(target))
        if argv[0] != "service"
    }
    assert used == {("topics", "create"), ("schemas", "check"), ("kafka", "acls", "apply")}
    registered = _typer_commands()
    missing = sorted(" ".join(cmd) for cmd in used if cmd not in registered)
    groups = {cmd[0] for cmd in registered if len(cmd) > 1}
    absent_groups = {m.split()[0] for m in missing} - groups
    if missing and absent_groups == {m.split()[0] for m in missing}:
        pytest.xfail(f"orchestrator CLI does not register yet: {missing}")
    assert not missing, f"manifests use orchestrator commands the CLI lacks: {missing}"


# ----------------------------------------------------------------------------- dev


def test_dev_overlay_runs_kafka_and_postgres_in_cluster() -> None:
    objects = _render("overlays/dev")
    by_name = {_name(o): o for o in objects}
    kafka, pg = by_name["StatefulSet/kafka"], by_name["StatefulSet/postgres"]
    assert by_name["Service/kafka"]["spec"]["clusterIP"] == "None"
    assert by_name["Service/kafka"]["spec"]["ports"][0]["port"] == 9092
    assert by_name["Service/postgres"]["spec"]["ports"][0]["port"] == 5432
    for sts in (kafka, pg):
        assert sts["spec"]["volumeClaimTemplates"], _name(sts)
    (kc,) = kafka["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in kc["env"]}
    assert kc["image"].startswith("apache/kafka:4.")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["spec"]["template"]["spec"]["enableServiceLinks"] is False
    (pc,) = pg["spec"]["template"]["spec"]["containers"]
    assert pc["image"].startswith("postgres:15.")
    init_mount = [m for m in pc["volumeMounts"] if m["mountPath"] == "/docker-entrypoint-initdb.d"]
    assert init_mount
    init = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("postgres-init")
    )
    script = "\n".join(init["data"].values())
    assert "CREATE ROLE orchestrator_reader" in script
    assert "GRANT SELECT" in script and "ALTER DEFAULT PRIVILEGES" in script
    cm = next(
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("orchestrator-config")
    )
    assert cm["data"]["ORCH_KAFKA_BOOTSTRAP"] == "kafka:9092"
    secret = by_name["Secret/orchestrator-db"]
    assert {"url", "reader-url"} <= set(secret["data"])
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for sts, port in ((kafka, 9092), (pg, 5432)):
        labels = sts["spec"]["template"]["metadata"]["labels"]
        assert any(
            _selects(p["spec"]["podSelector"], labels)
            and any(
                port in {x["port"] for x in r.get("ports", [])}
                for r in p["spec"].get("ingress", [])
            )
            for p in policies
        ), f"{_name(sts)}: nothing may connect on {port}"


# ----------------------------------------------------------------------------- prod


def test_prod_keda_scaled_objects() -> None:
    objects = _render("overlays/prod")
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    scaled = [o for o in objects if o["kind"] == "ScaledObject"]
    names = {o["metadata"]["name"] for o in scaled}
    assert names == {
        f"{s}-{a}" for s in ("dev", "qa", "devops") for a in ("backend", "web", "mobile")
    }
    cm = next(o for o in objects if o["kind"] == "ConfigMap")
    (auth,) = [o for o in objects if o["kind"] == "TriggerAuthentication"]
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs == {"username": ("orchestrator-kafka-lag", "username"),
                    "password": ("orchestrator-kafka-lag", "password"),
                    "ca": ("orchestrator-kafka-ca", "ca.crt")}
    from orchestrator.adapters import acls
    from orchestrator.adapters.config import Settings

    lag = [g for g in acls.table(Settings(topic_prefix=cm["data"]["ORCH_TOPIC_PREFIX"]))
           if g.principal == "User:lag"]
    assert {g.operation for g in lag} == {"describe"}  # lag may look, never read or write
    for so in scaled:
        assert so["apiVersion"] == "keda.sh/v1alpha1"
        spec = so["spec"]
        target = spec["scaleTargetRef"]["name"]
        assert target == so["metadata"]["name"] and target in deployments
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == f"orchestrator-{target}"
        assert any(g.resource == "group" and g.prefixed and meta["consumerGroup"].startswith(g.name)
                   for g in lag), meta["consumerGroup"]
        assert any(g.resource == "topic" and g.name == meta["topic"] for g in lag)
        assert meta["topic"] == f"{cm['data']['ORCH_TOPIC_PREFIX']}.events"
        assert meta["bootstrapServers"] == cm["data"]["ORCH_KAFKA_BOOTSTRAP"]
        assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"
        assert (meta["sasl"], meta["tls"]) == ("scram_sha512", "enable")
        assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
        assert deployments[target]["spec"]["replicas"] >= spec["minReplicaCount"]


def test_prod_overlay_spreads_and_sizes() -> None:
    objects = _render("overlays/prod")
    cm = next(o for o in objects if o["kind"] == "ConfigMap")
    assert cm["data"]["ORCH_KAFKA_BOOTSTRAP"] == "my-cluster-kafka-bootstrap.kafka:9092"
    assert int(cm["data"]["ORCH_PARTITIONS"]) >= 12
    assert cm["data"]["ORCH_REPLICATION_FACTOR"] == "3"
    assert cm["data"]["ORCH_MIN_INSYNC_REPLICAS"] == "2"
    assert not [o for o in objects if o["kind"] in ("StatefulSet", "Kafka", "KafkaNodePool")]
    for obj in objects:
        if obj["kind"] == "Deployment":
            affinity = _pod_template(obj)["spec"].get("affinity", {})
            assert "podAntiAffinity" in affinity, _name(obj)
            if obj["metadata"]["name"].split("-")[0] in ("dev", "qa", "devops"):
                assert obj["spec"]["replicas"] >= 2, _name(obj)


def test_strimzi_example_is_a_three_node_kraft_cluster() -> None:
    path = K8S / "overlays" / "prod" / "strimzi-kafka.example.yaml"
    docs = {d["kind"]: d for d in yaml.safe_load_all(path.read_text()) if d}
    assert set(docs) == {"Kafka", "KafkaNodePool"}
    for doc in docs.values():
        assert doc["apiVersion"] == "kafka.strimzi.io/v1beta2"
    kafka, pool = docs["Kafka"], docs["KafkaNodePool"]
    assert (
        pool["metadata"]["labels"]["strimzi.io/cluster"]
        == kafka["metadata"]["name"]
        == "my-cluster"
    )
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert "zookeeper" not in kafka["spec"]
    assert str(kafka["spec"]["kafka"]["version"]).startswith("4.")
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert any(
        listener["port"] == 9092 and listener["type"] == "internal"
        for listener in kafka["spec"]["kafka"]["listeners"]
    )
    prod = yaml.safe_load((K8S / "overlays" / "prod" / "kustomization.yaml").read_text())
    assert path.name not in prod.get("resources", []), "the Strimzi example is not applied"


def _env(obj: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _principal_of(obj: dict[str, Any], container: dict[str, Any]) -> str:
    """The Kafka principal a container connects as, after checking it takes its password
    from its own principal's Secret and the CA from the mounted Secret."""
    env = _env(obj, container)
    where = f"{_name(obj)}/{container['name']}"
    assert env["ORCH_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL", where
    assert env["ORCH_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512", where
    principal = env["ORCH_KAFKA_SASL_USERNAME"]["value"]
    assert env["ORCH_KAFKA_SASL_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": f"orchestrator-kafka-{principal}", "key": "password"}}, where
    ca = Path(env["ORCH_KAFKA_SSL_CA_LOCATION"]["value"])
    pod = _pod_template(obj)["spec"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[str(ca.parent)])
    assert volume["secret"]["secretName"] == "orchestrator-kafka-ca", where
    assert {"key": "ca.crt", "path": ca.name} in volume["secret"]["items"], where
    return str(principal)


def test_prod_deployments_connect_to_kafka_as_their_own_principal_of_the_acl_table() -> None:
    from orchestrator.adapters import acls
    from orchestrator.adapters.config import Settings

    named = {g.principal.removeprefix("User:") for g in acls.table(Settings(topic_prefix="orchestrator"))}
    seen = set()
    for obj in _render("overlays/prod"):
        if obj["kind"] != "Deployment":
            continue
        spec = _pod_template(obj)["spec"]
        (container,) = spec["containers"]
        principal = _principal_of(obj, container)
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        assert principal == component and principal in named, _name(obj)
        # only the admin creates the shared topics: no service-side `topics create`
        assert not spec.get("initContainers"), _name(obj)
        seen.add(principal)
    assert seen == {"spec", "cto", "pm", "monitor", "dev", "qa", "devops", "projector", "api"}


def test_prod_provision_job_creates_topics_and_the_acl_table_as_the_admin() -> None:
    (job,) = [o for o in _render("overlays/prod") if o["kind"] == "Job"]
    spec = _pod_template(job)["spec"]
    steps = [(c["args"], c) for c in spec["initContainers"] + spec["containers"]]
    assert [args for args, _ in steps] == [["topics", "create"], ["kafka", "acls", "apply"],
                                           ["schemas", "check"]]
    assert [_principal_of(job, c) for args, c in steps if args[0] != "schemas"] == ["admin", "admin"]
    assert "ORCH_KAFKA_SASL_PASSWORD" not in _env(job, steps[-1][1])  # needs no broker


def test_base_and_dev_carry_no_kafka_credentials() -> None:
    for target in ("base", "overlays/dev"):
        for obj in _workloads(_render(target)):
            for _, c in _containers(_pod_template(obj)):
                assert not [n for n in _env(obj, c) if n.startswith("ORCH_KAFKA_SASL")], _name(obj)
