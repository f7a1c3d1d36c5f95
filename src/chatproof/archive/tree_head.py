"""Signed tree heads of the archive log (DESIGN invariant 3).

A tree head commits to the whole log at one size. It is signed with Ed25519 over RFC 6962 §3.5's
TreeHeadSignature structure, so witnesses and auditors can hold and check heads with nothing but
the public key:

    digitally-signed struct {
        Version version;                          v1(0), 1 byte
        SignatureType signature_type = tree_hash; tree_hash(1), 1 byte
        uint64 timestamp;                         milliseconds since the epoch, big-endian
        uint64 tree_size;                         big-endian
        opaque sha256_root_hash[32];
    } TreeHeadSignature;                          50 bytes in all

The JSON form, {"tree_size", "root_hash" (hex), "timestamp" (ms), "signature" (base64),
"public_key" (base64 of the raw 32-byte key)}, is what `chatproof proof --json` embeds and what
`chatproof.archive.proofcheck` reads independently of this module.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chatproof.archive.errors import SignatureMismatchError, TreeHeadFormatError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_INPUT_SIZE",
    "SIGNATURE_SIZE",
    "SignedTreeHead",
    "TreeHead",
    "raw_public_key",
    "sign_tree_head",
    "signature_input",
    "verify_tree_head",
]

VERSION_V1 = 0
SIGNATURE_TYPE_TREE_HASH = 1
SIGNATURE_INPUT_SIZE = 50
SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32
ROOT_HASH_SIZE = 32
_UINT64_LIMIT = 1 << 64
_HEADER = struct.Struct(">BBQQ")
_HEX_DIGITS = frozenset("0123456789abcdef")


def _check_uint64(field: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TreeHeadFormatError(field, f"must be an integer, got {type(value).__name__}")
    if not 0 <= value < _UINT64_LIMIT:
        raise TreeHeadFormatError(field, f"{value} is not an unsigned 64-bit integer")
    return value


@dataclass(frozen=True)
class TreeHead:
    """The log at one size: its RFC 9162 root hash and when the head was made.

    Raises:
        TreeHeadFormatError: a size or timestamp outside uint64, or a root that is not 32 bytes.
    """

    tree_size: int
    root_hash: bytes
    timestamp_ms: int

    def __post_init__(self) -> None:
        _check_uint64("tree_size", self.tree_size)
        _check_uint64("timestamp", self.timestamp_ms)
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise TreeHeadFormatError("root_hash", f"must be {ROOT_HASH_SIZE} bytes")


def signature_input(head: TreeHead) -> bytes:
    """The 50-byte RFC 6962 §3.5 TreeHeadSignature structure that is signed."""
    header = _HEADER.pack(VERSION_V1, SIGNATURE_TYPE_TREE_HASH, head.timestamp_ms, head.tree_size)
    return header + head.root_hash


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The raw 32-byte form of an Ed25519 public key, as tree heads carry it."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _hex_hash(doc: Mapping[str, object], field: str) -> bytes:
    value = _required(doc, field)
    if not isinstance(value, str) or len(value) != 2 * ROOT_HASH_SIZE or set(value) - _HEX_DIGITS:
        raise TreeHeadFormatError(field, f"must be {2 * ROOT_HASH_SIZE} lowercase hex digits")
    return bytes.fromhex(value)


def _base64(doc: Mapping[str, object], field: str, size: int) -> bytes:
    value = _required(doc, field)
    try:
        if not isinstance(value, str):
            raise ValueError
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise TreeHeadFormatError(field, "must be a base64 string") from None
    if len(raw) != size:
        raise TreeHeadFormatError(field, f"must decode to {size} bytes, got {len(raw)}")
    return raw


def _required(doc: Mapping[str, object], field: str) -> object:
    if field not in doc:
        raise TreeHeadFormatError(field, "is missing")
    return doc[field]


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree head with its Ed25519 signature and the raw public key that made it."""

    head: TreeHead
    signature: bytes
    public_key: bytes

    def to_json(self) -> dict[str, object]:
        """The JSON-ready form: tree_size, root_hash (hex), timestamp (ms), signature and
        public_key (base64)."""
        return {
            "tree_size": self.head.tree_size,
            "root_hash": self.head.root_hash.hex(),
            "timestamp": self.head.timestamp_ms,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> SignedTreeHead:
        """Parse the form `to_json` writes; this does not check the signature.

        Raises:
            TreeHeadFormatError: naming the first missing or malformed field.
        """
        if not isinstance(doc, Mapping):
            raise TreeHeadFormatError("signed tree head", "must be a JSON object")
        head = TreeHead(
            tree_size=_check_uint64("tree_size", _required(doc, "tree_size")),
            root_hash=_hex_hash(doc, "root_hash"),
            timestamp_ms=_check_uint64("timestamp", _required(doc, "timestamp")),
        )
        return cls(
            head=head,
            signature=_base64(doc, "signature", SIGNATURE_SIZE),
            public_key=_base64(doc, "public_key", PUBLIC_KEY_SIZE),
        )


def sign_tree_head(head: TreeHead, private_key: Ed25519PrivateKey) -> SignedTreeHead:
    return SignedTreeHead(
        head=head,
        signature=private_key.sign(signature_input(head)),
        public_key=raw_public_key(private_key.public_key()),
    )


def verify_tree_head(sth: SignedTreeHead, public_key_raw: bytes) -> None:
    """Check that `sth` was signed by the holder of `public_key_raw` (32 raw bytes).

    The key the head names must be that same key; pass `sth.public_key` to trust the head's own.

    Raises:
        SignatureMismatchError: another key, or a signature that does not verify.
    """
    size = sth.head.tree_size
    if len(public_key_raw) != PUBLIC_KEY_SIZE:
        raise SignatureMismatchError(size, f"a public key must be {PUBLIC_KEY_SIZE} raw bytes")
    if sth.public_key != public_key_raw:
        raise SignatureMismatchError(
            size,
            f"it names public key {_b64(sth.public_key)}, expected {_b64(public_key_raw)}",
        )
    try:
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(
            sth.signature, signature_input(sth.head)
        )
    except (InvalidSignature, ValueError):
        raise SignatureMismatchError(
            size, f"the Ed25519 signature is not valid under public key {_b64(public_key_raw)}"
        ) from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
