"""Opening many sealed values with key rows read beforehand gives exactly what the key store's
own ``unseal`` gives, and fails the same way: erased, altered, another subject's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatproof.archive.bulk_open import BulkOpener
from chatproof.archive.errors import ContentErased, ContentIntegrityError, UnknownDataKeyError
from chatproof.archive.keystore import KeyStore, MemoryKeyRepository
from chatproof.archive.retention import Bucket

MASTER = bytes(range(32))
AT = datetime(2026, 3, 1, tzinfo=UTC)


def opener_for(repository: MemoryKeyRepository, keystore: KeyStore) -> BulkOpener:
    opener = BulkOpener(keystore)
    opener.add(repository.data_rows.values(), repository.bucket_rows.values())
    return opener


def test_it_opens_what_the_key_store_opens() -> None:
    repository = MemoryKeyRepository()
    keystore = KeyStore(repository, MASTER)
    values = {}
    for subject in ("anna", "ben"):
        bucket = Bucket(subject, "business_letter", 2026)
        for text in ("Hallo", "Grüße\nzweite Zeile", ""):
            sealed = keystore.seal(subject, bucket, text.encode())
            values[sealed] = (subject, text)
    opener = opener_for(repository, keystore)
    for sealed, (subject, text) in values.items():
        assert opener.open(subject, sealed) == keystore.unseal(subject, sealed) == text.encode()
        assert opener.bucket(sealed).retention_class == "business_letter"


def test_erased_altered_and_foreign_content_fail() -> None:
    repository = MemoryKeyRepository()
    keystore = KeyStore(repository, MASTER)
    bucket = Bucket("anna", "no_duty", 2026)
    sealed = keystore.seal("anna", bucket, b"secret")
    other = keystore.seal("ben", Bucket("ben", "no_duty", 2026), b"other")
    opener = opener_for(repository, keystore)
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ContentIntegrityError):
        opener.open("anna", altered)
    with pytest.raises(ContentIntegrityError):
        opener.open("anna", other)
    keystore.shred(bucket.bucket_id, reason="test", by="test", at=AT)
    with pytest.raises(ContentErased):
        opener_for(repository, keystore).open("anna", sealed)
    opener.forget_data_keys()
    with pytest.raises(UnknownDataKeyError):
        opener.open("ben", other)
