"""Importing chat exports into the archive, on SQLite and PostgreSQL: messages in the inbox read
model and as sealed log entries, provenance, media from a zip, re-imports that change nothing,
later exports that add only what is new, and failures that leave nothing behind."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import canonical_json
from chatproof.domain.chat_export import ChatMessage, InvalidPhoneNumber, UnrecognisedExport
from chatproof.services.conversations import list_conversations, read_messages
from chatproof.services.importing import (
    ExportFile,
    ImportFileError,
    ImportOptions,
    ImportSummary,
    import_export,
    import_exports,
    use_case,
)
from chatproof.services.importing.sealing import ChunkSealer
from chatproof.services.media import read_media
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from chatproof.store.imports import IMPORT_NUMBER, ImportUnitOfWork, SqlAlchemyImportUnitOfWork
from tests.integration.conftest import PSEUDONYMS, SEALING

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "chat_export"
NUMBER_FILE = "WhatsApp Chat mit +49 151 23456789"
WEBER = ImportOptions(business_name="Fahrradladen Weber")
JPEG = b"\xff\xd8\xff\xe0 a photo of a squeaking bike"


@pytest.fixture(autouse=True, params=["inline", "sealing process"])
def sealing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: sealing in the importing process, and in a process of its own
    (as large exports are)."""
    if request.param == "sealing process":
        monkeypatch.setattr(use_case, "SEALING_PROCESS_FROM_BYTES", 0)
        # Chunks of three messages, so that every sealing process has several.
        monkeypatch.setattr(use_case, "CHUNK", 3)
    return request.param


@pytest.fixture
def importer(engine: Engine) -> Callable[[], ImportUnitOfWork]:
    return partial(SqlAlchemyImportUnitOfWork, engine, SEALING, PSEUDONYMS)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media")


def write_export(
    directory: Path, text: str, *, name: str = NUMBER_FILE, media: dict[str, bytes] | None = None
) -> Path:
    if media is None:
        path = directory / f"{name}.txt"
        path.write_bytes(text.encode())
        return path
    path = directory / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.txt", text)
        for file_name, data in media.items():
            archive.writestr(file_name, data)
    return path


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode()


