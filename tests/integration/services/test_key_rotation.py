"""Master key rotation over the real key tables (SQLite and PostgreSQL): batch after batch in
its own transaction, one log entry in the last one, and a fresh start with the new key files
opens everything."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from chatproof.archive.master_keys import load_master_keys
from chatproof.archive.retention import Bucket
from chatproof.services.key_rotation import rotate_master_key
from chatproof.store import SqlAlchemyUnitOfWork, VersionedSealingPolicy
from tests.integration.conftest import PSEUDONYMS, SEALING

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_every_bucket_key_moves_in_batches_and_one_entry_records_it(
    engine: Engine, tmp_path: Path
) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "master.key").write_text(SEALING.master_key.hex())
    old = partial(SqlAlchemyUnitOfWork, engine, SEALING, PSEUDONYMS)
    sealed = {}
    with old() as uow:
        for i in range(5):
            subject = f"s{i}"
            bucket = Bucket(subject, "business_letter", 2026)
            sealed[subject] = uow.keystore.seal(subject, bucket, f"Brief {i}".encode())
        uow.commit()
    steps: list[tuple[int, int]] = []

    report = rotate_master_key(
        old,
        keys_dir,
        by="admin",
        now=NOW,
        tz=BERLIN,
        remove_old=True,
        batch_size=2,
        progress=lambda done, total: steps.append((done, total)),
    )

    assert (report.rewrapped, report.to_version, report.from_versions) == (5, 2, [1])
    assert steps == [(2, 5), (4, 5), (5, 5)]
    keys = load_master_keys(keys_dir)
    assert keys.older == {}
    fresh = partial(
        SqlAlchemyUnitOfWork,
        engine,
        VersionedSealingPolicy(master_key=keys.current, master_version=keys.version),
        PSEUDONYMS,
    )
    with fresh() as uow:
        assert {s: uow.keystore.unseal(s, c) for s, c in sealed.items()} == {
            f"s{i}": f"Brief {i}".encode() for i in range(5)
        }
        assert uow.keys.master_versions_in_use() == {2: 5}
        kinds = [json.loads(leaf)["kind"] for _, leaf in uow.log.iter_leaves()]
    assert kinds == ["keys.master_rotated"]
