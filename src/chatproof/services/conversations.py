"""Reading conversations back. Every read of personal content names who read it and is
logged in the same transaction as the read (DESIGN invariant 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chatproof.domain.inbox import ConversationSummary, MessageView, Page
from chatproof.services.access import record_read
from chatproof.store import UnitOfWork

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
        shown = [c.id for c in page.items]
        target = "conversations:" + ",".join(map(str, shown))
        record_read(uow, now, actor, "list_conversations", target, None, conversations=shown)
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
        record_read(
            uow,
            now,
            actor,
            "read_messages",
            f"conversation:{conversation_id}",
            conversation.subject_id,
            conversations=[conversation_id],
        )
        uow.commit()
    return conversation, page
