"""The Merkle math matches RFC 9162: published vectors, a naive reference, and tampering fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chatproof.archive.errors import ProofError, RootMismatchError, TreeRangeError
from chatproof.archive.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    NodeReader,
    batch_append,
    completed_by_append,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_hash,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.unit.archive import reference_tree as reference

VECTORS = json.loads(
    (Path(__file__).parents[2] / "data" / "merkle" / "rfc6962_vectors.json").read_text()
)
RFC_LEAVES = [bytes.fromhex(leaf) for leaf in VECTORS["leaves"]]
RFC_ROOTS = {v["tree_size"]: bytes.fromhex(v["root_hash"]) for v in VECTORS["roots"]}
RFC_TREE = MemoryTree(RFC_LEAVES)

# Distinct leaves: with repeated leaves a proof may legitimately verify at another index.
MAX_SIZE = 600
LEAVES = [b"entry %d" % i for i in range(MAX_SIZE)]
TREE = MemoryTree(LEAVES)
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def hexes(values: list[bytes]) -> list[str]:
    return [value.hex() for value in values]


def counting(node: NodeReader) -> tuple[NodeReader, list[tuple[int, int]]]:
    reads: list[tuple[int, int]] = []

    def reader(level: int, index: int) -> bytes:
        reads.append((level, index))
        return node(level, index)

    return reader, reads


# --- published vectors -------------------------------------------------------------------


def test_hashes_are_domain_separated_sha256() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert leaf_hash(b"") == RFC_ROOTS[1]
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")) == RFC_ROOTS[2]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_published_vectors(size: int) -> None:
    expected = RFC_ROOTS.get(size, EMPTY_ROOT)
    assert RFC_TREE.root_hash(size) == expected
    assert reference.mth(RFC_LEAVES[:size]) == expected
    assert root_from_leaf_hashes(leaf_hash(leaf) for leaf in RFC_LEAVES[:size]) == (size, expected)


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"{v['leaf_index']}-of-{v['tree_size']}"
)
def test_inclusion_proofs_match_the_published_vectors(vector: dict) -> None:
    index, size, path = vector["leaf_index"], vector["tree_size"], vector["audit_path"]
    assert hexes(RFC_TREE.inclusion_proof(index, size)) == path
    assert hexes(reference.path(index, RFC_LEAVES[:size])) == path
    proof = [bytes.fromhex(h) for h in path]
    verify_inclusion(index, size, leaf_hash(RFC_LEAVES[index]), proof, RFC_ROOTS[size])


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"], ids=lambda v: f"{v['old_size']}-to-{v['new_size']}"
)
def test_consistency_proofs_match_the_published_vectors(vector: dict) -> None:
    old, new, path = vector["old_size"], vector["new_size"], vector["proof"]
    assert hexes(RFC_TREE.consistency_proof(old, new)) == path
    assert hexes(reference.proof(old, RFC_LEAVES[:new])) == path
    verify_consistency(old, new, RFC_ROOTS[old], RFC_ROOTS[new], [bytes.fromhex(h) for h in path])


def corrupted_inclusion(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> dict:
    """Probes in the spirit of transparency-dev/merkle's corruptInclusionProof."""
    probes = {
        "index - 1": (index - 1, size, leaf, proof, root),
        "index + 1": (index + 1, size, leaf, proof, root),
        "index ^ 2": (index ^ 2, size, leaf, proof, root),
        "size * 2": (index, size * 2, leaf, proof, root),
        "size // 2": (index, size // 2, leaf, proof, root),
        "wrong leaf": (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        "empty root": (index, size, leaf, proof, EMPTY_ROOT),
        "random root": (index, size, leaf, proof, SOME_HASH),
        "trailing root": (index, size, leaf, [*proof, root], root),
        "preceding root": (index, size, leaf, [root, *proof], root),
        "trailing garbage": (index, size, leaf, [*proof, b""], root),
    }
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes[f"proof[{i}] bit 3"] = (index, size, leaf, flipped, root)
    if proof:
        probes["removed component"] = (index, size, leaf, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted component"] = (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


@pytest.mark.parametrize(
    "vector", VECTORS["inclusion"], ids=lambda v: f"{v['leaf_index']}-of-{v['tree_size']}"
)
def test_corrupted_published_inclusion_proofs_fail(vector: dict) -> None:
    index, size = vector["leaf_index"], vector["tree_size"]
    proof = [bytes.fromhex(h) for h in vector["audit_path"]]
    probes = corrupted_inclusion(index, size, leaf_hash(RFC_LEAVES[index]), proof, RFC_ROOTS[size])
    verified = []
    for name, args in probes.items():
        try:
            verify_inclusion(*args)
        except ProofError:
            continue
        verified.append(name)
    assert verified == []


@pytest.mark.parametrize(
    "vector", VECTORS["consistency"][1:], ids=lambda v: f"{v['old_size']}-to-{v['new_size']}"
)
def test_corrupted_published_consistency_proofs_fail(vector: dict) -> None:
    old, new = vector["old_size"], vector["new_size"]
    proof = [bytes.fromhex(h) for h in vector["proof"]]
    old_root, new_root = RFC_ROOTS[old], RFC_ROOTS[new]
    probes = {
        "old - 1": (old - 1, new, old_root, new_root, proof),
        "old + 1": (old + 1, new, old_root, new_root, proof),
        "old ^ 2": (old ^ 2, new, old_root, new_root, proof),
        "new * 2": (old, new * 2, old_root, new_root, proof),
        "new // 2": (old, new // 2, old_root, new_root, proof),
        "swapped roots": (old, new, new_root, old_root, proof),
        "wrong old root": (old, new, SOME_HASH, new_root, proof),
        "wrong new root": (old, new, old_root, SOME_HASH, proof),
        "empty proof": (old, new, old_root, new_root, []),
        "truncated": (old, new, old_root, new_root, proof[:-1]),
        "trailing old root": (old, new, old_root, new_root, [*proof, old_root]),
        "preceding new root": (old, new, old_root, new_root, [new_root, *proof]),
        "preceding proof[0]": (old, new, old_root, new_root, [proof[0], *proof]),
    }
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes[f"proof[{i}] bit 4"] = (old, new, old_root, new_root, flipped)
    verified = []
    for name, args in probes.items():
        try:
            verify_consistency(*args)
        except ProofError:
            continue
        verified.append(name)
    assert verified == []


# --- against the naive reference ---------------------------------------------------------


def test_every_proof_of_small_trees_matches_the_reference() -> None:
    for size in range(41):
        leaves = LEAVES[:size]
        root = TREE.root_hash(size)
        assert root == reference.mth(leaves)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == reference.path(index, leaves)
            verify_inclusion(index, size, leaf_hash(leaves[index]), proof, root)
        for old in range(size + 1):
            proof = TREE.consistency_proof(old, size)
            assert proof == (reference.proof(old, leaves) if old else [])
            verify_consistency(old, size, TREE.root_hash(old), root, proof)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(1, new)), new


@given(index_and_size())
def test_inclusion_proofs_match_the_reference_and_verify(case: tuple[int, int]) -> None:
    index, size = case
    root = TREE.root_hash(size)
    assert root == reference.mth(LEAVES[:size])
    proof = TREE.inclusion_proof(index, size)
    assert proof == reference.path(index, LEAVES[:size])
    verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, root)


@given(two_sizes())
def test_consistency_proofs_match_the_reference_and_verify(case: tuple[int, int]) -> None:
    old, new = case
    proof = TREE.consistency_proof(old, new)
    assert proof == reference.proof(old, LEAVES[:new])
    verify_consistency(old, new, TREE.root_hash(old), TREE.root_hash(new), proof)


@given(st.integers(0, MAX_SIZE), st.integers(0, MAX_SIZE))
def test_subtree_hash_of_any_range_is_its_mth(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    assert subtree_hash(start, end, TREE.node) == reference.mth(LEAVES[start:end])


def flip(value: bytes, position: int, delta: int) -> bytes:
    position %= len(value)
    return value[:position] + bytes([value[position] ^ delta]) + value[position + 1 :]


@given(index_and_size(), st.integers(0, 10**6), st.integers(1, 255))
def test_a_changed_leaf_fails_inclusion(case: tuple[int, int], at: int, delta: int) -> None:
    index, size = case
    proof = TREE.inclusion_proof(index, size)
    changed = leaf_hash(flip(LEAVES[index], at, delta))
    with pytest.raises(RootMismatchError) as failure:
        verify_inclusion(index, size, changed, proof, TREE.root_hash(size))
    assert failure.value.expected == TREE.root_hash(size)
    assert failure.value.calculated != failure.value.expected


@given(index_and_size(), st.integers(0, 10**6), st.integers(0, 31), st.integers(1, 255))
def test_a_changed_proof_hash_fails_inclusion(
    case: tuple[int, int], which: int, at: int, delta: int
) -> None:
    index, size = case
    proof = TREE.inclusion_proof(index, size)
    assume(proof)
    which %= len(proof)
    proof[which] = flip(proof[which], at, delta)
    with pytest.raises(RootMismatchError):
        verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, TREE.root_hash(size))


@given(index_and_size(), st.integers(0, 31), st.integers(1, 255))
def test_a_changed_root_fails_inclusion(case: tuple[int, int], at: int, delta: int) -> None:
    index, size = case
    root = flip(TREE.root_hash(size), at, delta)
    with pytest.raises(RootMismatchError):
        verify_inclusion(
            index, size, leaf_hash(LEAVES[index]), TREE.inclusion_proof(index, size), root
        )


@given(index_and_size(), st.integers(0, MAX_SIZE))
def test_another_index_fails_inclusion(case: tuple[int, int], other: int) -> None:
    index, size = case
    other %= size
    assume(other != index)
    proof = TREE.inclusion_proof(index, size)
    with pytest.raises(ProofError):
        verify_inclusion(other, size, leaf_hash(LEAVES[index]), proof, TREE.root_hash(size))


@given(index_and_size(), st.integers(1, MAX_SIZE))
def test_another_signed_size_fails_inclusion(case: tuple[int, int], other: int) -> None:
    # A proof carries no size: it must not verify against the real head of another size.
    index, size = case
    assume(other != size)
    proof = TREE.inclusion_proof(index, size)
    with pytest.raises(ProofError):
        verify_inclusion(index, other, leaf_hash(LEAVES[index]), proof, TREE.root_hash(other))


@given(two_sizes(), st.integers(0, 10**6), st.integers(0, 31), st.integers(1, 255))
def test_a_changed_proof_hash_fails_consistency(
    case: tuple[int, int], which: int, at: int, delta: int
) -> None:
    old, new = case
    proof = TREE.consistency_proof(old, new)
    assume(proof)
    which %= len(proof)
    proof[which] = flip(proof[which], at, delta)
    with pytest.raises(RootMismatchError):
        verify_consistency(old, new, TREE.root_hash(old), TREE.root_hash(new), proof)


@given(two_sizes(), st.booleans(), st.integers(0, 31), st.integers(1, 255))
def test_a_changed_root_fails_consistency(
    case: tuple[int, int], change_old: bool, at: int, delta: int
) -> None:
    old, new = case
    old_root, new_root = TREE.root_hash(old), TREE.root_hash(new)
    if change_old:
        old_root = flip(old_root, at, delta)
    else:
        new_root = flip(new_root, at, delta)
    with pytest.raises(RootMismatchError):
        verify_consistency(old, new, old_root, new_root, TREE.consistency_proof(old, new))


@given(two_sizes(), st.integers(1, MAX_SIZE), st.booleans())
def test_other_signed_sizes_fail_consistency(
    case: tuple[int, int], other: int, change_old: bool
) -> None:
    old, new = case
    proof = TREE.consistency_proof(old, new)
    if change_old:
        assume(other != old and other <= new)
        old = other
    else:
        assume(other != new and other >= old)
        new = other
    with pytest.raises(ProofError):
        verify_consistency(old, new, TREE.root_hash(old), TREE.root_hash(new), proof)


# --- appending ---------------------------------------------------------------------------


@given(st.integers(0, 300), st.integers(0, 300))
def test_batch_append_equals_repeated_completed_by_append(before: int, count: int) -> None:
    one_by_one = MemoryTree(LEAVES[:before])
    expected = []
    for leaf in LEAVES[before : before + count]:
        completed = completed_by_append(one_by_one.size, leaf_hash(leaf), one_by_one.node)
        one_by_one.store(completed)
        expected += completed
    batched = MemoryTree(LEAVES[:before])
    reader, reads = counting(batched.node)
    hashes = [leaf_hash(leaf) for leaf in LEAVES[before : before + count]]
    assert batch_append(before, hashes, reader) == expected
    # Only subtrees that existed before the batch are read, each at most once.
    assert len(reads) == len(set(reads))
    assert all((index + 1) << level <= before for level, index in reads)


@given(st.integers(0, 300), st.integers(0, 150), st.integers(0, 150))
def test_a_frontier_appends_the_inner_nodes_batch_append_does_without_reading_the_store_again(
    before: int, first: int, second: int
) -> None:
    tree = MemoryTree(LEAVES[:before])
    hashes = [leaf_hash(leaf) for leaf in LEAVES[before : before + first + second]]
    expected = [node for node in batch_append(before, hashes, tree.node) if node[0]]
    reader, reads = counting(tree.node)
    frontier = Frontier.read(before, reader)
    # One read per set bit of the size, then none.
    assert len(reads) == before.bit_count()
    assert frontier.append(hashes[:first]) + frontier.append(hashes[first:]) == expected
    assert len(reads) == before.bit_count()
    assert frontier.size == before + first + second


def test_completed_by_append_reads_one_node_per_append_on_average() -> None:
    tree = MemoryTree()
    reader, reads = counting(tree.node)
    for leaf in LEAVES:
        completed = completed_by_append(tree.size, leaf_hash(leaf), reader)
        assert completed[0] == (0, tree.size, leaf_hash(leaf))
        tree.store(completed)
    # Leaf n reads as many nodes as n + 1 has trailing zero bits: size - popcount(size) in all.
    assert len(reads) == MAX_SIZE - bin(MAX_SIZE).count("1")
    assert tree.root_hash() == TREE.root_hash()


def test_appending_one_by_one_or_in_batches_gives_the_same_tree() -> None:
    tree = MemoryTree()
    for leaf in LEAVES[:100]:
        tree.append(leaf)
    tree.extend(LEAVES[100:350])
    tree.extend_hashes(leaf_hash(leaf) for leaf in LEAVES[350:])
    assert tree.size == MAX_SIZE
    assert tree.root_hash() == TREE.root_hash() == reference.mth(LEAVES)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4095, 4096, 4097, 8192, 3 * 4096 + 5])
