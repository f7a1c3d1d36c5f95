"""Sealed content and wrapped keys: round trips, tampering, and the byte format pinned by
building it independently from the documented layout (invariant 4)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from chatproof.archive import envelope
from chatproof.archive.errors import ContentIntegrityError, KeyIntegrityError

KEY = bytes(range(32))
KEY_ID = bytes.fromhex("00112233445566778899aabbccddeeff")


def seal(plaintext: bytes, subject: str = "subj-a", aad: bytes = b"") -> bytes:
    return envelope.seal_contents(envelope.cipher(KEY), KEY_ID, subject, [plaintext], aad)[0]


def open_(sealed: bytes, subject: str = "subj-a", aad: bytes = b"") -> bytes:
    content = envelope.SealedContent.from_bytes(sealed)
    return envelope.open_content(envelope.cipher(KEY), subject, content, aad)


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=40), st.binary(max_size=40))
def test_round_trip(plaintext: bytes, subject: str, aad: bytes) -> None:
    sealed = seal(plaintext, subject, aad)
    assert open_(sealed, subject, aad) == plaintext
    assert len(sealed) == len(plaintext) + envelope.SEALED_OVERHEAD
    assert envelope.data_key_id(sealed) == KEY_ID


def test_format_built_from_the_documented_layout_opens() -> None:
    nonce = bytes(12)
    aad = (
        b"chatproof/content\x00"
        + b"\x00\x00\x00\x01\x01"
        + b"\x00\x00\x00\x10"
        + KEY_ID
        + b"\x00\x00\x00\x06subj-a"
        + b"\x00\x00\x00\x04text"
    )
    sealed = b"\x01" + KEY_ID + nonce + AESGCM(KEY).encrypt(nonce, b"Hallo", aad)
    assert open_(sealed, "subj-a", b"text") == b"Hallo"


def test_every_flipped_byte_is_detected() -> None:
    sealed = seal(b"Lieferung am Dienstag", aad=b"text")
    for index in range(len(sealed)):
        altered = bytearray(sealed)
        altered[index] ^= 0x01
        with pytest.raises(ContentIntegrityError):
            open_(bytes(altered), aad=b"text")


def test_truncated_or_unknown_version_is_refused() -> None:
    sealed = seal(b"x")
    with pytest.raises(ContentIntegrityError, match="shorter"):
        envelope.SealedContent.from_bytes(sealed[:-2])
    with pytest.raises(ContentIntegrityError, match="version 2"):
        envelope.SealedContent.from_bytes(b"\x02" + sealed[1:])


@pytest.mark.parametrize(("subject", "aad"), [("subj-b", b""), ("subj-a", b"name")])
def test_another_subject_or_context_does_not_open(subject: str, aad: bytes) -> None:
    with pytest.raises(ContentIntegrityError, match="authentication failed"):
        open_(seal(b"secret"), subject, aad)


def test_nonces_are_fresh() -> None:
    assert seal(b"same") != seal(b"same")


def test_wrapped_key_hides_the_key_and_is_bound_to_its_row() -> None:
    wrapping = envelope.cipher(os.urandom(32))
    key = envelope.new_key()
    wrapped = envelope.wrap_key(wrapping, key, b"row-1")
    assert len(wrapped) == envelope.WRAPPED_KEY_BYTES
    assert wrapped != key
    assert key not in wrapped
    assert envelope.unwrap_key(wrapping, wrapped, b"row-1", name="k") == key
    with pytest.raises(KeyIntegrityError, match="k does not unwrap"):
        envelope.unwrap_key(wrapping, wrapped, b"row-2", name="k")
    with pytest.raises(KeyIntegrityError):
        envelope.unwrap_key(envelope.cipher(os.urandom(32)), wrapped, b"row-1", name="k")
    with pytest.raises(KeyIntegrityError, match="version-1"):
        envelope.unwrap_key(wrapping, wrapped[:-1], b"row-1", name="k")


def test_associated_data_is_unambiguous() -> None:
    assert envelope.associated_data(b"l", b"ab", b"c") != envelope.associated_data(
        b"l", b"a", b"bc"
    )
    assert envelope.data_key_aad(KEY_ID, "b", 1) != envelope.data_key_aad(KEY_ID, "b", 2)
    assert envelope.bucket_key_aad("b", 0, 1) != envelope.bucket_key_aad("b", 0, 2)


def test_only_256_bit_keys() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        envelope.cipher(bytes(16))
    with pytest.raises(ValueError, match="32-byte"):
        envelope.wrap_key(envelope.cipher(KEY), bytes(16), b"")
