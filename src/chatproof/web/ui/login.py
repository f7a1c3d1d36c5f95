"""Signing in and out: password, then a TOTP code (or enrolment where the role requires a
second factor), and the person's own account settings."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chatproof.domain.accounts import AccountError
from chatproof.services import accounts
from chatproof.services.accounts import Stage
from chatproof.web.auth import (
    Browser,
    browser_of,
    check_csrf,
    clear_session_cookie,
    keys_of,
    set_session_cookie,
)
from chatproof.web.ui.pages import posted, render, signed_in

router = APIRouter()

LOGIN_CSRF_COOKIE = "chatproof_login"
Signed = Annotated[Browser, Depends(signed_in)]


def _login_form(request: Request, error: str = "", status: int = 200) -> HTMLResponse:
    """Before a session exists, the form carries a random value that must match a cookie
    (double submit), so another site cannot sign a browser in to its own account."""
    value = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"error": error, "csrf": value}, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    browser = browser_of(request)
    if browser is not None and browser.session.stage == Stage.FULL:
        return RedirectResponse("/", 303)
    return _login_form(request)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    offered, expected = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not offered or not secrets.compare_digest(offered, expected):
        return _login_form(request, "login.expired", 403)
    outcome = accounts.sign_in(
        request.app.state.components.writer,
        keys_of(request),
        datetime.now(UTC),
        str(form.get("username", "")),
        str(form.get("password", "")),
    )
    if outcome.token is None:
        error = "login.locked" if outcome.refusal == accounts.LOCKED else "login.refused"
        return _login_form(request, error, 401)
    target = {Stage.FULL: "/", Stage.TOTP: "/login/totp", Stage.ENROL: "/login/enrol"}
    response = RedirectResponse(target[outcome.stage or Stage.FULL], 303)
    set_session_cookie(request, response, outcome.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _pending(request: Request, stage: Stage) -> Browser:
    browser = browser_of(request)
    if browser is None or browser.session.stage != stage:
        raise HTTPException(303, headers={"Location": "/login"})
    return browser


@router.get("/login/totp", response_class=HTMLResponse)
def totp_page(request: Request) -> Response:
    browser = _pending(request, Stage.TOTP)
    return render(request, "totp.html", {"error": ""}, browser=browser)


@router.post("/login/totp", response_class=HTMLResponse)
async def totp(request: Request) -> Response:
    browser = _pending(request, Stage.TOTP)
    form = await posted(request, browser)
    confirmed = accounts.confirm_totp(
        request.app.state.components.writer,
        keys_of(request),
        datetime.now(UTC),
        browser.token,
        form.get("code", ""),
    )
    if not confirmed:
        return render(request, "totp.html", {"error": "totp.wrong"}, browser=browser, status=401)
    return RedirectResponse("/", 303)


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_page(request: Request) -> Response:
    browser = _pending(request, Stage.ENROL)
    secret, uri = accounts.start_totp_enrolment(
        request.app.state.components.writer,
        keys_of(request),
        datetime.now(UTC),
        browser.session.user,
    )
    context = {"secret": secret, "uri": uri, "error": ""}
    return render(request, "enrol.html", context, browser=browser)


@router.post("/login/enrol", response_class=HTMLResponse)
async def enrol(request: Request) -> Response:
    browser = _pending(request, Stage.ENROL)
    form = await posted(request, browser)
    done = accounts.finish_totp_enrolment(
        request.app.state.components.writer,
        keys_of(request),
        datetime.now(UTC),
        browser.session.user,
        form.get("code", ""),
        browser.token,
    )
    if not done:
        context = {"secret": "", "uri": "", "error": "totp.wrong"}
        return render(request, "enrol.html", context, browser=browser, status=401)
    return RedirectResponse("/", 303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    browser = browser_of(request)
    response = RedirectResponse("/login", 303)
    if browser is not None:
        form = await request.form()
        check_csrf(request, browser, str(form.get("csrf", "")))
        accounts.sign_out(request.app.state.components.writer, datetime.now(UTC), browser.token)
    clear_session_cookie(response)
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, browser: Signed) -> Response:
    return render(request, "password.html", {"error": "", "done": False}, browser=browser)


@router.post("/account/password", response_class=HTMLResponse)
async def password(request: Request, browser: Signed) -> Response:
    form = await posted(request, browser)
    try:
        accounts.change_password(
            request.app.state.components.writer,
            datetime.now(UTC),
            browser.session.user,
            form.get("current_password", ""),
            form.get("new_password", ""),
        )
    except AccountError as exc:
        context = {"error": str(exc), "done": False}
        return render(request, "password.html", context, browser=browser, status=400)
    return RedirectResponse("/", 303)


@router.post("/account/language")
async def language(request: Request, browser: Signed) -> Response:
    form = await posted(request, browser)
    user = browser.session.user
    try:
        accounts.set_language(
            request.app.state.components.writer,
            user.actor,
            datetime.now(UTC),
            user.id,
            form.get("language", ""),
        )
    except AccountError as exc:
        raise HTTPException(400, str(exc)) from None
    back = urlsplit(request.headers.get("referer", ""))
    path = back.path if back.path.startswith("/") and not back.path.startswith("//") else "/"
    return RedirectResponse(path + (f"?{back.query}" if back.query else ""), 303)
