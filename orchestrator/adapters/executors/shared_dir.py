"""The project's shared directory, on a local disk or in an object store (fsspec URL).

Dev writes code there, QA tests it, DevOps ships it, each from its own pod. With a local
`ORCH_WORKSPACE_ROOT` every task works in `<root>/<project>/project` directly (one disk
shared by every worker, as on one machine or a shared volume). With a remote root
(`s3://bucket/workspaces`) each task gets a private copy: `pull` downloads the project's
files before the command runs, `push` uploads what the command added or changed and
deletes what it removed. Tasks touching different files merge; on the same file the
last one to finish wins, as on a shared disk.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from orchestrator.adapters import artifacts

Manifest = dict[str, str]  # relative path -> sha256 of what was pulled


def remote_prefix(root: str, project: str) -> str:
    return f"{root.rstrip('/')}/{project}/project"


def _fs(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url)
    return fs, str(path).rstrip("/")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pull(remote: str, local: Path) -> Manifest:
    """Download every file under `remote` into `local`; what was there, by digest."""
    fs, base = _fs(remote)
    local.mkdir(parents=True, exist_ok=True)
    pulled: Manifest = {}
    try:
        keys = fs.find(base)
    except FileNotFoundError:  # no bucket yet: the project's first task
        keys = []
    for key in keys:
        rel = key[len(base):].lstrip("/")
        target = (local / rel).resolve()
        if not rel or not target.is_relative_to(local.resolve()):
            continue  # a key that would land outside the copy is not ours to write
        data = bytes(fs.cat_file(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        pulled[rel] = _digest(data)
    return pulled


def push(local: Path, remote: str, pulled: Manifest) -> list[str]:
    """Upload files added or changed since `pull`, delete those removed; the paths touched."""
    fs, base = _fs(remote)
    touched: list[str] = []
    present = set()
    for path in sorted(p for p in local.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(local).as_posix()
        present.add(rel)
        data = path.read_bytes()
        if pulled.get(rel) != _digest(data):
            if not touched:
                fs.makedirs(base, exist_ok=True)  # creates the bucket on a new cluster
            fs.pipe_file(f"{base}/{rel}", data)
            touched.append(rel)
    for rel in sorted(set(pulled) - present):
        fs.rm_file(f"{base}/{rel}")
        touched.append(rel)
    return touched


def is_remote(root: str) -> bool:
    return not artifacts.is_local(root)
