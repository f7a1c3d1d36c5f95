"""Sealing under a lent bucket key: the bytes open through the key store like any others,
and the data keys come back to it to be checked and written (invariant 4)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproof.archive import envelope
from chatproof.archive.errors import ContentErased, ContentIntegrityError, UnknownDataKeyError
from chatproof.archive.keystore import DataKeyRecord, KeyStore, MemoryKeyRepository
from chatproof.archive.lent_keys import EntrySealer
from chatproof.archive.retention import Bucket

MASTER = bytes.fromhex("5f" * 32)
A_2025 = Bucket("subj-a", "business_letter", 2025)


def lend(keys: KeyStore, bucket: Bucket = A_2025) -> EntrySealer:
    lent = keys.batch().lend([bucket])[bucket.bucket_id]
    return EntrySealer(bucket.subject_id, lent)


@settings(max_examples=50)
@given(st.lists(st.lists(st.binary(max_size=300), max_size=4), max_size=12))
def test_what_a_lent_key_seals_opens_through_the_key_store(entries: list[list[bytes]]) -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    batch = keys.batch()
    sealer = EntrySealer("subj-a", batch.lend([A_2025])[A_2025.bucket_id])
    records, sealed = sealer.seal(entries)
    assert len(records) == len(sealed) == len(entries)
    batch.add_data_keys(records)
    batch.flush()
    for plaintexts, out, record in zip(
        entries, sealed, map(DataKeyRecord._make, records), strict=True
    ):
        assert [keys.unseal("subj-a", s) for s in out] == plaintexts
        assert all(envelope.data_key_id(s) == record.key_id for s in out)
        assert keys.bucket_of(record.key_id).bucket == A_2025


def test_every_entry_has_its_own_data_key_and_every_field_its_own_nonce() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    rows, sealed = lend(keys).seal([[b"same", b"same"], [b"same"]])
    records = [DataKeyRecord._make(row) for row in rows]
    assert len({r.key_id for r in records}) == 2
    assert len({envelope.SealedContent.from_bytes(s).nonce for out in sealed for s in out}) == 3
    assert len({r.wrapped_key[1:13] for r in records}) == 2


def test_sealed_bytes_are_bound_to_their_subject() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    batch = keys.batch()
    records, sealed = EntrySealer("subj-a", batch.lend([A_2025])[A_2025.bucket_id]).seal([[b"x"]])
    batch.add_data_keys(records)
    batch.flush()
    with pytest.raises(ContentIntegrityError):
        keys.unseal("subj-b", sealed[0][0])


def test_data_keys_exist_only_once_the_batch_is_flushed() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    batch = keys.batch()
    records, sealed = EntrySealer("subj-a", batch.lend([A_2025])[A_2025.bucket_id]).seal([[b"x"]])
    with pytest.raises(UnknownDataKeyError):
        keys.unseal("subj-a", sealed[0][0])
    batch.add_data_keys(records)
    batch.flush()
    assert keys.unseal("subj-a", sealed[0][0]) == b"x"


def test_keys_sealed_under_a_bucket_shredded_meanwhile_are_refused_on_flush() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    batch = keys.batch()
    records, _ = EntrySealer("subj-a", batch.lend([A_2025])[A_2025.bucket_id]).seal([[b"x"]])
    keys.shred(A_2025.bucket_id, reason="erasure", by="dpo", at=datetime(2026, 1, 1, tzinfo=UTC))
    batch.add_data_keys(records)
    with pytest.raises(ContentErased):
        batch.flush()


def test_a_lent_key_travels_to_another_process_but_never_shows_in_a_repr() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    lent = keys.batch().lend([A_2025])[A_2025.bucket_id]
    assert pickle.loads(pickle.dumps(lent)) == lent
    assert lent.key.hex() not in repr(lent)
