"""Run a rendered Kubernetes pod template with podman, as the kubelet would run it.

Everything comes from the manifests: image, command, args, env (ConfigMap, Secret and
literal values), ports, probes, volumes, user, read-only root filesystem, dropped
capabilities. What a cluster provides and this host cannot is substituted, each in one
named place: the in-cluster Services (Kafka, PostgreSQL) by the local ones
(`Cluster.secrets`, `Cluster.config`), and since every container shares the host's
network, each declared container port by a free one (the variable that told the service
that port now says the new one; a probe on that port follows it).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.adapters.stack.proc import free_port

REPO = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = REPO / "deploy" / "podman" / "containers.conf"


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))}
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@dataclass
class Cluster:
    """The rendered objects plus what stands in for the cluster around them."""

    objects: list[dict[str, Any]]
    config: dict[str, str]  # ConfigMap keys replaced (e.g. the Kafka bootstrap)
    secrets: dict[tuple[str, str], str]  # (Secret, key) values replaced (database URLs)
    volumes: Path  # host directory holding one directory per PersistentVolumeClaim

    def config_map(self, name: str) -> dict[str, str]:
        found = [o for o in self.objects if o["kind"] == "ConfigMap"
                 and (o["metadata"]["name"] == name or o["metadata"]["name"].startswith(name + "-"))]
        assert len(found) == 1, f"ConfigMap {name}: {len(found)} rendered"
        return {**found[0]["data"], **{k: v for k, v in self.config.items() if k in found[0]["data"]}}

    def secret(self, name: str, key: str) -> str | None:
        if (name, key) in self.secrets:
            return self.secrets[(name, key)]
        for o in self.objects:
            if o["kind"] == "Secret" and o["metadata"]["name"] == name and key in o.get("data", {}):
                return base64.b64decode(o["data"][key]).decode()
        return None

    def claim_dir(self, claim: str) -> Path:
        """A PVC: one host directory, writable by the pod's fsGroup as Kubernetes makes it."""
        path = self.volumes / claim
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)
        return path


@dataclass
class Container:
    name: str  # the podman container name
    spec: dict[str, Any]
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # port name (or number) -> host port
    argv: list[str] = field(default_factory=list)

    def probe_url(self, kind: str) -> str:
        get = self.spec[kind]["httpGet"]
        return f"http://127.0.0.1:{self.ports[str(get['port'])]}{get['path']}"


def environment(cluster: Cluster, spec: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        env.update(cluster.config_map(source["configMapRef"]["name"]))
    for item in spec.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"].get("secretKeyRef") or {}
        value = cluster.secret(ref["name"], ref["key"])
        if value is None:
            assert ref.get("optional"), f"{spec['name']}: Secret {ref['name']}/{ref['key']} missing"
            continue
        env[item["name"]] = value
    return env


def container(cluster: Cluster, pod: dict[str, Any], spec: dict[str, Any], name: str) -> Container:
    """The `podman run` of one container of `pod` (a pod template's spec)."""
    env = environment(cluster, spec)
    ports: dict[str, int] = {}
    for port in spec.get("ports", []):
        carriers = [k for k, v in env.items() if k.endswith("_PORT") and v == str(port["containerPort"])]
        assert carriers, f"{name}: port {port['containerPort']} is no *_PORT setting of the service"
        host = free_port()
        for key in carriers:
            env[key] = str(host)
        ports[port["name"]] = ports[str(port["containerPort"])] = host
    security = {**pod.get("securityContext", {}), **spec.get("securityContext", {})}
    argv = ["run", "-d", "--name", name, "--user", f"{security['runAsUser']}:{security['runAsGroup']}",
            "--read-only-tmpfs=false"]
    if security.get("readOnlyRootFilesystem"):
        argv.append("--read-only")
    if "ALL" in security.get("capabilities", {}).get("drop", []):
        argv += ["--cap-drop", "ALL"]
    if security.get("allowPrivilegeEscalation") is False:
        argv += ["--security-opt", "no-new-privileges"]
    argv += mounts(cluster, pod, spec)
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if spec.get("command"):
        argv += ["--entrypoint", json.dumps(spec["command"])]
    argv += [spec["image"], *spec.get("args", [])]
    return Container(name, spec, env, ports, argv)


def mounts(cluster: Cluster, pod: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    out: list[str] = []
    for mount in spec.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:  # owned by the pod's user, as fsGroup makes an emptyDir
            out += ["--mount", f"type=tmpfs,destination={mount['mountPath']},chown=true"]
        elif "persistentVolumeClaim" in volume:
            host = cluster.claim_dir(volume["persistentVolumeClaim"]["claimName"])
            out += ["--volume", f"{host}:{mount['mountPath']}"]
        else:
            raise AssertionError(f"volume kind not emulated here: {volume}")
    return out
