"""Signing in over HTTP: CSRF on every form, cookie flags, lockout, TOTP, roles checked on the
server for pages and API calls, and per-user API tokens next to the installation's token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.domain.accounts import MAX_FAILED_ATTEMPTS, Role
from chatproof.services import accounts
from chatproof.services.accounts import AccountKeys

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en-GB,en;q=0.9"


def add(components: Components, name: str, role: Role) -> str:
    """Create a user; for roles that need it, enrol TOTP and return the secret."""
    now = datetime.now(UTC)
    user, _ = accounts.add_user(
        components.writer, "test", now, username=name, role=role, password=PASSWORD
    )
    if role in (Role.ADMIN, Role.DPO, Role.AUDITOR):
        keys = AccountKeys.from_master(components.sealing.master_key)
        # enrolled a while ago: the code used to enrol is not the one used to sign in
        earlier = now - timedelta(minutes=2)
        return accounts.enrol_totp_now(components.writer, keys, earlier, user)
    return ""


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, name: str, password: str = PASSWORD, secret: str = ""
) -> httpx.Response:
    form = await client.get("/login")
    response = await client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf_of(form)}
    )
    if secret and response.headers.get("location") == "/login/totp":
        page = await client.get("/login/totp")
        code = pyotp.TOTP(secret).now()
        response = await client.post("/login/totp", data={"code": code, "csrf": csrf_of(page)})
    return response


async def test_signing_in_sets_a_hardened_session_cookie(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    response = await sign_in(client, "maria")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    home = await client.get("/", follow_redirects=True)
    assert home.status_code == 200 and "maria" in home.text


async def test_a_login_form_without_its_csrf_value_is_refused(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    response = await client.post("/login", data={"username": "maria", "password": PASSWORD})
    assert response.status_code == 403
    assert "chatproof_session" not in response.headers.get("set-cookie", "")


async def test_wrong_passwords_lock_the_account(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    for _ in range(MAX_FAILED_ATTEMPTS):
        response = await sign_in(client, "maria", "not it at all")
        assert response.status_code == 401
    locked = await sign_in(client, "maria")
    assert locked.status_code == 401 and "locked" in locked.text


async def test_admins_need_their_second_factor(
    client: httpx.AsyncClient, components: Components
) -> None:
    secret = add(components, "boss", Role.ADMIN)
    response = await sign_in(client, "boss")
    assert response.headers["location"] == "/login/totp"
    assert (await client.get("/admin/users")).headers["location"] == "/login"
    page = await client.get("/login/totp")
    assert "Two-factor code" in page.text
    wrong = await client.post("/login/totp", data={"code": "000000", "csrf": csrf_of(page)})
    assert wrong.status_code == 401
    code = pyotp.TOTP(secret).now()
    right = await client.post("/login/totp", data={"code": code, "csrf": csrf_of(page)})
    assert right.status_code == 303
    assert (await client.get("/admin/users")).status_code == 200


async def test_an_agent_gets_403_from_admin_and_dpo_pages(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    assert (await client.get("/admin/users")).status_code == 403
    home = await client.get("/inbox")
    forged = await client.post(
        "/admin/users", data={"username": "evil", "role": "admin", "csrf": csrf_of(home)}
    )
    assert forged.status_code == 403
    assert accounts.list_users(components.reader)[0].username == "maria"


async def test_state_changes_need_the_sessions_csrf_token(
    client: httpx.AsyncClient, components: Components
) -> None:
    secret = add(components, "boss", Role.ADMIN)
    await sign_in(client, "boss", secret=secret)
    no_token = await client.post("/admin/users", data={"username": "jo", "role": "agent"})
    assert no_token.status_code == 403
    page = await client.get("/admin/users")
    added = await client.post(
        "/admin/users", data={"username": "jo", "role": "agent", "csrf": csrf_of(page)}
    )
    assert added.status_code == 200 and "One-time password for jo" in added.text
    assert [u.username for u in accounts.list_users(components.reader)] == ["boss", "jo"]


async def test_signing_out_ends_the_session(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    home = await client.get("/inbox")
    cookie = client.cookies.get("chatproof_session")
    out = await client.post("/logout", data={"csrf": csrf_of(home)})
    assert out.status_code == 303
    client.cookies.set("chatproof_session", cookie or "")
    assert (await client.get("/")).headers["location"] == "/login"


async def test_user_api_tokens_act_with_their_role(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    token = accounts.create_api_token(components.writer, "test", datetime.now(UTC), "maria", "x")
    mine = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/conversations", headers=mine)).status_code == 200
    refused = await client.get("/api/quarantine", headers=mine)
    assert refused.status_code == 403 and "agent" in refused.json()["detail"]
    installation = {"Authorization": f"Bearer {settings.server.api_token}"}
    assert (await client.get("/api/quarantine", headers=installation)).status_code == 200
    bad = {"Authorization": f"Bearer {token}x"}
    assert (await client.get("/api/conversations", headers=bad)).status_code == 401


async def test_the_browser_session_reads_the_api_and_needs_csrf_to_change(
    client: httpx.AsyncClient, components: Components
) -> None:
    secret = add(components, "boss", Role.ADMIN)
    await sign_in(client, "boss", secret=secret)
    assert (await client.get("/api/quarantine")).status_code == 200
    refused = await client.post("/api/quarantine/1/resolve")
    assert refused.status_code == 403 and "csrf" in refused.json()["detail"]
    page = await client.get("/admin/users")
    missing = await client.post(
        "/api/quarantine/1/resolve", headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert missing.status_code == 404


async def test_pages_speak_the_browsers_language_until_the_user_chooses(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    client.headers["Accept-Language"] = "de-DE,de;q=0.9"
    assert "Anmelden" in (await client.get("/login")).text
    await sign_in(client, "maria")
    page = await client.get("/inbox")
    assert "Keine Unterhaltungen." in page.text
    await client.post("/account/language", data={"language": "en", "csrf": csrf_of(page)})
    assert "No conversations." in (await client.get("/inbox")).text


async def test_admins_see_the_settings_and_agents_get_403(
    client: httpx.AsyncClient, components: Components
) -> None:
    secret = add(components, "boss", Role.ADMIN)
    add(components, "maria", Role.AGENT)
    await sign_in(client, "boss", secret=secret)
    page = await client.get("/admin/settings")
    assert page.status_code == 200
    assert "Business hours" in page.text and "chatproof.toml" in page.text
    await client.post("/logout", data={"csrf": csrf_of(page)})
    await sign_in(client, "maria")
    assert (await client.get("/admin/settings")).status_code == 403


async def test_behind_https_the_session_cookie_is_secure(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    secure = httpx.AsyncClient(transport=client._transport, base_url="https://chatproof")
    async with secure:
        response = await sign_in(secure, "maria")
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "session" in v
    )
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_an_admin_keeps_quick_replies_and_each_change_is_archived(
    client: httpx.AsyncClient, components: Components
) -> None:
    from sqlalchemy import select

    from chatproof.store import tables as t

    secret = add(components, "boss", Role.ADMIN)
    await sign_in(client, "boss", secret=secret)
    page = await client.get("/admin/settings")
    for text in ("Wir melden uns morgen.", "Wir melden uns bis morgen 12 Uhr."):
        saved = await client.post(
            "/admin/settings/quick-replies",
            data={"name": "/morgen", "text": text, "csrf": csrf_of(page)},
        )
        assert saved.status_code == 303
    page = await client.get("/admin/settings")
    assert "/morgen" in page.text and "bis morgen 12 Uhr" in page.text
    bad = await client.post(
        "/admin/settings/quick-replies",
        data={"name": "two words", "text": "x", "csrf": csrf_of(page)},
    )
    assert bad.status_code == 400 and bad.json()["detail"].startswith("name:")
    deleted = await client.post(
        "/admin/settings/quick-replies/morgen/delete", data={"csrf": csrf_of(page)}
    )
    assert deleted.status_code == 303
    with components.engine.connect() as conn:
        kinds = list(
            conn.execute(
                select(t.log_entries.c.kind)
                .where(t.log_entries.c.kind.like("settings.%"))
                .order_by(t.log_entries.c.idx)
            ).scalars()
        )
    assert kinds == [
        "settings.quick_reply_saved",
        "settings.quick_reply_saved",
        "settings.quick_reply_deleted",
    ]
    await client.post("/logout", data={"csrf": csrf_of(page)})
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    inbox_page = await client.get("/inbox")
    refused = await client.post(
        "/admin/settings/quick-replies",
        data={"name": "x", "text": "y", "csrf": csrf_of(inbox_page)},
    )
    assert refused.status_code == 403
