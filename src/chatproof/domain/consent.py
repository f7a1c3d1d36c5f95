"""The consent ledger as values: who agreed to what, when, how it can be proven, and what
follows from the whole history (GDPR Art. 7(1), UWG §7; DESIGN invariants 2 and 5).

Events are only ever appended. The current state of a purpose is derived from them each
time it is needed and never stored, so the proof and the state cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chatproof.domain.errors import DomainError

SERVICE = "service"
MARKETING = "marketing"
ALL_PURPOSES = "*"
"""A withdrawal for every business-initiated purpose at once ("STOP")."""

BUILT_IN_PURPOSES = (SERVICE, MARKETING)
MAX_PURPOSE = 40


class ConsentAction(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class ConsentSource(StrEnum):
    """How an opt-in or opt-out came about; each source demands its own proof."""

    KEYWORD = "keyword"
    """The customer wrote a keyword (START / STOP) from their own number: double opt-in."""
    WEB_FORM = "web_form"
    PAPER_FORM = "paper_form"
    IMPORT = "import"
    UNSUBSCRIBE_BUTTON = "unsubscribe_button"
    PLATFORM_PREFERENCE = "platform_preference"
    """The platform's ``user_preferences`` webhook (``stop``/``resume``)."""
    PLATFORM_ERROR = "platform_error"
    """Error 131050: the customer stopped marketing messages on the platform."""
    AGENT = "agent"
    """An agent recorded a withdrawal the customer asked for by other means."""


class ConsentError(DomainError):
    """A consent event lacks what would make it provable; ``field`` names what is missing."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One opt-in or opt-out. ``text`` is the exact consent text shown (opt-ins),
    ``text_version`` its version, ``proof`` a reference to the evidence (the scanned form's
    hash, the form submission id, the import file)."""

    purpose: str
    action: ConsentAction
    source: ConsentSource
    at: datetime
    recorded_by: str
    text: str = ""
    text_version: str = ""
    proof: str = ""


_GRANT_SOURCES = frozenset(
    {
        ConsentSource.KEYWORD,
        ConsentSource.WEB_FORM,
        ConsentSource.PAPER_FORM,
        ConsentSource.IMPORT,
        ConsentSource.PLATFORM_PREFERENCE,
    }
)


def check_event(event: ConsentEvent) -> None:
    """Refuse an event that could not be proven later.

    A grant needs the consent text; a web form also its version, a paper form or an import
    the evidence. An agent cannot grant consent at all: a number typed in is not consent.

    Raises:
        ConsentError: naming the missing or invalid field.
    """
    purpose = event.purpose
    malformed = not purpose or len(purpose) > MAX_PURPOSE or not purpose.replace("_", "").isalnum()
    if malformed and (purpose != ALL_PURPOSES or event.action is ConsentAction.GRANTED):
        raise ConsentError("purpose", "must be a word of letters, digits and _")
    if event.at.tzinfo is None:
        raise ConsentError("at", "must carry a time zone")
    if not event.recorded_by:
        raise ConsentError("recorded_by", "must name who recorded the event")
    if event.action is ConsentAction.WITHDRAWN:
        return
    if event.source not in _GRANT_SOURCES:
        raise ConsentError("source", f"{event.source.value} cannot grant consent")
    if not event.text.strip():
        raise ConsentError("text", "the exact consent text shown is required")
    if event.source is ConsentSource.WEB_FORM and not event.text_version.strip():
        raise ConsentError("text_version", "a web form consent needs the text's version")
    if event.source in (ConsentSource.PAPER_FORM, ConsentSource.IMPORT) and not event.proof:
        raise ConsentError("proof", f"a {event.source.value} consent needs its evidence")


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The derived state of one purpose: granted or not, and the event that decided it."""

    purpose: str
    granted: bool
    decided_by: ConsentEvent | None = None

    @property
    def withdrawn(self) -> bool:
        return self.decided_by is not None and self.decided_by.action is ConsentAction.WITHDRAWN

    @property
    def since(self) -> datetime | None:
        return self.decided_by.at if self.decided_by else None


def current_state(events: Iterable[ConsentEvent], purpose: str) -> ConsentState:
    """The state of ``purpose`` after every event, in time order (ties keep their order).

    A withdrawal of ``ALL_PURPOSES`` ends every purpose; a later grant of one purpose
    starts that one again.
    """
    last: ConsentEvent | None = None
    for event in sorted(events, key=lambda e: e.at):
        applies = event.purpose == purpose or (
            event.purpose == ALL_PURPOSES and event.action is ConsentAction.WITHDRAWN
        )
        if applies:
            last = event
    return ConsentState(purpose, last is not None and last.action is ConsentAction.GRANTED, last)


def current_states(
    events: Iterable[ConsentEvent], purposes: Iterable[str] = BUILT_IN_PURPOSES
) -> dict[str, ConsentState]:
    """The state of every purpose named in ``purposes`` or in the history."""
    history = list(events)
    names = {*purposes, *(e.purpose for e in history if e.purpose != ALL_PURPOSES)}
    return {name: current_state(history, name) for name in sorted(names)}
