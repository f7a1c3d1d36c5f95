"""Versions of the master key on disk, so it can be rotated without a moment in which the
archive does not open (DESIGN invariant 4).

``keys/master.key`` always holds the current version (``<hex>`` is version 1, as
``chatproof init`` writes it; ``v<N>:<hex>`` is version N). A rotation first keeps the current
key as ``keys/master.v<N>.key``, then replaces ``master.key`` by the next version in one atomic
rename: a crash leaves either the old state or the new one with the old key beside it, and both
open everything. An old version's file is needed until no bucket key is wrapped under it any
more; then it can go.

The master key also roots keys derived for other purposes (the pseudonyms in every log entry,
for one), which must never change, or the log could no longer be searched by platform id. On
the first rotation those are given their own root, ``keys/master.derivation.key``: the original
key, kept for derivation only. Its name starts like the master key's, so a backup made
``--without-master-key`` leaves it out too.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from chatproof.archive.errors import ArchiveError, MasterKeyError
from chatproof.archive.keyfiles import MASTER_KEY_BYTES, MASTER_KEY_FILE, read_master_key_file

DERIVATION_KEY_FILE = "master.derivation.key"
_OLD_VERSION = re.compile(r"master\.v([0-9]+)\.key")


@dataclass(frozen=True)
class MasterKeys:
    """The current master key, the older versions still on disk, and the derivation root."""

    version: int
    current: bytes = field(repr=False)
    older: dict[int, bytes] = field(repr=False)
    derivation: bytes = field(repr=False)

    @property
    def versions(self) -> list[int]:
        return sorted({*self.older, self.version})


def old_version_path(keys_dir: Path, version: int) -> Path:
    return keys_dir / f"master.v{version}.key"


def load_master_keys(keys_dir: Path) -> MasterKeys:
    """Raises:
    ArchiveError: a key file is missing or malformed, an old version's file contradicts
        itself, or the derivation root is gone.
    """
    version, current = read_master_key_file(keys_dir / MASTER_KEY_FILE)
    older: dict[int, bytes] = {}
    for path in sorted(keys_dir.glob("master.v*.key")):
        match = _OLD_VERSION.fullmatch(path.name)
        if match is None:
            continue
        named = int(match.group(1))
        _, key = read_master_key_file(path)
        if named == version:
            if key != current:
                raise MasterKeyError(f"{path} is not the current master key of that version")
            continue
        older[named] = key
    return MasterKeys(version, current, older, _derivation_root(keys_dir, version, current, older))


def _derivation_root(
    keys_dir: Path, version: int, current: bytes, older: dict[int, bytes]
) -> bytes:
    path = keys_dir / DERIVATION_KEY_FILE
    if path.exists():
        return read_master_key_file(path)[1]
    first = current if version == 1 else older.get(1)
    if first is None:
        raise ArchiveError(
            f"{path} is missing: it holds the key pseudonyms are derived from since the master "
            "key was rotated; restore it from where you keep the master key"
        )
    return first


def begin_rotation(keys_dir: Path) -> MasterKeys:
    """Make a new master key version the current one, keeping the previous one (and the
    derivation root) on disk. Returns the keys as they are now.

    Raises:
        ArchiveError: as ``load_master_keys``, or a key file cannot be written.
    """
    keys = load_master_keys(keys_dir)
    _write_once(keys_dir / DERIVATION_KEY_FILE, keys.derivation.hex())
    _write_once(old_version_path(keys_dir, keys.version), keys.current.hex())
    new_version = max(keys.versions) + 1
    new_key = secrets.token_bytes(MASTER_KEY_BYTES)
    _replace(keys_dir / MASTER_KEY_FILE, f"v{new_version}:{new_key.hex()}")
    return load_master_keys(keys_dir)


def retire(keys_dir: Path, in_use: set[int]) -> list[Path]:
    """Remove the files of old versions no bucket key is wrapped under; return them.

    The bytes are overwritten before the file is unlinked, which helps on file systems that
    write in place; on copy-on-write or journalled storage only a destroyed medium is sure.
    """
    keys = load_master_keys(keys_dir)
    removed = []
    for version in sorted(keys.older):
        if version in in_use:
            continue
        path = old_version_path(keys_dir, version)
        with path.open("r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        removed.append(path)
    _sync_dir(keys_dir)
    return removed


def _write_once(path: Path, text: str) -> None:
    """Write ``path`` durably unless it exists with this content already."""
    if path.exists():
        if read_master_key_file(path)[1].hex() != text.rpartition(":")[2]:
            raise MasterKeyError(f"{path} exists with another key; it is never replaced")
        return
    _replace(path, text)


def _replace(path: Path, text: str) -> None:
    """Atomically (write, fsync, rename, fsync the directory), readable by the owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ArchiveError(f"cannot write {path}: {exc.strerror}") from None
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
