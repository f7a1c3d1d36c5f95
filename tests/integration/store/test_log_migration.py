"""Migration 0006 moves an existing log to the layout without secondary indexes, on both
backends: every leaf keeps its recorded hash, proofs still answer, messages learn their entry,
and a log that lacks a recorded hash is refused rather than healed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from chatproof.archive import merkle
from chatproof.archive.log import EntryDraft, encode_leaf
from chatproof.store import make_engine, migrate
from chatproof.store.log import SqlAlchemyLogRepository
from tests.support.databases import BACKENDS, scratch_database

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SIZE = 11


@pytest.fixture(params=BACKENDS)
def engine_at_0005(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with scratch_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine, "0005")
        yield engine
        engine.dispose()


def write_old_log(engine: Engine) -> list[bytes]:
    """A log as 0005 stored it: leaf hashes as level-0 nodes, one message with its entry."""
    leaves = []
    for i in range(SIZE):
        kind = "message.inbound" if i == 4 else "status.read"
        draft = EntryDraft(kind, NOW, "business_letter", 2026, platform_id_hash=f"{i % 5:064x}")
        leaves.append(encode_leaf(i, draft))
    stored: dict[tuple[int, int], bytes] = {}
    nodes = merkle.batch_append(0, [merkle.leaf_hash(leaf) for leaf in leaves], stored.__getitem__)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO log_entries (idx, leaf, kind, platform_id_hash, appended_at)"
                " VALUES (:idx, :leaf, :kind, :hash, :at)"
            ),
            [
                {
                    "idx": i,
                    "leaf": leaf,
                    "kind": "message.inbound" if i == 4 else "status.read",
                    "hash": f"{i % 5:064x}",
                    "at": NOW.replace(tzinfo=None),
                }
                for i, leaf in enumerate(leaves)
            ],
        )
        conn.execute(
            text("INSERT INTO merkle_nodes (level, idx, hash) VALUES (:level, :idx, :hash)"),
            [{"level": level, "idx": idx, "hash": value} for level, idx, value in nodes],
        )
        conn.execute(text("INSERT INTO log_state (id, size) VALUES (1, :size)"), {"size": SIZE})
        conn.execute(
            text(
                "INSERT INTO contacts (id, subject_id, wa_id_hash, wa_id, first_seen_at,"
                " updated_at) VALUES (1, 's', 'w', :blob, :at, :at)"
            ),
            {"blob": b"x", "at": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO conversations (id, contact_id, business_number_id, created_at,"
                " last_message_at) VALUES (1, 1, 'n', :at, :at)"
            ),
            {"at": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, platform_id_hash, platform_id, direction,"
                " type, sent_at, received_at, raw) VALUES (1, :hash, :blob, 'inbound', 'text',"
                " :at, :at, :blob)"
            ),
            {"hash": f"{4:064x}", "blob": b"x", "at": NOW.replace(tzinfo=None)},
        )
    return leaves


def test_the_log_keeps_its_hashes_and_proofs(engine_at_0005: Engine) -> None:
    leaves = write_old_log(engine_at_0005)
    reference = merkle.MemoryTree(leaves)
    migrate(engine_at_0005)
    with engine_at_0005.begin() as conn:
        log = SqlAlchemyLogRepository(conn)
        assert [log.node(0, i) for i in range(SIZE)] == [merkle.leaf_hash(x) for x in leaves]
        assert merkle.root_hash(SIZE, log.node) == reference.root_hash()
        assert merkle.inclusion_proof(6, SIZE, log.node) == reference.inclusion_proof(6)
        assert conn.execute(text("SELECT count(*) FROM merkle_nodes WHERE level = 0")).scalar() == 0
        assert log.first_by_platform_id(f"{4:064x}") == 4
        assert conn.execute(text("SELECT log_index FROM messages")).scalar() == 4


def test_a_log_without_recorded_leaf_hashes_is_refused(engine_at_0005: Engine) -> None:
    write_old_log(engine_at_0005)
    with engine_at_0005.begin() as conn:
        conn.execute(text("DELETE FROM merkle_nodes WHERE level = 0 AND idx = 3"))
    with pytest.raises(RuntimeError, match="1 log entries have no recorded leaf hash"):
        migrate(engine_at_0005)
