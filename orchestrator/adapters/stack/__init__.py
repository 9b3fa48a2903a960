"""`orchestrator stack up|down|status`: a real Kafka broker and PostgreSQL on this machine.

Everything started is recorded in Settings.state_file and stopped by pid. A part named by
ORCH_KAFKA_BOOTSTRAP or ORCH_DATABASE_URL is external: only checked, never started or stopped.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.adapters import acls, kafka_topics
from orchestrator.adapters.bus import client_config
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack import kafka, kafka_secure, postgres
from orchestrator.adapters.stack.proc import StackError, alive, require, which

__all__ = ["StackError", "down", "secure_up", "start_kafka", "status", "stop_kafka", "up"]


def read_state(settings: Settings) -> dict[str, Any]:
    return settings.stack_state()


def write_state(settings: Settings, state: dict[str, Any]) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = settings.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(settings.state_file)


def _update(settings: Settings, part: str, info: dict[str, Any]) -> None:
    state = read_state(settings)
    state[part] = info
    write_state(settings, state)


def start_kafka(settings: Settings, secure: bool = False) -> dict[str, Any]:
    """Start the broker on its recorded port and data dir (or fresh ones) and record it.
    `secure`: SASL_SSL, SCRAM users and ACLs (then `secure_up` provisions and grants)."""
    prev = read_state(settings).get("kafka", {})
    if alive(prev.get("pid"), kafka.MARKER):
        return dict(prev)
    info = kafka.start_kafka(settings, prev, secure=secure or bool(prev.get("secure")))
    _update(settings, "kafka", info)
    return info


def stop_kafka(settings: Settings) -> None:
    """Stop the recorded broker; its port and data dir stay recorded for start_kafka."""
    info = read_state(settings).get("kafka", {})
    kafka.stop_kafka_pid(info)
    if info:
        _update(settings, "kafka", {**info, "pid": None})


def start_postgres(settings: Settings) -> dict[str, Any]:
    prev = read_state(settings).get("postgres", {})
    if alive(prev.get("pid"), postgres.MARKER):
        return dict(prev)
    info = postgres.start_postgres(settings, prev)
    _update(settings, "postgres", info)
    return info


def stop_postgres(settings: Settings) -> None:
    info = read_state(settings).get("postgres", {})
    postgres.stop_postgres_pid(info)
    if info:
        _update(settings, "postgres", {**info, "pid": None})


def _check_tools(settings: Settings) -> None:
    """Fail before starting anything when a needed binary is missing (one message for all)."""

    need: dict[str, str | None] = {}
    if not settings.kafka_bootstrap:
        need["java"] = which("java")
        if kafka.cached_classpath(settings) is None:
            need["mvn"] = which("mvn")
    if not settings.database_url:
        need["initdb"] = which("initdb", postgres.DEBIAN_BINS)
        need["pg_ctl"] = which("pg_ctl", postgres.DEBIAN_BINS)
    require(need)


def secure_up(settings: Settings) -> dict[str, Any]:
    """The secure broker alone (a function for tests too): started if need be, then the topics
    of `settings.topic_prefix` and the ACL table created by the admin. Returns its state."""

    home = kafka.kafka_dir(settings)
    if (home / "data" / "meta.properties").is_file() and not (home / "secure").is_file():
        raise StackError(f"{home / 'data'} was formatted without SCRAM users: remove {home} "
                         "(its topics go with it) to start the broker secure")
    prev = read_state(settings).get("kafka", {})
    if not (alive(prev.get("pid"), kafka.MARKER) and prev.get("secure")
            and kafka.ready(prev["bootstrap"], 5.0, kafka.admin_security(prev))):
        stop_kafka(settings)
        prev = start_kafka(settings, secure=True)
    admin = kafka_secure.as_principal(settings, "admin", prev)
    # every user but the admin (made with the storage) again: one added to the code or to
    # ORCH_PRINCIPAL_TENANTS since the storage was formatted exists from now on too
    words = kafka_secure.passwords(home, list(acls.tenant_principals(settings)))
    kafka_secure.add_users(admin, words, sorted(set(words) - {acls.ADMIN}))
    kafka_topics.provision(admin, changelogs=True)
    return {**prev, "acls": kafka_secure.apply_acls(admin)}


def up(settings: Settings, secure: bool = False) -> dict[str, Any]:
    """Make both parts run and answer; returns {"kafka"|"postgres": {"action": ..., ...}}.
    `secure`: the broker with TLS, SCRAM users and ACLs (secure_up)."""
    _check_tools(settings)
    state = read_state(settings)
    result: dict[str, Any] = {}
    if secure and settings.kafka_bootstrap:
        raise StackError("--secure starts the local broker: unset ORCH_KAFKA_BOOTSTRAP")
    if secure:
        before = state.get("kafka", {})
        running = alive(before.get("pid"), kafka.MARKER) and before.get("secure")
        result["kafka"] = {"action": "already running" if running else "started", **secure_up(settings)}

    def kafka_probe(bootstrap: str, timeout: float) -> bool:
        if settings.kafka_bootstrap:  # external: with the client security of the environment

            own = {k: v for k, v in client_config(settings).items() if k != "bootstrap.servers"}
            return kafka.ready(bootstrap, timeout, own)
        return kafka.ready(bootstrap, timeout, kafka.admin_security(read_state(settings).get("kafka", {})))

    parts = (
        ("kafka", settings.kafka_bootstrap, kafka_probe, "bootstrap", start_kafka, stop_kafka,
         kafka.MARKER),
        ("postgres", settings.database_url, postgres.ready, "url", start_postgres,
         stop_postgres, postgres.MARKER),
    )
    for name, external, probe, key, start, stop, marker in parts:
        if name in result:
            continue
        if external:
            if not probe(external, 10.0):
                raise StackError(f"{name} at {external} (from the environment) is not reachable")
            result[name] = {"action": "external", key: external}
            continue
        prev = state.get(name, {})
        if alive(prev.get("pid"), marker) and probe(prev[key], 5.0):
            result[name] = {"action": "already running", **prev}
            continue
        stop(settings)  # a stale or unresponsive leftover: stop it before starting afresh
        result[name] = {"action": "started", **start(settings)}
    return result


def down(settings: Settings) -> dict[str, str]:
    """Stop exactly what `up` recorded, by pid; external parts are left alone."""
    state = read_state(settings)
    stopped: dict[str, str] = {}
    for name, stop in (("kafka", stop_kafka), ("postgres", stop_postgres)):
        if state.get(name, {}).get("pid"):
            stop(settings)
            stopped[name] = "stopped"
        else:
            stopped[name] = "not running"
    return stopped


def status(settings: Settings) -> dict[str, Any]:
    """What runs where: recorded pids checked against the process table."""
    state = read_state(settings)
    out: dict[str, Any] = {}
    for name, external, marker in (("kafka", settings.kafka_bootstrap, kafka.MARKER),
                                   ("postgres", settings.database_url, postgres.MARKER)):
        if external:
            out[name] = {"external": True, "address": external}
            continue
        info = state.get(name, {})
        out[name] = {**info, "external": False, "running": alive(info.get("pid"), marker)}
    return out
