"""The admin's view of quarantined webhook bodies (DESIGN invariant 6): listed with reason and
field path, and marked resolved once dealt with; the body itself is never deleted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatproof.store import QuarantinedBody, UnitOfWork


def list_quarantine(
    uow_factory: Callable[[], UnitOfWork], *, include_resolved: bool = False, limit: int = 100
) -> list[QuarantinedBody]:
    with uow_factory() as uow:
        return uow.quarantine.list(include_resolved=include_resolved, limit=limit)


def resolve(
    uow_factory: Callable[[], UnitOfWork], quarantine_id: int, by: str, now: datetime
) -> None:
    """Raises NotFound when there is no unresolved entry with that id."""
    with uow_factory() as uow:
        uow.quarantine.resolve(quarantine_id, by, now)
        uow.commit()
