"""The template catalogue synced from the platform: what WhatsApp Manager approved, with its
category and parameters, so a template send is checked before it leaves (invariant 6) and
the gate knows each template's category (invariant 5). A sync is a log entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.templates import TemplateProblem, TemplateSpec, from_platform
from chatproof.store import UnitOfWork

SYNC_CLASS = "books_and_records"

Fetch = Callable[[str], Awaitable[list[Mapping[str, Any]]]]


@dataclass(frozen=True, slots=True)
class SyncReport:
    templates: list[TemplateSpec]
    skipped: list[str]
    """Listed templates chatproof could not read, with the reason."""


async def fetch(list_templates: Fetch, waba_id: str) -> SyncReport:
    """Ask the platform for the account's templates.

    Raises:
        CloudApiError: the platform refused or could not be reached.
    """
    found, skipped = [], []
    for item in await list_templates(waba_id):
        try:
            found.append(from_platform(item))
        except TemplateProblem as exc:
            skipped.append(f"{item.get('name', '?')}: {exc}")
    return SyncReport(found, skipped)


def store(
    uow_factory: Callable[[], UnitOfWork], report: SyncReport, actor: str, now: datetime
) -> None:
    """Replace the synced catalogue and record the sync in the archive."""
    with uow_factory() as uow:
        uow.sending.replace_templates(report.templates, now)
        entry = EntryDraft(
            kind="templates.synced",
            at=now,
            retention_class=SYNC_CLASS,
            start_year=start_year_for(now, uow.personal.sealer.tz),
            attributes={
                "actor": actor,
                "templates": [
                    f"{t.name}/{t.language}/{t.category.value}/"
                    f"{'approved' if t.approved else 'not approved'}"
                    for t in report.templates
                ],
                "skipped": len(report.skipped),
            },
        )
        append(uow.log, [entry], now)
        uow.commit()


def load(uow_factory: Callable[[], UnitOfWork]) -> list[TemplateSpec]:
    with uow_factory() as uow:
        return uow.sending.templates()
