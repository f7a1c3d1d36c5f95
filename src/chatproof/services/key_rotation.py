"""Master key rotation (DESIGN invariant 4): a new master key version becomes current and every
bucket key is re-wrapped under it, batch by batch, each batch its own transaction. No sealed
byte and no leaf changes.

Crash-safe by construction: the key files are switched atomically before anything is
re-wrapped (``archive.master_keys``), the old version stays on disk until nothing is wrapped
under it, and a run that finds bucket keys under an older version resumes instead of starting
another rotation. The log entry recording the rotation is written in the transaction of the
last batch, so a finished rotation is always recorded. It names versions and counts only, never
key material.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from chatproof.archive.errors import MasterKeyError
from chatproof.archive.keystore import DEFAULT_ROTATION_BATCH, KeyStore
from chatproof.archive.log import EntryDraft, append
from chatproof.archive.master_keys import (
    begin_rotation,
    load_master_keys,
    old_version_path,
    retire,
)
from chatproof.archive.retention import start_year_for
from chatproof.services.retention import COMPLIANCE_CLASS
from chatproof.store import UnitOfWork

ENTRY_KIND = "keys.master_rotated"


@dataclass(frozen=True)
class RotationReport:
    from_versions: list[int]
    to_version: int
    resumed: bool
    rewrapped: int
    skipped: int
    entry: int
    removed: list[Path]
    """Old key files removed (with ``remove_old``)."""
    still_needed: list[int]
    """Older versions that bucket keys are still wrapped under (none after a finished run)."""


def rotate_master_key(
    uow_factory: Callable[[], UnitOfWork],
    keys_dir: Path,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
    remove_old: bool = False,
    batch_size: int = DEFAULT_ROTATION_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Rotate to a new master key version, or finish an interrupted rotation.

    The server MUST be stopped meanwhile: it holds the master key it started with and would
    neither open bucket keys re-wrapped under the new one nor stop wrapping under the old one.

    Raises:
        ArchiveError: a key file is missing, malformed or cannot be written.
        MasterKeyError: a bucket key is wrapped under a version whose file is gone.
    """
    keys = load_master_keys(keys_dir)
    with uow_factory() as uow:
        in_use = uow.keys.master_versions_in_use()
    resumed = any(version != keys.version for version in in_use)
    if not resumed:
        keys = begin_rotation(keys_dir)
        with uow_factory() as uow:
            in_use = uow.keys.master_versions_in_use()
    missing = sorted(set(in_use) - set(keys.versions))
    if missing:
        path = old_version_path(keys_dir, missing[0])
        raise MasterKeyError(
            f"{in_use[missing[0]]} bucket keys are wrapped under master key version "
            f"{missing[0]}, but {path} is missing; put it back from where you keep the key"
        )
    from_versions = sorted(v for v in in_use if v != keys.version) or [keys.version - 1]
    total = sum(n for v, n in in_use.items() if v != keys.version)
    rewrapped = skipped = 0
    entry: int | None = None
    while entry is None:
        with uow_factory() as uow:
            store = KeyStore(
                uow.keys, keys.current, master_version=keys.version, older_master_keys=keys.older
            )
            done = store.rotate_master(
                keys.current, keys.version, batch_size=batch_size, limit=batch_size
            )
            rewrapped, skipped = rewrapped + done.rewrapped, skipped + done.skipped
            if not uow.keys.bucket_keys_to_rewrap(keys.version, 1):
                draft = EntryDraft(
                    kind=ENTRY_KIND,
                    at=now,
                    retention_class=COMPLIANCE_CLASS,
                    start_year=start_year_for(now, tz),
                    attributes={
                        "from_versions": from_versions,
                        "to_version": keys.version,
                        "rewrapped": rewrapped,
                        "resumed": resumed,
                        "by": by,
                    },
                )
                (entry,) = append(uow.log, [draft], now)
            uow.commit()
        if progress:
            progress(rewrapped + skipped, max(total, rewrapped + skipped))
    with uow_factory() as uow:
        in_use = uow.keys.master_versions_in_use()
    removed = retire(keys_dir, set(in_use)) if remove_old else []
    return RotationReport(
        from_versions=from_versions,
        to_version=keys.version,
        resumed=resumed,
        rewrapped=rewrapped,
        skipped=skipped,
        entry=entry,
        removed=removed,
        still_needed=sorted(v for v in in_use if v != keys.version),
    )
