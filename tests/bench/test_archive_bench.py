"""The archive benchmark's machinery on a tiny log: it reports every figure, its raw-hashing
comparison reaches the same root as the log, and what it leaves behind verifies. Speed is
never asserted here: figures on a shared machine are for docs/performance.md."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from bench import archive
from chatproof.archive import merkle
from chatproof.archive.keyfiles import load_signing_key
from chatproof.archive.tree_head import raw_public_key, verify_tree_head
from chatproof.config import load_settings
from chatproof.store import make_engine
from chatproof.store.log import SqlAlchemyLogRepository


def test_a_tiny_run_reports_every_figure_and_leaves_a_log_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--entries", "2000", "--batch", "300", "--batch-sizes", "10,400"]
    argv += ["--batch-entries", "400", "--proofs", "40", "--repeat", "2"]
    argv += ["--tmp-dir", str(tmp_path), "--keep", "--json"]
    assert archive.main(argv) == 0
    report = json.loads(capsys.readouterr().out)

    check = report["check"]
    assert check["ok"] and check["entries"] == check["log_size"] == 2000
    # Levels 4 and up of 2,000 leaves: 125 + 62 + 31 + 15 + 7 + 3 + 1 subtrees.
    assert check["nodes"] == check["expected_nodes"] == 244
    build = report["build"]
    assert build["batch"] == 300 and build["entries"] == 2000
    assert all(build[k] > 0 for k in ("entries_per_s", "first_tenth_per_s", "last_tenth_per_s"))
    tx = build["transaction_ms"]
    assert 0 < tx["p50"] <= tx["p99"] <= tx["max"]
    assert [row["batch"] for row in report["batch_sizes"]] == [10, 400]
    for row in report["batch_sizes"]:
        assert 0 < row["entries_per_s"]["min"] <= row["entries_per_s"]["max"]

    verified = report["verify"]
    assert len(verified["runs"]) == 2
    for key in ("entries_per_s", "raw_leaf_per_s", "raw_tree_per_s", "ratio_leaf", "ratio_tree"):
        assert math.isfinite(verified[key]["median"]) and verified[key]["min"] > 0
    # Hashing the interior nodes too takes longer than hashing the leaves alone.
    assert verified["raw_tree_per_s"]["median"] < verified["raw_leaf_per_s"]["median"]

    proofs = report["proofs"]
    assert proofs["verified"] == 3 * 40
    for kind in ("inclusion", "consistency", "document"):
        d = proofs[kind]
        assert d["samples"] == 40 and 0 < d["p50"] <= d["p99"] <= d["max"]
    assert proofs["proof_hashes"]["max"] == (2000 - 1).bit_length()
    assert set(report["targets"]) == {"append", "verify", "proof_p99"}
    labels = [p["label"] for p in report["phases"]]
    assert labels[:3] == ["build", "sign head", "proofs"]
    assert labels.count("verify 2") == labels.count("raw sha256 2") == 1
    assert report["machine"]["cpus"] >= 1 and report["code"].endswith("chatproof")

    # What the run left behind answers a proof that checks against its signed head.
    settings = load_settings(Path(report["data_dir"]), {})
    public_key = raw_public_key(load_signing_key(settings.signing_key_path).public_key())
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            log = SqlAlchemyLogRepository(conn)
            head = log.latest_head()
            assert head is not None and head.head.tree_size == 2000
            verify_tree_head(head, public_key)
            entry = log.entry(1234)
            assert entry is not None
            proof = merkle.inclusion_proof(1234, 2000, log.node)
            leaf = merkle.leaf_hash(entry.leaf)
            merkle.verify_inclusion(1234, 2000, leaf, proof, head.head.root_hash)
    finally:
        engine.dispose()


@pytest.mark.parametrize("size", [1, 5, archive.RAW_CHUNK, 2 * archive.RAW_CHUNK + 3])
def test_raw_hashing_reaches_the_root_of_the_log(tmp_path: Path, size: int) -> None:
    leaves = [f'{{"index":{i}}}'.encode() for i in range(size)]
    db_path = tmp_path / "log.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL)")
        db.executemany("INSERT INTO log_entries VALUES (?, ?)", enumerate(leaves))
        db.execute("INSERT INTO log_entries VALUES (?, ?)", (size, b"beyond the size"))
    db.close()
    seen: list[int] = []
    leaf_seconds, node_seconds, root = archive.raw_hashing(db_path, size, seen.append)
    assert root == merkle.MemoryTree(leaves).root_hash()
    assert sum(seen) == size and leaf_seconds > 0 and node_seconds >= 0
