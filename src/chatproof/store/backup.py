"""Backup and restore of a data directory: database, keys, media and configuration.

A restored archive must be as verifiable as the original (DESIGN invariants 3 and 4). The
database copy is therefore one consistent snapshot, taken while chatproof keeps writing, so the
log, its tree heads and the key hierarchy stored beside it agree with each other; media keep
their content addresses; and ``MANIFEST.json`` records the SHA-256 and size of every file, which
a restore checks before it changes anything.

A backup directory::

    MANIFEST.json
    chatproof.toml
    database/chatproof.sqlite3     or database/chatproof.pgdump (pg_dump's custom format)
    keys/master.key                left out with include_master_key=False
    keys/signing.key, keys/signing.pub
    media/ab/cd/abcd…              content-addressed, copied incrementally
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from chatproof import __version__
from chatproof.archive.keyfiles import MASTER_KEY_FILE, derive_key, load_master_key
from chatproof.store._backup_databases import (
    database_kind,
    dump_postgresql,
    find_pg_tool,
    postgresql_size,
    restore_postgresql,
    sqlite_path,
    table_with_rows,
)
from chatproof.store._backup_manifest import (
    CONFIG_FILE,
    DATABASE_DIR,
    DATABASE_FILES,
    MANIFEST_FILE,
    BackupManifest,
    ManifestFile,
    copy_file,
    hash_file,
    is_blob_path,
    read_manifest,
    write_atomically,
)
from chatproof.store.errors import BackupError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""``(done, total, what)``: bytes handled so far, bytes expected in all, and the current step or
file. ``total`` may grow while the operation runs."""

DEFAULT_STEP_PAGES = 256
_TOP_LEVEL = {MANIFEST_FILE, CONFIG_FILE, DATABASE_DIR, "keys", "media"}
_FINGERPRINT_PURPOSE = "backup/master-key-fingerprint"


