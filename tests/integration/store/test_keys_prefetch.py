"""Looking up the keys of a whole page at once: the same values open as one by one, and a
shredding in the same transaction is not hidden by what was looked up before it."""

from __future__ import annotations

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
ANNA = Bucket("anna", "business_letter", 2026)
BEN = Bucket("ben", "business_letter", 2026)


def test_prefetched_keys_open_the_same_values_and_shredding_still_counts(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        keys = KeyStore(uow.keys, MASTER)
        sealed = [keys.seal("anna", ANNA, f"Nachricht {i}".encode()) for i in range(5)]
        sealed.append(keys.seal("ben", BEN, b"Andere"))
        uow.commit()
    with uow_factory() as uow:
        uow.keys.prefetch([data_key_id(s) for s in sealed])  # type: ignore[attr-defined]
        keys = KeyStore(uow.keys, MASTER)
        assert [keys.unseal("anna", s) for s in sealed[:5]] == [
            f"Nachricht {i}".encode() for i in range(5)
        ]
        assert keys.unseal("ben", sealed[5]) == b"Andere"
        keys.shred(ANNA.bucket_id, reason="Art. 17", by="test", at=NOW)
        with pytest.raises(ContentErased):
            keys.unseal("anna", sealed[0])
        assert keys.unseal("ben", sealed[5]) == b"Andere"


def test_unknown_key_ids_are_simply_not_found(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        uow.keys.prefetch([b"\x00" * 16])  # type: ignore[attr-defined]
        assert uow.keys.data_key(b"\x00" * 16) is None
