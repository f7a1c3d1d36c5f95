"""What every page shares: templates, the signed-in person, their language, the CSRF token,
and the permission check that answers 403 on the server (issue 5). An auditor's every page
view is a log entry (DESIGN invariant 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from chatproof.domain.accounts import Permission, Principal, Role
from chatproof.domain.phone import mask_phone
from chatproof.services.access import record_read
from chatproof.services.accounts import Stage
from chatproof.web.auth import Browser, browser_of, check_csrf, csrf_for
from chatproof.web.ui.i18n import format_number, format_time, from_accept_language, translate

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["Permission"] = Permission


def language_of(request: Request, browser: Browser | None = None) -> str:
    if (
        browser is not None
        and browser.session.stage == Stage.FULL
        and browser.session.user.language
    ):
        return browser.session.user.language
    return from_accept_language(request.headers.get("accept-language", ""))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    browser: Browser | None = None,
    status: int = 200,
) -> HTMLResponse:
    language = language_of(request, browser)
    tz = request.app.state.components.timezone
    signed_in = browser is not None and browser.session.stage == Stage.FULL
    base: dict[str, Any] = {
        "lang": language,
        "t": lambda key, **values: translate(language, key, **values),
        "when": lambda value: format_time(language, value, tz),
        "number": lambda value, digits=0: format_number(language, value, digits),
        "masked": mask_phone,
        "user": browser.session.user if signed_in and browser else None,
        "principal": browser.principal if signed_in and browser else None,
        "csrf": csrf_for(request, browser) if browser else "",
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status
    )


def redirect(location: str) -> HTTPException:
    return HTTPException(303, headers={"Location": location})


def signed_in(request: Request) -> Browser:
    """The signed-in browser; otherwise a redirect to the sign-in page (or to the password
    change a one-time password requires)."""
    browser = browser_of(request)
    if browser is None or browser.session.stage != Stage.FULL:
        raise redirect("/login")
    if browser.session.user.must_change_password and request.url.path != "/account/password":
        raise redirect("/account/password")
    if browser.session.user.role is Role.AUDITOR:
        now = datetime.now(UTC)
        with request.app.state.components.writer() as uow:
            record_read(uow, now, browser.principal.actor, "view_page", request.url.path, None)
            uow.commit()
    return browser


def page_for(permission: Permission) -> Callable[[Request], Browser]:
    """A dependency for a page that needs ``permission``: 403 from the server otherwise."""

    def check(request: Request) -> Browser:
        browser = signed_in(request)
        if not browser.principal.may(permission):
            raise HTTPException(
                403, f"role {browser.session.user.role.value} may not open this page"
            )
        return browser

    return check


async def posted(request: Request, browser: Browser) -> dict[str, str]:
    """The form of a state-changing request, after its CSRF token was checked."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, browser, values.get("csrf"))
    return values


def may(principal: Principal | None, permission: Permission) -> bool:
    return principal is not None and principal.may(permission)


templates.env.globals["may"] = may
