"""Check a chatproof GoBD export without trusting chatproof (DESIGN invariant 3).

Shipped inside every export as ``check_export.py``. It needs nothing but Python 3.11 and its
standard library, imports nothing from chatproof and re-implements what it checks:

1. every file listed in ``MANIFEST.sha256`` has the SHA-256 given there;
2. the leaf hashes in ``log_entries.csv`` (entries ``first`` to ``end - 1``) together with the
   boundary subtree hashes in ``proof/range_proof.json`` give the root hash of the signed tree
   head there (RFC 9162 §2.1.1 hashing; leaf = SHA-256(0x00 ‖ leaf), node = SHA-256(0x01 ‖ l ‖ r));
3. every row of the data tables that names a log entry carries that entry's leaf hash;
4. the tree head's Ed25519 signature over the 50-byte RFC 6962 §3.5 structure, if the
   ``cryptography`` package is installed (otherwise it says so; README.md shows the openssl
   command that does the same).

    python3 check_export.py EXPORT_DIR [--public-key BASE64]

Exit code 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

TABLES_WITH_ENTRIES = ("messages.csv", "statuses.csv", "consent_events.csv")


class CheckFailed(Exception):
    """What did not check out, in words."""


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows as index.xml declares them: UTF-8, ';', CRLF, '"', one header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=";", quotechar='"')


def check_manifest(folder: Path) -> int:
    count = 0
    for line in (folder / "MANIFEST.sha256").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        expected, name = line.split("  ", 1)
        digest = hashlib.sha256()
        with (folder / name).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise CheckFailed(f"{name}: SHA-256 differs from MANIFEST.sha256")
        count += 1
    return count


def root_from_range(first: int, end: int, size: int, leaves: Iterator[bytes], proof: list) -> bytes:
    boundary = iter(proof)

    def mth(count: int) -> bytes:
        stack: list[tuple[int, bytes]] = []
        for _ in range(count):
            value = next(leaves, None)
            if value is None:
                raise CheckFailed("log_entries.csv has fewer entries than the range")
            width = 1
            while stack and stack[-1][0] == width:
                value = _node(stack.pop()[1], value)
                width *= 2
            stack.append((width, value))
        root = stack.pop()[1]
        while stack:
            root = _node(stack.pop()[1], root)
        return root

    def walk(start: int, stop: int) -> bytes:
        if stop <= first or start >= end:
            value = next(boundary, None)
            if value is None:
                raise CheckFailed("the range proof has too few boundary hashes")
            return value
        if first <= start and stop <= end:
            return mth(stop - start)
        k = _split(stop - start)
        return _node(walk(start, start + k), walk(start + k, stop))

    root = walk(0, size)
    if next(boundary, None) is not None:
        raise CheckFailed("the range proof has more boundary hashes than the tree needs")
    if next(leaves, None) is not None:
        raise CheckFailed("log_entries.csv has more entries than the range")
    return root


def check_signature(head: dict, pinned: bytes | None) -> str:
    public_key = base64.b64decode(head["public_key"])
    if pinned is not None and pinned != public_key:
        raise CheckFailed("the tree head is signed by another key than the one given")
    message = struct.pack(">BBQQ", 0, 1, head["timestamp"], head["tree_size"])
    message += bytes.fromhex(head["root_hash"])
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return "signature NOT checked (no 'cryptography' package; see README.md for openssl)"
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(head["signature"]), message
        )
    except InvalidSignature:
        raise CheckFailed("the tree head's signature does not verify") from None
    return "signature verified (Ed25519)"


def check(folder: Path, pinned: bytes | None = None) -> list[str]:
    """Every check in turn; returns what was checked, raises CheckFailed at the first failure."""
    report = [f"{check_manifest(folder)} files match MANIFEST.sha256"]
    doc = json.loads((folder / "proof" / "range_proof.json").read_text(encoding="utf-8"))
    head = doc["signed_tree_head"]
    first, end, size = doc["first"], doc["end"], head["tree_size"]
    if doc["tree_size"] != size:
        raise CheckFailed("the range proof names another tree size than its signed head")
    if first is None or end is None:
        if any(True for _ in _rows(folder / "log_entries.csv")):
            raise CheckFailed("log_entries.csv lists entries, but the export names no range")
        report.append("the export holds no rows, so no range of the log to check")
        report.append(check_signature(head, pinned))
        return report
    if not 0 <= first < end <= size:
        raise CheckFailed("the range does not lie inside the signed tree head")
    expected_index = iter(range(first, end))
    by_index: dict[int, str] = {}

    def leaf_hashes() -> Iterator[bytes]:
        for row in _rows(folder / "log_entries.csv"):
            index = int(row["log_index"])
            if index != next(expected_index, None):
                raise CheckFailed(f"log_entries.csv: entry {index} is out of order")
            by_index[index] = row["leaf_hash"]
            yield bytes.fromhex(row["leaf_hash"])

    proof = [bytes.fromhex(h) for h in doc["boundary_hashes"]]
    root = root_from_range(first, end, size, leaf_hashes(), proof)
    if root.hex() != head["root_hash"]:
        raise CheckFailed(f"root {root.hex()} differs from the signed head's {head['root_hash']}")
    report.append(f"entries {first}..{end - 1} give the root of the signed tree of {size}")
    report.append(check_signature(head, pinned))
    for name in TABLES_WITH_ENTRIES:
        checked = 0
        for number, row in enumerate(_rows(folder / name), start=2):
            if not row["log_index"]:
                continue
            if by_index.get(int(row["log_index"])) != row["leaf_hash"]:
                raise CheckFailed(f"{name} line {number}: leaf hash differs from log entry")
            checked += 1
        report.append(f"{name}: {checked} rows carry the leaf hash of their log entry")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a chatproof GoBD export.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--public-key", help="Expected signing key, base64 of the raw 32 bytes.")
    args = parser.parse_args(argv)
    pinned = base64.b64decode(args.public_key) if args.public_key else None
    try:
        for line in check(args.folder, pinned):
            print(f"OK  {line}")
    except (CheckFailed, OSError, KeyError, ValueError, TypeError) as exc:
        print(f"FAILED  {exc}", file=sys.stderr)
        return 1
    print("The export checks out.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
