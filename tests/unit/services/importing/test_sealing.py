"""The sealing side of an import, without a database: what it seals opens through the key
store, each row's log entry is the canonical JSON of its own content and numbered as planned,
and the raw record is the JSON of the message the parser read."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from chatproof.archive.blobs import BlobStore
from chatproof.archive.keystore import KeyStore, MemoryKeyRepository
from chatproof.archive.log import StoredEntry, canonical_json, entry_time
from chatproof.archive.merkle import MemoryTree, leaf_hash
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.archive.retention import Bucket
from chatproof.domain.chat_export import ChatMessage, detect, parse
from chatproof.services.importing import ExportFile
from chatproof.services.importing.entries import message_entries
from chatproof.services.importing.sealing import ChunkSealer, Plan, SealedChunk, SealingTask, Tally
from chatproof.store._sql import MomentBinder

SUBJECT = "3f1c2a9e-5b7d-4e21-9c4a-0d6e8f7a1b2c"
BUSINESS = "Fahrradladen Weber"
BERLIN = ZoneInfo("Europe/Berlin")
MASTER = bytes.fromhex("5f" * 32)

characters = st.characters(codec="utf-8", exclude_characters=":\n\r\x85\u2028\u2029")
chats = st.lists(
    st.tuples(
        st.sampled_from([BUSINESS, 'Jörg "Max" O\'Neil', "A\\B", "Ω\u00a0Kunde"]),
        st.text(characters, min_size=1, max_size=40),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Sealed:
    parsed: list[ChatMessage]
    chunks: list[SealedChunk]
    tally: Tally


def seal_export(
    chat: list[tuple[str, str]],
    keys: KeyStore,
    log: MemoryTree,
    times: list[datetime] | None = None,
    timezone: str = "Europe/Berlin",
) -> Sealed:
    """Seal an Android export of ``chat`` as the importing process plans it, after ``log``'s
    entries, appending the entries to ``log``; by default a message a minute from 1 March 2024,
    10:00."""
    if times is None:
        times = [datetime(2024, 3, 1, 10 + n // 60, n % 60) for n in range(len(chat))]
    lines = [f"{at:%d.%m.%y, %H:%M} - {a}: {t}\n" for at, (a, t) in zip(times, chat, strict=True)]
    with TemporaryDirectory() as directory:
        path = Path(directory) / "WhatsApp Chat mit +49 151 23456789.txt"
        path.write_text("".join(lines), encoding="utf-8")
        export = ExportFile(path)
        found = detect(iter(lines)).format
        task = SealingTask(
            path=path,
            format=found,
            timezone=timezone,
            business=BUSINESS,
            subject_id=SUBJECT,
            conversation_id=1,
            retention_class="business_letter",
            fingerprint=Pseudonymizer(b"k" * 32).hasher("import"),
            driver="sqlite",
            received_at=datetime(2026, 11, 22, 12, tzinfo=UTC),
            chunk=4,
        )
        parsed = [m for m in parse(export.blocks(), found) if isinstance(m, ChatMessage)]
        sealer = ChunkSealer(task, export, BlobStore(Path(directory) / "media"))
        batch = keys.batch()
        chunks = []
        while sealer.propose() is not None:
            chunk = sealer.seal(Plan(frozenset(), log.size, 7))
            for year, new_keys in chunk.data_keys:
                batch.wrap_data_keys(Bucket(SUBJECT, "business_letter", year), new_keys)
            entries = message_entries(chunk.messages, chunk.times, 7, SUBJECT, "business_letter")
            for entry in map(StoredEntry._make, entries):
                assert log.append(entry.leaf) == entry.index
            chunks.append(chunk)
        batch.flush()
        export.close()
    return Sealed(parsed, chunks, sealer.tally)


@settings(max_examples=40, deadline=None)
@given(chats)
def test_each_entry_is_the_canonical_json_of_its_content_which_opens_to_the_message(
    chat: list[tuple[str, str]],
) -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    sealed = seal_export(chat, keys, MemoryTree())
    entries = [
        StoredEntry._make(e)
        for c in sealed.chunks
        for e in message_entries(c.messages, c.times, 7, SUBJECT, "business_letter")
    ]
    rows = [row for c in sealed.chunks for row in c.messages.values]
    assert sealed.tally.read == sealed.tally.added == len(entries) == len(sealed.parsed)
    assert sealed.tally.last_at == max(m.at for m in sealed.parsed).replace(tzinfo=BERLIN)
    for m, entry, row in zip(sealed.parsed, entries, rows, strict=True):
        document = json.loads(entry.leaf)
        assert canonical_json(document) == entry.leaf
        assert entry.leaf_hash == leaf_hash(entry.leaf)
        assert document["time"] == entry_time(m.at.replace(tzinfo=BERLIN))
        assert document["platform_id"] == entry.platform_id_hash == row[1]
        raw = keys.unseal(SUBJECT, base64.b64decode(document["content"]))
        assert raw == keys.unseal(SUBJECT, row[8])
        record = {
            "source": "import",
            "at": m.at.isoformat(),
            "author": m.author,
            "text": m.text,
            "kind": m.kind.value,
            "attachment": m.attachment,
            "line": m.line,
        }
        assert raw == json.dumps(record, ensure_ascii=False).encode()
        assert keys.unseal(SUBJECT, row[7]).decode() == m.text
        outbound = m.author == BUSINESS
        assert document["attributes"] == {
            "direction": "outbound" if outbound else "inbound",
            "import_id": 7,
            "line": m.line,
            "message_kind": m.kind.value,
            "type": f"import.{m.kind.value}",
        }


@pytest.mark.parametrize(
    ("timezone", "local_times"),
    [
        # The clocks went forward (02:30 did not exist) and back (02:30 came twice).
        ("Europe/Berlin", [(2024, 3, 31, 1, 59), (2024, 3, 31, 2, 30), (2024, 3, 31, 3, 0)]),
        ("Europe/Berlin", [(2024, 10, 27, 1, 59), (2024, 10, 27, 2, 30), (2024, 10, 27, 3, 0)]),
        # Half an hour forward at 02:00.
        ("Australia/Lord_Howe", [(2024, 10, 6, 1, 59), (2024, 10, 6, 2, 15), (2024, 10, 6, 2, 45)]),
        ("America/St_Johns", [(2024, 12, 31, 23, 59), (2025, 1, 1, 0, 0)]),
    ],
)
def test_times_are_read_in_the_business_zone_as_the_column_and_the_log_take_them(
    timezone: str, local_times: list[tuple[int, ...]]
) -> None:
    zone = ZoneInfo(timezone)
    times = [datetime(*fields) for fields in local_times]
    chat = [("Max", f"Nachricht {n}") for n in range(len(times))]
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    sealed = seal_export(chat, keys, MemoryTree(), times, timezone)
    rows = [row for c in sealed.chunks for row in c.messages.values]
    logged = [time for c in sealed.chunks for time, _ in c.times]
    binder = MomentBinder(sqlite.dialect())
    assert [row[5] for row in rows] == [binder(at.replace(tzinfo=zone)) for at in times]
    assert logged == [entry_time(at.replace(tzinfo=zone)) for at in times]
    assert sealed.tally.last_at == times[-1].replace(tzinfo=zone)


def test_the_latest_message_time_spans_chunks_whatever_their_order() -> None:
    # Chunks of four: the second holds only a time before all of the first's.
    times = [datetime(2024, 3, 1, 10, n) for n in range(4)] + [datetime(2024, 3, 1, 9, 0)]
    chat = [("Max", f"Nachricht {n}") for n in range(len(times))]
    sealed = seal_export(chat, KeyStore(MemoryKeyRepository(), MASTER), MemoryTree(), times)
    assert len(sealed.chunks) == 2
    assert sealed.tally.last_at == datetime(2024, 3, 1, 10, 3, tzinfo=BERLIN)


def test_every_message_gets_a_data_key_of_its_own() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    sealed = seal_export(
        [("Max", "Hallo"), ("Max", "Hallo"), (BUSINESS, "Guten Tag")], keys, MemoryTree()
    )
    data_keys = [key for c in sealed.chunks for _, keys in c.data_keys for key in keys]
    assert len({key_id for key_id, _ in data_keys}) == len(data_keys) == 3
    assert all(keys.bucket_of(key_id).bucket.start_year == 2024 for key_id, _ in data_keys)
