"""The team inbox's use cases: listing and searching conversations within a person's reach,
opening a thread, assignment, labels, closing and reopening, internal notes, and each
person's own read state (what they have seen, marking unread, their unread total).

Every read of archived content is logged with who read it (DESIGN invariant 2); every change
is a log entry naming who made it, with the state before and after. Notes are about the
customer, so they are sealed under the customer's subject like their messages (invariant 4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chatproof.archive.envelope import data_key_id
from chatproof.archive.log import append
from chatproof.domain.accounts import Permission, Principal, User
from chatproof.domain.inbox import ConversationSummary, MessageView, Page
from chatproof.domain.team_inbox import (
    Details,
    InboxFilter,
    InboxRow,
    UnreadSummary,
    View,
    check_label,
    check_note,
    search_words,
)
from chatproof.services.access import record_read
from chatproof.services.errors import ServiceError
from chatproof.store import UnitOfWork
from chatproof.store.inbox import AccessRecord

UowFactory = Callable[[], UnitOfWork]
PAGE = 50
THREAD_PAGE = 500
INDEX_BATCH = 100
UNREAD_HORIZON = 500
"""How many of a person's most recently active open conversations their unread total looks at."""


class NotAllowed(ServiceError):
    """The person's role does not allow this, or the conversation is outside their reach."""


@dataclass(frozen=True)
class Thread:
    conversation: ConversationSummary
    messages: Page[MessageView]
    details: Details
    assignee_name: str
    team: tuple[User, ...]
    retention_class: str
    message_classes: dict[int, str]
    legal_hold: bool


def _require(principal: Principal, permission: Permission) -> None:
    if not principal.may(permission):
        raise NotAllowed(f"{principal.actor} may not do this ({permission.value})")


def _within_reach(uow: UnitOfWork, principal: Principal, conversation_id: int) -> int | None:
    """The conversation's assignee, after checking the person may see the conversation.

    Raises NotFound (unknown conversation) or NotAllowed.
    """
    conversation = uow.conversations.get(conversation_id)
    if not _sees_restricted(principal) and uow.dsr.is_restricted(conversation.subject_id):
        raise NotAllowed(f"conversation {conversation_id} is restricted (Art. 18 GDPR)")
    assignee = uow.inbox.assignee(conversation_id)
    if not principal.may_see(assignee):
        raise NotAllowed(f"conversation {conversation_id} is assigned to someone else")
    return assignee


def without_restricted(
    uow_factory: UowFactory, principal: Principal, items: Sequence[ConversationSummary]
) -> list[ConversationSummary]:
    """``items`` without the conversations of restricted people, unless the person may see
    them (Art. 18 GDPR)."""
    if _sees_restricted(principal):
        return list(items)
    with uow_factory() as uow:
        hidden = uow.dsr.restricted_subjects()
    return [c for c in items if c.subject_id not in hidden]


def _sees_restricted(principal: Principal) -> bool:
    """Restricted data is only stored (Art. 18(2) GDPR): the DPO answering requests and the
    tax auditor may still read it, nobody who works with customers."""
    return principal.may(Permission.REQUESTS) or principal.may(Permission.ARCHIVE)


def check_reach(uow_factory: UowFactory, principal: Principal, conversation_id: int) -> None:
    """Raises NotFound, or NotAllowed when the conversation is outside the person's reach."""
    _require(principal, Permission.READ_OWN)
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)


def check_message_reach(uow_factory: UowFactory, principal: Principal, message_id: int) -> None:
    """Like ``check_reach``, for the conversation a message belongs to."""
    _require(principal, Permission.READ_OWN)
    with uow_factory() as uow:
        _within_reach(uow, principal, uow.sealed.message(message_id).conversation_id)


def list_inbox(
    uow_factory: UowFactory,
    principal: Principal,
    now: datetime,
    *,
    view: View = View.ALL,
    status: str | None = None,
    label: str | None = None,
    query: str = "",
    cursor: str | None = None,
    limit: int = PAGE,
) -> Page[InboxRow]:
    """Conversations within the person's reach matching the filters, newest first; the read
    is logged. Raises NotAllowed, or ValueError for a malformed cursor."""
    _require(principal, Permission.READ_OWN)
    me = principal.user.id if principal.user else None
    scope = None if principal.may(Permission.READ_ALL) else me
    where = InboxFilter(view, me, scope, status, label or None, search_words(query))
    with uow_factory() as uow:
        if where.words:
            uow.inbox.index_pending(INDEX_BATCH)
        page = uow.inbox.list(where, limit=limit, cursor=cursor)
        if not _sees_restricted(principal) and (hidden := uow.dsr.restricted_subjects()):
            kept = tuple(r for r in page.items if r.conversation.subject_id not in hidden)
            page = Page(kept, page.next_cursor)
        shown = [row.conversation.id for row in page.items]
        target = "conversations:" + ",".join(map(str, shown))
        record_read(
            uow, now, principal.actor, "list_conversations", target, None, conversations=shown
        )
        uow.commit()
    return page


