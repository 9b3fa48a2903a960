"""`stack up --secure`: the broker's SCRAM users, their passwords, and the ACLs from acls.table.

Passwords are made once, at the first secure start, in `<run dir>/kafka/users.json` (0600),
and the users exist from `kafka-storage format --add-scram` on: no window in which the broker
runs without them. The ACLs are (re)created by the admin at every secure start: the table is
the truth, and creating an existing binding is a no-op.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from orchestrator.adapters import acls, bus
from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.certs import write_private
from orchestrator.adapters.stack.proc import StackError

MECHANISM = "SCRAM-SHA-512"


def passwords(home: Path, extra: list[str] | None = None) -> dict[str, str]:
    """One password per principal in acls.PRINCIPALS (and `extra`: the tenants' principals),
    made once; readable by the owner only."""
    path = home / "users.json"
    found: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    missing = [p for p in (*acls.PRINCIPALS, *(extra or [])) if p not in found]
    if missing:
        found.update({p: secrets.token_urlsafe(24) for p in missing})
        write_private(path, json.dumps(found, indent=2, sort_keys=True).encode())
    return found


def scram_args(words: dict[str, str]) -> list[str]:
    """`kafka-storage format` arguments that create every user with the storage."""
    out: list[str] = []
    for name, word in sorted(words.items()):
        out += ["--add-scram", f"{MECHANISM}=[name={name},password={word}]"]
    return out


def add_users(admin_settings: Settings, words: dict[str, str], names: list[str],
              timeout: float = 30.0) -> None:
    """Create or reset SCRAM users through the admin (the tenants' principals, which may be
    named after the storage was formatted)."""
    from confluent_kafka.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialAlteration,
        UserScramCredentialUpsertion,
    )


    if not names:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(n, info, words[n].encode()) for n in names]
    admin = AdminClient(bus.client_config(admin_settings))
    for name, future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as exc:
            raise StackError(f"creating Kafka user {name}: {exc}") from exc


def as_principal(settings: Settings, principal: str, info: dict[str, Any] | None = None) -> Settings:
    """`settings` with the client security of `principal` on the local secure broker."""
    kafka = info if info is not None else settings.stack_state().get("kafka", {})
    if not kafka.get("secure"):
        raise StackError("the local broker was not started with `stack up --secure`")
    words = json.loads(Path(kafka["users"]).read_text())
    if principal not in words:
        raise StackError(f"no Kafka user {principal!r}; the users are {', '.join(sorted(words))}")
    return settings.model_copy(update={
        "kafka_bootstrap": kafka["bootstrap"], "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": MECHANISM, "kafka_sasl_username": principal,
        "kafka_sasl_password": words[principal], "kafka_ssl_ca_location": kafka["ca"]})


def env_of(settings: Settings) -> dict[str, str]:
    """The ORCH_KAFKA_* variables that give a child process `settings`' Kafka security."""
    names = {"kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
             "kafka_sasl_password", "kafka_ssl_ca_location"}
    return {f"ORCH_{n.upper()}": str(getattr(settings, n)) for n in sorted(names) if getattr(settings, n)}


def bindings(settings: Settings) -> list[Any]:
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    return [AclBinding(getattr(ResourceType, g.resource.upper()), g.name,
                       ResourcePatternType.PREFIXED if g.prefixed else ResourcePatternType.LITERAL,
                       g.principal, "*", getattr(AclOperation, g.operation.upper()),
                       AclPermissionType.ALLOW)
            for g in acls.table(settings)]


def apply_acls(admin_settings: Settings, timeout: float = 30.0) -> int:
    """Create every binding of the table for `admin_settings.topic_prefix` and wait until the
    broker enforces them (it applies what the controller committed a moment later); returns
    how many there are."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )


    admin = AdminClient(bus.client_config(admin_settings))
    wanted = bindings(admin_settings)
    for binding, future in admin.create_acls(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except Exception as exc:
            raise StackError(f"creating ACL {binding}: {exc}") from exc
    every = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
                             AclOperation.ANY, AclPermissionType.ANY)  # None matches any (the stubs say str)
    deadline = time.monotonic() + timeout
    while set(wanted) - set(admin.describe_acls(every, request_timeout=timeout).result(timeout)):
        if time.monotonic() > deadline:
            raise StackError(f"the broker did not enforce the ACLs within {timeout:.0f}s")
        time.sleep(0.2)
    return len(wanted)
