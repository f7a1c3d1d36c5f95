"""Witnesses: signed tree heads held where the operator cannot rewrite them (DESIGN invariant 3).

Whoever holds the database and the signing key could rebuild a different history and sign it
again; the log alone cannot show that. So each signed head is also handed to a witness outside
the operator's reach, which keeps it (or signs that it saw it), and the verifier later checks
that every head a witness holds is consistent with the log: same size means same root, and a
smaller head must be a prefix of the log by an RFC 9162 consistency proof.

This module is the port and the pure check; the adapters live beside it:
`witness_file.FileWitness` (an append-only file on another mount), `witness_http.HttpWitness`
(a countersigning server, `witness_server` is one) and `witness_tsa.TsaWitness` (an RFC 3161
time-stamping authority). `witness_config.witnesses_from_config` builds them from settings.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from chatproof.archive.errors import ProofError
from chatproof.archive.merkle import EMPTY_ROOT, verify_consistency
from chatproof.archive.tree_head import SignedTreeHead

__all__ = [
    "NO_WITNESS_WARNING",
    "ConsistencyProver",
    "Witness",
    "WitnessFinding",
    "WitnessKind",
    "WitnessReceipt",
    "WitnessedHead",
    "check_witnessed_heads",
    "now_ms",
]

NO_WITNESS_WARNING = (
    "no witness is configured: whoever holds the database and the signing key could rewrite "
    "the archive's history unnoticed; add an [[archive.witness]] (file, http or tsa)"
)

ConsistencyProver = Callable[[int, int], Sequence[bytes]]
"""(old_size, new_size) → the log's RFC 9162 consistency proof between those sizes."""


def now_ms() -> int:
    """The wall clock in milliseconds since the epoch, as tree heads count time."""
    return time.time_ns() // 1_000_000


class WitnessKind(StrEnum):
    FILE = "file"
    HTTP = "http"
    TSA = "tsa"


@dataclass(frozen=True)
class WitnessReceipt:
    """Proof that a witness accepted a head, to be stored next to the head.

    `evidence` is what lets a third party check the receipt later: the JSON line written
    (file), the witness's signed answer (http) or the DER time-stamp token (tsa).
    """

    witness: str
    tree_size: int
    root_hash: bytes
    received_at_ms: int
    evidence: bytes
    kind: WitnessKind


@dataclass(frozen=True)
class WitnessedHead:
    """A head as a witness holds it, to be checked against the log."""

    witness: str
    tree_size: int
    root_hash: bytes
    witnessed_at_ms: int


class Witness(ABC):
    """A place outside the operator's reach that holds signed tree heads.

    Contract:
    - `submit` MUST NOT return before the witness has durably accepted the head; it raises
      instead (`WitnessError` and subclasses), so a head with a receipt is really held.
    - A witness MUST refuse (`WitnessRefusedError`) a head whose tree size is smaller than the
      last one it holds, or whose root differs from a head of the same size it holds.
    - A witness MUST NOT forget or rewrite a head it accepted; `heads` returns every head it
      holds, oldest first (a time-stamping authority holds none: its token is the receipt).
    - `name` MUST identify the witness (its URL or path) in receipts, findings and errors.
    """

    name: str

    @abstractmethod
    async def submit(
        self, sth: SignedTreeHead, consistency: ConsistencyProver | None = None
    ) -> WitnessReceipt:
        """Hand `sth` to the witness and wait until it is durably held.

        `consistency` gives the log's consistency proof between two sizes, for witnesses that
        check a new head against the last one they hold before accepting it.

        Raises:
            WitnessRefusedError: the head contradicts one the witness holds.
            WitnessEvidenceError: the witness's answer does not verify.
            WitnessError: the witness is unreachable or cannot store the head.
        """

    @abstractmethod
    async def heads(self) -> list[WitnessedHead]:
        """Every head the witness holds, oldest first.

        Raises:
            WitnessStorageError: what the witness holds cannot be read; names the line.
            WitnessError: the witness is unreachable.
        """


@dataclass(frozen=True)
class WitnessFinding:
    """A witnessed head that disagrees with the log, and why, in words."""

    witness: str
    tree_size: int
    root_hash: bytes
    reason: str

    @property
    def message(self) -> str:
        return (
            f"witness {self.witness} holds a head of size {self.tree_size} "
            f"(root {self.root_hash.hex()}) that {self.reason}"
        )

    def __str__(self) -> str:
        return self.message


def check_witnessed_heads(
    log_heads: Mapping[int, bytes],
    witnessed: Iterable[WitnessedHead],
    consistency: ConsistencyProver,
) -> list[WitnessFinding]:
    """Which witnessed heads disagree with the log; an empty list when all agree.

    `log_heads` maps tree sizes to the roots the log has (its newest head at the largest
    size; an empty mapping is the empty log). A witnessed head disagrees when it is larger
    than the log (history was cut off), when the log has another root at its size, or when
    the consistency proof from its size to the log's newest head does not verify.
    """
    heads = dict(log_heads) or {0: EMPTY_ROOT}
    findings: list[WitnessFinding] = []
    for head in witnessed:
        reason = _disagreement(head, heads, consistency)
        if reason is not None:
            findings.append(WitnessFinding(head.witness, head.tree_size, head.root_hash, reason))
    return findings


def _disagreement(
    head: WitnessedHead, log_heads: Mapping[int, bytes], consistency: ConsistencyProver
) -> str | None:
    log_size = max(log_heads)
    if head.tree_size > log_size:
        return f"is larger than the log, which has only {log_size} entries"
    known = log_heads.get(head.tree_size)
    if known is not None and known != head.root_hash:
        return f"differs from the log's root {known.hex()} at that size"
    size = head.tree_size
    proof = [] if size in (0, log_size) else consistency(size, log_size)
    try:
        verify_consistency(size, log_size, head.root_hash, log_heads[log_size], proof)
    except ProofError as exc:
        return f"is not a prefix of the log's head of size {log_size}: {exc}"
    return None
