"""Who is asking: a browser session (signed cookie), a person's API token, or the configured
installation token; and whether they may (one permission table, checked on the server for
every route, page and API call, issue 5).

Browser sessions act only with a CSRF token bound to the session: a hidden form field or the
``X-CSRF-Token`` header on every state-changing request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import HTTPException, Request, Response

from chatproof.domain.accounts import Permission, Principal
from chatproof.services import accounts
from chatproof.services.accounts import AccountKeys, Stage
from chatproof.store.users import WebSession

COOKIE = "chatproof_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Browser:
    """A browser's session and the token its cookie carries."""

    session: WebSession
    token: str

    @property
    def principal(self) -> Principal:
        return Principal(self.session.user.actor, self.session.user)


def keys_of(request: Request) -> AccountKeys:
    return request.app.state.account_keys


def browser_of(request: Request) -> Browser | None:
    """The session the cookie names, at whatever stage it is (cached per request)."""
    if "browser" in request.scope:
        return request.scope["browser"]
    found = None
    raw = request.cookies.get(COOKIE, "")
    token = accounts.unsign_cookie(keys_of(request), raw) if raw else None
    if token:
        session = accounts.session_for(
            request.app.state.components.writer, datetime.now(UTC), token
        )
        if session is not None:
            found = Browser(session, token)
    request.scope["browser"] = found
    return found


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        accounts.sign_cookie(keys_of(request), token),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def csrf_for(request: Request, browser: Browser) -> str:
    return accounts.csrf_token(keys_of(request), browser.token)


def check_csrf(request: Request, browser: Browser, offered: str | None) -> None:
    """Raises 403 unless ``offered`` (or the header) is this session's CSRF token."""
    value = offered or request.headers.get(CSRF_HEADER, "")
    if not accounts.csrf_valid(keys_of(request), browser.token, value):
        raise HTTPException(403, "csrf: the form is out of date or not from this site")


def api_principal(request: Request) -> Principal:
    """Bearer token (the installation's or a person's) or, for the browser's own fetches, the
    signed-in session with its CSRF header on anything but reads. 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    now = datetime.now(UTC)
    if scheme.lower() == "bearer" and token:
        expected = request.app.state.settings.server.api_token
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return Principal("api-token")
        found = accounts.principal_for_token(request.app.state.components.writer, now, token)
        if found is not None:
            return found
    elif not header:
        browser = browser_of(request)
        if browser is not None and browser.session.stage == Stage.FULL:
            if request.method not in SAFE_METHODS:
                check_csrf(request, browser, None)
            return browser.principal
    raise HTTPException(
        401,
        "authorization: a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


def ensure(principal: Principal, permission: Permission) -> None:
    """Raises 403 naming the permission the caller's role lacks."""
    if not principal.may(permission):
        role = principal.user.role.value if principal.user else "?"
        raise HTTPException(403, f"role {role} may not use this ({permission.value})")
