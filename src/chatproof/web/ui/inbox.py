"""The inbox pages: conversation list with filters and search, the thread, the contact panel,
and the forms that assign, label, close, reopen, annotate and reclassify. Every route checks
the role on the server; the page polls for changes so new messages and statuses appear
without reloading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from chatproof.domain.accounts import Permission
from chatproof.domain.errors import DomainError
from chatproof.domain.phone import mask_phone
from chatproof.domain.team_inbox import parse_status, parse_view
from chatproof.services import inbox
from chatproof.services.errors import ServiceError
from chatproof.services.inbox import NotAllowed
from chatproof.store import NotFound
from chatproof.web.auth import Browser
from chatproof.web.ui.bubbles import bubble
from chatproof.web.ui.pages import page_for, posted, render

router = APIRouter(prefix="/inbox")
Reader = Annotated[Browser, Depends(page_for(Permission.READ_OWN))]
FILTERS = ("view", "status", "label", "q")


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params[k] for k in FILTERS if request.query_params.get(k)}


def _list(request: Request, browser: Browser, cursor: str | None) -> dict[str, Any]:
    filters = _filters(request)
    try:
        page = inbox.list_inbox(
            request.app.state.components.writer,
            browser.principal,
            datetime.now(UTC),
            view=parse_view(filters.get("view", "all")),
            status=parse_status(filters.get("status", "open")),
            label=filters.get("label"),
            query=filters.get("q", ""),
            cursor=cursor,
        )
    except DomainError as exc:
        raise HTTPException(400, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, f"cursor: {exc}") from None
    return {
        "rows": page.items,
        "next_cursor": page.next_cursor,
        "filters": filters,
        "query_string": urlencode(filters),
        "labels": inbox.all_labels(request.app.state.components.reader),
    }


def _thread(request: Request, browser: Browser, conversation_id: int) -> dict[str, Any]:
    try:
        thread = inbox.open_thread(
            request.app.state.components.writer,
            browser.principal,
            datetime.now(UTC),
            conversation_id,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    conversation = thread.conversation
    bubbles = [bubble(m) for m in reversed(thread.messages.items)]
    by_id = {b.id: b for b in bubbles}
    timeline = sorted(
        [(b.message.sent_at, 0, b) for b in bubbles] + [(n.at, 1, n) for n in thread.details.notes],
        key=lambda item: (item[0], item[1]),
    )
    full = browser.principal.may(Permission.FULL_NUMBER)
    return {
        "conversation": conversation,
        "bubbles": bubbles,
        "timeline": [(kind, item) for _, kind, item in timeline],
        "by_id": by_id,
        "older": thread.messages.next_cursor,
        "details": thread.details,
        "assignee_name": thread.assignee_name,
        "team": thread.team,
        "number": f"+{conversation.wa_id}" if full else mask_phone(conversation.wa_id),
        "window_ends": conversation.window_ends,
        "now": datetime.now(UTC),
        "retention": _retention(request, conversation_id),
        "retention_classes": sorted(request.app.state.components.retention_classes),
    }


def _retention(request: Request, conversation_id: int) -> str:
    """The class the conversation's newest sealed content is kept under."""
    from chatproof.archive.envelope import data_key_id

    with request.app.state.components.reader() as uow:
        found = uow.sealed.messages(conversation_id=conversation_id, after=0)
        if not found:
            return request.app.state.components.settings.archive.default_retention_class
        return uow.keystore.bucket_of(data_key_id(found[-1].raw)).retention_class


@router.get("", response_class=HTMLResponse)
def inbox_page(request: Request, browser: Reader, cursor: str | None = None) -> Response:
    context = {**_list(request, browser, cursor), "thread": None}
    return render(request, "inbox.html", context, browser=browser)


@router.get("/updates")
def updates(request: Request, browser: Reader) -> JSONResponse:
    """The inbox's version: the page reloads its parts when it changes."""
    return JSONResponse({"version": inbox.version(request.app.state.components.reader)})


@router.get("/fragment/list", response_class=HTMLResponse)
def list_fragment(request: Request, browser: Reader, current: int | None = None) -> Response:
    context = {**_list(request, browser, None), "current": current}
    return render(request, "_list.html", context, browser=browser)


@router.get("/fragment/thread/{conversation_id}", response_class=HTMLResponse)
def thread_fragment(request: Request, browser: Reader, conversation_id: int) -> Response:
    context = _thread(request, browser, conversation_id)
    return render(request, "_messages.html", context, browser=browser)


@router.get("/{conversation_id}", response_class=HTMLResponse)
def thread_page(
    request: Request,
    browser: Reader,
    conversation_id: int,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    context = {
        **_list(request, browser, cursor),
        "thread": _thread(request, browser, conversation_id),
        "current": conversation_id,
    }
    return render(request, "inbox.html", context, browser=browser)


@router.post("/{conversation_id}/{action}")
async def act(request: Request, browser: Reader, conversation_id: int, action: str) -> Response:
    form = await posted(request, browser)
    writer, principal, now = (
        request.app.state.components.writer,
        browser.principal,
        datetime.now(UTC),
    )
    try:
        if action == "assign":
            target = form.get("user_id", "")
            user_id = principal.user.id if target == "me" and principal.user else None
            if target not in ("", "me"):
                user_id = int(target)
            inbox.assign(writer, principal, now, conversation_id, user_id)
        elif action == "label":
            inbox.add_label(writer, principal, now, conversation_id, form.get("label", ""))
        elif action == "unlabel":
            inbox.remove_label(writer, principal, now, conversation_id, form.get("label", ""))
        elif action == "status":
            inbox.set_status(writer, principal, now, conversation_id, form.get("status", ""))
        elif action == "note":
            inbox.add_note(writer, principal, now, conversation_id, form.get("note", ""))
        elif action == "retention":
            _reclassify(request, browser, conversation_id, form)
        else:
            raise HTTPException(404, f"action: {action!r} is unknown")
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except (DomainError, ServiceError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    back = form.get("back", "")
    location = back if back.startswith("/inbox") else f"/inbox/{conversation_id}"
    return RedirectResponse(location, 303)


def _reclassify(
    request: Request, browser: Browser, conversation_id: int, form: dict[str, str]
) -> None:
    from chatproof.services.reclassify import reclassify_conversation

    if not browser.principal.may(Permission.CHANGE_RETENTION):
        raise NotAllowed("only supervisors change retention classes")
    components = request.app.state.components
    reclassify_conversation(
        components.writer,
        components.blobs,
        conversation_id,
        form.get("retention_class", ""),
        reason=form.get("reason", ""),
        by=browser.principal.actor,
        now=datetime.now(UTC),
        tz=components.timezone,
        classes=components.retention_classes,
    )
