"""The template catalogue synced from the platform: what WhatsApp Manager approved, with its
category and parameters, so a template send is checked before it leaves (invariant 6) and
the gate knows each template's category (invariant 5). A sync is a log entry, and so is
submitting a new template for the platform's review (issue 5: who, when, what)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import TemplateProblem, TemplateSpec, from_platform
from chatproof.store import UnitOfWork

SYNC_CLASS = "books_and_records"
REVIEW_FIELD = "message_template_status_update"

Fetch = Callable[[str], Awaitable[list[Mapping[str, Any]]]]
Create = Callable[[str, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]

MAX_BODY = 1024
_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
_VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A new template as the business writes it: a body with ``{{1}}`` … variables and one
    example value for each, which the platform's reviewers read."""

    name: str
    language: str
    category: TemplateCategory
    text: str
    examples: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The request body of ``POST /{waba-id}/message_templates``."""
        body: dict[str, Any] = {"type": "BODY", "text": self.text}
        if self.examples:
            body["example"] = {"body_text": [list(self.examples)]}
        return {
            "name": self.name,
            "language": self.language,
            "category": self.category.value.upper(),
            "components": [body],
        }


def draft(
    name: str, language: str, category: str, text: str, examples: Sequence[str] = ()
) -> TemplateDraft:
    """Check a new template before the platform sees it.

    Raises:
        TemplateProblem: naming the field that is wrong.
    """
    name = name.strip()
    if not _NAME.match(name):
        raise TemplateProblem("name", "1-512 characters: a-z, 0-9 or '_'")
    language = language.strip()
    if not _LANGUAGE.match(language):
        raise TemplateProblem(
            "language", f"{language!r} is not a language code such as de or en_US"
        )
    try:
        kind = TemplateCategory(category.strip().lower())
    except ValueError:
        raise TemplateProblem("category", "must be marketing, utility or authentication") from None
    body = text.strip()
    if not body or len(body) > MAX_BODY:
        raise TemplateProblem("text", f"must be 1-{MAX_BODY} characters")
    numbers = sorted({int(n) for n in _VARIABLE.findall(body)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise TemplateProblem("text", "variables must be numbered {{1}}, {{2}}, … without gaps")
    values = tuple(e.strip() for e in examples if e.strip())
    if len(values) != len(numbers):
        raise TemplateProblem(
            "examples", f"the text has {len(numbers)} variables; give one example for each"
        )
    return TemplateDraft(name, language, kind, _VARIABLE.sub(r"{{\1}}", body), values)


async def submit(create: Create, waba_id: str, template: TemplateDraft) -> Mapping[str, Any]:
    """Send ``template`` to the platform for review; returns its answer (``id``, ``status``).

    Raises:
        CloudApiError: the platform refused it (the message says why) or was not reached.
    """
    return await create(waba_id, template.payload())


def record_submission(
    uow_factory: Callable[[], UnitOfWork],
    template: TemplateDraft,
    answer: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> int:
    """The submission as a log entry: who submitted which text when, and what the platform
    answered. The example values are left out: they only illustrate the variables."""
    with uow_factory() as uow:
        entry = EntryDraft(
            kind="templates.submitted",
            at=now,
            retention_class=SYNC_CLASS,
            start_year=start_year_for(now, uow.personal.sealer.tz),
            attributes={
                "actor": actor,
                "name": template.name,
                "language": template.language,
                "category": template.category.value,
                "text": template.text,
                "platform_id": str(answer.get("id", "")),
                "status": str(answer.get("status", "")),
            },
        )
        (index,) = append(uow.log, [entry], now)
        uow.commit()
    return index


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


def reviews_after(reader: Callable[[], UnitOfWork], position: int | None) -> tuple[int, int]:
    """The newest platform event's id, and how many template reviews (status webhooks) the
    platform reported after ``position``: a reason to sync."""
    with reader() as uow:
        return uow.settings.platform_events_after(position, REVIEW_FIELD)


def load(uow_factory: Callable[[], UnitOfWork]) -> list[TemplateSpec]:
    with uow_factory() as uow:
        return uow.sending.templates()
