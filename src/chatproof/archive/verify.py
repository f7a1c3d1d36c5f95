"""Full verification of the log from its stored leaves (DESIGN invariant 3).

The verifier reads through a narrow, read-only ``LogReader`` and shares no code with the
writer's tree building: it re-hashes every leaf (RFC 9162 §2.1.1, written out in its loop),
rebuilds every prefix root, and checks each signed tree head and each witnessed head against
them. It names the
first entry that does not match and how: changed, missing, inserted or reordered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chatproof.archive.errors import ArchiveError, SignatureMismatchError
from chatproof.archive.merkle import EMPTY_ROOT, node_hash
from chatproof.archive.tree_head import SignedTreeHead, verify_tree_head


class LogReader(Protocol):
    def size(self) -> int: ...

    def recorded_leaf_batches(self) -> Iterator[Sequence[tuple[int, bytes, bytes]]]:
        """(index, leaf, recorded leaf hash) in index order, as stored, in batches."""
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

    ``stack`` holds the roots of the complete subtrees of the binary decomposition of the
    number of leaves so far, largest first; appending leaf number ``n`` merges one of them per
    trailing 1 bit of ``n`` (done inline by ``verify_log``).
    """

    def __init__(self) -> None:
        self.stack: list[bytes] = []

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
    # The loop is the verifier's whole cost, so RFC 9162's hashes and the compact range's
    # push are written out here rather than called per leaf (docs/performance.md).
    sha256 = hashlib.sha256
    stack = tree.stack
    for rows in reader.recorded_leaf_batches():
        for index, leaf, recorded in rows:
            if index != expected:
                if index > expected:
                    raise VerificationError("missing (no stored leaf with this number)", expected)
                raise VerificationError("inserted (a second leaf with this number)", index)
            if leaf.rfind(b'"index":%d,"kind":"' % index) < 1 or leaf[-1] != 125:
                _check_envelope(index, leaf)
            hashed = sha256(b"\x00" + leaf).digest()
            if recorded != hashed:
                raise VerificationError("changed (leaf does not hash to its recorded hash)", index)
            position = index
            while position & 1:
                hashed = sha256(b"\x01" + stack.pop() + hashed).digest()
                position >>= 1
            stack.append(hashed)
            expected += 1
            if expected in checkpoints:
                _check_prefix(tree, expected, checkpoints, verified_up_to)
                verified_up_to = expected
        if progress:
            progress(expected)
    if expected < size:
        raise VerificationError("missing (the log records more entries than are stored)", expected)
    if expected > size:
        raise VerificationError("inserted (stored beyond the log's recorded size)", size)
    report = VerifyReport(entries=expected, heads=len(heads), witnessed=len(witnessed))
    if heads and heads[-1].head.tree_size < size:
        report.warnings.append(
            f"{size - heads[-1].head.tree_size} newest entries are not yet covered by a signed head"
        )
    return report


def _check_envelope(index: int, leaf: bytes) -> None:
    """The leaf must name its own position.

    ``verify_log`` first looks for it without decoding: canonical JSON sorts the keys, so an
    envelope holds ``"index":N,"kind":"``. Decoding every leaf took a third of a full
    verification; only a leaf that fails the quick look is decoded here, to say what is wrong.
    What a leaf says is bound by its hash to the signed roots either way.
    """
    try:
        claimed = json.loads(leaf)["index"]
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
