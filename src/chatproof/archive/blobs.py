"""Content-addressed media storage: a file's name is the SHA-256 of its bytes, so the same
attachment is stored once and any change to a stored file is detectable (invariant 3)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from chatproof.archive.errors import BlobIntegrityError


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its hex SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        """Raises:
        BlobIntegrityError: the stored bytes no longer hash to ``digest``.
        FileNotFoundError: no blob with that digest is stored.
        """
        data = self.path_for(digest).read_bytes()
        computed = hashlib.sha256(data).hexdigest()
        if computed != digest:
            raise BlobIntegrityError(digest, computed)
        return data
