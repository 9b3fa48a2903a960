"""deploy/k8s/monitoring: the PrometheusRule and the Grafana dashboard render, have the shape
their operators read, and use only metrics the code exports (a renamed metric fails here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from orchestrator.adapters.config import Settings
from orchestrator.shell.metrics import Metrics
from services.projections.api import create_app
from services.projections.metrics import DeadLetterDepth, ProjectorMetrics

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
NAME = re.compile(r"\b(orchestrator_[a-z0-9_]+)")
RULE_KEYS = {"alert", "expr", "for", "labels", "annotations"}


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    out = subprocess.run(["kubectl", "kustomize", str(K8S / "monitoring")], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def exported() -> set[str]:
    """Every sample name the services, the projector and the API can expose."""
    app = create_app(Settings(), "postgresql://nowhere/none")
    families = [*Metrics().registry.collect(), *ProjectorMetrics().registry.collect(),
                *app.app.state.registry.collect(), *DeadLetterDepth(Settings()).describe()]
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "gauge": ("",)}
    return {f.name + s for f in families for s in suffixes[f.type]}


def the(kind: str) -> dict[str, Any]:
    found = [o for o in rendered() if o["kind"] == kind]
    assert len(found) == 1, [o["kind"] for o in rendered()]
    return found[0]


def dashboard() -> dict[str, Any]:
    return json.loads(the("ConfigMap")["data"]["dashboard.json"])  # type: ignore[no-any-return]


def test_the_rule_is_a_prometheus_rule_of_well_formed_alerts() -> None:
    rule = the("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "orchestrator"
    assert set(rule["spec"]) == {"groups"}
    names = []
    for group in rule["spec"]["groups"]:
        assert set(group) == {"name", "rules"} and group["rules"]
        for alert in group["rules"]:
            assert set(alert) == RULE_KEYS, alert
            assert isinstance(alert["expr"], str) and alert["expr"].strip()
            assert re.fullmatch(r"\d+[smh]", alert["for"])
            assert alert["labels"]["severity"] in {"info", "warning", "critical"}
            assert {"summary", "description"} <= set(alert["annotations"])
            assert alert["expr"].count("(") == alert["expr"].count(")")
            names.append(alert["alert"])
    assert len(names) == len(set(names))
    assert {"OrchestratorConsumerLagGrowing", "OrchestratorDeadLetters", "OrchestratorServiceSilent"} \
        <= set(names)


def test_the_dashboard_is_a_configmap_grafana_loads() -> None:
    config = the("ConfigMap")
    kubernetes_validate.validate(config, kubernetes_validate.latest_version(), strict=True)
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = dashboard()
    assert board["uid"] and board["panels"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])


def test_every_metric_the_alerts_and_the_dashboard_use_is_exported() -> None:
    exprs = [a["expr"] for g in the("PrometheusRule")["spec"]["groups"] for a in g["rules"]]
    exprs += [t["expr"] for p in dashboard()["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in NAME.findall(e)}
    known = exported()
    assert used and not used - known, sorted(used - known)


def test_the_dashboard_shows_the_issue_s_metrics() -> None:
    used = {n for p in dashboard()["panels"] for t in p["targets"] for n in NAME.findall(t["expr"])}
    for wanted in ("orchestrator_consumer_lag", "orchestrator_hop_latency_seconds_bucket",
                   "orchestrator_executor_duration_seconds_bucket", "orchestrator_tasks",
                   "orchestrator_dlq_records", "orchestrator_api_request_seconds_bucket"):
        assert wanted in used


def test_the_committed_monitoring_files_are_the_generator_s_output() -> None:
    out = subprocess.run([sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
