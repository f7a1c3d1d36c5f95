"""The start page after signing in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from chatproof.web.auth import Browser
from chatproof.web.ui.pages import render, signed_in

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, browser: Annotated[Browser, Depends(signed_in)]) -> Response:
    return render(request, "home.html", browser=browser)
