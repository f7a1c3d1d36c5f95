"""Data-subject requests (GDPR Art. 15-21) and their deadlines (Art. 12(3)).

A request must be answered within one month of receipt; the controller may extend that by two
further months when the request is complex or requests are many, but must say why. This
module computes deadlines and how urgent an open request is, and refuses a request or an
extension that could not be defended later (no identity check, no reason). Pure: every date is
passed in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from chatproof.domain.errors import DomainError

DEADLINE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2
DEFAULT_DUE_SOON_DAYS = 7
MAX_TEXT = 500


class DsrError(DomainError):
    """A request, an extension or a closing was not acceptable; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class RequestKind(StrEnum):
    ACCESS = "access"
    """Art. 15: a copy of everything held, with the processing facts."""
    PORTABILITY = "portability"
    """Art. 20: the data the person provided, machine-readable."""
    ERASURE = "erasure"
    """Art. 17: erased now where no retention duty runs, restricted until it ends otherwise."""
    RESTRICTION = "restriction"
    """Art. 18: kept, but hidden from agents and never messaged."""
    OBJECTION = "objection"
    """Art. 21: an objection to direct marketing is absolute: a marketing opt-out."""
    RECTIFICATION = "rectification"
    """Art. 16: archived messages are records and stay as received; a note says what is wrong."""


class Urgency(StrEnum):
    CLOSED = "closed"
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class DataSubjectRequest:
    id: int
    kind: RequestKind
    subject_id: str
    contact_id: int
    received_on: date
    identity_check: str
    due_on: date
    recorded_by: str
    recorded_at: datetime
    extended_months: int = 0
    extension_reason: str = ""
    closed_at: datetime | None = None
    outcome: str = ""

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day if it has no such day (Art. 3(2)(c)
    of Regulation 1182/71 on periods: 31 January + 1 month is 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def deadline(received_on: date, extended_months: int = 0) -> date:
    return add_months(received_on, DEADLINE_MONTHS + extended_months)


def check_new(kind: str, received_on: date, identity_check: str, today: date) -> RequestKind:
    """Raises:
    DsrError: unknown kind, a receipt date in the future, or no identity check recorded.
    """
    try:
        chosen = RequestKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in RequestKind)
        raise DsrError("kind", f"must be one of {kinds}, not {kind!r}") from None
    if received_on > today:
        raise DsrError("received", f"{received_on.isoformat()} is in the future")
    _text("identity_check", identity_check, "say how the person's identity was checked")
    return chosen


def extend(request: DataSubjectRequest, months: int, reason: str) -> DataSubjectRequest:
    """The request with its deadline moved ``months`` further (Art. 12(3): at most two more
    months in all, with the reason told to the person).

    Raises:
        DsrError: the request is closed, the extension is out of range or has no reason.
    """
    if not request.is_open:
        raise DsrError("request", f"request {request.id} is already closed")
    total = request.extended_months + months
    if months < 1 or total > MAX_EXTENSION_MONTHS:
        left = MAX_EXTENSION_MONTHS - request.extended_months
        raise DsrError("months", f"can extend by 1 to {left} months (Art. 12(3)), not {months}")
    _text("reason", reason, "the reason for the extension must be recorded and told")
    return replace(
        request,
        extended_months=total,
        extension_reason=reason.strip(),
        due_on=deadline(request.received_on, total),
    )


def close(request: DataSubjectRequest, outcome: str, at: datetime) -> DataSubjectRequest:
    """Raises:
    DsrError: the request is already closed or the outcome is not said.
    """
    if not request.is_open:
        raise DsrError("request", f"request {request.id} is already closed")
    _text("outcome", outcome, "say what the person was answered")
    return replace(request, closed_at=at, outcome=outcome.strip())


def urgency(
    request: DataSubjectRequest, today: date, due_soon_days: int = DEFAULT_DUE_SOON_DAYS
) -> Urgency:
    """Overdue once the deadline day has passed; due soon within ``due_soon_days`` of it."""
    if not request.is_open:
        return Urgency.CLOSED
    if today > request.due_on:
        return Urgency.OVERDUE
    if (request.due_on - today).days <= due_soon_days:
        return Urgency.DUE_SOON
    return Urgency.ON_TIME


def _text(field: str, value: str, problem: str) -> None:
    if not value.strip():
        raise DsrError(field, problem)
    if len(value) > MAX_TEXT:
        raise DsrError(field, f"at most {MAX_TEXT} characters")
