"""The auditors' offline checker accepts what chatproof writes and names what was tampered with."""

from __future__ import annotations

import ast
import base64
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import chatproof.archive.proofcheck
from chatproof.archive.merkle import MemoryTree
from chatproof.archive.proofcheck import ProofCheckError, check_document, check_file
from chatproof.archive.tree_head import TreeHead, raw_public_key, sign_tree_head

DATA = Path(__file__).parents[2] / "data" / "merkle"
GOLDEN = json.loads((DATA / "tree_head.json").read_text())
KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(GOLDEN["private_key_seed"]))
PUBLIC = raw_public_key(KEY.public_key())
LEAVES = [
    bytes.fromhex(leaf)
    for leaf in json.loads((DATA / "rfc6962_vectors.json").read_text())["leaves"]
]
BIG = MemoryTree(b"record %d" % i for i in range(13))
T0 = 1_700_000_000_000


def signed_head(tree: MemoryTree, size: int, timestamp: int) -> dict:
    return sign_tree_head(TreeHead(size, tree.root_hash(size), timestamp), KEY).to_json()


def inclusion_document(tree: MemoryTree, leaves: list[bytes], index: int, size: int) -> dict:
    """The document `chatproof proof ENTRY --json` writes."""
    return {
        "leaf_index": index,
        "leaf": base64.b64encode(leaves[index]).decode("ascii"),
        "tree_size": size,
        "root_hash": tree.root_hash(size).hex(),
        "audit_path": [h.hex() for h in tree.inclusion_proof(index, size)],
        "signed_tree_head": signed_head(tree, size, T0 + 60_000),
    }


def consistency_document(tree: MemoryTree, old: int, new: int) -> dict:
    """The document `chatproof consistency OLD NEW --json` writes."""
    return {
        "old": signed_head(tree, old, T0),
        "new": signed_head(tree, new, T0 + 60_000),
        "proof": [h.hex() for h in tree.consistency_proof(old, new)],
    }


def test_the_golden_documents_are_reproduced_and_pass() -> None:
    tree = MemoryTree(LEAVES)
    inclusion = json.loads((DATA / "inclusion_proof.json").read_text())
    consistency = json.loads((DATA / "consistency_proof.json").read_text())
    assert inclusion == inclusion_document(tree, LEAVES, 5, 8)
    assert consistency == consistency_document(tree, 6, 8)
    summary = check_file(str(DATA / "inclusion_proof.json"))
    assert summary.startswith("OK: entry 5 is in the log of 8 entries")
    assert "taken from the file, not pinned" in summary
    summary = check_file(str(DATA / "consistency_proof.json"), PUBLIC)
    assert summary.startswith("OK: the log of 8 entries")
    assert "(pinned)" in summary


def test_every_inclusion_and_consistency_document_passes() -> None:
    leaves = [b"record %d" % i for i in range(13)]
    for size in range(1, 14):
        for index in range(size):
            check_document(inclusion_document(BIG, leaves, index, size), PUBLIC)
    for new in range(14):
        for old in range(new + 1):
            check_document(consistency_document(BIG, old, new), PUBLIC)


def flip_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


def flip_base64(value: str) -> str:
    raw = base64.b64decode(value)
    return base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode("ascii")


def edit(doc: dict, path: str, change: Callable[[object], object]) -> dict:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key = int(last) if isinstance(target, list) else last
    target[key] = change(target[key])
    return doc


