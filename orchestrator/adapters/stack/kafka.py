"""A single-node KRaft Kafka broker from Maven Central jars, in its own detached JVM."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack import certs, kafka_secure
from orchestrator.adapters.stack.kafka_config import Secure, cluster_id, write_config
from orchestrator.adapters.stack.proc import (
    StackError,
    alive,
    free_port,
    port_free,
    require,
    run,
    tail,
    terminate,
    which,
)

VERSION = "4.3.1"
MARKER = "kafka.Kafka"
POM = Path(__file__).resolve().parents[3] / "kafka" / "pom.xml"
READY_TIMEOUT = 90.0


def kafka_dir(settings: Settings) -> Path:
    return (settings.run_dir / "kafka").resolve()


def _classpath_file(settings: Settings) -> Path:
    if not POM.is_file():
        raise StackError(f"missing {POM}: run from a checkout of the repository")
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.cache_dir.expanduser().resolve() / f"kafka-{VERSION}-{digest}.classpath"


def cached_classpath(settings: Settings) -> str | None:
    """The classpath resolved before, if it and every jar on it are still there."""
    cp_file = _classpath_file(settings)
    cp = cp_file.read_text().strip() if cp_file.is_file() else ""
    return cp if cp and all(Path(j).is_file() for j in cp.split(":")) else None


def classpath(settings: Settings) -> str:
    """The broker's runtime classpath; mvn runs only when the cached list is missing or stale."""
    found = cached_classpath(settings)
    if found:
        return found
    cp_file = _classpath_file(settings)
    cache = cp_file.parent
    mvn = which("mvn")
    require({"mvn": mvn})
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cp_file.with_suffix(".tmp")
    run(
        [str(mvn), "-q", "-B", "dependency:build-classpath", f"-Dmdep.outputFile={tmp}",
         f"-Dmaven.repo.local={cache / 'm2'}", "-f", str(POM)],
        "resolving Kafka jars with mvn",
    )
    tmp.replace(cp_file)
    return cp_file.read_text().strip()


def ready(bootstrap: str, timeout: float = 5.0, security: dict[str, Any] | None = None) -> bool:
    """A real metadata request answered by the broker (`security`: client settings to use)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000),
                         "log_level": 0, **(security or {})})
    try:
        admin.list_topics(timeout=timeout)
    except Exception:
        return False
    return True


def admin_security(info: dict[str, Any]) -> dict[str, Any]:
    """The admin's client settings for a broker started secure (none for a plaintext one)."""
    if not info.get("secure"):
        return {}
    words = json.loads(Path(info["users"]).read_text())
    return {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "admin", "sasl.password": words["admin"], "ssl.ca.location": info["ca"]}


def _secure_files(settings: Settings, home: Path,
                  formatted: bool) -> tuple[Secure, list[str], dict[str, Any]]:
    """TLS material and users for a secure start; a plaintext-formatted data dir has no users."""

    if formatted and not (home / "secure").is_file():
        raise StackError(f"{home / 'data'} was formatted without SCRAM users: remove {home} "
                         "(its topics go with it) to start the broker secure")
    ca, keystore = certs.ensure(home)
    words = kafka_secure.passwords(home, list(settings.tenant_of_principal))
    info = {"secure": True, "ca": str(ca), "users": str(home / "users.json")}
    return Secure(keystore, ca, words["admin"]), kafka_secure.scram_args(words), info


def start_kafka(settings: Settings, previous: dict[str, Any] | None = None,
                secure: bool = False) -> dict[str, Any]:
    """Start the broker, reusing the recorded ports and data dir if any; wait until it answers.
    `secure`: SASL_SSL only, SCRAM users, the StandardAuthorizer (see kafka_secure)."""
    java = which("java")
    require({"java": java})
    cp = classpath(settings)
    prev = previous or {}
    home = kafka_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    port = int(prev.get("port") or free_port())
    controller_port = int(prev.get("controller_port") or 0)
    while controller_port in (0, port):
        controller_port = free_port()
    for p in (port, controller_port):
        settle = time.monotonic() + 15  # a broker that just stopped may hold it briefly
        while not port_free(p):
            if time.monotonic() > settle:
                raise StackError(f"Kafka port {p} on 127.0.0.1 is taken by another process")
            time.sleep(0.5)
    formatted = (home / "data" / "meta.properties").is_file()
    tls, users, extra = _secure_files(settings, home, formatted) if secure else (None, [], {})
    if formatted and not secure and (home / "secure").is_file():
        raise StackError(f"{home / 'data'} belongs to a secure broker: start it with --secure")
    props = write_config(home, port, controller_port, secure=tls)
    jvm = [str(java), "-Xmx512m", "-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}", "-cp", cp]
    if not formatted:
        run([*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props), *users],
            "formatting Kafka storage")
        if secure:
            (home / "secure").write_text("formatted with SCRAM users\n")
    log = home / "kafka.log"
    with (home / "kafka.out").open("ab") as out:
        proc = subprocess.Popen(
            [*jvm, MARKER, str(props)], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    bootstrap = f"127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready(bootstrap, timeout=2.0, security=admin_security(extra)):
        if not alive(proc.pid, MARKER) or time.monotonic() > deadline:
            terminate(proc.pid, MARKER, timeout=10)
            raise StackError(
                f"Kafka did not become ready on {bootstrap} within {READY_TIMEOUT:.0f}s; "
                f"last lines of {log}:\n{tail(log)}\n{tail(home / 'kafka.out', 10)}"
            )
        time.sleep(0.5)
    proc.returncode = 0  # detached on purpose: `stack down` stops it by pid
    return {"bootstrap": bootstrap, "pid": proc.pid, "port": port,
            "controller_port": controller_port, "log": str(log), "data_dir": str(home / "data"),
            "version": VERSION, **extra}


def stop_kafka_pid(info: dict[str, Any]) -> None:
    pid = info.get("pid")
    if pid:
        terminate(int(pid), MARKER, timeout=30.0)
