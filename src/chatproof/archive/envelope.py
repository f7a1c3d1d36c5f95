"""Envelope encryption formats: sealed content and wrapped keys (DESIGN invariant 4).

Each entry's personal content is encrypted with AES-256-GCM under its own random data key; the
data key is wrapped by a bucket key, and the bucket key by the master key. Destroying a bucket key
makes every entry under it unreadable while the log, which hashes only the sealed bytes, still
verifies. This module holds the byte formats and the cipher calls and nothing else: no storage,
no clock. Its one source of input is the operating system's CSPRNG, for keys and nonces, which
callers never supply.

Sealed content, version 1::

    0     1   format version (0x01)
    1    16   data key id
    17   12   GCM nonce
    29    n   ciphertext (as long as the plaintext; nothing is compressed)
    29+n 16   GCM tag

Its associated data binds the version, the data key id, the data subject and the caller's own
associated data, so ciphertext moved to another subject or key does not open.

Keys are wrapped with AES-256-GCM as well, not AES key wrap (RFC 3394/5649): key wrap cannot
carry associated data, and binding a wrapped key to its own row (key id, bucket, generation,
master key version) means a row copied over another in the key store fails instead of
unwrapping quietly. A wrapping key wraps at most one subject-year of data keys, or one key per
bucket, far below the 2**32 messages NIST SP 800-38D allows per key with random 96-bit nonces.
Wrapped key, version 1: ``0x01 ‖ nonce (12) ‖ ciphertext (32) ‖ tag (16)``, 61 bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chatproof.archive.errors import ContentIntegrityError, KeyIntegrityError

FORMAT_VERSION = 1
WRAP_VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
SEALED_OVERHEAD = HEADER_BYTES + TAG_BYTES
WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES
_VERSION_BYTE = FORMAT_VERSION.to_bytes(1, "big")


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_key_id() -> bytes:
    """48 bits of milliseconds, then 80 random bits: ids made later sort later, so the key
    store's index on them grows at its end instead of taking a random page write per entry
    (an id names a key, it protects nothing; the key itself is random)."""
    return (time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(KEY_ID_BYTES - 6)


def cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
    return AESGCM(key)


def associated_data(label: bytes, *parts: bytes) -> bytes:
    """``label ‖ 0x00 ‖ (len32 ‖ part)…``: every part length-prefixed, so no two different
    lists of parts encode to the same bytes."""
    framed = [label, b"\x00"]
    for part in parts:
        framed += (len(part).to_bytes(4, "big"), part)
    return b"".join(framed)


def content_aad(subject_id: str, key_id: bytes, aad: bytes = b"") -> bytes:
    version = FORMAT_VERSION.to_bytes(1, "big")
    return associated_data(b"chatproof/content", version, key_id, subject_id.encode(), aad)


def data_key_aad(key_id: bytes, bucket_id: str, generation: int) -> bytes:
    return associated_data(
        b"chatproof/data-key", key_id, bucket_id.encode(), generation.to_bytes(4, "big")
    )


def bucket_key_aad(bucket_id: str, generation: int, master_version: int) -> bytes:
    return associated_data(
        b"chatproof/bucket-key",
        bucket_id.encode(),
        generation.to_bytes(4, "big"),
        master_version.to_bytes(4, "big"),
    )


@dataclass(frozen=True)
class SealedContent:
    key_id: bytes
    nonce: bytes
    ciphertext: bytes
    """Ciphertext followed by the GCM tag."""

    @classmethod
    def from_bytes(cls, sealed: bytes) -> SealedContent:
        """Raises:
        ContentIntegrityError: too short or of an unknown format version.
        """
        if len(sealed) < SEALED_OVERHEAD:
            raise ContentIntegrityError(f"{len(sealed)} bytes is shorter than any sealed content")
        if sealed[0] != FORMAT_VERSION:
            raise ContentIntegrityError(f"unknown format version {sealed[0]}")
        key_id = bytes(sealed[1 : 1 + KEY_ID_BYTES])
        nonce = bytes(sealed[1 + KEY_ID_BYTES : HEADER_BYTES])
        return cls(key_id, nonce, bytes(sealed[HEADER_BYTES:]))


def data_key_id(sealed: bytes) -> bytes:
    """The id of the data key ``sealed`` was encrypted under (needed to reclassify it)."""
    return SealedContent.from_bytes(sealed).key_id


def seal_contents(
    data_key: AESGCM, key_id: bytes, subject_id: str, plaintexts: Sequence[bytes], aad: bytes = b""
) -> list[bytes]:
    """Seal the fields of one entry: they share data key and associated data, each gets its
    own nonce."""
    associated = content_aad(subject_id, key_id, aad)
    header = _VERSION_BYTE + key_id
    sealed = []
    for plaintext in plaintexts:
        nonce = os.urandom(NONCE_BYTES)
        sealed.append(header + nonce + data_key.encrypt(nonce, plaintext, associated))
    return sealed


def open_content(
    data_key: AESGCM, subject_id: str, content: SealedContent, aad: bytes = b""
) -> bytes:
    """Raises:
    ContentIntegrityError: the ciphertext, the header, the subject or ``aad`` differ from sealing.
    """
    try:
        return data_key.decrypt(
            content.nonce, content.ciphertext, content_aad(subject_id, content.key_id, aad)
        )
    except InvalidTag:
        raise ContentIntegrityError(
            "authentication failed: altered, or sealed for another subject or context",
            content.key_id.hex(),
        ) from None


def wrap_key(wrapping_key: AESGCM, key: bytes, aad: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise ValueError(f"only {KEY_BYTES}-byte keys are wrapped, not {len(key)}")
    nonce = os.urandom(NONCE_BYTES)
    return WRAP_VERSION.to_bytes(1, "big") + nonce + wrapping_key.encrypt(nonce, key, aad)


def unwrap_key(wrapping_key: AESGCM, wrapped: bytes, aad: bytes, *, name: str) -> bytes:
    """Raises:
    KeyIntegrityError: ``wrapped`` is malformed, altered, or wrapped under another key or row;
    ``name`` says which key in the message.
    """
    if len(wrapped) != WRAPPED_KEY_BYTES or wrapped[0] != WRAP_VERSION:
        raise KeyIntegrityError(name, "not a version-1 wrapped key")
    nonce = wrapped[1 : 1 + NONCE_BYTES]
    try:
        return wrapping_key.decrypt(nonce, wrapped[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise KeyIntegrityError(
            name, "authentication failed: wrong wrapping key, or the stored row was altered"
        ) from None
