"""Templates on the settings page, against the emulator over the real protocol: an admin
submits a new template (PENDING), the platform's review approves it, "sync now" shows it
approved; submission and sync are log entries naming who did it and what."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select

from chatproof.domain.accounts import Role
from chatproof.store import tables as t
from tests.e2e.test_sending_emulator import Linked, LinkedFactory, linked_factory
from tests.e2e.web.test_auth import add, csrf_of, sign_in

__all__ = ["linked_factory"]

TEXT = "Hallo {{1}}, Ihr Termin ist am {{2}}."


def log_of(linked: Linked, kind: str) -> list[dict]:
    with linked.components.engine.connect() as conn:
        leaves = conn.execute(
            select(t.log_entries.c.leaf)
            .where(t.log_entries.c.kind == kind)
            .order_by(t.log_entries.c.idx)
        ).scalars()
        return [json.loads(leaf)["attributes"] for leaf in leaves]


@asynccontextmanager
async def browser_of(linked: Linked) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=linked.api._transport, base_url="http://chatproof"
    ) as browser:
        browser.headers["Accept-Language"] = "en"
        secret = add(linked.components, "boss", Role.ADMIN)
        await sign_in(browser, "boss", secret=secret)
        yield browser


def row_of(page: httpx.Response, name: str) -> str:
    table = page.text[page.text.index('id="templates"') :]
    start = table.index(f'<th scope="row">{name}</th>')
    return table[start : table.index("</tr>", start)]


async def test_an_admin_submits_a_template_and_syncs_it_once_approved(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    await linked.control.put("/_emulator/templates/review", json={"seconds": None})
    async with browser_of(linked) as browser:
        page = await browser.get("/admin/settings")
        submitted = await browser.post(
            "/admin/settings/templates",
            data={
                "csrf": csrf_of(page),
                "name": "termin_info",
                "language": "de",
                "category": "utility",
                "text": TEXT,
                "examples": "Anna\n12.12.2026",
            },
        )
        assert submitted.status_code == 303, submitted.text
        page = await browser.get(submitted.headers["location"])
        assert "Template termin_info was submitted for review" in page.text
        assert "in review" in row_of(page, "termin_info")  # the platform's status, synced
        (entry,) = log_of(linked, "templates.submitted")
        assert (entry["actor"], entry["name"], entry["category"], entry["text"]) == (
            "user:boss",
            "termin_info",
            "utility",
            TEXT,
        )
        assert entry["status"] == "PENDING" and entry["platform_id"]
        reviewed = await linked.control.post(
            "/_emulator/templates/termin_info/de/review", json={"status": "APPROVED"}
        )
        assert reviewed.status_code == 200
        synced = await browser.post("/admin/settings/templates/sync", data={"csrf": csrf_of(page)})
        assert synced.status_code == 303
        page = await browser.get(synced.headers["location"])
        assert "Templates synced from the platform" in page.text
        row = row_of(page, "termin_info")
        assert "approved" in row and "not approved" not in row and TEXT in row
        syncs = log_of(linked, "templates.synced")
        assert len(syncs) == 2 and syncs[-1]["actor"] == "user:boss"
        assert "termin_info/de/utility/approved" in syncs[-1]["templates"]
        history = page.text[page.text.index('id="history"') :]
        assert "termin_info/de" in history


async def test_a_bad_template_is_a_400_and_a_refusal_by_the_platform_a_502(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    async with browser_of(linked) as browser:
        page = await browser.get("/admin/settings")
        form = {
            "csrf": csrf_of(page),
            "name": "termin_info",
            "language": "de",
            "category": "utility",
            "text": TEXT,
            "examples": "Anna\n12.12.2026",
        }
        for change, field in (
            ({"name": "Termin Info"}, "name"),
            ({"language": "Deutsch"}, "language"),
            ({"category": "service"}, "category"),
            ({"text": "Hallo {{2}}"}, "text"),
            ({"examples": "Anna"}, "examples"),
        ):
            refused = await browser.post("/admin/settings/templates", data={**form, **change})
            assert refused.status_code == 400, field
            assert f"Nothing was saved — {field}:" in refused.text
        assert log_of(linked, "templates.submitted") == []
        first = await browser.post("/admin/settings/templates", data=form)
        assert first.status_code == 303
        again = await browser.post("/admin/settings/templates", data=form)
        assert again.status_code == 502
        assert "The platform did not accept the request" in again.text
        assert "already exists" in again.text
        assert len(log_of(linked, "templates.submitted")) == 1


async def test_the_platforms_review_webhook_syncs_the_templates_by_itself(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    await linked.control.put("/_emulator/templates/review", json={"seconds": 0.05})
    async with browser_of(linked) as browser:
        page = await browser.get("/admin/settings")
        form = {
            "csrf": csrf_of(page),
            "name": "rueckruf",
            "language": "de",
            "category": "utility",
            "text": "Wir rufen Sie um {{1}} zurück.",
            "examples": "15 Uhr",
        }
        assert (await browser.post("/admin/settings/templates", data=form)).status_code == 303

        async def approved_by_review() -> bool:
            synced = await asyncio.to_thread(log_of, linked, "templates.synced")
            return any(
                s["actor"] == "platform:template_review"
                and "rueckruf/de/utility/approved" in s["templates"]
                for s in synced
            )

        await linked.wait(approved_by_review)
        page = await browser.get("/admin/settings")
        row = row_of(page, "rueckruf")
        assert "approved" in row and "not approved" not in row
        listed = (await linked.api.get("/api/templates")).json()
        assert any(t["name"] == "rueckruf" and t["approved"] for t in listed)
