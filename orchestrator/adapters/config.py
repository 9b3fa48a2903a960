"""Settings: environment (ORCH_*) first, then the local stack's state file, then defaults.

Every setting has a safe default for the local stack started by `orchestrator stack up`;
a cluster deployment sets ORCH_KAFKA_BOOTSTRAP and ORCH_DATABASE_URL instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "delivery-orchestrator"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORCH_", env_file=None, extra="ignore")

    kafka_bootstrap: str | None = None
    database_url: str | None = None
    schema_registry_url: str | None = None
    run_dir: Path = Path(".run")
    cache_dir: Path = _default_cache_dir()
    artifact_root: str | None = None
    workspace_root: str | None = None
    topic_prefix: str = "orchestrator"
    partitions: int = 6
    replication_factor: int = 1
    min_insync_replicas: int = 1
    health_port: int = 0
    health_host: str = "127.0.0.1"  # 0.0.0.0 in a container (the manifests set it)
    max_spec_bytes: int = 1024 * 1024
    max_record_bytes: int = 900 * 1024
    worker_concurrency: int = 8
    api_port: int = 8080
    instance_id: str | None = None  # stable per instance slot: static membership, transactional id
    session_timeout_ms: int = 10_000
    transaction_timeout_ms: int = 60_000
    api_workers: int = 1  # API processes (uvicorn workers)
    api_access_log: bool = False
    after_timeout_ms: int = 10_000  # how long a read with ?after=TOKEN waits at most
    # Kafka client security, passed to every client by `bus.client_config` (unset: plaintext)
    kafka_security_protocol: str | None = None  # SASL_SSL | SSL | SASL_PLAINTEXT
    kafka_sasl_mechanism: str | None = None  # SCRAM-SHA-512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_ca_location: str | None = None  # the CA that signed the brokers' certificates
    kafka_ssl_certificate_location: str | None = None  # mTLS: this client's certificate
    kafka_ssl_key_location: str | None = None  # and its key
    token: str | None = None  # ORCH_TOKEN: the bearer token CLI commands send to the API
    api_url: str | None = None  # ORCH_API_URL: `submit` posts through the API there instead of Kafka
    default_tenant: str = "default"  # of specs produced straight to Kafka or submitted by the CLI
    api_auth: str = "tokens"  # "tokens": bearer tokens on every route but the probes; "off": none
    api_metrics_open: bool = False  # /metrics without a token (a scraper inside the cluster)
    api_token_cache_s: float = 5.0  # a verified token is trusted this long (revocation's delay)
    api_write_rate: float = 5.0  # write requests per second per token (token bucket)
    api_write_burst: int = 20  # and how many at once
    oidc_jwks_url: str | None = None  # set: JWTs signed by a key of this JWKS are accepted too
    oidc_issuer: str | None = None  # their `iss` must be this
    oidc_audience: str | None = None  # and their `aud` this
    oidc_tenants_claim: str = "tenants"  # the claim naming the tenants (a list or one string)
    # Kafka principals that produce specs straight to Kafka, and the tenant each submits for:
    # "ingest-a=team-a,ingest-b=team-b"; each tenant gets an ingestion topic of its own
    principal_tenants: str = ""
    intake_tenant: str | None = None  # this SPEC instance reads that tenant's ingestion topic

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}.events"

    @property
    def specs_topic(self) -> str:
        return f"{self.topic_prefix}.specs"

    @property
    def tenant_of_principal(self) -> dict[str, str]:
        """ORCH_PRINCIPAL_TENANTS parsed: Kafka principal (SASL user) -> tenant."""
        out: dict[str, str] = {}
        for item in filter(None, (i.strip() for i in self.principal_tenants.split(","))):
            principal, sep, tenant = item.partition("=")
            if not sep or not _NAME.fullmatch(principal.strip()) or not _NAME.fullmatch(tenant.strip()):
                raise ValueError(f"ORCH_PRINCIPAL_TENANTS: {item!r} is not principal=tenant "
                                 "(letters, digits, '-', '_')")
            out[principal.strip()] = tenant.strip()
        return out

    def tenant_specs_topic(self, tenant: str) -> str:
        """The ingestion topic only `tenant`'s principals may write: whatever a spec read there
        claims, it is that tenant's."""
        return f"{self.specs_topic}.{tenant}"

    @property
    def ingestion_topic(self) -> str:
        """Where this client's submissions go: its tenant's topic when its SASL user is mapped."""
        tenant = self.tenant_of_principal.get(self.kafka_sasl_username or "")
        return self.tenant_specs_topic(tenant) if tenant else self.specs_topic

    @property
    def submit_tenant(self) -> str:
        """The tenant this client's direct submissions name (its mapping, or the default)."""
        return self.tenant_of_principal.get(self.kafka_sasl_username or "", self.default_tenant)

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}.dlq"

    def changelog_topic(self, service: str, area: str) -> str:
        return f"{self.topic_prefix}.{service}-{area}.changelog"

    def group(self, service: str, area: str) -> str:
        return f"{self.topic_prefix}-{service}-{area}"

    @property
    def artifacts(self) -> str:
        return self.artifact_root or str((self.run_dir / "artifacts").resolve())

    @property
    def workspaces(self) -> str:
        """Where projects' shared directories live: a local directory or an fsspec URL."""
        return self.workspace_root or str((self.run_dir / "workspaces").resolve())

    def stack_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    @property
    def bootstrap(self) -> str:
        """Kafka bootstrap servers: the environment wins, else the local stack."""
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        found = self.stack_state().get("kafka", {}).get("bootstrap")
        if not found:
            raise RuntimeError("no Kafka: set ORCH_KAFKA_BOOTSTRAP or run `orchestrator stack up`")
        return str(found)

    @property
    def dsn(self) -> str:
        """PostgreSQL URL: the environment wins, else the local stack."""
        if self.database_url:
            return self.database_url
        found = self.stack_state().get("postgres", {}).get("url")
        if not found:
            raise RuntimeError("no PostgreSQL: set ORCH_DATABASE_URL or run `orchestrator stack up`")
        return str(found)


def load() -> Settings:
    return Settings()
