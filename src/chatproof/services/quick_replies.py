"""Quick replies an admin keeps in the browser. Each change is a log entry naming who changed
which reply, with the text before and after (issue 5: every change of a setting is archived).
Quick replies are the business's own texts, so the entry holds them in clear; a text may name
placeholders but no customer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.accounts import Permission, Principal
from chatproof.domain.errors import DomainError
from chatproof.services.access import ACCESS_CLASS
from chatproof.services.inbox import NotAllowed
from chatproof.store import UnitOfWork

MAX_TEXT = 1024
_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


class QuickReplyError(DomainError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


def stored(uow_factory: Callable[[], UnitOfWork]) -> dict[str, str]:
    with uow_factory() as uow:
        return uow.quick_replies.all()


def save(
    uow_factory: Callable[[], UnitOfWork],
    principal: Principal,
    now: datetime,
    name: str,
    text: str,
) -> None:
    """Raises QuickReplyError naming the field, NotAllowed without the settings permission."""
    _require(principal)
    key = name.strip().lower().lstrip("/")
    body = text.strip()
    if not _NAME.match(key):
        raise QuickReplyError("name", "1-64 characters: a-z, 0-9, '_' or '-' (typed after /)")
    if not body or len(body) > MAX_TEXT:
        raise QuickReplyError("text", f"must be 1-{MAX_TEXT} characters")
    with uow_factory() as uow:
        before = uow.quick_replies.save(key, body, principal.actor, now)
        _archive(uow, now, principal, "settings.quick_reply_saved", key, before, body)
        uow.commit()


def delete(
    uow_factory: Callable[[], UnitOfWork], principal: Principal, now: datetime, name: str
) -> bool:
    _require(principal)
    with uow_factory() as uow:
        before = uow.quick_replies.delete(name)
        if before is None:
            return False
        _archive(uow, now, principal, "settings.quick_reply_deleted", name, before, None)
        uow.commit()
    return True


def _require(principal: Principal) -> None:
    if not principal.may(Permission.SETTINGS):
        raise NotAllowed(f"{principal.actor} may not change settings")


def _archive(
    uow: UnitOfWork,
    now: datetime,
    principal: Principal,
    kind: str,
    name: str,
    before: str | None,
    after: str | None,
) -> None:
    entry = EntryDraft(
        kind=kind,
        at=now,
        retention_class=ACCESS_CLASS,
        start_year=start_year_for(now, uow.personal.sealer.tz),
        attributes={"actor": principal.actor, "name": name, "before": before, "after": after},
    )
    append(uow.log, [entry], now)
