"""Sealing entries in one process and wrapping their data keys in another (DESIGN invariant
4): an import's sealing process holds no bucket key and no database; it makes each entry's data
key and seals the entry's fields under it (``seal_entries``), and the importing process wraps
those keys under the bucket key of the entry's subject and year (``SealBatch.wrap_data_keys``)
and writes them with the transaction. A data key crosses only the private pipe between the two.

The bytes are exactly ``KeyStore.seal_many``'s (a test opens them through the key store); what
differs is speed: the associated data is framed once per batch instead of once per entry, and
the randomness of a whole batch (keys, key ids, nonces) is drawn in one call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive import envelope
from chatproof.archive.key_records import DataKeyRow

NewDataKey = tuple[bytes, bytes]
"""A data key's id and the key itself, not yet wrapped."""

_KEY = envelope.KEY_BYTES
_NONCE = envelope.NONCE_BYTES
_RANDOM_ID = envelope.KEY_ID_BYTES - 6
_VERSION = b"\x01"


def seal_entries(
    subject_id: str, entries: Sequence[Sequence[bytes]]
) -> tuple[list[NewDataKey], list[list[bytes]]]:
    """Each entry's fields sealed (in the order given) under a new data key of its own."""
    marker = _marker()
    content_head, content_tail = _split(envelope.content_aad(subject_id, marker), marker)
    per_entry = _KEY + _RANDOM_ID
    fields = sum(len(e) for e in entries)
    random = os.urandom(per_entry * len(entries) + _NONCE * fields)
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    keys: list[NewDataKey] = []
    sealed: list[list[bytes]] = []
    at = 0
    for plaintexts in entries:
        data_key = random[at : at + _KEY]
        key_id = stamp + random[at + _KEY : at + per_entry]
        at += per_entry
        keys.append((key_id, data_key))
        encrypt = AESGCM(data_key).encrypt
        associated = content_head + key_id + content_tail
        header = _VERSION + key_id
        out = []
        for plaintext in plaintexts:
            nonce = random[at : at + _NONCE]
            at += _NONCE
            out.append(header + nonce + encrypt(nonce, plaintext, associated))
        sealed.append(out)
    return keys, sealed


def wrap_data_keys(
    bucket_cipher: AESGCM, bucket_id: str, generation: int, keys: Sequence[NewDataKey]
) -> list[DataKeyRow]:
    """The data key rows: each key wrapped under the bucket key, bound to its own row."""
    marker = _marker()
    head, tail = _split(envelope.data_key_aad(marker, bucket_id, generation), marker)
    random = os.urandom(_NONCE * len(keys))
    wrap = bucket_cipher.encrypt
    rows: list[DataKeyRow] = []
    at = 0
    for key_id, data_key in keys:
        nonce = random[at : at + _NONCE]
        at += _NONCE
        wrapped = _VERSION + nonce + wrap(nonce, data_key, head + key_id + tail)
        rows.append((key_id, bucket_id, generation, wrapped))
    return rows


def _marker() -> bytes:
    return os.urandom(envelope.KEY_ID_BYTES)


def _split(associated: bytes, marker: bytes) -> tuple[bytes, bytes]:
    """Associated data made with ``marker`` as key id, split around it: the key id is the only
    part that changes from entry to entry."""
    head, tail = associated.split(marker)
    return head, tail
