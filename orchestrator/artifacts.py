"""The artifact store: content-addressed files under a root directory.

Every artifact is referenced by URI + sha256 + media type + size, so evidence can be
fetched and verified later (`fetch` checks the digest).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlparse

from orchestrator.envelope import ArtifactRef, Attachment


class DigestMismatch(ValueError):
    pass


def store(root: str, attachment: Attachment) -> ArtifactRef:
    digest = hashlib.sha256(attachment.content).hexdigest()
    path = Path(root) / digest[:2] / digest / Path(attachment.name).name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(attachment.content)
        tmp.replace(path)
    return ArtifactRef(
        name=attachment.name,
        uri=path.resolve().as_uri(),
        sha256=digest,
        media_type=attachment.media_type,
        size=len(attachment.content),
    )


def fetch(ref: ArtifactRef) -> bytes:
    data = Path(unquote(urlparse(ref.uri).path)).read_bytes()
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise DigestMismatch(f"{ref.uri}: sha256 differs from the recorded {ref.sha256}")
    return data
