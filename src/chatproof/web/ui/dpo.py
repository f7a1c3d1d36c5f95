"""The data-protection officer's pages: who read which archived content, and when; the register
of data-subject requests with overdue and due-soon ones marked, and the access report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatproof.bootstrap import system_facts
from chatproof.domain.accounts import Permission
from chatproof.domain.errors import DomainError
from chatproof.services import inbox
from chatproof.services.dsr import list_requests
from chatproof.services.dsr_report import access_report, accesses_of
from chatproof.web.auth import Browser
from chatproof.web.ui.pages import page_for, posted, render

router = APIRouter(prefix="/dpo")
Officer = Annotated[Browser, Depends(page_for(Permission.ACCESS_LOG))]
Requests = Annotated[Browser, Depends(page_for(Permission.REQUESTS))]


@router.get("/access-log", response_class=HTMLResponse)
def access_log(
    request: Request,
    browser: Officer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    actor: Annotated[str, Query(max_length=200)] = "",
    target: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Who read what, newest first; for one person (``actor``) or one conversation."""
    records = inbox.access_log(
        request.app.state.components.reader,
        browser.principal,
        limit=limit,
        actor=actor.strip(),
        target=target.strip(),
    )
    context = {"records": records, "actor": actor, "target": target}
    return render(request, "access_log.html", context, browser=browser)


@router.get("/requests", response_class=HTMLResponse)
def requests(request: Request, browser: Requests) -> Response:
    """Open data-subject requests, earliest deadline first, overdue and due soon marked."""
    components = request.app.state.components
    today = datetime.now(UTC).astimezone(components.timezone).date()
    listed = list_requests(components.reader, today)
    return render(request, "requests.html", {"requests": listed}, browser=browser)


@router.post("/report")
async def report(request: Request, browser: Requests) -> Response:
    """The access report of one person as a zip; staff are named only if the DPO asks for
    their own view."""
    form = await posted(request, browser)
    components = request.app.state.components
    language = form.get("language", "de")
    try:
        made = access_report(
            components.writer,
            components.blobs,
            form.get("contact", ""),
            system_facts(components, language if language in ("de", "en") else None),
            components.retention_classes,
            components.timezone,
            by=f"user:{browser.session.user.username}",
            now=datetime.now(UTC),
            language=language,
            staff_names=form.get("staff_names") == "1",
        )
    except DomainError as exc:
        raise HTTPException(400, str(exc)) from None
    return Response(
        made.data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
    )


@router.get("/person-access", response_class=HTMLResponse)
def person_access(
    request: Request,
    browser: Requests,
    contact: Annotated[str, Query(min_length=1, max_length=40)],
) -> Response:
    """The access log filtered by person: every read of their data, whatever it went through."""
    try:
        found = accesses_of(request.app.state.components.reader, contact)
    except DomainError as exc:
        raise HTTPException(400, str(exc)) from None
    records = [
        {"at": a.at, "actor": a.actor, "action": a.purpose, "target": f"contact:{contact}"}
        for a in reversed(found)
    ]
    context = {"records": records, "actor": "", "target": f"contact:{contact}"}
    return render(request, "access_log.html", context, browser=browser)
