"""A witness that is an append-only file on another mount (DESIGN invariant 3).

Another disk, an NFS share of another team, a WORM volume: somewhere the operator of the
database cannot quietly rewrite. One JSON line per head, `{"received_at": ms, "sth": {…}}`
with the signed tree head in its `SignedTreeHead.to_json` form. The file refuses a head
smaller than its last one, or with another root at the same size; whether the roots of
different sizes are consistent is the verifier's job, with proofs from the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from chatproof.archive._jsonl import AppendOnlyFile, dump_line, read_lines
from chatproof.archive.errors import (
    TreeHeadFormatError,
    WitnessRefusedError,
    WitnessStorageError,
)
from chatproof.archive.tree_head import SignedTreeHead
from chatproof.archive.witness import (
    ConsistencyProver,
    Witness,
    WitnessedHead,
    WitnessKind,
    WitnessReceipt,
    now_ms,
)

__all__ = ["FileWitness"]

logger = logging.getLogger(__name__)


class FileWitness(Witness):
    """Signed tree heads appended, one JSON line each, to a file on another mount.

    The file's directory must exist; it is never created, so a missing mount is an error and
    not a file on the local disk.
    """

    def __init__(
        self, path: Path | str, *, name: str | None = None, clock: Callable[[], int] = now_ms
    ) -> None:
        self.path = Path(path)
        self.name = name or f"file:{self.path}"
        self._clock = clock

    async def submit(
        self, sth: SignedTreeHead, consistency: ConsistencyProver | None = None
    ) -> WitnessReceipt:
        received_at, line = await asyncio.to_thread(self._append, sth)
        logger.info(
            "witness %s holds tree head size=%d root=%s",
            self.name,
            sth.head.tree_size,
            sth.head.root_hash.hex(),
        )
        return WitnessReceipt(
            witness=self.name,
            tree_size=sth.head.tree_size,
            root_hash=sth.head.root_hash,
            received_at_ms=received_at,
            evidence=line,
            kind=WitnessKind.FILE,
        )

    def _append(self, sth: SignedTreeHead) -> tuple[int, bytes]:
        with AppendOnlyFile(self.path, self.name) as file:
            last_doc = file.last()
            if last_doc is not None:
                last = _record(self.name, None, last_doc)
                if last[1] == sth:
                    return last[0], dump_line(last_doc)
                self._refuse_if_contradicts(last[1], sth)
            received_at = self._clock()
            return received_at, file.append({"received_at": received_at, "sth": sth.to_json()})

    def _refuse_if_contradicts(self, last: SignedTreeHead, sth: SignedTreeHead) -> None:
        size, last_size = sth.head.tree_size, last.head.tree_size
        if size < last_size:
            raise WitnessRefusedError(
                self.name, f"tree size {size} is smaller than the last head it holds ({last_size})"
            )
        if size == last_size and sth.head.root_hash != last.head.root_hash:
            raise WitnessRefusedError(
                self.name,
                f"root {sth.head.root_hash.hex()} at tree size {size} differs from the root "
                f"{last.head.root_hash.hex()} it holds for that size",
            )

    async def heads(self) -> list[WitnessedHead]:
        lines = await asyncio.to_thread(read_lines, self.path, self.name)
        heads = []
        for number, doc in lines:
            received_at, sth = _record(self.name, number, doc)
            heads.append(
                WitnessedHead(self.name, sth.head.tree_size, sth.head.root_hash, received_at)
            )
        return heads


def _record(name: str, line: int | None, doc: Mapping[str, object]) -> tuple[int, SignedTreeHead]:
    received_at = doc.get("received_at")
    if not isinstance(received_at, int) or isinstance(received_at, bool) or received_at < 0:
        raise WitnessStorageError(name, line, "'received_at' is missing or not a time in ms")
    sth = doc.get("sth")
    if not isinstance(sth, Mapping):
        raise WitnessStorageError(name, line, "'sth' is missing or not a JSON object")
    try:
        return received_at, SignedTreeHead.from_json(sth)
    except TreeHeadFormatError as exc:
        raise WitnessStorageError(name, line, f"'sth' is malformed: {exc}") from None