class DataDirectory(Protocol):
    """Where a data directory keeps its parts; ``chatproof.config.Settings`` is one."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def database_url(self) -> str: ...

    @property
    def keys_dir(self) -> Path: ...

    @property
    def media_dir(self) -> Path: ...


@dataclass(frozen=True, slots=True)
class RestoreReport:
    manifest: BackupManifest
    files_restored: int
    media_restored: int
    media_already_present: int


class _Meter:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def set(self, done: int, what: str) -> None:
        self.done = done
        self.total = max(self.total, done)
        if self.progress is not None:
            self.progress(self.done, self.total, what)

    def advance(self, amount: int, what: str) -> None:
        self.set(self.done + amount, what)


def backup(
    settings: DataDirectory,
    target_dir: Path,
    *,
    include_master_key: bool = True,
    progress: Progress | None = None,
    step_pages: int = DEFAULT_STEP_PAGES,
    now: datetime | None = None,
) -> BackupManifest:
    """Copy the data directory of ``settings`` into ``target_dir`` while chatproof may run.

    The database is copied first, so every blob and key its snapshot refers to is on disk
    before the files are listed. Media already in ``target_dir`` from an earlier backup are not
    copied again, and files that left the data directory are removed from it (erased content
    must not outlive erasure in the newest backup). MANIFEST.json is written last: a directory
    without one holds no complete backup.

    Raises:
        BackupError: the target is not a backup directory, the master key to include is
            missing, the database or a file cannot be copied, a blob does not hash to its name,
            or pg_dump is missing or fails; the message names the file or step.
    """
    kind = database_kind(settings.database_url)
    keys_dir = Path(settings.keys_dir)
    estimate = sum(size for *_, size in _data_files(settings, include_master_key))
    target = _prepare_target(Path(settings.data_dir), Path(target_dir))
    meter = _Meter(progress, estimate)
    database_dir = target / DATABASE_DIR
    database_dir.mkdir(mode=0o700, exist_ok=True)
    if kind == "sqlite":
        database = _copy_sqlite(sqlite_path(settings.database_url), database_dir, meter, step_pages)
    else:
        database_size = postgresql_size(settings.database_url)
        meter.total += database_size
        meter.set(meter.done, "database")
        database = dump_postgresql(settings.database_url, database_dir)
        meter.advance(database_size, "database")
    sources = _data_files(settings, include_master_key)
    meter.total = meter.done + sum(size for *_, size in sources)
    files = [database, *(_backup_file(rel, path, target, meter) for rel, path, _ in sources)]
    manifest = BackupManifest(
        chatproof_version=__version__,
        created_at=now or datetime.now(UTC),
        database_kind=kind,
        master_key_included=include_master_key,
        master_key_fingerprint=_master_fingerprint(keys_dir),
        files=tuple(sorted(files, key=lambda f: f.path)),
    )
    write_atomically(target / MANIFEST_FILE, manifest.to_json().encode(), 0o600)
    _prune(target, {f.path for f in manifest.files})
    logger.info("backup of %d files (%d bytes) in %s", len(files), manifest.total_size, target)
    return manifest


def restore(
    backup_dir: Path,
    settings: DataDirectory,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore the backup in ``backup_dir`` into the data directory and database of
    ``settings``. Stop chatproof first.

    Every file is copied to a staging area and checked against MANIFEST.json before anything
    is changed. Then the database is replaced (SQLite: one rename; PostgreSQL: ``pg_restore``
    in a single transaction) and the files are renamed into place. Without ``force`` a
    database that holds rows, or a key or configuration file that differs from the backup's,
    is left alone.

    Raises:
        BackupError: the manifest is missing or malformed; a file is missing or differs from
            the manifest (the first one is named); the backup's database kind is not the
            configured one; the master key was left out and is not in place (or is another
            key); the target holds data and ``force`` is false; pg_restore is missing or fails.
    """
    source = Path(backup_dir)
    manifest = read_manifest(source)
    kind = database_kind(settings.database_url)
    if kind != manifest.database_kind:
        raise BackupError(
            "database.url",
            f"the backup holds a {manifest.database_kind} database but the configured one is "
            f"{kind}; set database.url (CHATPROOF_DATABASE_URL) to a {manifest.database_kind} "
            "database",
        )
    if kind == "postgresql":
        find_pg_tool("pg_restore")
    _check_master_key(manifest, Path(settings.keys_dir))
    if not force:
        _refuse_existing_data(manifest, settings)

    data_dir = Path(settings.data_dir)
    created = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    database_stage = _database_stage(manifest, settings, staging)
    meter = _Meter(progress, manifest.total_size)
    try:
        staged, present = _stage(manifest, source, staging, database_stage, settings, meter)
        meter.set(meter.done, "database")
        if kind == "sqlite":
            _swap_sqlite(database_stage, sqlite_path(settings.database_url), manifest)
        else:
            restore_postgresql(database_stage, settings.database_url)
        for entry, path in staged:
            destination = _destination(entry.path, settings)
            if destination is not None:
                destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                shutil.move(path, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        database_stage.unlink(missing_ok=True)
        if created and not any(data_dir.iterdir()):
            data_dir.rmdir()
    meter.set(meter.total, "done")
    media = sum(1 for entry, _ in staged if entry.path.startswith("media/"))
    logger.info(
        "restored %d files from %s (%d blobs already present)", len(staged), source, present
    )
    return RestoreReport(manifest, len(staged), media, present)


def _data_files(settings: DataDirectory, include_master_key: bool) -> list[tuple[str, Path, int]]:
    """``(path in the backup, path on disk, size)`` of every file to back up, in order."""
    found: list[tuple[str, Path, int]] = []
    config = Path(settings.data_dir) / CONFIG_FILE
    if config.is_file():
        found.append((CONFIG_FILE, config, config.stat().st_size))
    keys = Path(settings.keys_dir)
    if include_master_key and not (keys / MASTER_KEY_FILE).is_file():
        raise BackupError(
            f"keys/{MASTER_KEY_FILE}",
            "not in the data directory; keep your copy of it and use include_master_key=False",
        )
    if keys.is_dir():
        for path in sorted(keys.iterdir()):
            master = path.name.startswith("master") and path.name.endswith(".key")
            if path.is_file() and (include_master_key or not master):
                found.append((f"keys/{path.name}", path, path.stat().st_size))
    media = Path(settings.media_dir)
    for path in sorted(media.glob("*/*/*")) if media.is_dir() else ():
        relative = path.relative_to(media).as_posix()
        if is_blob_path(relative):
            found.append((f"media/{relative}", path, path.stat().st_size))
        elif not path.name.startswith("."):
            logger.warning("not backed up: %s is not a content-addressed blob", path)
    return found


def _prepare_target(data_dir: Path, target: Path) -> Path:
    data, dest = data_dir.resolve(), target.resolve()
    if dest == data or data in dest.parents or dest in data.parents:
        raise BackupError(str(target), f"must be outside the data directory {data_dir}")
    if dest.exists():
        if not dest.is_dir():
            raise BackupError(str(target), "is not a directory")
        foreign = sorted(
            n for n in os.listdir(dest) if n not in _TOP_LEVEL and not n.endswith(".partial")
        )
        if foreign:
            raise BackupError(
                str(target),
                f"holds {foreign[0]!r}, so it is not a chatproof backup; choose an empty directory",
            )
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Until the new manifest is written the directory must not claim to hold a backup.
    (dest / MANIFEST_FILE).unlink(missing_ok=True)
    return dest


def _copy_sqlite(
    source_path: Path, directory: Path, meter: _Meter, step_pages: int
) -> ManifestFile:
    if not source_path.is_file():
        raise BackupError("database", f"{source_path} does not exist")
    name = DATABASE_FILES["sqlite"]
    partial = directory / f".{name}.partial"
    for leftover in (partial, Path(f"{partial}-journal")):
        leftover.unlink(missing_ok=True)
    base = meter.done
    try:
        with closing(sqlite3.connect(source_path, isolation_level=None, timeout=30)) as source:
            # In WAL mode a read transaction held across all steps pins one snapshot: writers
            # carry on, and the copy never restarts because of their commits. In rollback mode
            # it would lock writers out, so there the backup restarts on a change instead.
            if source.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                source.execute("BEGIN")
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
            page_size = source.execute("PRAGMA page_size").fetchone()[0]
            meter.total += page_size * source.execute("PRAGMA page_count").fetchone()[0]

            def step(_status: int, remaining: int, total: int) -> None:
                meter.set(base + (total - remaining) * page_size, "database")

            with closing(sqlite3.connect(partial)) as copy:
                source.backup(copy, pages=step_pages, progress=step)
                copy.execute("PRAGMA journal_mode=DELETE")
                _check_integrity(copy, "database")
            if source.in_transaction:
                source.execute("COMMIT")
        os.chmod(partial, 0o600)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, directory / name)
    except sqlite3.Error as exc:
        raise BackupError("database", f"SQLite backup of {source_path} failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    sha256, size = hash_file(directory / name)
    return ManifestFile(f"{DATABASE_DIR}/{name}", sha256, size, 0o600)


def _backup_file(relative: str, path: Path, target: Path, meter: _Meter) -> ManifestFile:
    stat = path.stat()
    mode = stat.st_mode & 0o777
    destination = target / relative
    if relative.startswith("media/"):
        digest = relative.rsplit("/", 1)[1]
        if destination.is_file() and destination.stat().st_size == stat.st_size:
            meter.advance(stat.st_size, relative)
            return ManifestFile(relative, digest, stat.st_size, mode)
        sha256, size = copy_file(
            path, destination, mode, relative, meter.advance, expected=digest, by="its name"
        )
    else:
        sha256, size = copy_file(path, destination, mode, relative, meter.advance)
    return ManifestFile(relative, sha256, size, mode)


def _prune(target: Path, keep: set[str]) -> None:
    for top in (DATABASE_DIR, "keys", "media"):
        for directory, _subdirs, names in os.walk(target / top, topdown=False):
            for name in names:
                path = Path(directory) / name
                if path.relative_to(target).as_posix() not in keep:
                    path.unlink()
            if Path(directory) != target / top and not os.listdir(directory):
                os.rmdir(directory)
    for name in os.listdir(target):
        if name.endswith(".partial") or (name == CONFIG_FILE and name not in keep):
            (target / name).unlink()


def _master_fingerprint(keys_dir: Path) -> str:
    """A value derived from the master key that identifies it and reveals nothing about it."""
    if not (keys_dir / MASTER_KEY_FILE).is_file():
        return ""
    return derive_key(load_master_key(keys_dir), _FINGERPRINT_PURPOSE).hex()


def _check_master_key(manifest: BackupManifest, keys_dir: Path) -> None:
    if manifest.master_key_included:
        return
    path = keys_dir / MASTER_KEY_FILE
    if not path.is_file():
        raise BackupError(
            f"keys/{MASTER_KEY_FILE}",
            f"the backup was made without the master key; put it at {path} before restoring",
        )
    expected = manifest.master_key_fingerprint
    if expected and expected != _master_fingerprint(keys_dir):
        raise BackupError(str(path), "is not the master key this backup was made with")


def _refuse_existing_data(manifest: BackupManifest, settings: DataDirectory) -> None:
    for entry in manifest.files:
        destination = _destination(entry.path, settings)
        if destination is None or entry.path.startswith("media/"):
            continue
        if destination.exists() and hash_file(destination)[0] != entry.sha256:
            raise BackupError(
                str(destination),
                "exists and differs from the backup; restore into an empty data directory or "
                "force it",
            )
    table = table_with_rows(settings.database_url)
    if table is not None:
        raise BackupError(
            "database",
            f"the configured database already holds data (table {table}); restore into an "
            "empty database or force it",
        )


def _destination(relative: str, settings: DataDirectory) -> Path | None:
    top, _, rest = relative.partition("/")
    if top == "keys":
        return Path(settings.keys_dir) / rest
    if top == "media":
        return Path(settings.media_dir) / rest
    if relative == CONFIG_FILE:
        return Path(settings.data_dir) / CONFIG_FILE
    return None


def _database_stage(manifest: BackupManifest, settings: DataDirectory, staging: Path) -> Path:
    if manifest.database_kind == "sqlite":
        # Next to the live file, so that the final swap is a rename on one file system.
        live = sqlite_path(settings.database_url)
        live.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return live.with_name(f".{live.name}.restore-{staging.name}")
    return staging / manifest.database_file


def _stage(
    manifest: BackupManifest,
    source: Path,
    staging: Path,
    database_stage: Path,
    settings: DataDirectory,
    meter: _Meter,
) -> tuple[list[tuple[ManifestFile, Path]], int]:
    """Copy every file the target lacks into staging, checking it against the manifest."""
    staged: list[tuple[ManifestFile, Path]] = []
    present = 0
    for entry in manifest.files:
        destination = _destination(entry.path, settings)
        if (
            entry.path.startswith("media/")
            and destination is not None
            and destination.is_file()
            and hash_file(destination)[0] == entry.sha256
        ):
            present += 1
            meter.advance(entry.size, entry.path)
            continue
        origin = source / entry.path
        if not origin.is_file():
            raise BackupError(entry.path, f"listed in {MANIFEST_FILE} but missing from the backup")
        path = database_stage if entry.path == manifest.database_file else staging / entry.path
        copy_file(
            origin,
            path,
            _restored_mode(entry),
            entry.path,
            meter.advance,
            expected=entry.sha256,
            by=MANIFEST_FILE,
        )
        staged.append((entry, path))
    return staged, present


def _restored_mode(entry: ManifestFile) -> int:
    public = entry.path.endswith(".pub") or entry.path.startswith("media/")
    return entry.mode & (0o644 if public else 0o600)


def _swap_sqlite(staged: Path, live: Path, manifest: BackupManifest) -> None:
    with closing(sqlite3.connect(f"{staged.as_uri()}?mode=ro", uri=True)) as copy:
        _check_integrity(copy, manifest.database_file)
    if live.exists():
        # Fold the old WAL into its database first: should the process die before the rename,
        # the old database is still whole without its -wal file.
        with closing(sqlite3.connect(live, isolation_level=None, timeout=30)) as old:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    os.replace(staged, live)


def _check_integrity(connection: sqlite3.Connection, what: str) -> None:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    if rows != [("ok",)]:
        raise BackupError(what, f"SQLite integrity_check failed: {rows[0][0]}")