def open_thread(
    uow_factory: UowFactory,
    principal: Principal,
    now: datetime,
    conversation_id: int,
    *,
    before: int | None = None,
    limit: int = THREAD_PAGE,
) -> Thread:
    """A conversation with its newest messages, notes and labels; marks it read and logs the
    read. Raises NotFound or NotAllowed."""
    _require(principal, Permission.READ_OWN)
    with uow_factory() as uow:
        assignee = _within_reach(uow, principal, conversation_id)
        conversation = uow.conversations.get(conversation_id)
        messages, classes = uow.inbox.thread(conversation_id, limit=limit, before=before)
        held = conversation.subject_id in uow.holds.held_subjects()
        details = Details(
            assignee,
            uow.inbox.labels_of([conversation_id]).get(conversation_id, ()),
            tuple(uow.inbox.notes(conversation_id, conversation.subject_id)),
        )
        team = tuple(u for u in uow.users.all() if not u.disabled)
        newest = messages.items[0].id if messages.items and before is None else None
        retention = classes.get(newest, "") if newest else ""
        if not retention:
            sealed = uow.inbox.newest_sealed(conversation_id)
            retention = uow.personal.sealer.retention_class
            if sealed is not None:
                retention = uow.keystore.bucket_of(data_key_id(sealed)).retention_class
        if principal.may(Permission.REPLY) and before is None:
            uow.inbox.mark_read(conversation_id)
        if principal.user is not None and before is None:
            uow.inbox.mark_seen(principal.user.id, conversation_id, now)
        record_read(
            uow,
            now,
            principal.actor,
            "read_messages",
            f"conversation:{conversation_id}",
            conversation.subject_id,
            conversations=[conversation_id],
        )
        uow.commit()
    name = next((u.display_name for u in team if u.id == assignee), "")
    return Thread(conversation, messages, details, name, team, retention, classes, held)


def record_seen(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int
) -> None:
    """The person has read the conversation's newest messages elsewhere (the JSON API); only
    their own read state changes, and the installation's token has none."""
    if principal.user is None:
        return
    with uow_factory() as uow:
        uow.inbox.mark_seen(principal.user.id, conversation_id, now)
        uow.commit()


def mark_unread(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int
) -> int:
    """Take back the person's newest seen inbound message, so the conversation shows unread
    for them again (colleagues see no change); return their unread count.

    Raises NotFound or NotAllowed.
    """
    _require(principal, Permission.READ_OWN)
    if principal.user is None:
        raise NotAllowed("only a person has a read state")
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)
        unread = uow.inbox.mark_unread(principal.user.id, conversation_id, now)
        uow.commit()
    return unread


def unread_summary(uow_factory: UowFactory, principal: Principal) -> UnreadSummary:
    """The person's unread conversations among their latest open ones within reach; empty for
    someone without a read state. Counts and ids only, no content: not an access to log."""
    if principal.user is None or not principal.may(Permission.READ_OWN):
        return UnreadSummary({}, UNREAD_HORIZON)
    me = principal.user.id
    scope = None if principal.may(Permission.READ_ALL) else me
    with uow_factory() as uow:
        rows = uow.inbox.unread_summary(me, scope, UNREAD_HORIZON)
        hidden = set() if _sees_restricted(principal) else uow.dsr.restricted_subjects()
    counts = {cid: unread for cid, subject, unread in rows if subject not in hidden}
    return UnreadSummary(counts, UNREAD_HORIZON)


def unread_counts(
    uow_factory: UowFactory, principal: Principal, conversation_ids: Sequence[int]
) -> dict[int, int] | None:
    """The person's unread count per conversation; None for the installation's token."""
    if principal.user is None:
        return None
    with uow_factory() as uow:
        return uow.inbox.unread_counts(principal.user.id, conversation_ids)


