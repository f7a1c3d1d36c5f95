"""The data-protection officer's pages: who read which archived content, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatproof.domain.accounts import Permission
from chatproof.services import inbox
from chatproof.web.auth import Browser
from chatproof.web.ui.pages import page_for, render

router = APIRouter(prefix="/dpo")
Officer = Annotated[Browser, Depends(page_for(Permission.ACCESS_LOG))]


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
