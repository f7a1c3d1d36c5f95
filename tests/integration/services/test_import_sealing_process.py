"""A large export is sealed in a process of its own: what it seals is stored as if sealed in
the importing process, and when it fails or dies the import stores nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from chatproof.archive.blobs import BlobStore
from chatproof.archive.merkle import root_from_leaf_hashes, root_hash
from chatproof.services.importing import ExportFile, ImportFileError, import_export
from chatproof.services.importing.run import ImportRun
from chatproof.services.importing.sealing import ChunkSealer
from chatproof.store import tables as t
from chatproof.store.imports import ImportUnitOfWork, SqlAlchemyImportUnitOfWork
from tests.integration.conftest import PSEUDONYMS, SEALING
from tests.integration.services.test_importing import (
    BERLIN,
    NOW,
    WEBER,
    count,
    sample,
    write_export,
)


@pytest.fixture
def importer(engine: Engine) -> Callable[[], ImportUnitOfWork]:
    return partial(SqlAlchemyImportUnitOfWork, engine, SEALING, PSEUDONYMS)


def import_in_process(importer: Callable[[], ImportUnitOfWork], tmp_path: Path, name: str) -> int:
    lines = [
        f"12.03.24, {9 + n // 60}:{n % 60:02d} - Max Mustermann: Frage {n}\n" for n in range(30)
    ]
    path = write_export(tmp_path, sample("android-de-24h.txt") + "".join(lines), name=name)
    export = ExportFile(path)
    try:
        summary = import_export(
            importer,
            BlobStore(tmp_path / "media"),
            export,
            WEBER,
            tz=BERLIN,
            actor="cli:maria",
            now=NOW,
            sealing_process=True,
        )
    finally:
        export.close()
    return summary.added


def nothing_stored(engine: Engine) -> bool:
    tables = (t.contacts, t.messages, t.imports, t.log_entries, t.data_keys)
    return all(count(engine, table) == 0 for table in tables)


def test_the_stored_subtrees_give_the_root_of_the_stored_leaves(
    importer: Callable[[], ImportUnitOfWork], engine: Engine, tmp_path: Path
) -> None:
    added = import_in_process(importer, tmp_path, "WhatsApp Chat mit +49 151 23456789")
    added += import_in_process(importer, tmp_path, "WhatsApp Chat mit +49 170 1112223")
    assert added > 20
    with importer() as uow:
        size = uow.log.size()
        assert size == added + 2
        with engine.connect() as conn:
            hashes = conn.execute(
                select(t.log_entries.c.leaf_hash).order_by(t.log_entries.c.idx)
            ).scalars()
            leaves, expected = root_from_leaf_hashes([bytes(h) for h in hashes])
        assert leaves == size
        assert root_hash(size, uow.log.node) == expected


def test_a_sealing_process_that_dies_imports_nothing(
    importer: Callable[[], ImportUnitOfWork],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ChunkSealer, "seal", lambda self, plan: os._exit(9))
    with pytest.raises(ImportFileError, match="sealing process stopped unexpectedly"):
        import_in_process(importer, tmp_path, "WhatsApp Chat mit +49 151 23456789")
    assert nothing_stored(engine)


@pytest.mark.parametrize(
    ("owner", "method", "problem", "reported"),
    [
        # In the sealing process: reported through the pipe.
        (ChunkSealer, "seal", ValueError("the disk said no"), "ValueError: the disk said no"),
        # In the importing process: the sealing process is stopped.
        (ImportRun, "write", ImportFileError("chat.txt", "imported meanwhile"), "meanwhile"),
    ],
)
def test_a_failure_on_either_side_is_reported_and_imports_nothing(
    importer: Callable[[], ImportUnitOfWork],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    method: str,
    problem: Exception,
    reported: str,
) -> None:
    def fails(self: object, argument: object) -> None:
        raise problem

    monkeypatch.setattr(owner, method, fails)
    with pytest.raises(ImportFileError, match=reported):
        import_in_process(importer, tmp_path, "WhatsApp Chat mit +49 151 23456789")
    assert nothing_stored(engine)
