"""A backup is a consistent copy made while chatproof writes, and a restore reproduces the data
directory exactly or changes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, table

from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.config import Settings, load_settings
from chatproof.datadir import initialise
from chatproof.services.ingest import Received, ingest
from chatproof.store import tables as t
from chatproof.store.backup import (
    MANIFEST_FILE,
    BackupManifest,
    backup,
    find_pg_tool,
    read_manifest,
    restore,
)
from chatproof.store.errors import BackupError
from tests.support.databases import scratch_database
from tests.support.samples import webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def text_body(i: int) -> bytes:
    body = json.loads(json.dumps(webhook_samples()["message/text"]))
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.backup.{i:06d}"
    return json.dumps(body).encode()


def add_messages(components: Components, numbers: range) -> None:
    bodies = [text_body(i) for i in numbers]
    ingest([Received(b, batch=parse_webhook(b)) for b in bodies], components.writer, NOW)


@dataclass
class DataDir:
    settings: Settings
    components: Components

    @property
    def path(self) -> Path:
        return self.settings.data_dir


MakeDataDir = Callable[..., DataDir]


@pytest.fixture
def make_data_dir(tmp_path: Path) -> Iterator[MakeDataDir]:
    built: list[Components] = []

    def make(name: str, url: str | None = None, messages: int = 20) -> DataDir:
        path = tmp_path / name
        initialise(path)
        settings = load_settings(path, {"CHATPROOF_DATABASE_URL": url} if url else {})
        components = build(settings)
        built.append(components)
        add_messages(components, range(messages))
        for i in range(3):
            components.blobs.put(f"attachment {name} {i}".encode() * 100)
        return DataDir(settings, components)

    yield make
    for components in built:
        components.close()


def empty_settings(path: Path, url: str | None = None) -> Settings:
    return load_settings(path, {"CHATPROOF_DATABASE_URL": url} if url else {})


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {
                n: conn.execute(select(func.count()).select_from(table(n))).scalar_one()
                for n in names
            }
    finally:
        engine.dispose()


def read_only_url(path: Path) -> str:
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def files_under(root: Path) -> dict[str, bytes]:
    skip = ("-wal", "-shm")
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(skip)
    }


def test_backup_while_writing_is_a_consistent_snapshot(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source", messages=300)
    written = [300]
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            add_messages(source.components, range(written[0], written[0] + 1))
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    reports: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, what: str) -> None:
        reports.append((done, total, what))
        if what == "database":
            time.sleep(0.002)  # let the writer commit between steps

    try:
        while written[0] < 305:
            time.sleep(0.005)
        before = written[0]
        manifest = backup(source.settings, tmp_path / "backup", step_pages=2, progress=progress)
        after = written[0]
    finally:
        stop.set()
        thread.join()

    assert after > before, "the writer was blocked during the backup"
    copy = create_engine(read_only_url(tmp_path / "backup" / manifest.database_file))
    with copy.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        stored = set(conn.execute(select(t.messages.c.platform_id_hash)).scalars())
        deliveries = conn.execute(select(func.count()).select_from(t.webhook_deliveries)).scalar()
    copy.dispose()
    assert before <= len(stored) <= after
    expected = {
        source.components.pseudonyms.hash("wamid", f"wamid.backup.{i:06d}")
        for i in range(len(stored))
    }
    assert stored == expected and deliveries == len(stored)
    assert sum(what == "database" for *_, what in reports) > 10
    dones = [done for done, _, _ in reports]
    assert dones == sorted(dones) and reports[-1][0] == reports[-1][1]


def test_restore_into_an_empty_data_dir_reproduces_it(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    manifest = backup(source.settings, tmp_path / "backup")
    source.components.close()

    target = empty_settings(tmp_path / "restored")
    report = restore(tmp_path / "backup", target)

    assert report.media_restored == 3 and report.files_restored == len(manifest.files)
    assert row_counts(target.database_url) == row_counts(source.settings.database_url)
    for part in ("keys", "media"):
        assert files_under(target.data_dir / part) == files_under(source.path / part)
    assert (target.data_dir / "chatproof.toml").read_bytes() == (
        source.path / "chatproof.toml"
    ).read_bytes()
    for private in ("chatproof.toml", "keys/master.key", "keys/signing.key"):
        assert (target.data_dir / private).stat().st_mode & 0o777 == 0o600
    assert not list(target.data_dir.glob(".restore-*"))
    restored = build(target)
    restored.close()


def test_manifest_lists_every_file_with_its_hash(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    manifest = backup(source.settings, tmp_path / "backup", now=NOW)

    document = json.loads((tmp_path / "backup" / MANIFEST_FILE).read_text())
    assert document["format"] == "chatproof-backup" and document["format_version"] == 1
    assert document["created_at"] == NOW.isoformat()
    assert document["database"] == {"kind": "sqlite", "file": "database/chatproof.sqlite3"}
    assert read_manifest(tmp_path / "backup") == manifest
    paths = [f.path for f in manifest.files]
    assert paths == sorted(paths) and "keys/master.key" in paths and "chatproof.toml" in paths
    assert sum(p.startswith("media/") for p in paths) == 3
    for entry in manifest.files:
        data = (tmp_path / "backup" / entry.path).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry.sha256, entry.size)


def test_a_second_backup_copies_only_new_media_and_drops_erased(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    first = backup(source.settings, tmp_path / "backup")
    blobs = sorted(f.path for f in first.files if f.path.startswith("media/"))
    kept, erased = tmp_path / "backup" / blobs[0], blobs[1]
    inode = kept.stat().st_ino
    (source.path / erased).unlink()
    new = source.components.blobs.put(b"a new attachment")

    second = backup(source.settings, tmp_path / "backup")

    assert kept.stat().st_ino == inode, "an unchanged blob was copied again"
    paths = {f.path for f in second.files}
    assert erased not in paths and not (tmp_path / "backup" / erased).exists()
    assert f"media/{new[:2]}/{new[2:4]}/{new}" in paths


@pytest.mark.parametrize("victim", ["database", "keys/signing.key", "media", "chatproof.toml"])
def test_a_tampered_backup_is_refused_and_nothing_changes(
    make_data_dir: MakeDataDir, tmp_path: Path, victim: str
) -> None:
    source = make_data_dir("source")
    manifest = backup(source.settings, tmp_path / "backup")
    paths = {
        "database": manifest.database_file,
        "media": next(f.path for f in manifest.files if f.path.startswith("media/")),
    }
    path = paths.get(victim, victim)
    tampered = tmp_path / "backup" / path
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    target = make_data_dir("target", messages=5)
    target.components.close()
    files_before = files_under(target.path)
    rows_before = row_counts(target.settings.database_url)

    with pytest.raises(BackupError, match=rf"^{path}: SHA-256 is [0-9a-f]+, but MANIFEST"):
        restore(tmp_path / "backup", target.settings, force=True)

    assert files_under(target.path) == files_before
    assert row_counts(target.settings.database_url) == rows_before
    fresh = empty_settings(tmp_path / "fresh")
    with pytest.raises(BackupError, match=f"^{path}: "):
        restore(tmp_path / "backup", fresh)
    assert not fresh.data_dir.exists()


def test_a_manifest_cannot_steer_files_outside_the_data_dir(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    backup(source.settings, tmp_path / "backup")
    manifest_path = tmp_path / "backup" / MANIFEST_FILE
    document = json.loads(manifest_path.read_text())
    document["files"][-1]["path"] = "keys/../../escaped"
    manifest_path.write_text(json.dumps(document))

    with pytest.raises(
        BackupError, match=re.escape("unexpected or repeated path 'keys/../../escaped'")
    ):
        restore(tmp_path / "backup", empty_settings(tmp_path / "restored"))
    manifest_path.unlink()
    with pytest.raises(BackupError, match=re.escape("MANIFEST.json: missing")):
        restore(tmp_path / "backup", empty_settings(tmp_path / "restored"))


def test_restore_refuses_a_data_dir_that_holds_data(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    backup(source.settings, tmp_path / "backup")
    target = make_data_dir("target", messages=1)
    target.components.close()

    with pytest.raises(BackupError, match=r"chatproof\.toml: exists and differs from the backup"):
        restore(tmp_path / "backup", target.settings)
    (target.path / "chatproof.toml").unlink()
    for key in (target.path / "keys").iterdir():
        key.unlink()
    with pytest.raises(BackupError, match=r"^database: .*already holds data \(table "):
        restore(tmp_path / "backup", target.settings)

    restore(tmp_path / "backup", target.settings, force=True)
    assert row_counts(target.settings.database_url) == row_counts(source.settings.database_url)


def test_backup_without_the_master_key_needs_it_back(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    manifest = backup(source.settings, tmp_path / "backup", include_master_key=False)
    assert not manifest.master_key_included
    assert not (tmp_path / "backup" / "keys" / "master.key").exists()
    target = empty_settings(tmp_path / "restored")

    with pytest.raises(BackupError, match=r"^keys/master\.key: the backup was made without"):
        restore(tmp_path / "backup", target)
    target.keys_dir.mkdir(parents=True)
    (target.keys_dir / "master.key").write_text("11" * 32)
    with pytest.raises(BackupError, match="is not the master key this backup was made with"):
        restore(tmp_path / "backup", target)
    (target.keys_dir / "master.key").write_bytes((source.path / "keys/master.key").read_bytes())

    restore(tmp_path / "backup", target)
    assert row_counts(target.database_url) == row_counts(source.settings.database_url)
    assert files_under(target.keys_dir) == files_under(source.settings.keys_dir)


def test_backup_refuses_a_corrupt_blob_and_unsafe_targets(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    source = make_data_dir("source")
    blob = next(source.settings.media_dir.glob("*/*/*"))
    blob.write_bytes(b"not what it was")
    name = blob.relative_to(source.path).as_posix()

    with pytest.raises(BackupError, match=rf"^{name}: SHA-256 is [0-9a-f]+, but its name says"):
        backup(source.settings, tmp_path / "backup")
    assert not (tmp_path / "backup" / MANIFEST_FILE).exists()
    with pytest.raises(BackupError, match="must be outside the data directory"):
        backup(source.settings, source.path / "backups")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("mine")
    with pytest.raises(
        BackupError, match=re.escape("holds 'notes.txt', so it is not a chatproof backup")
    ):
        backup(source.settings, tmp_path / "elsewhere")


def test_a_missing_postgresql_tool_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"^pg_nothing: not found on PATH or in .*postgresql"):
        find_pg_tool("pg_nothing", bin_glob=str(tmp_path))
    assert find_pg_tool("pg_dump").name == "pg_dump"


@pytest.mark.postgres
def test_postgresql_backup_restores_the_same_rows(
    make_data_dir: MakeDataDir, tmp_path: Path
) -> None:
    with (
        scratch_database("postgresql", tmp_path) as source_url,
        scratch_database("postgresql", tmp_path) as target_url,
    ):
        source = make_data_dir("source", source_url)
        manifest = backup(source.settings, tmp_path / "backup")
        source.components.close()
        assert isinstance(manifest, BackupManifest) and manifest.database_kind == "postgresql"
        target = empty_settings(tmp_path / "restored", target_url)

        restore(tmp_path / "backup", target)
        expected = row_counts(source_url)
        assert row_counts(target_url) == expected and expected["messages"] == 20
        with pytest.raises(BackupError, match="already holds data"):
            restore(tmp_path / "backup", target)
        restore(tmp_path / "backup", target, force=True)
        assert row_counts(target_url) == expected
        assert files_under(target.media_dir) == files_under(source.settings.media_dir)
