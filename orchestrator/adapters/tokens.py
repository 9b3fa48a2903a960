"""API tokens: opaque bearer secrets stored hashed in PostgreSQL, with tenants and scopes.

A token reads `orch_<id>_<secret>`: the id finds the row, the secret is compared against its
SHA-256 (a random 32-byte secret needs no slow hash). The secret is shown once, at creation;
listing shows ids, tenants and scopes only. Revoking stamps `revoked_at`; the row stays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

SCHEMA = "orchestrator_auth"
TABLE = f"{SCHEMA}.tokens"
SCOPES = ("read", "submit", "operate", "admin")
PREFIX = "orch_"
READER_ROLE = "orchestrator_reader"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {TABLE} (
    token_id      text PRIMARY KEY,
    secret_sha256 text NOT NULL,
    name          text NOT NULL DEFAULT '',
    tenants       text[] NOT NULL,
    scopes        text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
"""
LOOKUP = f"SELECT secret_sha256, tenants, scopes FROM {TABLE} WHERE token_id = %s AND revoked_at IS NULL"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a token id and what it may touch."""

    subject: str
    tenants: tuple[str, ...]
    scopes: frozenset[str]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed opaque token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX):].partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


def check(secret: str, row: tuple[Any, ...] | None, token_id: str) -> Principal | None:
    """The principal of a looked-up row when the secret matches it (constant-time compare)."""
    if row is None or not hmac.compare_digest(digest(secret), row[0]):
        return None
    return Principal(token_id, tuple(row[1]), frozenset(row[2]))


def validate(tenants: list[str], scopes: list[str]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}; expected {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError("give at least one --scope")
    if not tenants or any(not t.strip() for t in tenants):
        raise ValueError("give at least one non-empty --tenant")


def migrate(conn: psycopg.Connection[Any]) -> None:
    """The token table; the reader role (the API's) may look tokens up, never write them."""
    conn.execute(DDL)
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,)).fetchone():
        role = sql.Identifier(READER_ROLE)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(SCHEMA), role))
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(
            sql.Identifier(SCHEMA, "tokens"), role))


def create(dsn: str, tenants: list[str], scopes: list[str], name: str = "") -> str:
    """A new token; the returned string is the only copy of its secret."""
    validate(tenants, scopes)
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        conn.execute(f"INSERT INTO {TABLE} (token_id, secret_sha256, name, tenants, scopes) "
                     "VALUES (%s, %s, %s, %s, %s)", (token_id, digest(secret), name, tenants, scopes))
    return f"{PREFIX}{token_id}_{secret}"


def revoke(dsn: str, token_id: str) -> bool:
    """True when a live token was revoked."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        cur = conn.execute(f"UPDATE {TABLE} SET revoked_at = now() WHERE token_id = %s "
                           "AND revoked_at IS NULL", (token_id,))
        return cur.rowcount == 1


def listing(dsn: str) -> list[dict[str, Any]]:
    """Every token without its secret."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        rows = conn.execute(f"SELECT token_id, name, tenants, scopes, created_at, revoked_at FROM {TABLE} "
                            "ORDER BY created_at, token_id").fetchall()
    return [{"token_id": r[0], "name": r[1], "tenants": r[2], "scopes": r[3],
             "created_at": r[4].isoformat(), "revoked_at": r[5].isoformat() if r[5] else None} for r in rows]
