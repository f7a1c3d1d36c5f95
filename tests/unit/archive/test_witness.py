"""Witnesses: the append-only file, the check of witnessed heads against the log, the config."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from chatproof.archive.errors import (
    WitnessConfigError,
    WitnessError,
    WitnessRefusedError,
    WitnessStorageError,
)
from chatproof.archive.merkle import EMPTY_ROOT, MemoryTree
from chatproof.archive.tree_head import SignedTreeHead, TreeHead, raw_public_key, sign_tree_head
from chatproof.archive.witness import (
    NO_WITNESS_WARNING,
    WitnessedHead,
    WitnessKind,
    check_witnessed_heads,
)
from chatproof.archive.witness_config import witnesses_from_config
from chatproof.archive.witness_file import FileWitness
from chatproof.archive.witness_http import HttpWitness
from chatproof.archive.witness_tsa import TsaWitness
from tests.support.tsa import make_ca

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG = MemoryTree(f"event {i}".encode() for i in range(20))


def signed(
    size: int, timestamp_ms: int = 1_700_000_000_000, tree: MemoryTree = LOG
) -> SignedTreeHead:
    return sign_tree_head(TreeHead(size, tree.root_hash(size), timestamp_ms), KEY)


def forked(size: int) -> SignedTreeHead:
    other = MemoryTree(f"rewritten {i}".encode() for i in range(size))
    return signed(size, tree=other)


def clock(start: int = 1_800_000_000_000) -> Callable[[], int]:
    ticks = iter(range(start, start + 1_000_000))
    return lambda: next(ticks)


# --- FileWitness -----------------------------------------------------------------------------


async def test_file_witness_appends_one_json_line_per_head(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl", clock=clock(5000))
    first = await witness.submit(signed(3))
    second = await witness.submit(signed(8))

    lines = (tmp_path / "heads.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["sth"] for line in lines] == [signed(3).to_json(), signed(8).to_json()]
    assert first.evidence == lines[0] and second.evidence == lines[1]
    assert (first.kind, first.tree_size, first.root_hash) == (WitnessKind.FILE, 3, LOG.root_hash(3))
    assert (first.received_at_ms, second.received_at_ms) == (5000, 5001)
    assert first.witness == witness.name == f"file:{tmp_path / 'heads.jsonl'}"


async def test_file_witness_hands_back_what_it_holds(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl", name="nas", clock=clock(7))
    assert await witness.heads() == []
    for timestamp, size in enumerate((0, 4, 4, 11)):
        await witness.submit(signed(size, timestamp))

    assert await witness.heads() == [
        WitnessedHead("nas", 0, EMPTY_ROOT, 7),
        WitnessedHead("nas", 4, LOG.root_hash(4), 8),
        WitnessedHead("nas", 4, LOG.root_hash(4), 9),
        WitnessedHead("nas", 11, LOG.root_hash(11), 10),
    ]


async def test_the_same_signed_head_twice_is_held_once(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl", clock=clock())
    first = await witness.submit(signed(5))
    again = await witness.submit(signed(5))
    assert again == first
    assert len((tmp_path / "heads.jsonl").read_bytes().splitlines()) == 1


async def test_file_witness_refuses_a_smaller_head(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl")
    await witness.submit(signed(9))
    before = (tmp_path / "heads.jsonl").read_bytes()

    with pytest.raises(
        WitnessRefusedError, match=r"tree size 6 is smaller than the last head it holds \(9\)"
    ):
        await witness.submit(signed(6, 1_800_000_000_000))
    assert (tmp_path / "heads.jsonl").read_bytes() == before


async def test_file_witness_refuses_another_root_at_the_same_size(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl")
    await witness.submit(signed(9))
    with pytest.raises(WitnessRefusedError, match="at tree size 9 differs from the root"):
        await witness.submit(forked(9))


async def test_concurrent_submissions_leave_whole_lines_in_order(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "heads.jsonl")
    outcomes = await asyncio.gather(
        *(witness.submit(signed(size)) for size in range(12)), return_exceptions=True
    )
    accepted = [o.tree_size for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, WitnessRefusedError) for o in refused)

    held = [head.tree_size for head in await witness.heads()]
    assert sorted(held) == held == sorted(accepted)
    assert len(held) + len(refused) == 12


async def test_a_missing_mount_is_an_error_not_a_local_file(tmp_path: Path) -> None:
    witness = FileWitness(tmp_path / "not-mounted" / "heads.jsonl")
    with pytest.raises(WitnessError, match="does not exist"):
        await witness.submit(signed(1))
    assert not (tmp_path / "not-mounted").exists()


async def test_the_file_is_only_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    witness = FileWitness(path)
    await witness.submit(signed(2))
    written = path.read_bytes()
    await witness.submit(signed(3))
    assert path.read_bytes().startswith(written)


async def test_a_corrupt_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    witness = FileWitness(path)
    for size in (1, 2, 3):
        await witness.submit(signed(size))
    lines = path.read_bytes().splitlines()
    doc = json.loads(lines[1])
    doc["sth"]["root_hash"] = "zz"
    path.write_bytes(b"\n".join([lines[0], json.dumps(doc).encode(), lines[2]]) + b"\n")

    with pytest.raises(
        WitnessStorageError, match=r"line 2: 'sth' is malformed.*root_hash"
    ) as caught:
        await witness.heads()
    assert caught.value.line == 2

    path.write_bytes(b"\n".join([lines[0], b"{not json", lines[2]]) + b"\n")
    with pytest.raises(WitnessStorageError, match="line 2: is not valid JSON"):
        await witness.heads()


async def test_a_torn_last_line_stops_appends(tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    witness = FileWitness(path)
    await witness.submit(signed(1))
    with path.open("ab") as file:
        file.write(b'{"received_at": 1, "st')

    with pytest.raises(WitnessStorageError, match="line 2: is incomplete"):
        await witness.heads()
    with pytest.raises(WitnessStorageError, match="the last line is incomplete"):
        await witness.submit(signed(2))


async def test_the_last_head_is_found_past_long_lines(tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    path.write_bytes(
        b"".join(
            json.dumps({"received_at": 1, "sth": signed(n).to_json(), "pad": "x" * 5000}).encode()
            + b"\n"
            for n in (1, 2)
        )
    )
    with pytest.raises(WitnessRefusedError, match=r"smaller than the last head it holds \(2\)"):
        await FileWitness(path).submit(signed(1, 5))


# --- check_witnessed_heads -------------------------------------------------------------------


def witnessed(size: int, root: bytes | None = None, witness: str = "nas") -> WitnessedHead:
    return WitnessedHead(witness, size, LOG.root_hash(size) if root is None else root, 0)


def test_heads_on_the_log_agree() -> None:
    heads = [witnessed(size) for size in (0, 1, 7, 8, 13, 20)]
    assert check_witnessed_heads({20: LOG.root_hash(20)}, heads, LOG.consistency_proof) == []


def test_another_root_at_a_size_the_log_signed_is_named() -> None:
    log_heads = {10: LOG.root_hash(10), 20: LOG.root_hash(20)}
    bad = witnessed(10, forked(10).head.root_hash, witness="tsa.example")

    [finding] = check_witnessed_heads(log_heads, [witnessed(5), bad], LOG.consistency_proof)

    assert (finding.witness, finding.tree_size) == ("tsa.example", 10)
    assert finding.message == (
        f"witness tsa.example holds a head of size 10 (root {bad.root_hash.hex()}) that "
        f"differs from the log's root {LOG.root_hash(10).hex()} at that size"
    )


def test_a_head_that_is_not_a_prefix_of_the_log_is_named() -> None:
    bad = witnessed(6, forked(6).head.root_hash)
    [finding] = check_witnessed_heads({20: LOG.root_hash(20)}, [bad], LOG.consistency_proof)
    assert finding.tree_size == 6
    assert "is not a prefix of the log's head of size 20" in str(finding)
    assert "old root hash mismatch" in str(finding)


def test_a_head_larger_than_the_log_means_history_was_cut() -> None:
    short = MemoryTree(f"event {i}".encode() for i in range(12))
    [finding] = check_witnessed_heads(
        {12: short.root_hash()}, [witnessed(12), witnessed(20)], short.consistency_proof
    )
    assert finding.tree_size == 20
    assert finding.reason == "is larger than the log, which has only 12 entries"


def test_the_empty_log_agrees_only_with_the_empty_head() -> None:
    findings = check_witnessed_heads(
        {}, [witnessed(0), witnessed(0, bytes(32))], LOG.consistency_proof
    )
    assert [f.reason for f in findings] == [
        f"differs from the log's root {EMPTY_ROOT.hex()} at that size"
    ]


# --- witnesses_from_config -------------------------------------------------------------------

WITNESS_KEY = base64.b64encode(raw_public_key(KEY.public_key())).decode()


def test_config_builds_each_kind_in_order(tmp_path: Path) -> None:
    _, ca = make_ca()
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(Encoding.PEM))
    witnesses = witnesses_from_config(
        {
            "witness": [
                {"kind": "file", "path": str(tmp_path / "heads.jsonl")},
                {"kind": "http", "url": "https://witness.example", "public_key": WITNESS_KEY},
                {
                    "kind": "tsa",
                    "url": "https://tsa.example/tsr",
                    "name": "TSA",
                    "ca_file": str(tmp_path / "ca.pem"),
                },
                {"kind": "tsa", "url": "http://tsa.internal/"},
            ]
        }
    )
    file, http, tsa, plain = witnesses
    assert isinstance(file, FileWitness) and file.path == tmp_path / "heads.jsonl"
    assert isinstance(http, HttpWitness) and http.public_key == raw_public_key(KEY.public_key())
    assert isinstance(tsa, TsaWitness) and tsa.name == "TSA" and tsa.ca_certificates == [ca]
    assert isinstance(plain, TsaWitness) and plain.ca_certificates is None


def test_no_witness_warns_the_admin(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert witnesses_from_config({}) == []
    assert NO_WITNESS_WARNING in caplog.text
    assert "could rewrite" in NO_WITNESS_WARNING


@pytest.mark.parametrize(
    ("entry", "field", "reason"),
    [
        ({"path": "/x"}, "archive.witness[0].kind", "is missing"),
        ({"kind": "s3"}, "archive.witness[0].kind", "'s3' is not one of 'file', 'http', 'tsa'"),
        ({"kind": "file"}, "archive.witness[0].path", "is missing"),
        ({"kind": "file", "path": ""}, "archive.witness[0].path", "non-empty string"),
        (
            {"kind": "file", "path": "/x", "url": "http://a"},
            "archive.witness[0].url",
            "is not a setting of kind file",
        ),
        ({"kind": "http", "url": "https://w"}, "archive.witness[0].public_key", "is missing"),
        (
            {"kind": "http", "url": "https://w", "public_key": "%%"},
            "archive.witness[0].public_key",
            "is not base64",
        ),
        (
            {"kind": "http", "url": "https://w", "public_key": "AAAA"},
            "archive.witness[0].public_key",
            "got 3 bytes",
        ),
        (
            {"kind": "http", "url": "ftp://w", "public_key": WITNESS_KEY},
            "archive.witness[0].url",
            "is not an http(s) URL",
        ),
        (
            {"kind": "tsa", "url": "https://t", "ca_file": "/nonexistent/ca.pem"},
            "archive.witness[0].ca_file",
            "cannot read",
        ),
        ({"kind": "tsa", "url": 5}, "archive.witness[0].url", "non-empty string"),
        ("file", "archive.witness[0]", "must be a table"),
    ],
)
def test_config_errors_name_the_field(entry: object, field: str, reason: str) -> None:
    with pytest.raises(WitnessConfigError) as caught:
        witnesses_from_config({"witness": [entry]})
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_a_ca_file_without_certificates_is_named(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(
        WitnessConfigError, match=r"archive.witness\[1\].ca_file: .* no PEM certificate"
    ):
        witnesses_from_config(
            {
                "witness": [
                    {"kind": "file", "path": "/x"},
                    {"kind": "tsa", "url": "https://t", "ca_file": str(tmp_path / "ca.pem")},
                ]
            }
        )


def test_witness_must_be_a_list_of_tables() -> None:
    with pytest.raises(WitnessConfigError, match=r"archive\.witness: must be a list"):
        witnesses_from_config({"witness": "file"})