def test_root_from_leaf_hashes_streams_any_size(size: int) -> None:
    tree = MemoryTree(b"%d" % i for i in range(size))
    hashes = (tree.node(0, i) for i in range(size))
    assert root_from_leaf_hashes(hashes) == (size, tree.root_hash())


def test_root_hash_reads_only_the_right_edge() -> None:
    reader, reads = counting(TREE.node)
    assert root_hash(0b1001011000, reader) == TREE.root_hash(0b1001011000)
    assert reads == [(3, 74), (4, 36), (6, 8), (9, 0)]


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: inclusion_proof(5, 5, TREE.node),
        lambda: inclusion_proof(-1, 5, TREE.node),
        lambda: inclusion_proof(0, 0, TREE.node),
        lambda: consistency_proof(6, 5, TREE.node),
        lambda: consistency_proof(-1, 5, TREE.node),
        lambda: root_hash(-1, TREE.node),
        lambda: subtree_hash(4, 3, TREE.node),
    ],
)
def test_proofs_outside_the_tree_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(TreeRangeError):
        call()


def test_root_mismatch_carries_both_sides() -> None:
    proof = TREE.inclusion_proof(3, 10)
    with pytest.raises(RootMismatchError) as failure:
        verify_inclusion(3, 10, leaf_hash(LEAVES[3]), proof, TREE.root_hash(11))
    assert failure.value.expected == TREE.root_hash(11)
    assert failure.value.calculated == TREE.root_hash(10)
    assert TREE.root_hash(11).hex() in str(failure.value)


