"""The team inbox as read models: which conversations a person sees (views and filters),
who works on them, their labels and internal notes, what each person has not read yet, and how
a search query becomes words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from chatproof.domain.errors import DomainError
from chatproof.domain.inbox import ConversationSummary

MAX_LABEL_LENGTH = 64
MAX_NOTE_LENGTH = 4000
UNCOUNTED_TYPES = ("reaction", "edit", "revoke")
"""Inbound messages that change an earlier one rather than say something new: they never make
a conversation unread (ingest leaves them out of ``inbound_count`` too)."""
_WORD = re.compile(r"\w+", re.UNICODE)


class InboxInputError(DomainError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


class View(StrEnum):
    ALL = "all"
    MINE = "mine"
    UNASSIGNED = "unassigned"
    UNREAD = "unread"


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What to list. ``user_id`` is the person looking: their unread counts are shown, and
    ``View.UNREAD`` keeps the conversations they have not read. ``scope_user_id`` limits the
    list to conversations of that user or of nobody (an agent's reach) whatever the view."""

    view: View = View.ALL
    user_id: int | None = None
    scope_user_id: int | None = None
    status: str | None = None
    label: str | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboxRow:
    conversation: ConversationSummary
    assignee_id: int | None = None
    assignee_name: str = ""
    labels: tuple[str, ...] = ()
    unread: int = 0
    """Inbound messages the person looking has not seen (``ConversationSummary.unread_count``
    is the team's: those nobody who may reply has opened yet)."""


@dataclass(frozen=True, slots=True)
class ReadBaseline:
    """What a person counts as read in a conversation they never opened: every message received
    up to ``since``, whose ids go up to ``message_id``. It is the moment their account was made,
    so a new colleague does not inherit years of unread conversations, yet sees what comes in
    afterwards; people who existed before per-person read state have the moment it began."""

    since: datetime
    message_id: int


@dataclass(frozen=True, slots=True)
class UnreadSummary:
    """The person's unread conversations among the latest ``horizon`` of their open ones:
    conversation id → unread inbound messages. Conversations quiet for longer are not looked at,
    which keeps the count a bounded query however large the inbox grows."""

    counts: dict[int, int]
    horizon: int

    @property
    def conversations(self) -> int:
        return len(self.counts)

    @property
    def messages(self) -> int:
        return sum(self.counts.values())


def seen_after_marking_unread(inbound_count: int, seen: int) -> int:
    """Marking a conversation unread takes back its newest inbound message; one already unread
    stays as it is, and one without inbound messages has nothing to take back."""
    return max(min(seen, inbound_count - 1), 0)


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    conversation_id: int
    author: str
    at: datetime
    text: str
    erased_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Details:
    """Everything around a conversation except its messages."""

    assignee_id: int | None
    labels: tuple[str, ...]
    notes: tuple[Note, ...] = field(default=())


def parse_view(value: str) -> View:
    try:
        return View(value or View.ALL)
    except ValueError:
        choices = ", ".join(v.value for v in View)
        raise InboxInputError("view", f"{value!r} is not one of {choices}") from None


def parse_status(value: str | None) -> str | None:
    if value in (None, "", "any"):
        return None
    if value not in ("open", "closed"):
        raise InboxInputError("status", f"{value!r} is not one of open, closed")
    return value


def check_label(value: str) -> str:
    label = " ".join(value.split())
    if not label or len(label) > MAX_LABEL_LENGTH:
        raise InboxInputError("label", f"must be 1-{MAX_LABEL_LENGTH} characters")
    return label


def check_note(value: str) -> str:
    note = value.strip()
    if not note or len(note) > MAX_NOTE_LENGTH:
        raise InboxInputError("note", f"must be 1-{MAX_NOTE_LENGTH} characters")
    return note


def search_words(query: str) -> tuple[str, ...]:
    """The words of a search box, without operators: every word must occur (as a prefix)."""
    return tuple(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:8]
