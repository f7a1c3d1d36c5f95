"""The settings pages over HTTP: an admin changes business hours and texts, each change is a
log entry shown in the history; CSRF is enforced, agents get 403 from the server, a bad value
is a 400 naming the field with nothing written, and a stale form is a 409."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from chatproof.bootstrap import Components
from chatproof.domain.accounts import Role
from chatproof.store import tables as t
from tests.e2e.web.test_auth import add, csrf_of, sign_in


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en"


async def admin(client: httpx.AsyncClient, components: Components) -> httpx.Response:
    secret = add(components, "boss", Role.ADMIN)
    await sign_in(client, "boss", secret=secret)
    page = await client.get("/admin/settings")
    assert page.status_code == 200
    return page


def version_of(page: httpx.Response, key: str) -> str:
    found = re.search(rf'name="version\.{key}" value="(\d+)"', page.text)
    assert found, key
    return found.group(1)


def changes(components: Components) -> list[str]:
    with components.engine.connect() as conn:
        leaves = conn.execute(
            select(t.log_entries.c.leaf)
            .where(t.log_entries.c.kind == "settings.changed")
            .order_by(t.log_entries.c.idx)
        ).scalars()
        return [bytes(leaf).decode() for leaf in leaves]


def stored_rows(components: Components) -> int:
    with components.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.operational_settings)).scalar())


async def test_an_admin_changes_hours_and_greeting_and_sees_the_history(
    client: httpx.AsyncClient, components: Components
) -> None:
    page = await admin(client, components)
    saved = await client.post(
        "/admin/settings",
        data={
            "csrf": csrf_of(page),
            "hours_mon": "08:00-12:00, 13:00-18:00",
            "version.hours_mon": version_of(page, "hours_mon"),
            "holiday_state": "BY",
            "version.holiday_state": version_of(page, "holiday_state"),
            "closed_days": "2026-12-24 2026-12-31",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/settings?saved=3"
    texts = await client.post(
        "/admin/settings",
        data={"csrf": csrf_of(page), "greeting_de": "Moin! Wir sind gleich für Sie da."},
    )
    assert texts.status_code == 303
    page = await client.get("/admin/settings?saved=1")
    assert "Saved: 1 change(s)." in page.text
    assert 'value="08:00-12:00, 13:00-18:00"' in page.text
    assert '<option value="BY" selected>' in page.text
    assert "2026-12-24, 2026-12-31" in page.text
    assert "changed by user:boss" in page.text
    history = page.text[page.text.index('id="history"') :]
    assert "greeting_de" in history and "Moin! Wir sind gleich für Sie da." in history
    assert "hours_mon" in history and "user:boss" in history
    entries = changes(components)
    assert len(entries) == 4
    assert '"actor":"user:boss"' in entries[0] and '"key":"hours_mon"' in entries[0]
    assert '"after":"08:00-12:00, 13:00-18:00"' in entries[0]
    # what the form shows unchanged is not saved again
    again = await client.post(
        "/admin/settings",
        data={
            "csrf": csrf_of(page),
            "hours_mon": "08:00-12:00, 13:00-18:00",
            "version.hours_mon": version_of(page, "hours_mon"),
        },
    )
    assert again.headers["location"] == "/admin/settings?saved=0"
    assert len(changes(components)) == 4


async def test_a_bad_value_is_a_400_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, components: Components
) -> None:
    page = await admin(client, components)
    for field, value in (
        ("hours_tue", "9 bis 17"),
        ("holiday_state", "XX"),
        ("closed_days", "24.12.2026"),
        ("away_interval_hours", "zwölf"),
    ):
        refused = await client.post(
            "/admin/settings",
            data={"csrf": csrf_of(page), "greeting_en": "Hi!", field: value},
        )
        assert refused.status_code == 400, field
        assert f"Nothing was saved — {field}:" in refused.text
        assert (
            f'value="{value}"' in refused.text
            or f">{value}<" in refused.text
            or field == "holiday_state"
        )
    assert stored_rows(components) == 0 and changes(components) == []
    bad_version = await client.post(
        "/admin/settings",
        data={"csrf": csrf_of(page), "greeting_en": "Hi!", "version.greeting_en": "x"},
    )
    assert bad_version.status_code == 400 and "version.greeting_en" in bad_version.text


async def test_a_stale_form_is_a_conflict_not_an_overwrite(
    client: httpx.AsyncClient, components: Components
) -> None:
    page = await admin(client, components)
    read_at = version_of(page, "away_de")
    first = await client.post(
        "/admin/settings",
        data={"csrf": csrf_of(page), "away_de": "Wir sind im Urlaub.", "version.away_de": read_at},
    )
    assert first.status_code == 303
    stale = await client.post(
        "/admin/settings",
        data={"csrf": csrf_of(page), "away_de": "Heute geschlossen.", "version.away_de": read_at},
    )
    assert stale.status_code == 409
    assert "Someone else changed this meanwhile" in stale.text and "away_de" in stale.text
    assert "Wir sind im Urlaub." in stale.text
    assert len(changes(components)) == 1


async def test_csrf_is_enforced_and_agents_get_403(
    client: httpx.AsyncClient, components: Components
) -> None:
    page = await admin(client, components)
    for path in ("/admin/settings", "/admin/settings/templates", "/admin/settings/templates/sync"):
        forged = await client.post(path, data={"greeting_de": "Gefälscht", "name": "x"})
        assert forged.status_code == 403, path
        wrong = await client.post(path, data={"csrf": "nope", "greeting_de": "Gefälscht"})
        assert wrong.status_code == 403, path
    assert changes(components) == []
    await client.post("/logout", data={"csrf": csrf_of(page)})
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    inbox = await client.get("/inbox")
    assert (await client.get("/admin/settings")).status_code == 403
    for path in ("/admin/settings", "/admin/settings/templates", "/admin/settings/templates/sync"):
        refused = await client.post(path, data={"csrf": csrf_of(inbox), "greeting_de": "Hallo"})
        assert refused.status_code == 403, path
    assert changes(components) == []


async def test_the_page_speaks_german(client: httpx.AsyncClient, components: Components) -> None:
    await admin(client, components)
    client.headers["Accept-Language"] = "de"
    page = await client.get("/admin/settings")
    for words in ("Geschäftszeiten", "Letzte Änderungen", "aus der Konfigurationsdatei"):
        assert words in page.text
    assert re.findall(r"\bsettings\.[a-z_]+\b", page.text) == []
