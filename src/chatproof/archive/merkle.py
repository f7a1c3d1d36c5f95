"""Merkle tree math of the archive log, as RFC 9162 §2.1 defines it (DESIGN invariant 3).

Pure functions: no I/O, no clock, no logging. Hashing is RFC 6962's: a leaf is
SHA-256(0x00 ‖ leaf), an interior node SHA-256(0x01 ‖ left ‖ right), the empty tree SHA-256("").

Storage model: the log keeps the hash of every *complete subtree* — level k, index i covers the
leaves [i·2^k, (i+1)·2^k), level 0 holds the leaf hashes — and the functions here read them back
through a `NodeReader`. A root or a proof for any tree size then costs O(log n) lookups and never
reads the whole log. Appending a leaf completes at most log n new subtrees (one on average), which
`completed_by_append` and `batch_append` return for the caller to store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from chatproof.archive.errors import ProofError, RootMismatchError, TreeRangeError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryTree",
    "NodeReader",
    "batch_append",
    "completed_by_append",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_hash",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

NodeReader = Callable[[int, int], bytes]
"""(level, index) → hash of the complete subtree over leaves [index·2^level, (index+1)·2^level).

It MUST return the hash stored when that subtree was completed; a complete subtree never changes.
"""

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_CHUNK_LEVEL = 12


def leaf_hash(leaf: bytes) -> bytes:
    """MTH({leaf}) = SHA-256(0x00 ‖ leaf)."""
    return _sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """RFC 9162's k: the largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- appending -------------------------------------------------------------------------------


def completed_by_append(
    size: int, leaf_hash: bytes, node: NodeReader
) -> list[tuple[int, int, bytes]]:
    """The complete subtrees (level, index, hash) that appending leaf number `size` creates.

    The first is always (0, size, leaf_hash); each further one pairs the previous with its
    left sibling, read through `node`. One new subtree is created per append on average.
    """
    completed = [(0, size, leaf_hash)]
    index, level, value = size, 0, leaf_hash
    while index & 1:
        value = node_hash(node(level, index - 1), value)
        index >>= 1
        level += 1
        completed.append((level, index, value))
    return completed


def batch_append(
    size: int, leaf_hashes: Iterable[bytes], node: NodeReader
) -> list[tuple[int, int, bytes]]:
    """`completed_by_append` for many leaves, appended from index `size` on.

    Left siblings completed earlier in the same batch are kept in memory, so `node` is read at
    most once per level, only for subtrees that existed before the batch.
    """
    sha256 = _sha256
    completed: list[tuple[int, int, bytes]] = []
    add = completed.append
    # level -> a subtree completed in this batch that still waits for its right sibling
    waiting: dict[int, bytes] = {}
    index = size - 1
    for value in leaf_hashes:
        index += 1
        add((0, index, value))
        position, level = index, 0
        while position & 1:
            left = waiting.pop(level, None)
            if left is None:
                left = node(level, position - 1)
            value = sha256(b"\x01" + left + value).digest()
            position >>= 1
            level += 1
            add((level, position, value))
        waiting[level] = value
    return completed


class Frontier:
    """The right edge of a tree: the complete subtrees a later leaf will pair with, one per
    set bit of the size. Holding it, another process appends leaves and computes every subtree
    they complete (as ``batch_append`` does) without reading the store; it is O(log n) hashes,
    read once and sent along."""

    def __init__(self, size: int, edge: dict[int, bytes]) -> None:
        self.size = size
        self._waiting = dict(edge)

    @classmethod
    def read(cls, size: int, node: NodeReader) -> Frontier:
        edge = {}
        for level in range(size.bit_length()):
            if size >> level & 1:
                edge[level] = node(level, (size >> level) - 1)
        return cls(size, edge)

    def append(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """The complete subtrees (level, index, hash) of two leaves or more that the leaves
        create; the leaves' own hashes are stored with their entries."""
        sha256 = _sha256
        waiting = self._waiting
        completed: list[tuple[int, int, bytes]] = []
        add = completed.append
        index = self.size - 1
        for value in leaf_hashes:
            index += 1
            position, level = index, 0
            while position & 1:
                value = sha256(b"\x01" + waiting.pop(level) + value).digest()
                position >>= 1
                level += 1
                add((level, position, value))
            waiting[level] = value
        self.size = index + 1
        return completed


# --- roots -----------------------------------------------------------------------------------


def subtree_hash(start: int, end: int, node: NodeReader) -> bytes:
    """MTH(D[start:end]) composed from stored complete subtrees.

    Ranges that RFC 9162's recursion produces (start a multiple of the smallest power of two
    ≥ end - start) cost O(log n) lookups; other ranges are correct but slower.

    Raises:
        TreeRangeError: when not 0 ≤ start ≤ end.
    """
    if not 0 <= start <= end:
        raise TreeRangeError(f"invalid leaf range [{start}, {end})")
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if start & ((1 << (n - 1).bit_length()) - 1):
        k = _split(n)
        return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))
    # Aligned: the complete subtrees of n's binary decomposition, hashed from the right.
    result = b""
    level, remaining = 0, n
    while remaining:
        if remaining & 1:
            value = node(level, (start >> level) + remaining - 1)
            result = node_hash(value, result) if result else value
        remaining >>= 1
        level += 1
    return result


