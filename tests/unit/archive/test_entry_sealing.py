"""Sealing entries in one process and wrapping their data keys in another: the bytes open
through the key store like any others, each entry has a data key of its own, and keys wrapped
under a bucket shredded meanwhile are refused (invariant 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproof.archive import envelope
from chatproof.archive.entry_sealing import seal_entries
from chatproof.archive.errors import ContentErased, ContentIntegrityError, UnknownDataKeyError
from chatproof.archive.keystore import KeyStore, MemoryKeyRepository
from chatproof.archive.retention import Bucket

MASTER = bytes.fromhex("5f" * 32)
A_2025 = Bucket("subj-a", "business_letter", 2025)


@settings(max_examples=50)
@given(st.lists(st.lists(st.binary(max_size=300), max_size=4), max_size=12))
def test_what_is_sealed_elsewhere_opens_through_the_key_store(entries: list[list[bytes]]) -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    new_keys, sealed = seal_entries("subj-a", entries)
    assert len(new_keys) == len(sealed) == len(entries)
    batch = keys.batch()
    batch.wrap_data_keys(A_2025, new_keys)
    batch.flush()
    for plaintexts, out, (key_id, _) in zip(entries, sealed, new_keys, strict=True):
        assert [keys.unseal("subj-a", s) for s in out] == plaintexts
        assert all(envelope.data_key_id(s) == key_id for s in out)
        assert keys.bucket_of(key_id).bucket == A_2025


def test_every_entry_has_its_own_data_key_and_every_field_its_own_nonce() -> None:
    new_keys, sealed = seal_entries("subj-a", [[b"same", b"same"], [b"same"]])
    assert len({key_id for key_id, _ in new_keys}) == len({key for _, key in new_keys}) == 2
    assert len({envelope.SealedContent.from_bytes(s).nonce for out in sealed for s in out}) == 3


def test_sealed_bytes_are_bound_to_their_subject() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    new_keys, sealed = seal_entries("subj-a", [[b"x"]])
    batch = keys.batch()
    batch.wrap_data_keys(A_2025, new_keys)
    batch.flush()
    with pytest.raises(ContentIntegrityError):
        keys.unseal("subj-b", sealed[0][0])


def test_data_keys_exist_only_once_the_batch_is_flushed_and_are_stored_only_wrapped() -> None:
    repository = MemoryKeyRepository()
    keys = KeyStore(repository, MASTER)
    new_keys, sealed = seal_entries("subj-a", [[b"x"]])
    batch = keys.batch()
    batch.wrap_data_keys(A_2025, new_keys)
    with pytest.raises(UnknownDataKeyError):
        keys.unseal("subj-a", sealed[0][0])
    batch.flush()
    assert keys.unseal("subj-a", sealed[0][0]) == b"x"
    ((key_id, data_key),) = new_keys
    stored = repository.data_rows[key_id]
    assert data_key not in stored.wrapped_key
    assert len(stored.wrapped_key) == envelope.WRAPPED_KEY_BYTES


def test_keys_wrapped_under_a_bucket_shredded_meanwhile_are_refused_on_flush() -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    batch = keys.batch()
    new_keys, _ = seal_entries("subj-a", [[b"x"]])
    batch.wrap_data_keys(A_2025, new_keys)
    keys.shred(A_2025.bucket_id, reason="erasure", by="dpo", at=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ContentErased):
        batch.flush()
