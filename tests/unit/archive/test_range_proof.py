"""A range proof lets anyone recompute a signed root from the leaf hashes of a run of entries
and O(log n) boundary hashes; the stdlib-only checker shipped with exports agrees with it."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatproof.archive import export_check, merkle
from chatproof.archive.errors import ProofError, RootMismatchError, TreeRangeError
from chatproof.archive.range_proof import range_proof, root_from_range, verify_range


def tree(size: int) -> merkle.MemoryTree:
    return merkle.MemoryTree(f"entry {i}".encode() for i in range(size))


def leaf_hashes(size: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(size)]


def test_every_range_of_small_trees_gives_the_root() -> None:
    for size in range(1, 34):
        memory, hashes = tree(size), leaf_hashes(size)
        for first in range(size):
            for end in range(first + 1, size + 1):
                proof = range_proof(first, end, size, memory.node)
                root = root_from_range(first, end, size, hashes[first:end], proof)
                assert root == memory.root_hash(), (size, first, end)


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_the_proof_stays_logarithmic(case: tuple[int, int]) -> None:
    size, first = case
    proof = range_proof(first, first + 1, size, tree(size).node)
    assert len(proof) <= 2 * size.bit_length()


def test_a_changed_leaf_hash_is_detected() -> None:
    memory, hashes = tree(100), leaf_hashes(100)
    proof = range_proof(10, 60, 100, memory.node)
    changed = list(hashes[10:60])
    changed[7] = hashlib.sha256(b"forged").digest()
    with pytest.raises(RootMismatchError):
        verify_range(10, 60, 100, changed, proof, memory.root_hash())


def test_a_missing_or_extra_leaf_or_proof_hash_is_an_error() -> None:
    memory, hashes = tree(50), leaf_hashes(50)
    proof = range_proof(5, 20, 50, memory.node)
    with pytest.raises(ProofError):
        root_from_range(5, 20, 50, hashes[5:19], proof)
    with pytest.raises(ProofError):
        root_from_range(5, 20, 50, hashes[5:21], proof)
    with pytest.raises(ProofError):
        root_from_range(5, 20, 50, hashes[5:20], proof[:-1])
    with pytest.raises(ProofError):
        root_from_range(5, 20, 50, hashes[5:20], [*proof, proof[0]])


def test_an_empty_or_outside_range_is_refused() -> None:
    with pytest.raises(TreeRangeError):
        range_proof(3, 3, 10, tree(10).node)
    with pytest.raises(TreeRangeError):
        range_proof(5, 11, 10, tree(10).node)


def test_the_shipped_checker_computes_the_same_root() -> None:
    for size, first, end in [(1, 0, 1), (7, 2, 5), (1000, 333, 777), (1024, 0, 1024)]:
        memory, hashes = tree(size), leaf_hashes(size)
        proof = range_proof(first, end, size, memory.node)
        root = export_check.root_from_range(first, end, size, iter(hashes[first:end]), proof)
        assert root == memory.root_hash()