def root_hash(size: int, node: NodeReader) -> bytes:
    """MTH of the first `size` leaves: the tree head's root hash (EMPTY_ROOT for 0)."""
    if size < 0:
        raise TreeRangeError(f"invalid tree size {size}")
    return subtree_hash(0, size, node)


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> tuple[int, bytes]:
    """(count, MTH) of a stream of leaf hashes, in O(log n) memory.

    For re-computing the root of a whole log: full blocks of 4096 leaves are reduced level by
    level, the rest leaf by leaf on a stack of complete subtrees.
    """
    sha256 = _sha256
    chunk = 1 << _CHUNK_LEVEL
    stack: list[bytes] = []
    count = 0
    source = iter(hashes)
    while True:
        level = list(islice(source, chunk))
        if len(level) < chunk:
            break
        while len(level) > 1:
            pairs = iter(level)
            level = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(pairs, pairs, strict=True)
            ]
        count += chunk
        value = level[0]
        merges = count >> _CHUNK_LEVEL
        while not merges & 1:
            value = sha256(b"\x01" + stack.pop() + value).digest()
            merges >>= 1
        stack.append(value)
    for value in level:
        count += 1
        merges = count
        while not merges & 1:
            value = sha256(b"\x01" + stack.pop() + value).digest()
            merges >>= 1
        stack.append(value)
    if not stack:
        return 0, EMPTY_ROOT
    root = stack.pop()
    while stack:
        root = node_hash(stack.pop(), root)
    return count, root


# --- proofs ----------------------------------------------------------------------------------


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, the sibling nearest the leaf first.

    Raises:
        TreeRangeError: when not 0 ≤ index < size.
    """
    if not 0 <= index < size:
        raise TreeRangeError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    low, high = 0, size
    while high - low > 1:
        middle = low + _split(high - low)
        if index < middle:
            path.append(subtree_hash(middle, high, node))
            high = middle
        else:
            path.append(subtree_hash(low, middle, node))
            low = middle
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1; empty when old_size is 0 or new_size.

    Raises:
        TreeRangeError: when not 0 ≤ old_size ≤ new_size.
    """
    if not 0 <= old_size <= new_size:
        raise TreeRangeError(f"no consistency proof from tree size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    low, high, m = 0, new_size, old_size
    whole_old_tree = True  # RFC 9162's b: D[low:low+m] is still the entire old tree
    while m != high - low:
        k = _split(high - low)
        if m <= k:
            proof.append(subtree_hash(low + k, high, node))
            high = low + k
        else:
            proof.append(subtree_hash(low, low + k, node))
            low += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        proof.append(subtree_hash(low, high, node))
    proof.reverse()
    return proof


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root an inclusion proof leads to, by RFC 9162 §2.1.3.2.

    Raises:
        ProofError: index outside the tree, a hash of the wrong length, or a proof longer or
            shorter than a tree of this size needs.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "leaf hash")
    fn, sn, result = index, size - 1, leaf_hash
    for position, sibling in enumerate(proof):
        _check_hash(sibling, f"inclusion proof hash {position}")
        if sn == 0:
            raise ProofError(
                f"inclusion proof has {len(proof)} hashes, more than leaf {index} "
                f"of a tree of size {size} needs"
            )
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes, fewer than leaf {index} "
            f"of a tree of size {size} needs"
        )
    return result


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`.

    Raises:
        RootMismatchError: the proof leads to a different root (`.expected` is `root`).
        ProofError: the proof is malformed for this index and size.
    """
    _check_hash(root, "root hash")
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatchError(root, calculated)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (new_size, new_root) extends (old_size, old_root), RFC 9162 §2.1.4.2.

    Equal sizes need an empty proof and equal roots; the empty tree (old_size 0, root
    EMPTY_ROOT) is a prefix of every tree, with an empty proof.

    Raises:
        RootMismatchError: the proof leads to a different old or new root (see `.what`).
        ProofError: the sizes are reversed or the proof is malformed for these sizes.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree size went from {old_size} down to {new_size}")
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    for position, value in enumerate(proof):
        _check_hash(value, f"consistency proof hash {position}")
    if old_size in (0, new_size):
        if proof:
            raise ProofError(
                f"consistency proof from size {old_size} to {new_size} must be empty, "
                f"has {len(proof)} hashes"
            )
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise RootMismatchError(EMPTY_ROOT, old_root, "old root hash of the empty tree")
        if old_size == new_size and old_root != new_root:
            raise RootMismatchError(old_root, new_root, f"root hash at tree size {new_size}")
        return
    if not proof:
        raise ProofError(f"consistency proof from size {old_size} to {new_size} is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for value in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof has {len(proof)} hashes, more than sizes "
                f"{old_size} to {new_size} need"
            )
        if fn & 1 or fn == sn:
            old_result = node_hash(value, old_result)
            new_result = node_hash(value, new_result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            new_result = node_hash(new_result, value)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes, fewer than sizes "
            f"{old_size} to {new_size} need"
        )
    if old_result != old_root:
        raise RootMismatchError(old_root, old_result, "old root hash")
    if new_result != new_root:
        raise RootMismatchError(new_root, new_result, "new root hash")


# --- an in-memory log ------------------------------------------------------------------------


class MemoryTree:
    """A log held in memory with every complete subtree stored: for tests and benchmarks."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaves)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def node(self, level: int, index: int) -> bytes:
        """The `NodeReader` of this tree."""
        return self._levels[level][index]

    def append(self, leaf: bytes) -> int:
        """Append one leaf; returns its index."""
        index = self.size
        self.store(completed_by_append(index, leaf_hash(leaf), self.node))
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        self.extend_hashes(leaf_hash(leaf) for leaf in leaves)

    def extend_hashes(self, leaf_hashes: Iterable[bytes]) -> None:
        self.store(batch_append(self.size, leaf_hashes, self.node))

    def store(self, completed: list[tuple[int, int, bytes]]) -> None:
        levels = self._levels
        for level, _index, value in completed:
            if level == len(levels):
                levels.append([])
            levels[level].append(value)

    def root_hash(self, size: int | None = None) -> bytes:
        return root_hash(self.size if size is None else size, self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.node)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else new_size, self.node)
