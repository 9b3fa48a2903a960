"""A local PostgreSQL 15 cluster under the run dir: 127.0.0.1 only, trust auth, two roles."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

from orchestrator.config import Settings
from orchestrator.stack.proc import (
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


def bootstrap(port: int) -> None:
    """Roles and database the services expect; idempotent (the local stack and test containers)."""
    import psycopg

    admin = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        for sql in BOOTSTRAP_SQL:
            conn.execute(sql)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'orchestrator'").fetchone():
            conn.execute("CREATE DATABASE orchestrator OWNER orchestrator")
    db = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/orchestrator"
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
    if not (data / "PG_VERSION").is_file():
        run([initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--no-instructions"], "initdb", user=user, cwd=str(home))
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
    bootstrap(port)
    return {"url": f"postgresql://orchestrator@127.0.0.1:{port}/orchestrator",
            "reader_url": f"postgresql://orchestrator_reader@127.0.0.1:{port}/orchestrator",
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