def test_proof_length_errors_say_which_way() -> None:
    proof = TREE.inclusion_proof(3, 10)
    with pytest.raises(ProofError, match="more than"):
        verify_inclusion(3, 10, leaf_hash(LEAVES[3]), [*proof, SOME_HASH], TREE.root_hash(10))
    with pytest.raises(ProofError, match="fewer than"):
        verify_inclusion(3, 10, leaf_hash(LEAVES[3]), proof[:-1], TREE.root_hash(10))
    with pytest.raises(ProofError, match="hash 1 is 31 bytes"):
        verify_inclusion(3, 10, leaf_hash(LEAVES[3]), [proof[0], proof[1][:31]], TREE.root_hash(10))
    with pytest.raises(ProofError, match="not in a tree"):
        root_from_inclusion_proof(10, 10, leaf_hash(LEAVES[3]), proof)


def test_consistency_edge_cases() -> None:
    root5 = TREE.root_hash(5)
    verify_consistency(0, 5, EMPTY_ROOT, root5, [])
    verify_consistency(5, 5, root5, root5, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(RootMismatchError, match="empty tree"):
        verify_consistency(0, 5, SOME_HASH, root5, [])
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 5, root5, SOME_HASH, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(5, 5, root5, root5, [root5])
    with pytest.raises(ProofError, match="down"):
        verify_consistency(6, 5, TREE.root_hash(6), root5, [])
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(4, 5, TREE.root_hash(4), root5, [])
