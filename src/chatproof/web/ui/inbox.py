"""The inbox pages: conversation list with filters and search, the thread, the contact panel,
and the forms that assign, label, close, reopen, annotate and reclassify. Every route checks
the role on the server; the page polls for changes so new messages and statuses appear
without reloading."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from chatproof.archive.errors import ArchiveError
from chatproof.domain.accounts import Permission
from chatproof.domain.attachments import KINDS, LIMITS, MIB, AttachmentError, check
from chatproof.domain.errors import DomainError
from chatproof.domain.phone import mask_phone
from chatproof.domain.team_inbox import parse_status, parse_view
from chatproof.services import composer, inbox, quick_replies, sending
from chatproof.services.errors import ServiceError
from chatproof.services.inbox import NotAllowed
from chatproof.services.reclassify import reclassify_conversation, reclassify_message
from chatproof.services.sending import Outgoing
from chatproof.store import NotFound
from chatproof.web.auth import Browser
from chatproof.web.ui.bubbles import bubble
from chatproof.web.ui.pages import language_of, page_for, posted, render

router = APIRouter(prefix="/inbox")
Reader = Annotated[Browser, Depends(page_for(Permission.READ_OWN))]
Replier = Annotated[Browser, Depends(page_for(Permission.REPLY))]
FILTERS = ("view", "status", "label", "q")


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params[k] for k in FILTERS if request.query_params.get(k)}


def _list(request: Request, browser: Browser, cursor: str | None) -> dict[str, Any]:
    filters = _filters(request)
    # Before the list: what arrives meanwhile then makes the page's first poll refresh it.
    version = inbox.version(request.app.state.components.reader)
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
        "unread": inbox.unread_summary(request.app.state.components.reader, browser.principal),
        "version": version,
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
    now = datetime.now(UTC)
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
        "window_left": _left(conversation.window_ends, now),
        "now": now,
        "composer": _composer(request, browser, conversation_id),
        "retention": thread.retention_class,
        "message_classes": thread.message_classes,
        "legal_hold": thread.legal_hold,
        "retention_classes": sorted(request.app.state.components.retention_classes),
    }


def _left(ends: datetime | None, now: datetime) -> str:
    if ends is None or ends <= now:
        return ""
    minutes = int((ends - now).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _composer(request: Request, browser: Browser, conversation_id: int) -> dict[str, Any] | None:
    """What the composer offers: quick replies, templates, the customer's consents."""
    if not browser.principal.may(Permission.REPLY):
        return None
    setup = request.app.state.sending
    return {
        "quick_replies": {
            **setup.quick_replies,
            **quick_replies.stored(request.app.state.components.reader),
        },
        "templates": setup.sending.catalogue.all(),
        "consents": composer.consents(request.app.state.components.reader, conversation_id),
        "key": uuid.uuid4().hex,
        "accept": ",".join(KINDS),
    }


def _outgoing(values: dict[str, str], params: list[str]) -> Outgoing:
    name, _, language = values.get("template", "").partition("|")
    return Outgoing(
        text="" if name else values.get("text", ""),
        template=name,
        language=language,
        body_params=tuple(params) if name else (),
        purpose=values.get("purpose", "service") or "service",
    )


@router.get("", response_class=HTMLResponse)
def inbox_page(request: Request, browser: Reader, cursor: str | None = None) -> Response:
    context = {**_list(request, browser, cursor), "thread": None}
    return render(request, "inbox.html", context, browser=browser)


@router.get("/updates")
def updates(request: Request, browser: Reader) -> JSONResponse:
    """The inbox's version, which makes the page reload its parts when it changes, and the
    person's own unread counts (total and per conversation), which the page shows as they are.
    The total counts conversations among the person's latest ``horizon`` open ones."""
    reader = request.app.state.components.reader
    summary = inbox.unread_summary(reader, browser.principal)
    return JSONResponse(
        {
            "version": inbox.version(reader),
            "unread": {
                "conversations": summary.conversations,
                "messages": summary.messages,
                "horizon": summary.horizon,
                "counts": {str(k): v for k, v in summary.counts.items()},
            },
        }
    )


@router.get("/fragment/list", response_class=HTMLResponse)
def list_fragment(request: Request, browser: Reader, current: int | None = None) -> Response:
    context = {**_list(request, browser, None), "current": current}
    return render(request, "_list.html", context, browser=browser)


@router.get("/fragment/thread/{conversation_id}", response_class=HTMLResponse)
def thread_fragment(request: Request, browser: Reader, conversation_id: int) -> Response:
    context = _thread(request, browser, conversation_id)
    return render(request, "_messages.html", context, browser=browser)


@router.get("/{conversation_id}/messages/{message_id}/retention", response_class=HTMLResponse)
def message_retention_page(
    request: Request, browser: Reader, conversation_id: int, message_id: int
) -> Response:
    """The form that gives one message another retention class (supervisors)."""
    if not browser.principal.may(Permission.CHANGE_RETENTION):
        raise HTTPException(403, "only supervisors change retention classes")
    thread = _thread(request, browser, conversation_id)
    if message_id not in thread["by_id"]:
        raise HTTPException(404, f"message {message_id} is not in conversation {conversation_id}")
    context = {
        "conversation_id": conversation_id,
        "bubble": thread["by_id"][message_id],
        "current": thread["message_classes"].get(message_id, thread["retention"]),
        "classes": thread["retention_classes"],
    }
    return render(request, "message_retention.html", context, browser=browser)


