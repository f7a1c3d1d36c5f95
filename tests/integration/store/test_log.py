"""The archive log on SQLite and PostgreSQL: dense entries, stored nodes that answer proofs,
signed heads kept in order."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from chatproof.archive import merkle
from chatproof.archive.log import EntryDraft, append, encode_leaf
from chatproof.archive.tree_head import TreeHead, sign_tree_head
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from chatproof.store.errors import StoreError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def draft(i: int) -> EntryDraft:
    return EntryDraft(
        kind="message.inbound",
        at=NOW,
        retention_class="business_letter",
        start_year=2026,
        subject_id=f"subject-{i % 3}",
        platform_id_hash=f"{i:064x}",
        content=b"\x01sealed" + bytes([i % 256]),
        attributes={"type": "text"},
    )


def test_appends_are_dense_and_answer_proofs(uow_factory: Callable[[], UnitOfWork]) -> None:
    drafts = [draft(i) for i in range(37)]
    for chunk in (drafts[:5], drafts[5:6], drafts[6:]):
        with uow_factory() as uow:
            append(uow.log, chunk, NOW)
            uow.commit()
    reference = merkle.MemoryTree(encode_leaf(i, d) for i, d in enumerate(drafts))
    with uow_factory() as uow:
        assert uow.log.size() == 37
        assert merkle.root_hash(37, uow.log.node) == reference.root_hash()
        for index in (0, 17, 36):
            proof = merkle.inclusion_proof(index, 37, uow.log.node)
            assert proof == reference.inclusion_proof(index)
        assert merkle.consistency_proof(9, 37, uow.log.node) == reference.consistency_proof(9)
        assert [i for i, _ in uow.log.iter_leaves(batch=10)] == list(range(37))
        assert uow.log.first_by_platform_id(f"{17:064x}") == 17
        assert uow.log.first_by_platform_id(f"{99:064x}") is None


def test_only_upper_levels_are_stored_and_every_node_matches_the_reference(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    drafts = [draft(i) for i in range(70)]
    for chunk in (drafts[:3], drafts[3:40], drafts[40:41], drafts[41:]):
        with uow_factory() as uow:
            append(uow.log, chunk, NOW)
            uow.commit()
    reference = merkle.MemoryTree(encode_leaf(i, d) for i, d in enumerate(drafts))
    with engine.connect() as conn:
        levels = conn.execute(select(t.merkle_nodes.c.level)).scalars().all()
    assert sorted(levels) == [4, 4, 4, 4, 5, 5, 6]
    with uow_factory() as uow:
        for level in range(7):
            for index in range(70 >> level):
                assert uow.log.node(level, index) == reference.node(level, index)
        for index in range(70):
            proof = merkle.inclusion_proof(index, 70, uow.log.node)
            assert proof == reference.inclusion_proof(index)
        for old_size in (1, 7, 8, 33, 69):
            proof = merkle.consistency_proof(old_size, 70, uow.log.node)
            assert proof == reference.consistency_proof(old_size, 70)


def test_a_leaf_is_canonical_json_naming_index_kind_retention_and_subject(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        append(uow.log, [draft(0), draft(1)], NOW)
        uow.commit()
    with uow_factory() as uow:
        entry = uow.log.entry(1)
    assert entry is not None
    doc = json.loads(entry.leaf)
    assert doc["index"] == 1 and doc["kind"] == "message.inbound"
    assert doc["retention"] == {"class": "business_letter", "start_year": 2026}
    assert doc["time"] == "2026-11-22T12:00:00.000Z"
    assert entry.leaf == json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def test_a_rolled_back_append_leaves_no_trace(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    with uow_factory() as uow:
        append(uow.log, [draft(0)], NOW)
    with uow_factory() as uow:
        assert append(uow.log, [draft(1)], NOW) == [0]
        uow.commit()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.log_entries)).scalar() == 1


def test_signed_heads_are_kept_smallest_first(uow_factory: Callable[[], UnitOfWork]) -> None:
    key = Ed25519PrivateKey.generate()
    with uow_factory() as uow:
        append(uow.log, [draft(i) for i in range(4)], NOW)
        for size in (2, 4):
            root = merkle.root_hash(size, uow.log.node)
            uow.log.add_head(sign_tree_head(TreeHead(size, root, 1_000 * size), key))
        uow.commit()
    with uow_factory() as uow:
        assert [h.head.tree_size for h in uow.log.heads()] == [2, 4]
        latest = uow.log.latest_head()
    assert latest is not None and latest.head.timestamp_ms == 4_000


def test_a_missing_node_is_an_error_not_a_wrong_answer(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        append(uow.log, [draft(i) for i in range(6)], NOW)
        for level, index in ((0, 99), (1, 3), (2, 1), (4, 0)):
            with pytest.raises(StoreError, match=f"merkle node \\({level}, {index}\\)"):
                uow.log.node(level, index)
