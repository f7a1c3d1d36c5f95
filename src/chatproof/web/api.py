"""The JSON API for reading conversations until the inbox UI exists. Every route needs the
API token; every read is logged with the caller (DESIGN invariant 2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from chatproof.archive.errors import ContentErased
from chatproof.domain.accounts import Permission, Principal
from chatproof.services import conversations, inbox, media, quarantine
from chatproof.services.inbox import NotAllowed
from chatproof.store import NotFound
from chatproof.web.auth import api_principal, ensure
from chatproof.web.schemas import (
    ConversationOut,
    ConversationPage,
    MessageOut,
    MessagePage,
    QuarantinedOut,
)

router = APIRouter(prefix="/api")


def api_caller(request: Request) -> str:
    """The caller's name for the access log; 401 without a valid bearer token (the
    installation's or a person's) or a signed-in browser session."""
    principal = api_principal(request)
    request.state.principal = principal
    return principal.actor


def allowed(permission: Permission) -> Callable[..., Principal]:
    """A dependency: the caller, after checking that their role has ``permission`` (403)."""

    def check(request: Request, caller: Annotated[str, Depends(api_caller)]) -> Principal:
        principal: Principal = request.state.principal
        ensure(principal, permission)
        return principal

    return check


Caller = Annotated[str, Depends(api_caller)]
Reader = Annotated[Principal, Depends(allowed(Permission.READ_OWN))]
QuarantineKeeper = Annotated[Principal, Depends(allowed(Permission.QUARANTINE))]


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=conversations.MAX_PAGE)] = 50,
    cursor: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> ConversationPage:
    writer, now = request.app.state.components.writer, datetime.now(UTC)
    try:
        if principal.may(Permission.READ_ALL):
            page = conversations.list_conversations(
                writer, principal.actor, now, limit=limit, cursor=cursor, status=status
            )
            found = inbox.without_restricted(writer, principal, page.items)
            mine = inbox.unread_counts(writer, principal, [c.id for c in found])
        else:
            # an agent's token sees what the agent sees in the inbox: own and unassigned
            scoped = inbox.list_inbox(
                writer, principal, now, status=status, cursor=cursor, limit=limit
            )
            page, found = scoped, [row.conversation for row in scoped.items]
            mine = {row.conversation.id: row.unread for row in scoped.items}
    except ValueError as exc:
        raise HTTPException(400, f"cursor: {exc}") from None
    return ConversationPage(
        items=[ConversationOut.of(c, mine.get(c.id) if mine is not None else None) for c in found],
        next_cursor=page.next_cursor,
    )


def _within_reach(request: Request, principal: Principal, conversation_id: int) -> None:
    """403 for a conversation assigned to someone else (agents) or of a restricted person
    (Art. 18), 404 if there is none."""
    try:
        inbox.check_reach(request.app.state.components.reader, principal, conversation_id)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def list_messages(
    request: Request,
    principal: Reader,
    conversation_id: int,
    limit: Annotated[int, Query(ge=1, le=conversations.MAX_PAGE)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> MessagePage:
    _within_reach(request, principal, conversation_id)
    try:
        _, page = conversations.read_messages(
            request.app.state.components.writer,
            principal.actor,
            datetime.now(UTC),
            conversation_id,
            limit=limit,
            before=before,
        )
        if before is None:
            # the newest messages were read: by this person only, like opening the thread
            inbox.record_seen(
                request.app.state.components.writer, principal, datetime.now(UTC), conversation_id
            )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    next_cursor = page.next_cursor
    return MessagePage(items=[MessageOut.of(m) for m in page.items], next_cursor=next_cursor)


@router.get("/quarantine", response_model=list[QuarantinedOut])
def list_quarantine(
    request: Request,
    principal: QuarantineKeeper,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinedOut]:
    found = quarantine.list_quarantine(
        request.app.state.components.reader, include_resolved=include_resolved, limit=limit
    )
    return [QuarantinedOut(**asdict(q)) for q in found]


@router.post("/quarantine/{quarantine_id}/resolve", status_code=204)
def resolve_quarantine(request: Request, principal: QuarantineKeeper, quarantine_id: int) -> None:
    try:
        quarantine.resolve(
            request.app.state.components.writer, quarantine_id, principal.actor, datetime.now(UTC)
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/messages/{message_id}/media", response_class=Response)
def message_media(request: Request, principal: Reader, message_id: int) -> Response:
    """The bytes of a message's image, voice note, video or document. The read is logged."""
    components = request.app.state.components
    if not principal.may(Permission.READ_ALL):
        try:
            inbox.check_message_reach(components.reader, principal, message_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from None
    try:
        data, mime_type = media.read_media(
            components.writer, components.blobs, principal.actor, datetime.now(UTC), message_id
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ContentErased as exc:
        raise HTTPException(410, str(exc)) from None
    return Response(data, media_type=mime_type or "application/octet-stream")
