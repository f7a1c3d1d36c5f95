"""Signed tree heads: the exact RFC 6962 §3.5 bytes, Ed25519 round trip, and any change fails."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatproof.archive.errors import SignatureMismatchError, TreeHeadFormatError
from chatproof.archive.tree_head import (
    SignedTreeHead,
    TreeHead,
    raw_public_key,
    sign_tree_head,
    signature_input,
    verify_tree_head,
)

GOLDEN = json.loads((Path(__file__).parents[2] / "data" / "merkle" / "tree_head.json").read_text())
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(GOLDEN["private_key_seed"]))
PUBLIC = raw_public_key(KEY.public_key())
HEAD = TreeHead(
    tree_size=0x0102030405060708, root_hash=bytes(range(32)), timestamp_ms=0x1112131415161718
)


def flip_bit(value: bytes, bit: int) -> bytes:
    return value[: bit // 8] + bytes([value[bit // 8] ^ (1 << bit % 8)]) + value[bit // 8 + 1 :]


def test_signature_input_is_the_50_byte_tree_head_signature_struct() -> None:
    assert signature_input(HEAD) == bytes.fromhex(
        "00"  # version v1
        "01"  # signature_type tree_hash
        "1112131415161718"  # timestamp, uint64 big-endian
        "0102030405060708"  # tree_size, uint64 big-endian
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  # sha256_root_hash
    )
    assert len(signature_input(TreeHead(0, bytes(32), 0))) == 50


def test_the_golden_head_is_reproduced_exactly() -> None:
    golden = SignedTreeHead.from_json(GOLDEN["signed_tree_head"])
    assert signature_input(golden.head).hex() == GOLDEN["signature_input"]
    assert sign_tree_head(golden.head, KEY) == golden  # Ed25519 signatures are deterministic
    assert golden.to_json() == GOLDEN["signed_tree_head"]
    verify_tree_head(golden, PUBLIC)


def test_sign_and_verify_round_trip() -> None:
    sth = sign_tree_head(HEAD, KEY)
    assert sth.public_key == PUBLIC
    assert len(sth.signature) == 64
    verify_tree_head(sth, PUBLIC)
    verify_tree_head(SignedTreeHead.from_json(json.loads(json.dumps(sth.to_json()))), PUBLIC)


def test_json_form_has_exactly_the_documented_fields() -> None:
    doc = sign_tree_head(HEAD, KEY).to_json()
    assert list(doc) == ["tree_size", "root_hash", "timestamp", "signature", "public_key"]
    assert doc["tree_size"] == HEAD.tree_size
    assert doc["root_hash"] == HEAD.root_hash.hex()
    assert doc["timestamp"] == HEAD.timestamp_ms
    assert base64.b64decode(doc["public_key"]) == PUBLIC


def changed_heads(head: TreeHead) -> list[TreeHead]:
    """Every head that differs from `head` in exactly one bit of one field."""
    return [
        *(replace(head, tree_size=head.tree_size ^ 1 << bit) for bit in range(64)),
        *(replace(head, timestamp_ms=head.timestamp_ms ^ 1 << bit) for bit in range(64)),
        *(replace(head, root_hash=flip_bit(head.root_hash, bit)) for bit in range(256)),
    ]


def test_a_flipped_bit_in_any_head_field_fails() -> None:
    sth = sign_tree_head(HEAD, KEY)
    for head in changed_heads(HEAD):
        with pytest.raises(SignatureMismatchError):
            verify_tree_head(SignedTreeHead(head, sth.signature, sth.public_key), PUBLIC)


def test_a_flipped_bit_in_the_signature_fails() -> None:
    sth = sign_tree_head(HEAD, KEY)
    for bit in range(512):
        tampered = SignedTreeHead(sth.head, flip_bit(sth.signature, bit), sth.public_key)
        with pytest.raises(SignatureMismatchError):
            verify_tree_head(tampered, PUBLIC)


def test_a_flipped_bit_in_the_public_key_fails() -> None:
    sth = sign_tree_head(HEAD, KEY)
    for bit in range(256):
        other = flip_bit(PUBLIC, bit)
        with pytest.raises(SignatureMismatchError):
            verify_tree_head(SignedTreeHead(sth.head, sth.signature, other), other)
        with pytest.raises(SignatureMismatchError, match="expected"):
            verify_tree_head(sth, other)


def test_a_head_signed_by_another_key_names_both_keys() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    sth = sign_tree_head(HEAD, other)
    with pytest.raises(SignatureMismatchError) as failure:
        verify_tree_head(sth, PUBLIC)
    assert base64.b64encode(PUBLIC).decode() in str(failure.value)
    assert base64.b64encode(sth.public_key).decode() in str(failure.value)
    assert failure.value.tree_size == HEAD.tree_size
    with pytest.raises(SignatureMismatchError, match="32 raw bytes"):
        verify_tree_head(sth, PUBLIC[:31])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tree_size": None}, "tree_size"),
        ({"tree_size": -1}, "tree_size"),
        ({"tree_size": 2**64}, "tree_size"),
        ({"tree_size": True}, "tree_size"),
        ({"tree_size": "8"}, "tree_size"),
        ({"timestamp": 1.5}, "timestamp"),
        ({"root_hash": "5DC9" + "00" * 30}, "root_hash"),
        ({"root_hash": "00" * 31}, "root_hash"),
        ({"root_hash": "zz" * 32}, "root_hash"),
        ({"signature": "not base64!"}, "signature"),
        ({"signature": base64.b64encode(bytes(63)).decode()}, "signature"),
        ({"public_key": base64.b64encode(bytes(33)).decode()}, "public_key"),
        ({"public_key": 12}, "public_key"),
    ],
)
def test_malformed_json_names_the_field(change: dict, field: str) -> None:
    doc = {**GOLDEN["signed_tree_head"], **change}
    if change.get(field, 0) is None:
        del doc[field]
    with pytest.raises(TreeHeadFormatError) as failure:
        SignedTreeHead.from_json(doc)
    assert failure.value.field == field
    assert field in str(failure.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tree_size": -1, "root_hash": bytes(32), "timestamp_ms": 0},
        {"tree_size": 0, "root_hash": bytes(31), "timestamp_ms": 0},
        {"tree_size": 0, "root_hash": bytes(32), "timestamp_ms": 2**64},
    ],
)
def test_a_tree_head_outside_the_struct_is_refused(kwargs: dict) -> None:
    with pytest.raises(TreeHeadFormatError):
        TreeHead(**kwargs)
