"""Offline check of a chatproof proof file, written for auditors to read (DESIGN invariant 3).

Checks the JSON that `chatproof proof ENTRY --json` (inclusion) and `chatproof consistency OLD NEW
--json` (consistency) write: each signed tree head's Ed25519 signature over the 50-byte RFC 6962
§3.5 TreeHeadSignature, then the RFC 9162 §2.1.3.2 or §2.1.4.2 proof. It imports nothing from
chatproof and re-implements the verification, so a bug in the writer cannot hide here.

    python -m chatproof.archive.proofcheck FILE [--public-key BASE64]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class ProofCheckError(Exception):
    """The document does not prove what it claims; the message says what failed."""


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _int(doc: dict, field: str) -> int:
    value = doc.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
        raise ProofCheckError(f"field {field!r} is missing or not an unsigned 64-bit integer")
    return value


def _base64(doc: dict, field: str) -> bytes:
    try:
        return base64.b64decode(doc.get(field), validate=True)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProofCheckError(f"field {field!r} is missing or not base64") from None


def _hash(value: object, field: str) -> bytes:
    try:
        raw = bytes.fromhex(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ProofCheckError(f"field {field!r} is missing or not a 32-byte hash in hex")
    return raw


def _hashes(doc: dict, field: str) -> list[bytes]:
    values = doc.get(field)
    if not isinstance(values, list):
        raise ProofCheckError(f"field {field!r} is missing or not a list")
    return [_hash(value, f"{field}[{i}]") for i, value in enumerate(values)]


def _signed_head(doc: object, name: str, pinned: bytes | None) -> tuple[int, bytes, int, bytes]:
    """Check one signed tree head; returns (tree_size, root_hash, timestamp, public_key)."""
    if not isinstance(doc, dict):
        raise ProofCheckError(f"{name!r} is missing or not a JSON object")
    size, timestamp = _int(doc, "tree_size"), _int(doc, "timestamp")
    root = _hash(doc.get("root_hash"), f"{name}.root_hash")
    signature, key = _base64(doc, "signature"), _base64(doc, "public_key")
    if pinned is not None and key != pinned:
        raise ProofCheckError(f"{name} is signed by public key {_b64(key)}, not the pinned key")
    # RFC 6962 §3.5: version v1 (0), signature_type tree_hash (1), uint64s big-endian.
    message = bytes([0, 1]) + timestamp.to_bytes(8, "big") + size.to_bytes(8, "big") + root
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise ProofCheckError(f"{name}: signature does not verify under key {_b64(key)}") from None
    return size, root, timestamp, key


def _inclusion_root(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that leaf `index` and its audit path lead to."""
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ProofCheckError("audit_path has more hashes than this tree size needs")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofCheckError("audit_path has fewer hashes than this tree size needs")
    return r


def _consistency_roots(
    first: int, second: int, first_hash: bytes, path: list[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 for 0 < first < second: the (old, new) roots the proof leads to."""
    if not path:
        raise ProofCheckError("proof is empty")
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofCheckError("proof has more hashes than these tree sizes need")
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofCheckError("proof has fewer hashes than these tree sizes need")
    return fr, sr


def check_document(doc: dict, expected_public_key: bytes | None = None) -> str:
    """Check an inclusion or a consistency document; returns a one-line summary.

    Raises:
        ProofCheckError: naming what does not verify.
    """
    if not isinstance(doc, dict) or not ("leaf_index" in doc or "old" in doc):
        raise ProofCheckError("not a proof document: expected leaf_index, or old and new")
    if "leaf_index" in doc:
        head = doc.get("signed_tree_head")
        size, root, timestamp, key = _signed_head(head, "signed_tree_head", expected_public_key)
        index, leaf = _int(doc, "leaf_index"), _base64(doc, "leaf")
        if _int(doc, "tree_size") != size:
            raise ProofCheckError("tree_size does not match the signed tree head")
        if _hash(doc.get("root_hash"), "root_hash") != root:
            raise ProofCheckError("root_hash does not match the signed tree head")
        if index >= size:
            raise ProofCheckError(f"leaf_index {index} is not in a tree of size {size}")
        leaf_hash = hashlib.sha256(b"\x00" + leaf).digest()
        if _inclusion_root(index, size, leaf_hash, _hashes(doc, "audit_path")) != root:
            raise ProofCheckError(f"leaf {index} and audit_path do not lead to the signed root")
        what = f"entry {index} is in the log of {size} entries (root {root.hex()})"
    else:
        old_size, old_root, _, key = _signed_head(doc.get("old"), "old", expected_public_key)
        size, root, timestamp, new_key = _signed_head(doc.get("new"), "new", expected_public_key)
        if new_key != key:
            raise ProofCheckError("old and new tree heads are signed by different public keys")
        path = _hashes(doc, "proof")
        if old_size > size:
            raise ProofCheckError(f"tree size went down from {old_size} to {size}")
        if old_size in (0, size):  # nothing to prove: the empty tree, or the same tree
            if path or old_root != (hashlib.sha256().digest() if old_size == 0 else root):
                raise ProofCheckError("for these sizes the proof must be empty and roots agree")
        elif _consistency_roots(old_size, size, old_root, path) != (old_root, root):
            raise ProofCheckError("proof does not lead from the old root to the new root")
        what = (
            f"the log of {size} entries (root {root.hex()}) extends the log of {old_size} "
            f"entries (root {old_root.hex()}) unchanged"
        )
    source = "pinned" if expected_public_key is not None else "taken from the file, not pinned"
    return (
        f"OK: {what}; tree head of {_when(timestamp)} signed by public key {_b64(key)} ({source})"
    )


def check_file(path: str, expected_public_key: bytes | None = None) -> str:
    """Read a proof document from `path` and check it like `check_document`."""
    try:
        with open(path, encoding="utf-8") as file:
            doc = json.load(file)
    except (OSError, ValueError) as error:
        raise ProofCheckError(f"cannot read {path}: {error}") from None
    return check_document(doc, expected_public_key)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _when(timestamp_ms: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{timestamp_ms} ms after 1970"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a chatproof proof file offline.")
    parser.add_argument("file")
    parser.add_argument("--public-key", help="pin the log's key: base64 of the raw 32 bytes")
    args = parser.parse_args(argv)
    try:
        pinned = _base64(vars(args), "public_key") if args.public_key is not None else None
        print(check_file(args.file, pinned))
    except ProofCheckError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
