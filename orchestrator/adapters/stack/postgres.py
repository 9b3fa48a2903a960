"""A local PostgreSQL 15 cluster under the run dir: 127.0.0.1 only, two roles, passwords.

A fresh cluster authenticates every connection with scram-sha-256; the passwords (superuser,
owner, reader) are made at first start and kept in `<run dir>/postgres/passwords.json` (0600),
and the URLs in the state file carry them. A cluster made before passwords keeps its trust
rules until its run dir is removed.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
from pathlib import Path
from typing import Any

from orchestrator.adapters.config import Settings
from orchestrator.adapters.stack.proc import (
    StackError,
    alive,
    free_port,
    port_free,
    require,
    run,
    service_user,
    tail,
    terminate,
    which,
)

MARKER = "postgres"
SUPERUSER = "postgres"
DEBIAN_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)

# Idempotent: runs after every start. The reader may read whatever `orchestrator` creates later.
BOOTSTRAP_SQL = [
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orchestrator') "
    "THEN CREATE ROLE orchestrator LOGIN; END IF; END $$",
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orchestrator_reader') "
    "THEN CREATE ROLE orchestrator_reader LOGIN; END IF; END $$",
]
ROLES = ("orchestrator", "orchestrator_reader")
DATABASE_SQL = [
    "GRANT CONNECT ON DATABASE orchestrator TO orchestrator_reader",
    "GRANT USAGE ON SCHEMA public TO orchestrator_reader",
    "ALTER DEFAULT PRIVILEGES FOR ROLE orchestrator IN SCHEMA public "
    "GRANT SELECT ON TABLES TO orchestrator_reader",
]


def binaries() -> tuple[str, str]:
    initdb, pg_ctl = which("initdb", DEBIAN_BINS), which("pg_ctl", DEBIAN_BINS)
    require({"initdb": initdb, "pg_ctl": pg_ctl})
    return str(initdb), str(pg_ctl)


def pg_dir(settings: Settings) -> Path:
    return (settings.run_dir / "postgres").resolve()


def _own(path: Path, user: pwd.struct_passwd | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)
        try:
            run(["/bin/sh", "-c", 'test -w "$1" && test -x "$1"', "sh", str(path)], "access check",
                user=user)
        except StackError as e:
            raise StackError(
                f"PostgreSQL refuses to run as root, so it runs as {user.pw_name!r}, who cannot "
                f"reach {path}: use a run dir whose parent directories are world-searchable"
            ) from e


def passwords(home: Path) -> dict[str, str]:
    """The cluster's passwords, made once: readable by the owner of the run dir only."""
    path = home / "passwords.json"
    if path.is_file():
        found: dict[str, str] = json.loads(path.read_text())
        return found
    made = {role: secrets.token_urlsafe(24) for role in (SUPERUSER, *ROLES)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(made, out)
    return made


def bootstrap(port: int, words: dict[str, str] | None = None) -> None:
    """Roles and database the services expect; idempotent. `words`: the roles' passwords (the
    local stack); None for a trust-auth server (the test containers)."""
    import psycopg
    from psycopg import sql as pgsql

    login = SUPERUSER if words is None else f"{SUPERUSER}:{words[SUPERUSER]}"
    admin = f"postgresql://{login}@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        for sql in BOOTSTRAP_SQL:
            conn.execute(sql)
        for role in ROLES if words is not None else ():  # every start: the file is the truth
            conn.execute(pgsql.SQL("ALTER ROLE {} PASSWORD {}").format(
                pgsql.Identifier(role), pgsql.Literal(words[role])))  # type: ignore[index]
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'orchestrator'").fetchone():
            conn.execute("CREATE DATABASE orchestrator OWNER orchestrator")
    db = f"postgresql://{login}@127.0.0.1:{port}/orchestrator"
    with psycopg.connect(db, autocommit=True, connect_timeout=10) as conn:
        for sql in DATABASE_SQL:
            conn.execute(sql)


def start_postgres(settings: Settings, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """initdb on first start only, then pg_ctl start on the recorded (or a free) port."""
    initdb, pg_ctl = binaries()
    user = service_user()
    home, prev = pg_dir(settings), previous or {}
    data, sock, log = home / "data", home / "sock", home / "postgres.log"
    for d in (home, sock):
        _own(d, user)
    words = passwords(home)
    if not (data / "PG_VERSION").is_file():
        pwfile = home / "superuser.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(words[SUPERUSER] + "\n")
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        try:
            run([initdb, "-D", str(data), "-U", SUPERUSER, "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions"], "initdb", user=user,
                cwd=str(home))
        finally:
            pwfile.unlink(missing_ok=True)
    port = int(prev.get("port") or free_port())
    if not port_free(port):
        raise StackError(f"PostgreSQL port {port} on 127.0.0.1 is taken by another process")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"
    try:
        run([pg_ctl, "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"],
            "pg_ctl start", user=user, cwd=str(home), start_new_session=True)
    except StackError as e:
        raise StackError(f"{e}\nlast lines of {log}:\n{tail(log)}") from e
    pid = int((data / "postmaster.pid").read_text().split()[0])
    bootstrap(port, words)
    owner, reader = (words[r] for r in ROLES)
    return {"url": f"postgresql://orchestrator:{owner}@127.0.0.1:{port}/orchestrator",
            "reader_url": f"postgresql://orchestrator_reader:{reader}@127.0.0.1:{port}/orchestrator",
            "pid": pid, "port": port, "data_dir": str(data), "log": str(log)}


def ready(url: str, timeout: float = 5.0) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def stop_postgres_pid(info: dict[str, Any]) -> None:
    pid, data = info.get("pid"), info.get("data_dir")
    if not pid or not alive(int(pid), MARKER):
        return
    if data and Path(data).is_dir():
        try:
            _, pg_ctl = binaries()
            run([pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "30", "stop"], "pg_ctl stop",
                user=service_user())
        except StackError:
            pass  # fall through to signals below
    terminate(int(pid), MARKER, timeout=30.0)