@router.get("/{conversation_id}", response_class=HTMLResponse)
def thread_page(
    request: Request,
    browser: Reader,
    conversation_id: int,
    cursor: Annotated[str | None, Query()] = None,
) -> Response:
    # the thread first: opening it records it as read, which the list then shows
    thread = _thread(request, browser, conversation_id)
    context = {**_list(request, browser, cursor), "thread": thread, "current": conversation_id}
    return render(request, "inbox.html", context, browser=browser)


@router.get("/{conversation_id}/gate")
def gate(request: Request, browser: Replier, conversation_id: int) -> JSONResponse:
    """Whether the policy gate would allow this message now, in the person's language."""
    values = dict(request.query_params)
    try:
        inbox.check_reach(request.app.state.components.reader, browser.principal, conversation_id)
        decision = composer.preview(
            request.app.state.components.reader,
            conversation_id,
            _outgoing(values, request.query_params.getlist("param")),
            request.app.state.sending.sending,
            datetime.now(UTC),
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except (DomainError, ServiceError) as exc:
        return JSONResponse({"complete": False, "reason": str(exc)})
    language = language_of(request, browser)
    return JSONResponse(
        {
            "complete": True,
            "allowed": decision.allowed,
            "rule": decision.rule_id,
            "reason": decision.reason(language),
        }
    )


@router.post("/{conversation_id}/send", response_class=HTMLResponse)
async def send(request: Request, browser: Replier, conversation_id: int) -> Response:
    """Hand the message to the gate and the outbox; a refusal is shown in words with its
    rule, on the page the agent wrote it on."""
    values = await posted(request, browser)
    form = await request.form()
    params = [p for p in form.getlist("param") if isinstance(p, str)]
    writer = request.app.state.components.writer
    try:
        inbox.check_reach(writer, browser.principal, conversation_id)
        message = await _with_attachment(_outgoing(values, params), form.get("attachment"), values)
        contact_id = sending.contact_of_conversation(writer, conversation_id)
        accepted = sending.submit_to_contact(
            writer,
            contact_id,
            message,
            request.app.state.sending.sending,
            datetime.now(UTC),
            idempotency_key=f"ui:{values.get('key', '') or uuid.uuid4().hex}",
            origin="agent",
            actor=browser.principal.actor,
            blobs=request.app.state.components.blobs,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except (DomainError, ServiceError) as exc:
        raise HTTPException(400, str(exc)) from None
    if accepted.decision.allowed:
        return RedirectResponse(f"/inbox/{conversation_id}", 303)
    language = language_of(request, browser)
    thread = _thread(request, browser, conversation_id)  # read first, as on the thread page
    context = {
        **_list(request, browser, None),
        "thread": thread,
        "current": conversation_id,
        "refusal": accepted.decision.reason(language),
        "refusal_rule": accepted.decision.rule_id,
        "draft": values.get("text", ""),
    }
    return render(request, "inbox.html", context, browser=browser, status=403)


async def _with_attachment(message: Outgoing, upload: object, values: dict[str, str]) -> Outgoing:
    """The composer's file, checked, with its caption (the caption field, else the text
    typed); the message unchanged when no file was chosen.

    Raises:
        AttachmentError: naming the field.
    """
    if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
        return message
    largest = max(LIMITS.values())
    if upload.size is not None and upload.size > largest:
        raise AttachmentError(f"files may be at most {largest // MIB} MB")
    data = await upload.read()
    caption = values.get("caption", "").strip() or message.text
    attachment = check(data, upload.filename or "", upload.content_type or "", caption)
    return dataclasses.replace(message, text="", attachment=attachment)


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
        elif action == "unread":
            inbox.mark_unread(writer, principal, now, conversation_id)
        elif action == "retention":
            _reclassify(request, browser, form, reclassify_conversation, conversation_id)
        elif action == "message-retention":
            message_id = int(form.get("message_id", "0") or 0)
            _reclassify(request, browser, form, reclassify_message, message_id)
        else:
            raise HTTPException(404, f"action: {action!r} is unknown")
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except (DomainError, ServiceError, ArchiveError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    back = form.get("back", "")
    location = back if back.startswith("/inbox") else f"/inbox/{conversation_id}"
    return RedirectResponse(location, 303)


def _reclassify(
    request: Request,
    browser: Browser,
    form: dict[str, str],
    change: Callable[..., object],
    target: int,
) -> None:
    """A conversation, or one message in it (an invoice sent by chat is a booking voucher),
    gets another retention class."""
    if not browser.principal.may(Permission.CHANGE_RETENTION):
        raise NotAllowed("only supervisors change retention classes")
    components = request.app.state.components
    change(
        components.writer,
        components.blobs,
        target,
        form.get("retention_class", ""),
        reason=form.get("reason", ""),
        by=browser.principal.actor,
        now=datetime.now(UTC),
        tz=components.timezone,
        classes=components.retention_classes,
    )
