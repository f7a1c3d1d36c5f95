"""Range proofs: that a run of consecutive log entries is exactly what a signed tree head
covers at those positions (DESIGN invariant 3), for the auditor's export.

An auditor receives the leaf hashes of entries ``[first, end)`` and, for the rest of the tree,
only the hashes of the complete subtrees that lie wholly outside the range — the *boundary
subtree hashes*. Following RFC 9162 §2.1.1's definition of MTH (split ``n`` leaves at the
largest power of two ``k < n``), every subtree is either inside the range (recomputed from the
leaf hashes), outside it (taken from the proof, left to right), or split further. At most two
subtrees per level are outside, so the proof has O(log n) hashes whatever the range's length.

Pure; the leaf hashes are consumed as a stream, so checking needs O(log n) memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from chatproof.archive import merkle
from chatproof.archive.errors import ProofError, RootMismatchError, TreeRangeError


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _check(first: int, end: int, size: int) -> None:
    if not 0 <= first < end <= size:
        raise TreeRangeError(f"range [{first}, {end}) is not a non-empty part of a tree of {size}")


def range_proof(first: int, end: int, size: int, node: merkle.NodeReader) -> list[bytes]:
    """The boundary subtree hashes that, with the leaf hashes of ``[first, end)``, give the
    root of the tree of ``size`` leaves, in the order ``root_from_range`` consumes them."""
    _check(first, end, size)
    out: list[bytes] = []

    def walk(start: int, stop: int) -> None:
        if stop <= first or start >= end:
            out.append(merkle.subtree_hash(start, stop, node))
        elif not (first <= start and stop <= end):
            k = _split(stop - start)
            walk(start, start + k)
            walk(start + k, stop)

    walk(0, size)
    return out


def root_from_range(
    first: int, end: int, size: int, leaf_hashes: Iterable[bytes], proof: Sequence[bytes]
) -> bytes:
    """The root hash of the tree of ``size`` leaves, from the leaf hashes of ``[first, end)``
    (in order) and ``range_proof``'s boundary hashes.

    Raises:
        ProofError: too few or too many leaf hashes or proof hashes.
    """
    _check(first, end, size)
    leaves = iter(leaf_hashes)
    boundary = iter(proof)

    def walk(start: int, stop: int) -> bytes:
        if stop <= first or start >= end:
            value = next(boundary, None)
            if value is None:
                raise ProofError("the range proof has too few hashes")
            return value
        if first <= start and stop <= end:
            return _mth(leaves, stop - start)
        k = _split(stop - start)
        return merkle.node_hash(walk(start, start + k), walk(start + k, stop))

    root = walk(0, size)
    if next(boundary, None) is not None:
        raise ProofError("the range proof has more hashes than the tree needs")
    if next(leaves, None) is not None:
        raise ProofError(f"more than {end - first} leaf hashes were given for the range")
    return root


def verify_range(
    first: int,
    end: int,
    size: int,
    leaf_hashes: Iterable[bytes],
    proof: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """Raises:
    RootMismatchError: the leaves and the proof give another root than ``root_hash``.
    ProofError: the proof or the leaves have the wrong length.
    """
    calculated = root_from_range(first, end, size, leaf_hashes, proof)
    if calculated != root_hash:
        raise RootMismatchError(root_hash, calculated)


def _mth(leaves: Iterator[bytes], count: int) -> bytes:
    """MTH of the next ``count`` leaf hashes, on a stack of complete subtrees."""
    stack: list[tuple[int, bytes]] = []
    for taken in range(count):
        value = next(leaves, None)
        if value is None:
            raise ProofError(f"the range lacks leaf hashes after {taken} of {count}")
        size = 1
        while stack and stack[-1][0] == size:
            value = merkle.node_hash(stack.pop()[1], value)
            size *= 2
        stack.append((size, value))
    _, root = stack.pop()
    while stack:
        root = merkle.node_hash(stack.pop()[1], root)
    return root
