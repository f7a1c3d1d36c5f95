"""The key hierarchy on SQLite and PostgreSQL: sealing, shredding, reclassifying, rotating."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from chatproof.archive.envelope import data_key_id
from chatproof.archive.errors import ContentErased
from chatproof.archive.keystore import KeyStore
from chatproof.archive.retention import Bucket
from chatproof.store import UnitOfWork

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MASTER = bytes(range(32))
ANNA_2026 = Bucket("anna", "business_letter", 2026)
ANNA_VOUCHER = Bucket("anna", "booking_voucher", 2026)


def test_seal_commit_and_unseal_in_a_later_transaction(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        sealed = KeyStore(uow.keys, MASTER).seal("anna", ANNA_2026, b"Hallo Welt")
        uow.commit()
    assert b"Hallo" not in sealed
    with uow_factory() as uow:
        assert KeyStore(uow.keys, MASTER).unseal("anna", sealed) == b"Hallo Welt"


def test_shredding_erases_one_bucket_and_keeps_the_others(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, MASTER)
        letter = keys.seal("anna", ANNA_2026, b"Brief")
        voucher = keys.seal("anna", ANNA_VOUCHER, b"Rechnung")
        uow.commit()
    with uow_factory() as uow:
        KeyStore(uow.keys, MASTER).shred(ANNA_2026.bucket_id, reason="Art. 17", by="dpo", at=NOW)
        uow.commit()
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, MASTER)
        with pytest.raises(ContentErased, match="2026-11-22"):
            keys.unseal("anna", letter)
        assert keys.unseal("anna", voucher) == b"Rechnung"
        (row,) = [r for r in uow.keys.bucket_keys_of_subject("anna") if r.shredded_at]
    assert row.wrapped_key is None and row.shred_reason == "Art. 17"


def test_reclassify_moves_an_item_out_of_a_bucket_before_it_is_shredded(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, MASTER)
        invoice = keys.seal("anna", ANNA_2026, b"Rechnung 17")
        uow.commit()
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, MASTER)
        keys.reclassify(data_key_id(invoice), ANNA_VOUCHER)
        keys.shred(ANNA_2026.bucket_id, reason="expired", by="retention", at=NOW)
        uow.commit()
    with uow_factory() as uow:
        assert KeyStore(uow.keys, MASTER).unseal("anna", invoice) == b"Rechnung 17"


def test_master_rotation_rewraps_every_bucket(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        sealed = [
            KeyStore(uow.keys, MASTER).seal(s, Bucket(s, "business_letter", 2026), b"x")
            for s in ("a", "b", "c")
        ]
        uow.commit()
    new_master = os.urandom(32)
    with uow_factory() as uow:
        result = KeyStore(uow.keys, MASTER).rotate_master(new_master, 2)
        uow.commit()
    assert result.rewrapped == 3
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, new_master, master_version=2)
        assert [keys.unseal(s, c) for s, c in zip("abc", sealed, strict=True)] == [b"x"] * 3
        assert uow.keys.master_versions_in_use() == {2: 3}
