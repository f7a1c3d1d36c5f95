"""The start page: straight to the inbox for those who work in it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chatproof.domain.accounts import Permission
from chatproof.web.auth import Browser
from chatproof.web.ui.pages import render, signed_in

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, browser: Annotated[Browser, Depends(signed_in)]) -> Response:
    if browser.principal.may(Permission.READ_OWN):
        return RedirectResponse("/inbox", 303)
    return render(request, "home.html", browser=browser)
