"""The JSON API for reading conversations until the inbox UI exists. Every route needs the
API token; every read is logged with the caller (DESIGN invariant 2)."""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from chatproof.archive.errors import ContentErased
from chatproof.services import conversations, media, quarantine
from chatproof.store import NotFound
from chatproof.web.schemas import (
    ConversationOut,
    ConversationPage,
    MessageOut,
    MessagePage,
    QuarantinedOut,
)

router = APIRouter(prefix="/api")


def api_caller(request: Request) -> str:
    """The caller's name for the access log; 401 without the right bearer token."""
    expected = request.app.state.settings.server.api_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        raise HTTPException(
            401,
            "authorization: a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "api-token"


Caller = Annotated[str, Depends(api_caller)]


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=conversations.MAX_PAGE)] = 50,
    cursor: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
) -> ConversationPage:
    try:
        page = conversations.list_conversations(
            request.app.state.components.writer,
            caller,
            datetime.now(UTC),
            limit=limit,
            cursor=cursor,
            status=status,
        )
    except ValueError as exc:
        raise HTTPException(400, f"cursor: {exc}") from None
    return ConversationPage(
        items=[ConversationOut.of(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def list_messages(
    request: Request,
    caller: Caller,
    conversation_id: int,
    limit: Annotated[int, Query(ge=1, le=conversations.MAX_PAGE)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> MessagePage:
    try:
        _, page = conversations.read_messages(
            request.app.state.components.writer,
            caller,
            datetime.now(UTC),
            conversation_id,
            limit=limit,
            before=before,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    next_cursor = page.next_cursor
    return MessagePage(items=[MessageOut.of(m) for m in page.items], next_cursor=next_cursor)


@router.get("/quarantine", response_model=list[QuarantinedOut])
def list_quarantine(
    request: Request,
    caller: Caller,
    include_resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantinedOut]:
    found = quarantine.list_quarantine(
        request.app.state.components.reader, include_resolved=include_resolved, limit=limit
    )
    return [QuarantinedOut(**asdict(q)) for q in found]


@router.post("/quarantine/{quarantine_id}/resolve", status_code=204)
def resolve_quarantine(request: Request, caller: Caller, quarantine_id: int) -> None:
    try:
        quarantine.resolve(
            request.app.state.components.writer, quarantine_id, caller, datetime.now(UTC)
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/messages/{message_id}/media", response_class=Response)
def message_media(request: Request, caller: Caller, message_id: int) -> Response:
    """The bytes of a message's image, voice note, video or document. The read is logged."""
    components = request.app.state.components
    try:
        data, mime_type = media.read_media(
            components.writer, components.blobs, caller, datetime.now(UTC), message_id
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ContentErased as exc:
        raise HTTPException(410, str(exc)) from None
    return Response(data, media_type=mime_type or "application/octet-stream")
