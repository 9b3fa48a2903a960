"""Who may do what on the broker: one ACL table derived from the actor list and the catalog.

Each service principal (its Kafka user is its service name) may read the topic it consumes,
write the topics of the event types the catalog lets it emit, keep its own changelogs, group
and transactional ids; `ingest` may only write the ingestion topic; `reader` only reads; a
principal of ORCH_PRINCIPAL_TENANTS may only write its tenant's ingestion topic; `lag` may only
describe the groups and the log (consumer-group lag for an autoscaler).
Kafka authorizes per topic, not per event type: a principal that may write the log may write
any type into it (docs/security.md says what that leaves open).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from orchestrator.adapters.config import Settings
from orchestrator.core import actors, catalog

ADMIN = "admin"  # the broker's own user and the super user that provisions topics and ACLs
INGEST = "ingest"  # a client that produces specs straight to the ingestion topic
READER = "reader"  # reads the log (dashboards, `orchestrator watch`)
LAG = "lag"  # reads the workers' consumer-group lag (the prod overlay's KEDA scalers); describe only
PRINCIPALS = (ADMIN, *actors.SERVICES, INGEST, READER, LAG)
EMITTER = {"api": "client", INGEST: "client"}  # the catalog's name for what they emit


@dataclass(frozen=True, order=True)
class Grant:
    principal: str
    resource: str  # topic | group | transactional_id
    name: str
    prefixed: bool
    operation: str  # read | write | create | describe


def tenant_principals(settings: Settings) -> dict[str, str]:
    """ORCH_PRINCIPAL_TENANTS, checked: a mapped principal is a client of its own, not a service."""
    mapped = settings.tenant_of_principal
    taken = sorted(set(mapped) & set(PRINCIPALS))
    if taken:
        raise ValueError(f"ORCH_PRINCIPAL_TENANTS maps {', '.join(taken)}: names of built-in principals")
    return mapped


def writes(settings: Settings, principal: str) -> set[str]:
    """The topics the event types `principal` may emit go to (bus.record_for's rule)."""
    role = EMITTER.get(principal, principal)
    allowed = [e.type for e in catalog.ENTRIES if catalog.may_emit(role, e.type)]
    if principal == INGEST:
        allowed = ["spec.submitted"]
    return {settings.specs_topic if t == "spec.submitted" else settings.events_topic for t in allowed}


def _actor(settings: Settings, name: str) -> list[Grant]:
    intake = import_module(f"services.{name}.main").definition().intake
    me, p = f"User:{name}", settings.topic_prefix
    own = [Grant(me, "topic", f"{p}.{name}-", True, op) for op in ("read", "write", "create")]
    consumed = settings.specs_topic if intake else settings.events_topic
    grants = [*own, Grant(me, "topic", consumed, False, "read"),
              Grant(me, "topic", settings.dlq_topic, False, "write"),
              *(Grant(me, "topic", t, False, "write") for t in writes(settings, name)),
              Grant(me, "group", f"{p}-{name}-", True, "read"),
              Grant(me, "transactional_id", f"{p}-{name}-", True, "write")]
    if name in ("dev", "qa", "devops"):  # manual and HTTP executors wait on the callbacks topic
        grants += [Grant(me, "topic", f"{p}.callbacks", False, op) for op in ("read", "create")]
        grants.append(Grant(me, "group", f"{p}-callbacks-unused", False, "read"))
    return grants


def table(settings: Settings) -> list[Grant]:
    """Every allow rule for the installation named by `settings.topic_prefix`."""
    out: list[Grant] = []
    for name in actors.ACTORS:
        out += _actor(settings, name)
    out += [Grant("User:projector", "topic", settings.events_topic, False, "read"),
            Grant("User:projector", "topic", settings.dlq_topic, False, "write"),
            Grant("User:projector", "group", "projector-", True, "read"),
            Grant("User:api", "topic", f"{settings.topic_prefix}.callbacks", False, "create"),
            Grant("User:api", "topic", f"{settings.topic_prefix}.callbacks", False, "write"),
            Grant("User:api", "topic", settings.events_topic, False, "describe")]
    for principal in ("projector", "api", INGEST):
        out += [Grant(f"User:{principal}", "topic", t, False, "write") for t in writes(settings, principal)]
    for principal, tenant in tenant_principals(settings).items():  # its tenant's topic, nothing else
        topic = settings.tenant_specs_topic(tenant)
        out += [Grant(f"User:{principal}", "topic", topic, False, "write"),
                Grant("User:spec", "topic", topic, False, "read")]
    for topic in (settings.events_topic, settings.dlq_topic):
        out.append(Grant(f"User:{READER}", "topic", topic, False, "read"))
    out += [Grant(f"User:{READER}", "group", g, True, "read") for g in ("follow-", "dlq-", "verify-")]
    out += [Grant(f"User:{LAG}", "group", f"{settings.topic_prefix}-", True, "describe"),
            Grant(f"User:{LAG}", "topic", settings.events_topic, False, "describe")]
    return sorted(set(out))
