"""The admin's pages: users and their roles, and the settings an admin changes often
(business hours, holidays, automatic texts, quick replies, templates). Every change is a log
entry (issue 5)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chatproof.channels.errors import ChannelError
from chatproof.domain import operational_settings
from chatproof.domain.accounts import AccountError, Permission, Role, parse_role
from chatproof.domain.business_hours import GERMAN_STATES, WEEKDAYS
from chatproof.domain.errors import ChatproofError, DomainError
from chatproof.services import accounts, quick_replies, templates
from chatproof.services import settings as operational
from chatproof.services.accounts import AccountProblem
from chatproof.web import sending_setup
from chatproof.web.auth import Browser
from chatproof.web.ui.i18n import translate
from chatproof.web.ui.pages import language_of, page_for, posted, render

logger = logging.getLogger(__name__)

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
    return translate(
        language_of(request, browser), "users.one_time", user=username, password=password
    )


Settings = Annotated[Browser, Depends(page_for(Permission.SETTINGS))]
DAYS = WEEKDAYS
HISTORY_ROWS = 30


def _settings_page(
    request: Request,
    browser: Browser,
    *,
    error: str = "",
    status: int = 200,
    submitted: dict[str, str] | None = None,
) -> HTMLResponse:
    """Business hours and holidays, greeting, away and privacy texts (stored values win over
    chatproof.toml), quick replies, templates, and the recent changes from the log."""
    state = request.app.state
    reader = state.components.reader
    in_force = operational.effective(reader, sending_setup.file_defaults(state.settings))
    setup = state.sending
    language = language_of(request, browser)
    notice = ""
    for name in ("saved", "synced", "submitted"):
        if name in request.query_params:
            value = request.query_params[name]
            notice = translate(language, f"settings.{name}", value=value)
    context = {
        "days": [(day, in_force[f"hours_{day}"]) for day in DAYS],
        "in_force": in_force,
        "states": GERMAN_STATES,
        "submitted": submitted or {},
        "text_keys": operational_settings.TEXT_KEYS,
        "stored_replies": quick_replies.stored(reader),
        "quick_replies": setup.quick_replies,
        "templates": setup.sending.catalogue.all(),
        "can_sync": bool(state.settings.templates.waba_id),
        "history": operational.history(reader, HISTORY_ROWS),
        "config_file": str(state.settings.data_dir / "chatproof.toml"),
        "notice": notice,
        "error": error,
    }
    return render(request, "settings.html", context, browser=browser, status=status)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, browser: Settings) -> Response:
    return _settings_page(request, browser)


@router.post("/settings", response_class=HTMLResponse)
async def save_settings(request: Request, browser: Settings) -> Response:
    """Save what the form holds; each form names the version of each setting it showed, and
    a setting changed by someone else since is a conflict (409), not overwritten."""
    form = await posted(request, browser)
    language = language_of(request, browser)
    values, expected = {}, {}
    try:
        for key in operational_settings.KEYS:
            if key not in form:
                continue
            values[key] = operational_settings.parse(key, form[key])
            version = form.get(f"version.{key}", "")
            if version:
                if not version.isdigit():
                    raise operational_settings.SettingError(
                        f"version.{key}", "must be a whole number"
                    )
                expected[key] = int(version)
        if not values:
            raise operational_settings.SettingError("key", "the form holds no setting")
        done = await asyncio.to_thread(
            operational.change_many,
            request.app.state.components.writer,
            browser.principal,
            datetime.now(UTC),
            values,
            expected=expected,
            defaults=sending_setup.file_defaults(request.app.state.settings),
        )
    except operational_settings.SettingError as exc:
        error = translate(language, "settings.invalid", problem=str(exc))
        return _settings_page(request, browser, error=error, status=400, submitted=form)
    except operational.StaleSetting as exc:
        error = translate(language, "settings.conflict", problem=str(exc))
        return _settings_page(request, browser, error=error, status=409)
    return RedirectResponse(f"/admin/settings?saved={len(done)}", 303)


@router.post("/settings/templates/sync", response_class=HTMLResponse)
async def sync_templates(request: Request, browser: Settings) -> Response:
    await posted(request, browser)
    try:
        count = await _sync(request, browser)
    except ChatproofError as exc:
        return _template_failure(request, browser, exc)
    return RedirectResponse(f"/admin/settings?synced={count}#templates", 303)


@router.post("/settings/templates", response_class=HTMLResponse)
async def submit_template(request: Request, browser: Settings) -> Response:
    """Submit a new template for the platform's review; the submission is a log entry, and a
    sync right after shows it as pending."""
    form = await posted(request, browser)
    state = request.app.state
    try:
        new = templates.draft(
            form.get("name", ""),
            form.get("language", ""),
            form.get("category", ""),
            form.get("text", ""),
            form.get("examples", "").splitlines(),
        )
        answer = await templates.submit(state.client.create_template, _waba_id(request), new)
    except ChatproofError as exc:
        return _template_failure(request, browser, exc, submitted=form)
    await asyncio.to_thread(
        templates.record_submission,
        state.components.writer,
        new,
        answer,
        browser.principal.actor,
        datetime.now(UTC),
    )
    try:
        await _sync(request, browser)
    except ChannelError:
        logger.warning("the templates could not be synced after a submission")
    return RedirectResponse(f"/admin/settings?submitted={new.name}#templates", 303)


def _waba_id(request: Request) -> str:
    waba_id: str = request.app.state.settings.templates.waba_id
    if not waba_id:
        raise operational_settings.SettingError("templates.waba_id", "is not configured")
    return waba_id


async def _sync(request: Request, browser: Browser) -> int:
    """Raises: SettingError without a business account, ChannelError from the platform."""
    state = request.app.state
    report = await templates.fetch(state.client.list_templates, _waba_id(request))
    await asyncio.to_thread(
        templates.store, state.components.writer, report, browser.principal.actor, datetime.now(UTC)
    )
    state.sending.sending.catalogue.replace_synced(report.templates)
    return len(report.templates)


def _template_failure(
    request: Request,
    browser: Browser,
    exc: ChatproofError,
    submitted: dict[str, str] | None = None,
) -> HTMLResponse:
    """A field that is wrong is the admin's to fix (400); a platform that refuses or cannot
    be reached is a bad gateway (502), with the platform's reason."""
    language = language_of(request, browser)
    if isinstance(exc, ChannelError):
        error = translate(language, "settings.platform_refused", problem=str(exc))
        status = 502
    else:
        error = translate(language, "settings.invalid", problem=str(exc))
        status = 400
    form = {f"template.{k}": v for k, v in (submitted or {}).items()}
    return _settings_page(request, browser, error=error, status=status, submitted=form)


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
