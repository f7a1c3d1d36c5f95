"""The tax auditor's workspace (§ 147 (6) AO, Z1): searching the archive and reading
conversations, limited on the server to the auditor's audit period and to the tax-relevant
retention classes (GoBD data access covers tax-relevant data of the audited period only,
Rz. 159). Every search and every view is an entry in the access log (DESIGN invariant 2).

The full-text part reuses the inbox's search index: it narrows the conversations, then each
message is checked against the words, the period, direction, kind and class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from chatproof.archive.log import append
from chatproof.archive.retention import RetentionClass
from chatproof.domain.access_report import MessageItem
from chatproof.domain.accounts import Permission, Principal, Role
from chatproof.domain.dsr import DsrError
from chatproof.domain.processing import tax_relevant
from chatproof.domain.team_inbox import InboxFilter, View, search_words
from chatproof.services.access import record_read
from chatproof.services.dsr import find_contact
from chatproof.services.inbox import NotAllowed
from chatproof.services.retention import compliance_entry
from chatproof.store import UnitOfWork
from chatproof.store.audit import AuditScope

DEFAULT_LIMIT = 200
MAX_CONVERSATIONS = 2000
_PAGE = 200


@dataclass(frozen=True, slots=True)
class AuditQuery:
    words: str = ""
    start: date | None = None
    end: date | None = None
    contact: str = ""
    direction: str = ""
    kind: str = ""
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class AuditHit:
    message: MessageItem
    contact_id: int
    retention_class: str


def set_scope(
    uow_factory: Callable[[], UnitOfWork],
    username: str,
    start: date,
    end: date,
    *,
    by: str,
    now: datetime,
    tz: ZoneInfo,
) -> AuditScope:
    """Set an auditor's audit period (inclusive days in the business's time zone).

    Raises:
        DsrError: the period is empty, or the user is not an auditor.
    """
    if end < start:
        raise DsrError("to", f"the period ends ({end}) before it starts ({start})")
    with uow_factory() as uow:
        user = next((u for u in uow.users.all() if u.username == username), None)
        if user is None or user.role is not Role.AUDITOR:
            raise DsrError("user", f"{username!r} is not an auditor account")
        scope = AuditScope(user.id, start, end, by, now)
        uow.audit.set_scope(scope)
        entry = compliance_entry(
            "auditor.scope_set",
            user.subject_id,
            now,
            tz,
            period_from=start.isoformat(),
            period_to=end.isoformat(),
            by=by,
        )
        append(uow.log, [entry], now)
        uow.commit()
    return scope


def search(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    query: AuditQuery,
) -> list[AuditHit]:
    """Messages matching ``query`` within the auditor's period and the tax-relevant classes,
    oldest first, at most ``query.limit``; the search is logged.

    Raises:
        NotAllowed: not an auditor, or no audit period set. DsrError: unknown contact.
    """
    taxed = _tax_classes(classes)
    words = search_words(query.words)
    with uow_factory() as uow:
        scope = _scope(uow, principal)
        start, end = _window(scope, query.start, query.end)
        if query.contact:
            ref = find_contact(uow, query.contact)
            candidates = [(c, ref.id, ref.subject_id) for c in uow.dsr.conversations_of(ref.id)]
        else:
            if words:
                uow.inbox.index_pending(2000)
            candidates = _conversations(uow, words)
        hits: list[AuditHit] = []
        for conversation_id, contact_id, subject in candidates:
            for stored in uow.dsr.messages_of([conversation_id], subject):
                m = stored.item
                if stored.retention_class not in taxed:
                    continue
                if not start <= m.sent_at.astimezone(tz).date() <= end:
                    continue
                if query.direction and m.direction != query.direction:
                    continue
                if query.kind and m.type != query.kind:
                    continue
                if words and not _matches(m.text, words):
                    continue
                hits.append(AuditHit(m, contact_id, stored.retention_class))
        hits.sort(key=lambda h: (h.message.sent_at, h.message.id))
        hits = hits[: query.limit]
        record_read(
            uow,
            now,
            principal.actor,
            "audit_search",
            f"audit:{start}..{end}",
            None,
            results=len(hits),
            period_from=start.isoformat(),
            period_to=end.isoformat(),
        )
        uow.commit()
    return hits


def view(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    classes: Mapping[str, RetentionClass],
    tz: ZoneInfo,
    now: datetime,
    conversation_id: int,
) -> list[AuditHit]:
    """A conversation read-only, only its messages inside the period and the tax-relevant
    classes; the view is logged.

    Raises:
        NotAllowed: not an auditor or no audit period. NotFound: no such conversation.
    """
    taxed = _tax_classes(classes)
    with uow_factory() as uow:
        scope = _scope(uow, principal)
        conversation = uow.conversations.get(conversation_id)
        hits = [
            AuditHit(stored.item, conversation.contact_id, stored.retention_class)
            for stored in uow.dsr.messages_of([conversation_id], conversation.subject_id)
            if stored.retention_class in taxed
            and scope.covers(stored.item.sent_at.astimezone(tz).date())
        ]
        record_read(
            uow,
            now,
            principal.actor,
            "audit_view",
            f"conversation:{conversation_id}",
            conversation.subject_id,
            shown=len(hits),
        )
        uow.commit()
    return hits


def _scope(uow: UnitOfWork, principal: Principal) -> AuditScope:
    if not principal.may(Permission.ARCHIVE) or principal.user is None:
        raise NotAllowed(f"{principal.actor} may not use the audit workspace")
    scope = uow.audit.scope(principal.user.id)
    if scope is None:
        raise NotAllowed(f"no audit period is set for {principal.user.username}")
    return scope


def _window(scope: AuditScope, start: date | None, end: date | None) -> tuple[date, date]:
    """The asked range clipped to the audit period."""
    return max(start or scope.period_from, scope.period_from), min(
        end or scope.period_to, scope.period_to
    )


def _tax_classes(classes: Mapping[str, RetentionClass]) -> set[str]:
    return {name for name, cls in classes.items() if tax_relevant(cls.legal_basis)}


def _conversations(uow: UnitOfWork, words: tuple[str, ...]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    cursor: str | None = None
    where = InboxFilter(View.ALL, None, None, None, None, words)
    while len(found) < MAX_CONVERSATIONS:
        page = uow.inbox.list(where, limit=_PAGE, cursor=cursor)
        found += [
            (r.conversation.id, r.conversation.contact_id, r.conversation.subject_id)
            for r in page.items
        ]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found


def _matches(text: str, words: tuple[str, ...]) -> bool:
    found = text.lower()
    return all(w in found for w in words)


def scope_of(uow_factory: Callable[[], UnitOfWork], principal: Principal) -> AuditScope | None:
    """The person's audit period, if they are an auditor with one."""
    if principal.user is None:
        return None
    with uow_factory() as uow:
        return uow.audit.scope(principal.user.id)
