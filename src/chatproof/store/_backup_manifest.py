"""The manifest of a backup and the file copying it is checked with: every file in a backup
is listed with its SHA-256, size and mode, and is written through a partial file that only
takes its name once its hash is right (DESIGN invariants 3 and 4: a backup must be as
verifiable as the original).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal, cast

from chatproof.archive.keyfiles import MASTER_KEY_FILE
from chatproof.store.errors import BackupError

DatabaseKind = Literal["sqlite", "postgresql"]

FORMAT = "chatproof-backup"
FORMAT_VERSION = 1
MANIFEST_FILE = "MANIFEST.json"
CONFIG_FILE = "chatproof.toml"  # the name chatproof.config uses; store may not import config
DATABASE_DIR = "database"
DATABASE_FILES: dict[str, str] = {"sqlite": "chatproof.sqlite3", "postgresql": "chatproof.pgdump"}
_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ManifestFile:
    path: str
    """Relative, with forward slashes: ``keys/signing.key``, ``media/ab/cd/abcd…``."""
    sha256: str
    size: int
    mode: int


@dataclass(frozen=True, slots=True)
class BackupManifest:
    chatproof_version: str
    created_at: datetime
    database_kind: DatabaseKind
    master_key_included: bool
    master_key_fingerprint: str
    """Derived from the master key (empty if it was not in the data directory), so a restore
    can tell whether the master key in place is the one the backup needs."""
    files: tuple[ManifestFile, ...]
    format_version: int = FORMAT_VERSION

    @property
    def database_file(self) -> str:
        return f"{DATABASE_DIR}/{DATABASE_FILES[self.database_kind]}"

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "format_version": self.format_version,
            "chatproof_version": self.chatproof_version,
            "created_at": self.created_at.isoformat(),
            "database": {"kind": self.database_kind, "file": self.database_file},
            "master_key": {
                "included": self.master_key_included,
                "fingerprint": self.master_key_fingerprint,
            },
            "files": [
                {"path": f.path, "sha256": f.sha256, "size": f.size, "mode": f"{f.mode:04o}"}
                for f in self.files
            ],
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BackupManifest:
        """Raises:
        BackupError: the text is not a manifest this version understands; names the field.
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BackupError(MANIFEST_FILE, f"not valid JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise BackupError(MANIFEST_FILE, f"not a chatproof backup manifest (format {FORMAT!r})")
        version = _field(document, "format_version", int)
        if version != FORMAT_VERSION:
            raise BackupError(
                MANIFEST_FILE, f"format_version {version} is not {FORMAT_VERSION}, the one known"
            )
        database = _field(document, "database", dict)
        kind = _field(database, "kind", str, "database.")
        if kind not in DATABASE_FILES:
            raise BackupError(MANIFEST_FILE, f"database.kind {kind!r} is not sqlite or postgresql")
        master = _field(document, "master_key", dict)
        try:
            created_at = datetime.fromisoformat(_field(document, "created_at", str))
            files = tuple(
                ManifestFile(
                    _field(item, "path", str, "files[]."),
                    _field(item, "sha256", str, "files[]."),
                    _field(item, "size", int, "files[]."),
                    int(_field(item, "mode", str, "files[]."), 8),
                )
                for item in _field(document, "files", list)
            )
        except ValueError as exc:
            raise BackupError(MANIFEST_FILE, f"malformed value: {exc}") from None
        manifest = cls(
            chatproof_version=_field(document, "chatproof_version", str),
            created_at=created_at,
            database_kind=cast(DatabaseKind, kind),
            master_key_included=_field(master, "included", bool, "master_key."),
            master_key_fingerprint=_field(master, "fingerprint", str, "master_key."),
            files=files,
            format_version=version,
        )
        manifest._check_files()
        return manifest

    def _check_files(self) -> None:
        """Every path is one a backup writes, so a manifest cannot steer a restore elsewhere."""
        seen: set[str] = set()
        for entry in self.files:
            parts = PurePosixPath(entry.path).parts
            allowed = (
                entry.path in (CONFIG_FILE, self.database_file)
                or (len(parts) == 2 and parts[0] == "keys" and not parts[1].startswith("."))
                or (
                    parts[:1] == ("media",)
                    and is_blob_path("/".join(parts[1:]))
                    and parts[-1] == entry.sha256
                )
            )
            if not allowed or "/".join(parts) != entry.path or entry.path in seen:
                raise BackupError(MANIFEST_FILE, f"unexpected or repeated path {entry.path!r}")
            if not _SHA256.fullmatch(entry.sha256) or entry.size < 0:
                raise BackupError(MANIFEST_FILE, f"malformed sha256 or size for {entry.path}")
            seen.add(entry.path)
        if self.database_file not in seen:
            raise BackupError(MANIFEST_FILE, f"does not list {self.database_file}")
        if self.master_key_included != (f"keys/{MASTER_KEY_FILE}" in seen):
            raise BackupError(MANIFEST_FILE, "master_key.included contradicts the file list")


def _field(document: dict[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    value = document.get(name) if isinstance(document, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BackupError(MANIFEST_FILE, f"field {prefix}{name} is missing or not {kind.__name__}")
    return value


def read_manifest(backup_dir: Path) -> BackupManifest:
    """The manifest of the backup in ``backup_dir``, e.g. to show what a restore would do.

    Raises:
        BackupError: there is no manifest, or it is malformed.
    """
    path = Path(backup_dir) / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(str(path), "missing; the directory holds no complete backup") from None
    return BackupManifest.from_json(text)


def is_blob_path(relative: str) -> bool:
    """``ab/cd/abcd…``: the layout of ``chatproof.archive.blobs.BlobStore``."""
    parts = relative.split("/")
    return (
        len(parts) == 3
        and _SHA256.fullmatch(parts[2]) is not None
        and parts[0] == parts[2][:2]
        and parts[1] == parts[2][2:4]
    )


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_file(
    source: Path,
    destination: Path,
    mode: int,
    what: str,
    advance: Callable[[int, str], None],
    *,
    expected: str | None = None,
    by: str = "",
) -> tuple[str, int]:
    """Copy through a partial file, hashing on the way; the destination appears only if the
    bytes hash to ``expected`` (named after ``by``). Returns the SHA-256 and size."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
                advance(len(chunk), what)
            writer.flush()
            os.fsync(writer.fileno())
        if expected is not None and digest.hexdigest() != expected:
            raise BackupError(what, f"SHA-256 is {digest.hexdigest()}, but {by} says {expected}")
        os.replace(partial, destination)
    except OSError as exc:
        raise BackupError(what, f"cannot copy: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest(), size


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
