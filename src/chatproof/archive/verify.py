"""Full verification of the log from its stored leaves (DESIGN invariant 3).

The verifier reads through a narrow, read-only ``LogReader`` and shares nothing with the
writer but ``merkle``'s two hash functions: it re-hashes every leaf, rebuilds every prefix
root, and checks each signed tree head and each witnessed head against them. It names the
first entry that does not match and how: changed, missing, inserted or reordered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chatproof.archive.errors import ArchiveError, SignatureMismatchError
from chatproof.archive.merkle import EMPTY_ROOT, leaf_hash, node_hash
from chatproof.archive.tree_head import SignedTreeHead, verify_tree_head


class LogReader(Protocol):
    def size(self) -> int: ...

    def iter_recorded_leaves(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(index, leaf, recorded leaf hash or None) in index order, as stored."""
        ...

    def heads(self) -> list[SignedTreeHead]: ...


@dataclass(frozen=True)
class WitnessedRoot:
    witness: str
    tree_size: int
    root_hash: bytes


class VerificationError(ArchiveError):
    """The log does not verify. ``index`` names the first entry concerned, when there is one."""

    def __init__(self, problem: str, index: int | None = None) -> None:
        self.problem = problem
        self.index = index
        super().__init__(f"entry {index}: {problem}" if index is not None else problem)


@dataclass
class VerifyReport:
    entries: int = 0
    heads: int = 0
    witnessed: int = 0
    warnings: list[str] = field(default_factory=list)


class _CompactRange:
    """The right edge of the tree: enough to give the root of every prefix while streaming.

    ``stack`` holds the roots of the complete subtrees of the binary decomposition of ``size``,
    largest first; appending leaf number ``size`` merges one of them per trailing 1 bit.
    """

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.size = 0

    def push(self, hashed: bytes) -> None:
        stack, size = self.stack, self.size
        while size & 1:
            hashed = node_hash(stack.pop(), hashed)
            size >>= 1
        stack.append(hashed)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        root = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            root = node_hash(left, root)
        return root


def verify_log(
    reader: LogReader,
    public_key: bytes,
    *,
    witnessed: Sequence[WitnessedRoot] = (),
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Raises VerificationError naming the first problem."""
    size = reader.size()
    heads = reader.heads()
    for sth in heads:
        try:
            verify_tree_head(sth, public_key)
        except SignatureMismatchError as exc:
            raise VerificationError(
                f"signed tree head at size {sth.head.tree_size} does not verify ({exc})"
            ) from None
    checkpoints: dict[int, list[tuple[str, bytes]]] = {}
    for sth in heads:
        checkpoints.setdefault(sth.head.tree_size, []).append(
            ("signed tree head", sth.head.root_hash)
        )
    for w in witnessed:
        checkpoints.setdefault(w.tree_size, []).append((f"head held by {w.witness}", w.root_hash))
    beyond = [n for n in checkpoints if n > size]
    if beyond:
        raise VerificationError(
            f"a head covers {min(beyond)} entries but the log holds {size}: entries are missing",
            size,
        )
    tree = _CompactRange()
    expected = 0
    verified_up_to = 0
    _check_prefix(tree, 0, checkpoints, verified_up_to)
    for index, leaf, recorded in reader.iter_recorded_leaves():
        if index != expected:
            if index > expected:
                raise VerificationError("missing (no stored leaf with this number)", expected)
            raise VerificationError("inserted (a second leaf with this number)", index)
        _check_envelope(index, leaf)
        hashed = leaf_hash(leaf)
        if recorded is not None and recorded != hashed:
            raise VerificationError("changed (leaf does not hash to its recorded hash)", index)
        tree.push(hashed)
        expected += 1
        if expected in checkpoints:
            _check_prefix(tree, expected, checkpoints, verified_up_to)
            verified_up_to = expected
        if progress and expected % 10_000 == 0:
            progress(expected)
    if expected < size:
        raise VerificationError("missing (the log records more entries than are stored)", expected)
    if expected > size:
        raise VerificationError("inserted (stored beyond the log's recorded size)", size)
    if progress:
        progress(expected)
    report = VerifyReport(entries=expected, heads=len(heads), witnessed=len(witnessed))
    if heads and heads[-1].head.tree_size < size:
        report.warnings.append(
            f"{size - heads[-1].head.tree_size} newest entries are not yet covered by a signed head"
        )
    return report


_decode_json = json.JSONDecoder().raw_decode


def _claimed_index(leaf: bytes) -> object:
    """``json.loads(leaf)["index"]``: the same value and the same errors.

    A leaf that starts ``{"`` is one ``json.loads`` would decode as UTF-8 too; decoding it here
    and calling the decoder directly skips ``json.loads``' Python layers, a third of the time
    of the whole check. Anything else, trailing whitespace included, goes through
    ``json.loads``.
    """
    if leaf[:2] == b'{"':
        text = leaf.decode("utf-8", "surrogatepass")
        document, end = _decode_json(text)
        if end == len(text):
            return document["index"]
    return json.loads(leaf)["index"]


def _check_envelope(index: int, leaf: bytes) -> None:
    try:
        claimed = _claimed_index(leaf)
    except (ValueError, KeyError, TypeError):
        raise VerificationError("changed (leaf is not a log envelope)", index) from None
    if claimed != index:
        raise VerificationError(
            f"reordered or inserted (stored as {index}, but the leaf says {claimed})", index
        )


def _check_prefix(
    tree: _CompactRange,
    size: int,
    checkpoints: dict[int, list[tuple[str, bytes]]],
    verified_up_to: int,
) -> None:
    root = tree.root()
    for what, expected_root in checkpoints.get(size, []):
        if expected_root != root:
            raise VerificationError(
                f"{what} at size {size} does not match the stored leaves: an entry between "
                f"{verified_up_to} and {size - 1} was changed and its recorded hash rewritten",
                verified_up_to,
            )