def run(
    importer: Callable[[], ImportUnitOfWork],
    blobs: BlobStore,
    path: Path,
    options: ImportOptions = WEBER,
) -> ImportSummary:
    export = ExportFile(path)
    try:
        return import_export(
            importer, blobs, export, options, tz=BERLIN, actor="cli:maria", now=NOW
        )
    finally:
        export.close()


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def log_entries(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        leaves = conn.execute(select(t.log_entries.c.leaf).order_by(t.log_entries.c.idx))
        return [json.loads(leaf) for (leaf,) in leaves]


def test_an_export_becomes_imported_messages_in_the_inbox(
    importer: Callable[[], ImportUnitOfWork],
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    tmp_path: Path,
) -> None:
    summary = run(importer, blobs, write_export(tmp_path, sample("android-de-24h.txt")))

    assert (summary.messages, summary.added, summary.bad_lines) == (10, 10, 0)
    assert summary.format == "android DD.MM.YY 24h" and summary.confidence == 1.0
    (conversation,) = list_conversations(uow_factory, "test", NOW).items
    assert conversation.wa_id == "4915123456789"
    assert conversation.business_number_id == IMPORT_NUMBER
    assert conversation.message_count == 10
    assert conversation.last_inbound_at is None and conversation.window_ends is None
    _, page = read_messages(uow_factory, "test", NOW, conversation.id)
    shown = [(m.direction, m.type, m.text) for m in reversed(page.items)]
    assert shown[:4] == [
        ("system", "import.system", shown[0][2]),
        ("inbound", "import.message", "Guten Tag, mein Rad quietscht."),
        ("inbound", "import.message", "Rechnung Nr. 4711\nKauf am 02.01.24\n\nDanke!"),
        ("outbound", "import.message", "Kommen Sie gern vorbei: Mo–Fr 9–18 Uhr."),
    ]
    assert [m.type for m in page.items].count("import.deleted") == 2
    first = page.items[-2]
    assert first.sent_at == datetime(2024, 3, 12, 13, 5, tzinfo=UTC)  # 14:05 in Berlin
    assert json.loads(first.raw)["source"] == "import"


def test_every_message_is_a_sealed_log_entry_and_the_import_has_provenance(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    path = write_export(tmp_path, sample("ios-en-12h.txt"))
    summary = run(importer, blobs, path, ImportOptions("Bike Shop"))

    entries = log_entries(engine)
    assert [e["kind"] for e in entries] == ["import.message"] * 6 + ["import.provenance"]
    assert summary.log_entries == 7
    leaves = json.dumps(entries, ensure_ascii=False)
    # the whole number: four digits alone turn up in hex hashes and base64 by chance
    assert "repair e-bikes" not in leaves and "Jane Roe" not in leaves
    assert "4915123456789" not in leaves and "151 23456789" not in leaves
    assert entries[1]["attributes"] == {
        "import_id": summary.import_id,
        "line": 2,
        "type": "import.message",
        "direction": "inbound",
        "message_kind": "message",
    }
    provenance = entries[-1]["attributes"]
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert provenance["sha256"] == summary.sha256 == sha256
    assert provenance["format"] == "ios MM/DD/YY 12h+s"
    assert provenance["timezone"] == "Europe/Berlin"
    assert provenance["imported_by"] == "cli:maria"
    assert provenance["importer_version"]
    assert (provenance["messages"], provenance["added"]) == (6, 6)
    with importer() as uow:
        ((import_id, record, counts),) = uow.imports.imports(summary.conversation_id or 0)
        assert import_id == summary.import_id
        assert record.file_sha256 == sha256 and record.imported_at == NOW
        assert uow.personal.unseal_text(entries[-1]["subject"], record.file_name) == path.name
        assert (counts.messages_read, counts.messages_added) == (6, 6)
    with engine.connect() as conn:
        linked = conn.execute(select(t.messages.c.log_index).order_by(t.messages.c.id)).scalars()
        assert list(linked) == [0, 1, 2, 3, 4, 5]


def test_importing_the_same_export_again_changes_nothing(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    path = write_export(tmp_path, sample("android-de-24h.txt"))
    run(importer, blobs, path)
    before = (count(engine, t.messages), count(engine, t.log_entries), count(engine, t.imports))

    again = run(importer, blobs, path)

    assert (again.added, again.already_imported, again.import_id) == (0, 10, None)
    assert (count(engine, t.messages), count(engine, t.log_entries), count(engine, t.imports)) == (
        before
    )


def test_messages_imported_with_fingerprints_of_hash_only_are_recognised(
    importer: Callable[[], ImportUnitOfWork],
    blobs: BlobStore,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = sample("android-de-24h.txt")
    earlier = write_export(tmp_path, text[: text.index("13.03.24")], name=NUMBER_FILE)
    with monkeypatch.context() as before_ordering:
        hashes_only = ChunkSealer._fingerprints

        def as_before(
            self: ChunkSealer, chunk: list[ChatMessage]
        ) -> tuple[list[str], list[str], list[tuple[object, ...]]]:
            _, digests, times = hashes_only(self, chunk)
            return digests, digests, times

        before_ordering.setattr(ChunkSealer, "_fingerprints", as_before)
        first = run(importer, blobs, earlier)
    with engine.connect() as conn:
        stored = conn.execute(select(t.messages.c.platform_id_hash)).scalars().all()
    assert len(stored) == first.added > 0
    assert all(not f.startswith("i") for f in stored)

    (tmp_path / "later").mkdir()
    later = run(importer, blobs, write_export(tmp_path / "later", text, name=NUMBER_FILE))

    assert (later.already_imported, later.added) == (first.added, 10 - first.added)
    assert count(engine, t.messages) == 10


def test_a_message_repeated_when_the_clocks_went_back_is_a_message_of_its_own(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    # 27 October 2024, 03:00 CEST became 02:00 CET: the minute 02:30 came twice.
    chat = (
        "27.10.24, 02:30 - Max Mustermann: ok\n"
        "27.10.24, 02:45 - Fahrradladen Weber: Gut, bis morgen\n"
        "27.10.24, 02:30 - Max Mustermann: ok\n"
        "27.10.24, 02:31 - Max Mustermann: ok\n"
    )
    path = write_export(tmp_path, chat)
    first = run(importer, blobs, path)
    again = run(importer, blobs, path)

    assert (first.messages, first.added) == (4, 4)
    assert (again.added, again.already_imported) == (0, 4)
    assert count(engine, t.messages) == 4


def test_a_later_export_adds_only_the_new_messages_counting_identical_ones(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    earlier = "12.03.24, 14:05 - Max Mustermann: ok\n12.03.24, 14:06 - Fahrradladen Weber: Danke\n"
    later = earlier + (
        "12.03.24, 14:06 - Fahrradladen Weber: Danke\n13.03.24, 09:00 - Max Mustermann: ok\n"
    )
    run(importer, blobs, write_export(tmp_path, earlier))

    summary = run(importer, blobs, write_export(tmp_path, later, name=NUMBER_FILE + " (2)"))

    assert (summary.messages, summary.added, summary.already_imported) == (4, 2, 2)
    assert count(engine, t.messages) == 4
    assert count(engine, t.imports) == 2
    with engine.connect() as conn:
        conversation = conn.execute(select(t.conversations)).one()
    assert conversation.message_count == 4
    assert conversation.last_message_at == datetime(2024, 3, 13, 8, 0, tzinfo=UTC)


def test_media_in_a_zip_are_sealed_into_the_blob_store_and_missing_ones_recorded(
    importer: Callable[[], ImportUnitOfWork],
    uow_factory: Callable[[], UnitOfWork],
    blobs: BlobStore,
    engine: Engine,
    tmp_path: Path,
) -> None:
    path = write_export(
        tmp_path, sample("android-de-24h.txt"), media={"IMG-20240313-WA0001.jpg": JPEG}
    )
    summary = run(importer, blobs, path)

    assert (summary.media_stored, summary.media_missing) == (1, 1)
    (conversation,) = list_conversations(uow_factory, "test", NOW).items
    _, page = read_messages(uow_factory, "test", NOW, conversation.id)
    media = {m.media.filename: (m.id, m.media) for m in page.items if m.media}
    photo_id, photo = media["IMG-20240313-WA0001.jpg"]
    assert (photo.state, photo.mime_type) == ("stored", "image/jpeg")
    assert JPEG not in blobs.get(photo.blob)
    assert read_media(uow_factory, blobs, "test", NOW, photo_id) == (JPEG, "image/jpeg")
    _, video = media["VID-20240314-WA0002.mp4"]
    assert (video.state, video.blob) == ("missing", "")
    # Entries of media are canonical JSON too, their media members in JCS order.
    with engine.connect() as conn:
        leaves = conn.execute(select(t.log_entries.c.leaf)).scalars().all()
    assert all(canonical_json(json.loads(leaf)) == leaf for leaf in leaves)
    attributes = [json.loads(leaf)["attributes"] for leaf in leaves]
    assert {"media": "stored", "blob": photo.blob} in [
        {k: a[k] for k in ("media", "blob") if k in a} for a in attributes
    ]


def test_unreadable_lines_are_counted_and_the_rest_imported(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, tmp_path: Path
) -> None:
    summary = run(importer, blobs, write_export(tmp_path, sample("broken-lines.txt")))

    assert (summary.added, summary.bad_lines) == (2, 3)
    assert [b.line for b in summary.bad_line_reports] == [2, 3, 4]


def test_a_file_that_is_no_export_stores_nothing(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    path = write_export(tmp_path, sample("not-an-export.txt"))
    with pytest.raises(UnrecognisedExport, match="Dear customer"):
        run(importer, blobs, path)
    assert count(engine, t.contacts) == count(engine, t.log_entries) == 0


def test_a_failure_half_way_imports_nothing(
    importer: Callable[[], ImportUnitOfWork], engine: Engine, tmp_path: Path
) -> None:
    class FullDisk(BlobStore):
        def put(self, data: bytes) -> str:
            raise OSError("No space left on device")

    path = write_export(
        tmp_path, sample("android-de-24h.txt"), media={"IMG-20240313-WA0001.jpg": JPEG}
    )
    export = ExportFile(path)
    with pytest.raises(OSError, match="No space"):
        import_export(
            importer,
            FullDisk(tmp_path / "media"),
            export,
            WEBER,
            tz=BERLIN,
            actor="cli:maria",
            now=NOW,
            sealing_process=False,
        )
    export.close()
    for table in (t.contacts, t.conversations, t.messages, t.imports, t.log_entries):
        assert count(engine, table) == 0


def run_all(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, paths: list[Path]
) -> list[ImportSummary]:
    exports = [ExportFile(path) for path in paths]
    try:
        return import_exports(
            importer, blobs, exports, WEBER, tz=BERLIN, actor="cli:maria", now=NOW
        )
    finally:
        for export in exports:
            export.close()


def test_several_files_are_one_transaction_a_bad_one_imports_none(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    good = write_export(tmp_path, sample("android-de-24h.txt"))
    bad = write_export(tmp_path, sample("not-an-export.txt"), name="WhatsApp Chat mit +49 30 1234")

    with pytest.raises(UnrecognisedExport):
        run_all(importer, blobs, [good, bad])

    for table in (t.contacts, t.conversations, t.messages, t.imports, t.log_entries):
        assert count(engine, table) == 0


def test_in_one_run_a_later_export_adds_only_its_news_and_a_known_one_writes_nothing(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    earlier = "12.03.24, 14:05 - Max Mustermann: ok\n12.03.24, 14:06 - Fahrradladen Weber: Danke\n"
    later = earlier + "13.03.24, 09:00 - Max Mustermann: ok\n"
    first = write_export(tmp_path, earlier)
    second = write_export(tmp_path, later, name=NUMBER_FILE + " (2)")

    summaries = run_all(importer, blobs, [first, second, first])

    assert [(s.added, s.already_imported) for s in summaries] == [(2, 0), (1, 2), (0, 2)]
    assert summaries[2].import_id is None
    assert count(engine, t.messages) == 3
    assert count(engine, t.imports) == 2
    provenance = [e for e in log_entries(engine) if e["kind"] == "import.provenance"]
    assert [e["attributes"]["added"] for e in provenance] == [2, 1]


def test_the_contact_comes_from_the_option_or_the_file_name(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, tmp_path: Path
) -> None:
    path = write_export(tmp_path, sample("ios-de-24h.txt"), name="WhatsApp Chat - Max Mustermann")
    with pytest.raises(ImportFileError, match="give the other side's number with --contact"):
        run(importer, blobs, path)
    with pytest.raises(InvalidPhoneNumber, match="--contact"):
        run(importer, blobs, path, ImportOptions("Fahrradladen Weber", contact="Max"))

    summary = run(importer, blobs, path, ImportOptions("Fahrradladen Weber", "+49 170 1234567"))

    assert summary.added == 7
    with importer() as uow:
        contact = uow.imports.ensure_contact("491701234567", "", NOW)
        assert contact.conversation_id == summary.conversation_id


def test_an_import_opens_no_service_window_and_records_no_consent(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    run(importer, blobs, write_export(tmp_path, sample("android-en-12h.txt")), WEBER)

    with engine.connect() as conn:
        windows = conn.execute(select(t.conversations.c.last_inbound_at)).scalars().all()
        directions = conn.execute(select(t.messages.c.direction)).scalars().all()
    assert windows == [None]
    assert set(directions) == {"system", "inbound"}
    assert count(engine, t.consent_events) == 0


def test_a_business_name_that_never_writes_is_warned_about(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, tmp_path: Path
) -> None:
    path = write_export(tmp_path, sample("android-de-24h.txt"))
    summary = run(importer, blobs, path, ImportOptions("Weber GmbH"))
    assert summary.warnings and "Weber GmbH" in summary.warnings[0]


def test_progress_is_reported_in_bytes_up_to_the_whole_file(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, tmp_path: Path
) -> None:
    lines = [
        f"{1 + n // 100:02d}.03.24, 10:{n % 60:02d} - Kim: Nachricht {n}\n" for n in range(2500)
    ]
    path = write_export(tmp_path, "".join(lines))
    reports: list[tuple[int, int]] = []
    export = ExportFile(path)
    summary = import_export(
        importer,
        blobs,
        export,
        ImportOptions("Kim"),
        tz=BERLIN,
        actor="test",
        now=NOW,
        progress=lambda done, total: reports.append((done, total)),
    )
    export.close()
    assert summary.added == 2500
    size = path.stat().st_size
    assert len(reports) == -(-2500 // use_case.CHUNK)  # one per chunk
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert reports[-1] == (size, size)


def test_a_damaged_file_in_the_zip_is_recorded_as_damaged(
    importer: Callable[[], ImportUnitOfWork], blobs: BlobStore, engine: Engine, tmp_path: Path
) -> None:
    path = write_export(
        tmp_path, sample("android-de-24h.txt"), media={"IMG-20240313-WA0001.jpg": JPEG}
    )
    data = path.read_bytes()
    at = data.index(JPEG)
    path.write_bytes(data[:at] + b"X" + data[at + 1 :])  # the CRC no longer matches

    summary = run(importer, blobs, path)

    assert (summary.added, summary.media_stored, summary.media_missing) == (10, 0, 2)
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                select(t.messages.c.media_state, t.messages.c.media_error).where(
                    t.messages.c.media_state.is_not(None)
                )
            ).all()
        )
    assert set(states) == {"damaged", "missing"}
    assert states["damaged"] == "damaged in the export (its zip checksum does not match)"
