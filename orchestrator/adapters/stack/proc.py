"""Process plumbing for the local stack: tools, ports, pids, logs. No Kafka or SQL here."""

from __future__ import annotations

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

INSTALL_HINTS = {
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
}


class StackError(RuntimeError):
    """An expected failure, shown to the user as one line (never a traceback)."""


def which(tool: str, extra_dirs: list[Path] | None = None) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    for d in extra_dirs or []:
        if (d / tool).is_file() and os.access(d / tool, os.X_OK):
            return str(d / tool)
    return None


def require(tools: dict[str, str | None]) -> None:
    """Raise one StackError naming every missing tool and the package that provides it."""
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pkgs = sorted({INSTALL_HINTS.get(m, m) for m in missing})
        raise StackError(
            f"missing {', '.join(missing)} on PATH: install {' '.join(pkgs)} "
            f"(e.g. apt-get install -y {' '.join(pkgs)})"
        )


def free_port() -> int:
    """A free port below the kernel's ephemeral range, so no client connection can take it
    between a `down` and the next `up` (servers come back on their recorded ports)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(low - 12000, 1024), low)
        if port_free(port):
            return port
    raise StackError("no free port below the ephemeral range")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def alive(pid: int | None, marker: str = "") -> bool:
    """True when pid runs and its command line contains marker (guards against pid reuse)."""
    if not pid:
        return False
    try:  # reap it first if it is our own exited child, or it would linger as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        proc = psutil.Process(pid)
        return proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) and marker in " ".join(
            proc.cmdline())
    except psutil.Error:  # gone, or not ours to read
        return False


def terminate(pid: int, marker: str, timeout: float = 30.0) -> None:
    """SIGTERM, wait up to timeout, then SIGKILL; returns once the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if not alive(pid, marker):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid, marker):
                return
            time.sleep(0.1)
    if alive(pid, marker):
        raise StackError(f"process {pid} survived SIGKILL")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def service_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run PostgreSQL as when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise StackError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


def run(cmd: list[str], what: str, user: pwd.struct_passwd | None = None, **kw: object) -> str:
    """Run a short command to completion; a failure becomes a StackError with its output."""
    if user is not None:
        kw.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    try:
        done = subprocess.run(  # type: ignore[call-overload]
            cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw
        )
    except OSError as e:
        raise StackError(f"{what}: {e}") from e
    if done.returncode != 0:
        out = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise StackError(f"{what} failed (exit {done.returncode}): " + " | ".join(out))
    return str(done.stdout)
