"""The artifact store: content-addressed objects under a root, local or any fsspec URL.

The root is a local directory by default (`<run dir>/artifacts`); `ORCH_ARTIFACT_ROOT`
may name any fsspec URL instead (`s3://bucket/prefix`, `gs://...`, `memory://x` in tests).
Objects live at `<root>/<sha[:2]>/<sha>/<name>`, written once (to a temporary name, then
moved) and never changed. Every artifact is referenced by URI + sha256 + media type +
size, so evidence can be fetched and verified later (`fetch` checks size and digest).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from orchestrator.core.envelope import ArtifactRef, Attachment


class DigestMismatch(ValueError):
    pass


def is_local(root_or_uri: str) -> bool:
    scheme = urlparse(root_or_uri).scheme
    return scheme in ("", "file") or len(scheme) == 1  # `C:\...` has a one-letter scheme


def store(root: str, attachment: Attachment) -> ArtifactRef:
    digest = hashlib.sha256(attachment.content).hexdigest()
    name = Path(attachment.name).name or "artifact"
    if is_local(root):
        uri = _store_local(_local_path(root), digest, name, attachment.content)
    else:
        uri = _store_remote(root, digest, name, attachment.content)
    return ArtifactRef(name=attachment.name, uri=uri, sha256=digest,
                       media_type=attachment.media_type, size=len(attachment.content))


def _store_local(root: Path, digest: str, name: str, content: bytes) -> str:
    path = root / digest[:2] / digest / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    return path.resolve().as_uri()


def _store_remote(root: str, digest: str, name: str, content: bytes) -> str:
    fs, base = _fs(root)
    protocol = root.split("://", 1)[0]
    path = f"{base.rstrip('/')}/{digest[:2]}/{digest}/{name}"
    if not fs.exists(path):
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        fs.pipe_file(path, content)  # one PUT: object stores have no partial writes
    return f"{protocol}://{path.removeprefix(protocol + '://')}"


def read(uri: str) -> bytes:
    """The bytes at `uri` (file:// or any fsspec URL), unverified."""
    if is_local(uri):
        return _local_path(uri).read_bytes()
    fs, path = _fs(uri)
    data = fs.cat_file(path)
    return bytes(data)


def verify(data: bytes, sha256: str, size: int | None = None, uri: str = "") -> bytes:
    if size is not None and len(data) != size:
        raise DigestMismatch(f"{uri}: {len(data)} bytes, the record says {size}")
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise DigestMismatch(f"{uri}: sha256 is {found}, the record says {sha256}")
    return data


def fetch(ref: ArtifactRef) -> bytes:
    """The artifact's bytes, verified against its recorded size and sha256."""
    return verify(read(ref.uri), ref.sha256, ref.size, ref.uri)


def _local_path(root_or_uri: str) -> Path:
    parsed = urlparse(root_or_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(root_or_uri)


def _fs(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise RuntimeError(f"{url}: remote artifact stores need fsspec") from exc
    fs, path = url_to_fs(url)
    return fs, str(path)
