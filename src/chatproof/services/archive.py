"""Archive use cases: sign tree heads, answer inclusion and consistency proofs as JSON a third
party can check with nothing but the public key, and verify the whole log (invariant 3)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chatproof.archive import merkle
from chatproof.archive.errors import ArchiveError
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.archive.tree_head import SignedTreeHead, TreeHead, raw_public_key, sign_tree_head
from chatproof.archive.verify import VerifyReport, WitnessedRoot, verify_log
from chatproof.archive.witness import Witness
from chatproof.store import UnitOfWork

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadPolicy:
    every_entries: int = 1000
    every_seconds: float = 60.0

    def due(self, size: int, latest: SignedTreeHead | None, now_ms: int) -> bool:
        if latest is None:
            return size > 0
        if size <= latest.head.tree_size:
            return False
        return (
            size - latest.head.tree_size >= self.every_entries
            or now_ms - latest.head.timestamp_ms >= self.every_seconds * 1000
        )


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def head_due(uow_factory: Callable[[], UnitOfWork], policy: HeadPolicy, now: datetime) -> bool:
    """Whether a new head is due, asked without taking the writer's lock."""
    with uow_factory() as uow:
        return policy.due(uow.log.size(), uow.log.latest_head(), _ms(now))


def sign_head(
    uow_factory: Callable[[], UnitOfWork],
    key: Ed25519PrivateKey,
    now: datetime,
    *,
    policy: HeadPolicy | None = None,
) -> SignedTreeHead | None:
    """Sign a head over the whole log: always without ``policy``, else only when due.
    Returns None when nothing was signed."""
    with uow_factory() as uow:
        size = uow.log.lock_size()
        latest = uow.log.latest_head()
        if latest is not None and latest.head.tree_size == size:
            return None
        if policy is not None and not policy.due(size, latest, _ms(now)):
            return None
        timestamp = max(_ms(now), latest.head.timestamp_ms + 1 if latest else 0)
        sth = sign_tree_head(TreeHead(size, merkle.root_hash(size, uow.log.node), timestamp), key)
        if latest is not None:
            proof = merkle.consistency_proof(latest.head.tree_size, size, uow.log.node)
            merkle.verify_consistency(
                latest.head.tree_size, size, latest.head.root_hash, sth.head.root_hash, proof
            )
        uow.log.add_head(sth)
        uow.commit()
    return sth


async def publish_head(
    uow_factory: Callable[[], UnitOfWork], sth: SignedTreeHead, witnesses: Sequence[Witness]
) -> list[str]:
    """Hand a new head to every witness and keep their receipts; return one line per
    witness that refused or could not be reached (the head stays signed either way)."""

    def consistency(old_size: int, new_size: int) -> list[bytes]:
        with uow_factory() as uow:
            return merkle.consistency_proof(old_size, new_size, uow.log.node)

    problems: list[str] = []
    for witness in witnesses:
        try:
            receipt = await witness.submit(sth, consistency)
        except (ArchiveError, OSError) as exc:
            logger.warning(
                "witness %s did not take head %d: %s", witness.name, sth.head.tree_size, exc
            )
            problems.append(f"{witness.name}: {exc}")
            continue
        with uow_factory() as uow:
            uow.log.add_receipt(receipt)
            uow.commit()
    return problems


async def witnessed_roots(
    uow_factory: Callable[[], UnitOfWork], witnesses: Sequence[Witness]
) -> list[WitnessedRoot]:
    """Every head a witness holds (asked now) or gave a receipt for (kept), to check
    against the log. Raises ArchiveError when a witness cannot be read."""
    with uow_factory() as uow:
        found = list(uow.log.receipts())
    for witness in witnesses:
        for held in await witness.heads():
            found.append(WitnessedRoot(held.witness, held.tree_size, held.root_hash))
    return found


def resolve_entry(
    uow_factory: Callable[[], UnitOfWork], entry: str, pseudonyms: Pseudonymizer
) -> int:
    """An entry number, or the first entry about a ``wamid``.

    Raises:
        ArchiveError: no such entry.
    """
    with uow_factory() as uow:
        if entry.isdigit():
            index = int(entry)
            if index >= uow.log.size():
                raise ArchiveError(f"entry {index} does not exist (log size {uow.log.size()})")
            return index
        found = uow.log.first_by_platform_id(pseudonyms.hash("wamid", entry))
    if found is None:
        raise ArchiveError("no log entry for that message id")
    return found


def inclusion_document(
    uow_factory: Callable[[], UnitOfWork], index: int, key: Ed25519PrivateKey, now: datetime
) -> dict[str, Any]:
    """The proof that entry ``index`` is in the log, against the latest signed head (one is
    signed first if none covers the entry yet)."""
    with uow_factory() as uow:
        latest = uow.log.latest_head()
    if latest is None or latest.head.tree_size <= index:
        latest = sign_head(uow_factory, key, now) or latest
    assert latest is not None
    with uow_factory() as uow:
        entry = uow.log.entry(index)
        if entry is None:
            raise ArchiveError(f"entry {index} does not exist")
        size = latest.head.tree_size
        path = merkle.inclusion_proof(index, size, uow.log.node)
    return {
        "leaf_index": index,
        "leaf": base64.b64encode(entry.leaf).decode("ascii"),
        "tree_size": size,
        "root_hash": latest.head.root_hash.hex(),
        "audit_path": [h.hex() for h in path],
        "signed_tree_head": latest.to_json(),
    }


def consistency_document(
    uow_factory: Callable[[], UnitOfWork], old_size: int, new_size: int
) -> dict[str, Any]:
    """Both signed heads and the RFC 9162 consistency proof between them.

    Raises:
        ArchiveError: no signed head of one of the sizes, or ``old_size > new_size``.
    """
    if old_size > new_size:
        raise ArchiveError(f"OLD_SIZE {old_size} is larger than NEW_SIZE {new_size}")
    with uow_factory() as uow:
        heads = {h.head.tree_size: h for h in uow.log.heads()}
        for size in (old_size, new_size):
            if size not in heads:
                known = ", ".join(str(s) for s in sorted(heads)[-10:]) or "none"
                raise ArchiveError(f"no signed tree head of size {size} (latest: {known})")
        proof = merkle.consistency_proof(old_size, new_size, uow.log.node)
    return {
        "old": heads[old_size].to_json(),
        "new": heads[new_size].to_json(),
        "proof": [h.hex() for h in proof],
    }


def verify(
    uow_factory: Callable[[], UnitOfWork],
    key: Ed25519PrivateKey,
    *,
    witnessed: list[WitnessedRoot] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Raises VerificationError naming the first entry that does not match."""
    public = raw_public_key(key.public_key())
    with uow_factory() as uow:
        total = uow.log.size()
        return verify_log(
            uow.log,
            public,
            witnessed=witnessed or (),
            progress=(lambda done: progress(done, total)) if progress else None,
        )
