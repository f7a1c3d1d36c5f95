"""The tax auditor's workspace over HTTP (§ 147 (6) AO): search the archive and read a
conversation, as JSON for the auditor's browser or tools. The limits (audit period,
tax-relevant classes) are the service's; here only the role is checked, on the server."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatproof.bootstrap import gobd_context
from chatproof.domain.accounts import Permission
from chatproof.domain.errors import DomainError
from chatproof.services.auditor import AuditHit, AuditQuery, scope_of, search, view
from chatproof.services.gobd import ExportRequest, export_gobd
from chatproof.services.inbox import NotAllowed
from chatproof.store import NotFound
from chatproof.web.auth import Browser
from chatproof.web.ui.pages import page_for, posted, render

router = APIRouter(prefix="/audit")
Auditor = Annotated[Browser, Depends(page_for(Permission.ARCHIVE))]


@router.get("", response_class=HTMLResponse)
def audit_page(request: Request, browser: Auditor) -> Response:
    """The search form, with the auditor's audit period."""
    scope = scope_of(request.app.state.components.reader, browser.principal)
    return render(request, "audit.html", {"scope": scope}, browser=browser)


@router.get("/search")
def audit_search(
    request: Request,
    browser: Auditor,
    q: Annotated[str, Query(max_length=200)] = "",
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    contact: Annotated[str, Query(max_length=40)] = "",
    direction: Annotated[str, Query(pattern="^(|inbound|outbound)$")] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Full text, date range, contact, direction and kind, within the audit period."""
    components = request.app.state.components
    query = AuditQuery(q, start, end, contact, direction, kind, limit)
    try:
        hits = search(
            components.writer,
            browser.principal,
            components.retention_classes,
            components.timezone,
            datetime.now(UTC),
            query,
        )
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except DomainError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"messages": [_hit(h) for h in hits]}


@router.get("/conversations/{conversation_id}")
def audit_view(request: Request, browser: Auditor, conversation_id: int) -> dict[str, Any]:
    """A conversation, read-only: its messages inside the audit period and tax-relevant."""
    components = request.app.state.components
    try:
        hits = view(
            components.writer,
            browser.principal,
            components.retention_classes,
            components.timezone,
            datetime.now(UTC),
            conversation_id,
        )
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"conversation": conversation_id, "messages": [_hit(h) for h in hits]}


@router.post("/export")
async def audit_export(request: Request, browser: Auditor) -> Response:
    """The GoBD data handover of a period inside the audit period, as the zip the command
    writes; the export's read of archived content is logged for this auditor."""
    form = await posted(request, browser)
    components = request.app.state.components
    try:
        start, end = (_day(form, "from"), _day(form, "to"))
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    scope = scope_of(components.reader, browser.principal)
    if scope is None or not (scope.covers(start) and scope.covers(end)) or end < start:
        raise HTTPException(403, "the period must lie inside your audit period")
    ctx = gobd_context(components, browser.principal.actor)
    with tempfile.TemporaryDirectory(prefix="gobd-") as scratch:
        folder = Path(scratch) / f"gobd-{start.isoformat()}-{end.isoformat()}"
        made = await asyncio.to_thread(
            export_gobd, ctx, ExportRequest(start, end, folder), datetime.now(UTC)
        )
        data = Path(made.zip).read_bytes()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{folder.name}.zip"'},
    )


def _day(form: dict[str, str], field: str) -> date:
    try:
        return date.fromisoformat(form.get(field, ""))
    except ValueError:
        raise ValueError(f"{field}: a day as YYYY-MM-DD") from None


def _hit(hit: AuditHit) -> dict[str, Any]:
    m = hit.message
    return {
        "id": m.id,
        "conversation": m.conversation_id,
        "contact": hit.contact_id,
        "direction": m.direction,
        "kind": m.type,
        "sent_at": m.sent_at.isoformat(),
        "status": m.status,
        "text": m.text,
        "retention_class": hit.retention_class,
    }