def assign(
    uow_factory: UowFactory,
    principal: Principal,
    now: datetime,
    conversation_id: int,
    user_id: int | None,
) -> None:
    """Supervisors assign to anyone; an agent may take an unassigned conversation or give
    back their own. Raises NotFound or NotAllowed."""
    with uow_factory() as uow:
        before = _within_reach(uow, principal, conversation_id)
        me = principal.user.id if principal.user else None
        taking_or_returning = (before is None and user_id == me) or (
            before == me and user_id is None
        )
        if not principal.may(Permission.ASSIGN):
            _require(principal, Permission.ORGANISE)
            if not taking_or_returning:
                raise NotAllowed("only supervisors assign conversations to others")
        if user_id is not None:
            uow.users.get(user_id)
        uow.inbox.assign(conversation_id, user_id, now)
        _archive(
            uow, now, principal, "inbox.assigned", conversation_id, before=before, after=user_id
        )
        uow.commit()


def add_label(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int, label: str
) -> None:
    _require(principal, Permission.ORGANISE)
    name = check_label(label)
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)
        if uow.inbox.add_label(conversation_id, name, now):
            _archive(uow, now, principal, "inbox.labelled", conversation_id, label=name)
        uow.commit()


def remove_label(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int, label: str
) -> None:
    _require(principal, Permission.ORGANISE)
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)
        if uow.inbox.remove_label(conversation_id, label):
            _archive(uow, now, principal, "inbox.unlabelled", conversation_id, label=label)
        uow.commit()


def set_status(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int, status: str
) -> None:
    """Close or reopen. Raises NotFound, NotAllowed or ValueError (unknown status)."""
    _require(principal, Permission.ORGANISE)
    if status not in ("open", "closed"):
        raise ValueError(f"status: {status!r} is not one of open, closed")
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)
        before = uow.conversations.get(conversation_id).status
        if before != status:
            uow.inbox.set_status(conversation_id, status)
            kind = "inbox.closed" if status == "closed" else "inbox.reopened"
            _archive(uow, now, principal, kind, conversation_id, before=before, after=status)
        uow.commit()


def add_note(
    uow_factory: UowFactory, principal: Principal, now: datetime, conversation_id: int, note: str
) -> int:
    """An internal note: never sent, sealed under the customer's subject, archived."""
    _require(principal, Permission.ORGANISE)
    if principal.user is None:
        raise NotAllowed("notes need a person as their author")
    body = check_note(note)
    with uow_factory() as uow:
        _within_reach(uow, principal, conversation_id)
        subject = uow.conversations.get(conversation_id).subject_id
        sealed = uow.personal.seal_bytes(subject, body.encode(), now)
        note_id = uow.inbox.add_note(conversation_id, principal.user.id, now, sealed)
        _archive(
            uow, now, principal, "inbox.note", conversation_id, content=sealed, note_id=note_id
        )
        uow.commit()
    return note_id


def access_log(
    uow_factory: UowFactory,
    principal: Principal,
    *,
    limit: int = 200,
    before: int | None = None,
    actor: str = "",
    target: str = "",
) -> list[AccessRecord]:
    """Who read what, newest first, optionally for one person or one conversation."""
    _require(principal, Permission.ACCESS_LOG)
    with uow_factory() as uow:
        return uow.inbox.access_log(limit=limit, before=before, actor=actor, target=target)


def version(uow_factory: UowFactory) -> str:
    with uow_factory() as uow:
        return uow.inbox.version()


def index_pending(uow_factory: UowFactory, batch: int = INDEX_BATCH) -> int:
    """Bring the search index up to date with new messages; return how many were added."""
    with uow_factory() as uow:
        added = uow.inbox.index_pending(batch)
        uow.commit()
    return added


def forget_erased(uow_factory: UowFactory) -> int:
    """Drop from the search index what retention shredding erased; return how many."""
    with uow_factory() as uow:
        dropped = uow.inbox.forget_erased()
        uow.commit()
    return dropped


def all_labels(uow_factory: UowFactory) -> list[str]:
    with uow_factory() as uow:
        return uow.inbox.all_labels()


def _archive(
    uow: UnitOfWork,
    now: datetime,
    principal: Principal,
    kind: str,
    conversation_id: int,
    *,
    content: bytes | None = None,
    **attributes: object,
) -> None:
    subject = uow.conversations.get(conversation_id).subject_id
    entry = uow.personal.entry(
        kind,
        subject,
        now,
        content=content,
        actor=principal.actor,
        conversation=conversation_id,
        **attributes,
    )
    append(uow.log, [entry], now)
