"""The admin's pages: users and their roles. Every change is a log entry (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chatproof.domain.accounts import AccountError, Permission, Role, parse_role
from chatproof.domain.errors import DomainError
from chatproof.services import accounts, quick_replies
from chatproof.services.accounts import AccountProblem
from chatproof.web.auth import Browser
from chatproof.web.ui.pages import language_of, page_for, posted, render

router = APIRouter(prefix="/admin")
Admin = Annotated[Browser, Depends(page_for(Permission.USERS))]


def _users_page(
    request: Request, browser: Browser, notice: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    context = {
        "users": accounts.list_users(request.app.state.components.reader),
        "roles": [r.value for r in Role],
        "now": datetime.now(UTC),
        "notice": notice,
        "error": error,
    }
    return render(request, "users.html", context, browser=browser, status=status)


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, browser: Admin) -> Response:
    return _users_page(request, browser)


@router.post("/users", response_class=HTMLResponse)
async def add_user(request: Request, browser: Admin) -> Response:
    form = await posted(request, browser)
    try:
        user, password = accounts.add_user(
            request.app.state.components.writer,
            browser.principal.actor,
            datetime.now(UTC),
            username=form.get("username", ""),
            role=parse_role(form.get("role", "")),
            display_name=form.get("display_name", ""),
            language=form.get("language", "de"),
        )
    except AccountError as exc:
        return _users_page(request, browser, error=str(exc), status=400)
    notice = _one_time(request, browser, user.username, password)
    return _users_page(request, browser, notice=notice)


@router.post("/users/{username}/{action}", response_class=HTMLResponse)
async def change_user(request: Request, browser: Admin, username: str, action: str) -> Response:
    form = await posted(request, browser)
    writer, actor, now = (
        request.app.state.components.writer,
        browser.principal.actor,
        datetime.now(UTC),
    )
    notice = ""
    try:
        if action in ("disable", "enable"):
            accounts.set_disabled(writer, actor, now, username, action == "disable")
        elif action == "reset-password":
            password = accounts.reset_password(writer, actor, now, username)
            notice = _one_time(request, browser, username, password)
        elif action == "role":
            accounts.change_role(writer, actor, now, username, parse_role(form.get("role", "")))
        else:
            return _users_page(request, browser, error=f"action: {action!r} is unknown", status=404)
    except AccountError as exc:
        return _users_page(request, browser, error=str(exc), status=400)
    except AccountProblem as exc:
        return _users_page(request, browser, error=str(exc), status=404)
    return _users_page(request, browser, notice=notice)


def _one_time(request: Request, browser: Browser, username: str, password: str) -> str:
    from chatproof.web.ui.i18n import translate

    return translate(
        language_of(request, browser), "users.one_time", user=username, password=password
    )


Settings = Annotated[Browser, Depends(page_for(Permission.SETTINGS))]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, browser: Settings) -> Response:
    """What the installation is configured with: business hours and holidays, greeting,
    away and privacy texts, quick replies, templates. They live in ``chatproof.toml``."""
    automations = request.app.state.settings.automations
    setup = request.app.state.sending
    context = {
        "hours": [(day, getattr(automations, f"hours_{day}", "")) for day in DAYS],
        "automations": automations,
        "quick_replies": setup.quick_replies,
        "stored_replies": quick_replies.stored(request.app.state.components.reader),
        "templates": setup.sending.catalogue.all(),
        "config_file": str(request.app.state.settings.data_dir / "chatproof.toml"),
    }
    return render(request, "settings.html", context, browser=browser)


@router.post("/settings/quick-replies")
async def save_quick_reply(request: Request, browser: Settings) -> Response:
    form = await posted(request, browser)
    try:
        quick_replies.save(
            request.app.state.components.writer,
            browser.principal,
            datetime.now(UTC),
            form.get("name", ""),
            form.get("text", ""),
        )
    except DomainError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/admin/settings", 303)


@router.post("/settings/quick-replies/{name}/delete")
async def delete_quick_reply(request: Request, browser: Settings, name: str) -> Response:
    await posted(request, browser)
    found = quick_replies.delete(
        request.app.state.components.writer, browser.principal, datetime.now(UTC), name
    )
    if not found:
        raise HTTPException(404, f"quick reply {name!r} does not exist")
    return RedirectResponse("/admin/settings", 303)
