"""Reading conversations back. Every read of personal content names who read it and is
logged in the same transaction as the read (DESIGN invariant 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.inbox import ConversationSummary, MessageView, Page
from chatproof.store import UnitOfWork

ACCESS_CLASS = "books_and_records"

MAX_PAGE = 200


def list_conversations(
    uow_factory: Callable[[], UnitOfWork],
    actor: str,
    now: datetime,
    *,
    limit: int = 50,
    cursor: str | None = None,
    status: str | None = None,
) -> Page[ConversationSummary]:
    """Raises ValueError for a malformed cursor."""
    with uow_factory() as uow:
        page = uow.conversations.list(limit=min(limit, MAX_PAGE), cursor=cursor, status=status)
        shown = ",".join(str(c.id) for c in page.items)
        uow.conversations.log_access(now, actor, "list_conversations", f"conversations:{shown}")
        _log_read(uow, now, actor, "list_conversations", None, [c.id for c in page.items])
        uow.commit()
    return page


def read_messages(
    uow_factory: Callable[[], UnitOfWork],
    actor: str,
    now: datetime,
    conversation_id: int,
    *,
    limit: int = 50,
    before: int | None = None,
) -> tuple[ConversationSummary, Page[MessageView]]:
    """Raises NotFound for an unknown conversation."""
    with uow_factory() as uow:
        conversation = uow.conversations.get(conversation_id)
        page = uow.conversations.messages(
            conversation_id, limit=min(limit, MAX_PAGE), before=before
        )
        uow.conversations.log_access(now, actor, "read_messages", f"conversation:{conversation_id}")
        _log_read(uow, now, actor, "read_messages", conversation.subject_id, [conversation_id])
        uow.commit()
    return conversation, page


def _log_read(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    action: str,
    subject_id: str | None,
    conversations: list[int],
) -> None:
    """Every read of archived content by a person is itself a log entry (invariant 2)."""
    entry = EntryDraft(
        kind="access.read",
        at=now,
        retention_class=ACCESS_CLASS,
        start_year=start_year_for(now, uow.personal.sealer.tz),
        subject_id=subject_id,
        attributes={"actor": actor, "action": action, "conversations": conversations},
    )
    append(uow.log, [entry], now)