INCLUSION = json.loads((DATA / "inclusion_proof.json").read_text())
CONSISTENCY = json.loads((DATA / "consistency_proof.json").read_text())
OTHER_KEY = raw_public_key(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        ("leaf", lambda v: base64.b64encode(b"ABCD").decode(), "leaf 5 and audit_path do not lead"),
        ("leaf", lambda v: "***", "'leaf' is missing or not base64"),
        ("leaf_index", lambda v: 4, "leaf 4 and audit_path do not lead"),
        ("leaf_index", lambda v: 8, "leaf_index 8 is not in a tree of size 8"),
        ("audit_path.1", flip_hex, "audit_path do not lead"),
        ("audit_path.1", lambda v: v[:-2], "'audit_path[1]' is missing or not a 32-byte hash"),
        ("audit_path", lambda v: v[:-1], "audit_path has fewer hashes"),
        ("audit_path", lambda v: [*v, v[0]], "audit_path has more hashes"),
        ("root_hash", flip_hex, "root_hash does not match the signed tree head"),
        ("tree_size", lambda v: 9, "tree_size does not match the signed tree head"),
        ("tree_size", lambda v: -1, "'tree_size' is missing or not an unsigned 64-bit integer"),
        ("signed_tree_head.tree_size", lambda v: 7, "signed_tree_head: signature does not verify"),
        ("signed_tree_head.root_hash", flip_hex, "signed_tree_head: signature does not verify"),
        ("signed_tree_head.timestamp", lambda v: v + 1, "signature does not verify"),
        ("signed_tree_head.signature", flip_base64, "signed_tree_head: signature does not verify"),
        ("signed_tree_head.public_key", flip_base64, "signature does not verify under key"),
        (
            "signed_tree_head.public_key",
            lambda v: base64.b64encode(OTHER_KEY).decode(),
            "signature does not verify",
        ),
        ("signed_tree_head", lambda v: None, "'signed_tree_head' is missing"),
    ],
)
def test_a_tampered_inclusion_document_fails_naming_the_problem(
    path: str, change: Callable[[object], object], message: str
) -> None:
    with pytest.raises(ProofCheckError, match=re.escape(message)):
        check_document(edit(INCLUSION, path, change))


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        ("proof.0", flip_hex, "proof does not lead from the old root to the new root"),
        ("proof", lambda v: v[:-1], "proof has fewer hashes"),
        ("proof", lambda v: [*v, v[0]], "proof has more hashes"),
        ("proof", lambda v: [], "proof is empty"),
        ("old.root_hash", flip_hex, "old: signature does not verify"),
        ("new.tree_size", lambda v: 9, "new: signature does not verify"),
        ("old.signature", flip_base64, "old: signature does not verify"),
        ("new.public_key", flip_base64, "new: signature does not verify"),
    ],
)
def test_a_tampered_consistency_document_fails_naming_the_problem(
    path: str, change: Callable[[object], object], message: str
) -> None:
    with pytest.raises(ProofCheckError, match=message):
        check_document(edit(CONSISTENCY, path, change))


def test_heads_that_do_not_fit_together_fail() -> None:
    tree = MemoryTree(LEAVES)
    resigned = {**CONSISTENCY, "old": signed_head(MemoryTree(LEAVES[::-1]), 6, T0)}
    with pytest.raises(ProofCheckError, match="does not lead from the old root"):
        check_document(resigned)
    backwards = {**CONSISTENCY, "old": CONSISTENCY["new"], "new": CONSISTENCY["old"]}
    with pytest.raises(ProofCheckError, match="went down from 8 to 6"):
        check_document(backwards)
    other = sign_tree_head(TreeHead(8, tree.root_hash(8), T0), Ed25519PrivateKey.generate())
    with pytest.raises(ProofCheckError, match="different public keys"):
        check_document({**CONSISTENCY, "new": other.to_json()})
    same = consistency_document(tree, 8, 8)
    with pytest.raises(ProofCheckError, match="must be empty and roots agree"):
        check_document({**same, "proof": CONSISTENCY["proof"]})


def test_a_pinned_key_must_be_the_signing_key() -> None:
    assert "(pinned)" in check_document(INCLUSION, PUBLIC)
    with pytest.raises(ProofCheckError, match="not the pinned key"):
        check_document(INCLUSION, OTHER_KEY)
    with pytest.raises(ProofCheckError, match="old is signed by public key"):
        check_document(CONSISTENCY, OTHER_KEY)


@pytest.mark.parametrize("doc", [[], {}, {"proof": []}, "text"])
def test_something_else_is_not_a_proof_document(doc: object) -> None:
    with pytest.raises(ProofCheckError, match="not a proof document"):
        check_document(doc)  # type: ignore[arg-type]


def test_unreadable_files_fail(tmp_path: Path) -> None:
    with pytest.raises(ProofCheckError, match="cannot read"):
        check_file(str(tmp_path / "missing.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ProofCheckError, match="cannot read"):
        check_file(str(tmp_path / "broken.json"))


def test_runs_as_a_module_with_exit_codes(tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(edit(INCLUSION, "audit_path.0", flip_hex)))
    key = base64.b64encode(PUBLIC).decode()
    command = [sys.executable, "-m", "chatproof.archive.proofcheck"]
    package_root = str(Path(chatproof.archive.proofcheck.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": package_root}
    good = subprocess.run(
        [*command, str(DATA / "inclusion_proof.json"), "--public-key", key],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK: entry 5 is in the log of 8 entries")
    bad = subprocess.run(
        [*command, str(tampered)], capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.startswith("Error: leaf 5 and audit_path do not lead to the signed root")


def test_imports_nothing_from_chatproof() -> None:
    tree = ast.parse(Path(chatproof.archive.proofcheck.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {
        "__future__",
        "argparse",
        "base64",
        "hashlib",
        "json",
        "sys",
        "datetime",
        "cryptography",
    }
