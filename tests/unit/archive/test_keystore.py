"""The key hierarchy: sealing, shredding, reclassifying and master key rotation over the
in-memory repository (invariant 4)."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatproof.archive import envelope
from chatproof.archive.errors import (
    ContentErased,
    ContentIntegrityError,
    KeyIntegrityError,
    MasterKeyError,
    SubjectMismatchError,
    UnknownDataKeyError,
)
from chatproof.archive.keyfiles import derive_key
from chatproof.archive.keystore import (
    MASTER_WRAP_PURPOSE,
    BucketKeyRecord,
    BucketState,
    DataKeyRecord,
    KeyStore,
    MemoryKeyRepository,
)
from chatproof.archive.retention import Bucket

MASTER = bytes.fromhex("5f" * 32)
NEW_MASTER = bytes.fromhex("a7" * 32)
SHRED_AT = datetime(2032, 1, 2, 3, 0, tzinfo=UTC)
A_2025 = Bucket("subj-a", "business_letter", 2025)
A_2026 = Bucket("subj-a", "business_letter", 2026)
A_NO_DUTY = Bucket("subj-a", "no_duty", 2025)
B_2025 = Bucket("subj-b", "business_letter", 2025)


@pytest.fixture
def repo() -> MemoryKeyRepository:
    return MemoryKeyRepository()


@pytest.fixture
def keys(repo: MemoryKeyRepository) -> KeyStore:
    return KeyStore(repo, MASTER)


def shred(keys: KeyStore, bucket: Bucket) -> BucketKeyRecord | None:
    return keys.shred(bucket.bucket_id, reason="retention ended", by="expiry-job", at=SHRED_AT)


def test_round_trip_and_many(keys: KeyStore) -> None:
    sealed = keys.seal("subj-a", A_2025, b"Ich bestelle 3 Kisten", aad=b"text")
    assert keys.unseal("subj-a", sealed, aad=b"text") == b"Ich bestelle 3 Kisten"
    fields = keys.seal_many("subj-a", A_2025, [b"text", b"Name", b"+49 151 0000"])
    assert [keys.unseal("subj-a", s) for s in fields] == [b"text", b"Name", b"+49 151 0000"]
    assert len({envelope.data_key_id(s) for s in fields}) == 1
    assert envelope.data_key_id(sealed) != envelope.data_key_id(fields[0])
    assert keys.seal_many("subj-a", A_2025, []) == []


def test_prefetch_hands_the_repository_the_key_ids_of_well_formed_values() -> None:
    asked: list[list[bytes]] = []

    class Recording(MemoryKeyRepository):
        def prefetch(self, key_ids: Sequence[bytes]) -> None:
            asked.append(list(key_ids))

    keys = KeyStore(Recording(), MASTER)
    first, second = keys.seal("subj-a", A_2025, b"eins"), keys.seal("subj-a", A_2026, b"zwei")
    keys.prefetch([first, None, b"", b"\x07 not sealed", second])
    assert asked == [[envelope.data_key_id(first), envelope.data_key_id(second)]]
    assert keys.unseal("subj-a", second) == b"zwei"


@settings(max_examples=50)
@given(st.binary(max_size=500), st.sampled_from(["subj-a", "subj-b"]), st.integers(2000, 2100))
def test_round_trip_any_content(plaintext: bytes, subject: str, year: int) -> None:
    keys = KeyStore(MemoryKeyRepository(), MASTER)
    bucket = Bucket(subject, "no_duty", year)
    assert keys.unseal(subject, keys.seal(subject, bucket, plaintext)) == plaintext


def test_every_flipped_byte_is_refused(keys: KeyStore) -> None:
    sealed = keys.seal("subj-a", A_2025, b"Rechnung 2025-17")
    for index in range(len(sealed)):
        altered = bytearray(sealed)
        altered[index] ^= 0x80
        with pytest.raises(ContentIntegrityError):
            keys.unseal("subj-a", bytes(altered))


def test_unknown_data_key_is_an_integrity_error(keys: KeyStore) -> None:
    sealed = keys.seal("subj-a", A_2025, b"x")
    forged = sealed[:1] + os.urandom(16) + sealed[17:]
    with pytest.raises(UnknownDataKeyError, match="no such data key"):
        keys.unseal("subj-a", forged)


def test_another_subject_cannot_unseal(keys: KeyStore) -> None:
    sealed = keys.seal("subj-a", A_2025, b"private")
    with pytest.raises(ContentIntegrityError, match="another subject"):
        keys.unseal("subj-b", sealed)
    with pytest.raises(SubjectMismatchError):
        keys.seal("subj-b", A_2025, b"wrong bucket")


def test_shred_erases_one_bucket_only(keys: KeyStore) -> None:
    erased = [*keys.seal_many("subj-a", A_2025, [b"one", b"two"])]
    erased.append(keys.seal("subj-a", A_2025, b"three"))
    kept = keys.seal("subj-a", A_2026, b"next year")
    other = keys.seal("subj-b", B_2025, b"other subject")
    record = shred(keys, A_2025)
    assert record is not None
    assert record.state is BucketState.SHREDDED
    assert (record.wrapped_key, record.shred_reason, record.shredded_by) == (
        None,
        "retention ended",
        "expiry-job",
    )
    for sealed in erased:
        with pytest.raises(ContentErased, match="erased on 2032-01-02") as caught:
            keys.unseal("subj-a", sealed)
        assert caught.value.shredded_at == SHRED_AT
    assert keys.unseal("subj-a", kept) == b"next year"
    assert keys.unseal("subj-b", other) == b"other subject"


def test_shredding_again_keeps_the_first_record(keys: KeyStore) -> None:
    keys.seal("subj-a", A_2025, b"x")
    first = shred(keys, A_2025)
    again = keys.shred(A_2025.bucket_id, reason="other", by="dsb", at=datetime.now(UTC))
    assert again == first
    assert keys.shred(B_2025.bucket_id, reason="r", by="dsb", at=SHRED_AT) is None


def test_content_sealed_after_shredding_goes_to_a_new_generation(
    keys: KeyStore, repo: MemoryKeyRepository
) -> None:
    old = keys.seal("subj-a", A_NO_DUTY, b"before erasure")
    shred(keys, A_NO_DUTY)
    new = keys.seal("subj-a", A_NO_DUTY, b"wrote again")
    assert keys.unseal("subj-a", new) == b"wrote again"
    with pytest.raises(ContentErased):
        keys.unseal("subj-a", old)
    assert keys.bucket_of(envelope.data_key_id(new)).generation == 1
    assert [r.state for r in repo.bucket_keys_of_subject("subj-a")] == [
        BucketState.SHREDDED,
        BucketState.ACTIVE,
    ]


def test_cache_never_serves_a_key_shredded_elsewhere(repo: MemoryKeyRepository) -> None:
    web, job = KeyStore(repo, MASTER), KeyStore(repo, MASTER)
    sealed = web.seal("subj-a", A_2025, b"cached")
    assert web.unseal("subj-a", sealed) == b"cached"
    shred(job, A_2025)
    with pytest.raises(ContentErased):
        web.unseal("subj-a", sealed)
    fresh = web.seal("subj-a", A_2025, b"after")
    assert web.bucket_of(envelope.data_key_id(fresh)).generation == 1


def test_store_refuses_a_data_key_under_a_shredded_bucket(
    keys: KeyStore, repo: MemoryKeyRepository
) -> None:
    keys.seal("subj-a", A_2025, b"x")
    shred(keys, A_2025)
    row = repo.data_rows[next(iter(repo.data_rows))]
    with pytest.raises(ContentErased):
        repo.add_data_keys([row._replace(key_id=os.urandom(16))])


def test_reclassify_moves_one_entry(keys: KeyStore) -> None:
    moved = keys.seal("subj-a", A_NO_DUTY, b"order confirmation")
    stays = keys.seal("subj-a", A_NO_DUTY, b"small talk")
    key_id = envelope.data_key_id(moved)
    record = keys.reclassify(key_id, A_2025)
    assert record.bucket_id == A_2025.bucket_id
    assert keys.bucket_of(key_id).bucket_id == A_2025.bucket_id
    shred(keys, A_NO_DUTY)
    assert keys.unseal("subj-a", moved) == b"order confirmation"
    with pytest.raises(ContentErased):
        keys.unseal("subj-a", stays)
    shred(keys, A_2025)
    with pytest.raises(ContentErased):
        keys.unseal("subj-a", moved)


def test_reclassify_refusals(keys: KeyStore) -> None:
    sealed = keys.seal("subj-a", A_NO_DUTY, b"x")
    key_id = envelope.data_key_id(sealed)
    assert keys.reclassify(key_id, A_NO_DUTY).bucket_id == A_NO_DUTY.bucket_id
    with pytest.raises(SubjectMismatchError):
        keys.reclassify(key_id, B_2025)
    with pytest.raises(UnknownDataKeyError):
        keys.reclassify(os.urandom(16), A_2025)
    shred(keys, A_NO_DUTY)
    with pytest.raises(ContentErased):
        keys.reclassify(key_id, A_2025)


def test_keys_are_stored_only_wrapped(keys: KeyStore, repo: MemoryKeyRepository) -> None:
    sealed = [keys.seal("subj-a", b, b"content") for b in (A_2025, A_2026, A_NO_DUTY)]
    master_wrap = envelope.cipher(derive_key(MASTER, MASTER_WRAP_PURPOSE))
    stored = [r.wrapped_key for r in repo.bucket_rows.values()]
    stored += [r.wrapped_key for r in repo.data_rows.values()]
    for row in repo.bucket_rows.values():
        assert row.wrapped_key is not None
        aad = envelope.bucket_key_aad(row.bucket_id, row.generation, row.master_version)
        bucket_key = envelope.unwrap_key(master_wrap, row.wrapped_key, aad, name="b")
        assert not any(w is not None and bucket_key in w for w in stored)
        for data in repo.data_rows.values():
            if data.bucket_id != row.bucket_id:
                continue
            data_aad = envelope.data_key_aad(data.key_id, data.bucket_id, data.generation)
            wrapping = envelope.cipher(bucket_key)
            data_key = envelope.unwrap_key(wrapping, data.wrapped_key, data_aad, name="d")
            assert data_key != data.wrapped_key
            assert not any(w is not None and data_key in w for w in stored)
            opened = [
                envelope.open_content(
                    envelope.cipher(data_key), "subj-a", envelope.SealedContent.from_bytes(s)
                )
                for s in sealed
                if envelope.data_key_id(s) == data.key_id
            ]
            assert opened == [b"content"]
    assert not any(w is not None and MASTER in w for w in stored)


def test_a_row_copied_over_another_does_not_unwrap(
    keys: KeyStore, repo: MemoryKeyRepository
) -> None:
    first = keys.seal("subj-a", A_2025, b"first")
    second = keys.seal("subj-a", A_2025, b"second")
    one, two = (repo.data_rows[envelope.data_key_id(s)] for s in (first, second))
    repo.data_rows[one.key_id] = one._replace(wrapped_key=two.wrapped_key)
    with pytest.raises(KeyIntegrityError, match="does not unwrap"):
        keys.unseal("subj-a", first)


def test_rotate_master_rewraps_every_bucket_key(repo: MemoryKeyRepository) -> None:
    keys = KeyStore(repo, MASTER)
    sealed = {b: keys.seal(b.subject_id, b, b"content") for b in (A_2025, A_2026, B_2025)}
    shred(keys, A_2026)
    data_before = dict(repo.data_rows)
    result = keys.rotate_master(NEW_MASTER, 2)
    assert (result.rewrapped, result.skipped) == (2, 0)
    assert keys.master_versions_in_use() == {2: 2}
    assert repo.data_rows == data_before
    only_new = KeyStore(repo, NEW_MASTER, master_version=2)
    assert only_new.unseal("subj-a", sealed[A_2025]) == b"content"
    assert only_new.unseal("subj-b", sealed[B_2025]) == b"content"
    with pytest.raises(MasterKeyError, match="version 2, which is not loaded"):
        KeyStore(repo, MASTER).unseal("subj-a", sealed[A_2025])


class FailingRepository(MemoryKeyRepository):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    def rewrap_bucket_key(
        self, rewrapped: BucketKeyRecord, *, expected_master_version: int
    ) -> bool:
        if self.fail_after == 0:
            raise OSError("disk full")
        self.fail_after -= 1
        return super().rewrap_bucket_key(rewrapped, expected_master_version=expected_master_version)


def test_rotate_master_resumes_after_an_interruption() -> None:
    repo = FailingRepository(fail_after=3)
    keys = KeyStore(repo, MASTER)
    sealed = [
        (f"s{i}", keys.seal(f"s{i}", Bucket(f"s{i}", "no_duty", 2025), b"m")) for i in range(7)
    ]
    with pytest.raises(OSError, match="disk full"):
        keys.rotate_master(NEW_MASTER, 2, batch_size=2)
    assert repo.master_versions_in_use() == {1: 4, 2: 3}
    assert all(keys.unseal(s, c) == b"m" for s, c in sealed)
    repo.fail_after = -1
    restarted = KeyStore(repo, NEW_MASTER, master_version=2, older_master_keys={1: MASTER})
    result = restarted.rotate_master(NEW_MASTER, 2, batch_size=2)
    assert (result.rewrapped, result.skipped) == (4, 0)
    assert repo.master_versions_in_use() == {2: 7}
    only_new = KeyStore(repo, NEW_MASTER, master_version=2)
    assert all(only_new.unseal(s, c) == b"m" for s, c in sealed)


def test_rotate_master_refusals(keys: KeyStore) -> None:
    keys.seal("subj-a", A_2025, b"x")
    with pytest.raises(MasterKeyError, match="already another key"):
        keys.rotate_master(NEW_MASTER, 1)
    keys.rotate_master(NEW_MASTER, 3)
    with pytest.raises(MasterKeyError, match="< current 3"):
        keys.rotate_master(MASTER, 2)
    with pytest.raises(MasterKeyError, match="32 bytes"):
        KeyStore(MemoryKeyRepository(), bytes(16))


def test_new_bucket_keys_after_rotation_use_the_new_master(keys: KeyStore) -> None:
    keys.rotate_master(NEW_MASTER, 2)
    sealed = keys.seal("subj-b", B_2025, b"late")
    assert keys.master_versions_in_use() == {2: 1}
    assert KeyStore(MemoryKeyRepository(), NEW_MASTER).master_version == 1
    assert keys.unseal("subj-b", sealed) == b"late"


def test_a_batch_seals_with_one_lookup_and_writes_its_keys_on_flush(keys: KeyStore) -> None:
    batch = keys.batch()
    batch.prepare([Bucket("subj-b", "no_duty", 2025)])
    sealed = batch.seal_many("subj-b", Bucket("subj-b", "no_duty", 2025), [b"one", b"two"])
    with pytest.raises(UnknownDataKeyError):
        keys.unseal("subj-b", sealed[0])
    batch.flush()
    assert [keys.unseal("subj-b", s) for s in sealed] == [b"one", b"two"]
    assert keys.bucket_of(envelope.data_key_id(sealed[0])).bucket == Bucket(
        "subj-b", "no_duty", 2025
    )
    assert "5f5f" not in repr(keys)


def test_active_bucket_keys_for_expiry(keys: KeyStore, repo: MemoryKeyRepository) -> None:
    for bucket in (A_2025, A_2026, B_2025, A_NO_DUTY):
        keys.seal(bucket.subject_id, bucket, b"x")
    shred(keys, B_2025)
    due = repo.active_bucket_keys("business_letter", 2025, limit=10)
    assert [r.bucket_id for r in due] == [A_2025.bucket_id]


class ShreddingRaceRepository(MemoryKeyRepository):
    """Another process shreds the bucket between reading its key and storing a data key."""

    def __init__(self) -> None:
        super().__init__()
        self.race_pending = True

    def add_data_keys(self, records: Sequence[DataKeyRecord]) -> None:
        if self.race_pending and self.bucket_rows:
            self.race_pending = False
            row = records[0]
            self.shred_bucket_key(row.bucket_id, row.generation, at=SHRED_AT, reason="r", by="x")
        super().add_data_keys(records)


def test_seal_survives_a_concurrent_shred() -> None:
    repo = ShreddingRaceRepository()
    keys = KeyStore(repo, MASTER)
    sealed = keys.seal("subj-a", A_2025, b"arrived during erasure")
    assert keys.unseal("subj-a", sealed) == b"arrived during erasure"
    assert keys.bucket_of(envelope.data_key_id(sealed)).generation == 1


def test_a_key_from_a_rolled_back_transaction_is_never_used(repo: MemoryKeyRepository) -> None:
    web, worker = KeyStore(repo, MASTER), KeyStore(repo, MASTER)
    before = copy.deepcopy(vars(repo))
    web.seal("subj-a", A_2025, b"rolled back")
    vars(repo).clear()
    vars(repo).update(before)
    by_worker = worker.seal("subj-a", A_2025, b"committed by the worker")
    by_web = web.seal("subj-a", A_2025, b"committed by the web process")
    assert worker.unseal("subj-a", by_web) == b"committed by the web process"
    assert web.unseal("subj-a", by_worker) == b"committed by the worker"
