"""The inbox in Chromium: sign in, a customer's message appears live, assign, label and note,
role checks answered by the server, the auditor's views logged; screenshots of inbox, thread
and statistics for the README."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from chatproof.services.auditor import set_scope
from chatproof.store import tables as t
from tests.e2e.browser.conftest import (
    EXTRA_CUSTOMERS,
    OTHER_CUSTOMER,
    QUIET_CUSTOMER,
    SCREENSHOTS,
    Site,
)

pytestmark = pytest.mark.slow


def test_a_customer_message_appears_live_and_the_agent_works_on_it(
    site: Site, page_for: Any
) -> None:
    page = page_for("maria")
    page.wait_for_url("**/inbox")
    site.customer_writes("Do you ship to the UK?", wa_id=EXTRA_CUSTOMERS[0][0])
    site.customer_writes("Ist der Termin am Freitag noch frei?", wa_id=EXTRA_CUSTOMERS[1][0])
    site.customer_writes("Guten Tag, wo bleibt meine Bestellung 4711?")
    entry = page.locator("a.conv", has_text="Anna Weber")
    entry.wait_for(timeout=20_000)
    page.locator("a.conv", has_text=EXTRA_CUSTOMERS[1][1]).wait_for(timeout=20_000)
    assert "1" in entry.locator(".badge").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    entry.click()
    page.wait_for_url(re.compile(r".*/inbox/\d+"))
    assert "Bestellung 4711" in page.locator("#messages").inner_text()
    assert "+49 151 ••• 4567" in page.locator("#number").inner_text()

    page.get_by_role("button", name="Take it").click()
    page.wait_for_load_state()
    assert page.locator("#assignee").inner_text() == "Maria Schulz"
    page.get_by_placeholder("Add label").fill("Bestellung")
    page.get_by_role("button", name="Add label").click()
    page.wait_for_load_state()
    assert "Bestellung" in page.locator("#labels").inner_text()
    page.get_by_placeholder("Add note (never sent)").fill("Lieferung beim Lager anfragen")
    page.get_by_role("button", name="Add note (never sent)").click()
    page.wait_for_load_state()
    assert "Lieferung beim Lager anfragen" in page.locator(".msg.note").inner_text()

    site.customer_writes("Und bitte an die Packstation liefern.")
    page.locator("#messages", has_text="Packstation").wait_for(timeout=20_000)


def test_an_agent_gets_403_from_admin_and_dpo_pages(site: Site, page_for: Any) -> None:
    page = page_for("maria")
    for path in ("/admin/users", "/dpo/access-log", "/statistics"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path


def test_the_auditors_views_are_logged(site: Site, page_for: Any) -> None:
    """An auditor reads through the audit workspace, not the inbox; every page is logged."""
    components = site.components()
    try:
        before = _conversations(components)
        site.customer_writes("Eine Frage zur Rechnung", wa_id=OTHER_CUSTOMER)
        deadline = time.monotonic() + 10
        while _conversations(components) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        with components.engine.connect() as conn:
            cid = conn.execute(select(func.max(t.conversations.c.id))).scalar_one()
        now = datetime.now(UTC)
        set_scope(
            components.writer,
            "otto",
            date(2020, 1, 1),
            now.astimezone(components.timezone).date(),  # audit periods are business days
            by="test",
            now=now,
            tz=components.timezone,
        )
        page = page_for("otto")
        response = page.goto("/inbox")
        assert response is not None and response.status == 403
        response = page.goto(f"/audit/conversations/{cid}")
        assert response is not None and response.status == 200
        assert "Rechnung" in page.content()
        with components.engine.connect() as conn:
            actions = {
                (r.action, r.target)
                for r in conn.execute(
                    select(t.access_log.c.action, t.access_log.c.target).where(
                        t.access_log.c.actor == "user:otto"
                    )
                )
            }
    finally:
        components.close()
    assert ("view_page", f"/audit/conversations/{cid}") in actions


def _conversations(components: Any) -> int:
    with components.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.conversations)).scalar_one()


def test_the_dpo_reads_the_access_log(site: Site, page_for: Any) -> None:
    page = page_for("dana")
    page.goto("/dpo/access-log")
    assert "user:" in page.locator("#access-log").inner_text()


def test_the_inbox_fits_a_phone(site: Site, page_for: Any) -> None:
    page = page_for("lena", width=390, height=844)
    page.goto("/inbox")
    page.locator("a.conv").first.wait_for(timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.locator("a.conv").first.click()
    page.wait_for_url(re.compile(r".*/inbox/\d+"))
    assert not page.locator(".list-pane").is_visible()
    assert page.locator("#messages").is_visible()


def test_a_quick_reply_is_sent_and_comes_back_delivered_and_read(site: Site, page_for: Any) -> None:
    site.customer_writes("Ist mein Paket schon unterwegs?")
    page = page_for("lena")
    page.locator("a.conv", has_text="Anna Weber").click()
    page.wait_for_url(re.compile(r".*/inbox/\d+"))
    reply = page.get_by_label("Reply")
    reply.fill("/dan")
    page.locator("#quick-replies").wait_for(state="visible")
    reply.press("Enter")
    assert reply.input_value().startswith("Vielen Dank für Ihre Nachricht")
    page.locator("#gate.gate-ok").wait_for(timeout=30_000)
    assert "window.reply" in page.locator("#gate").inner_text()
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    sent = page.locator("article.msg.outbound", has_text="wir kümmern uns sofort darum")
    sent.locator('[data-state="read"]').wait_for(timeout=30_000)
    assert "read" in sent.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "thread.png"))


def test_outside_the_window_free_text_is_refused_and_a_template_goes_through(
    site: Site, page_for: Any
) -> None:
    site.customer_wrote_long_ago("Bitte melden Sie sich", QUIET_CUSTOMER, hours=30)
    page = page_for("lena")
    page.locator("a.conv", has_text="Carla Neumann").click()
    page.wait_for_url(re.compile(r".*/inbox/\d+"))
    assert "closed" in page.locator("#window").inner_text()
    page.get_by_label("Reply").fill("Hallo Frau Neumann")
    page.locator("#gate.gate-no").wait_for(timeout=30_000)
    page.get_by_role("button", name="Send").click()
    refusal = page.locator("#refusal")
    refusal.wait_for()
    assert "24" in refusal.inner_text() and "Not sent" in refusal.inner_text()

    page.get_by_label("Template").select_option("order_update|de")
    page.locator("#param-1").fill("4711")
    page.locator("#param-2").fill("Dienstag")
    page.locator("#gate.gate-ok").wait_for(timeout=30_000)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r".*/inbox/\d+$"))
    outbound = page.locator("article.msg.outbound")
    outbound.first.wait_for(timeout=20_000)
    outbound.locator("[data-state]").first.wait_for(timeout=30_000)


def test_statistics_for_the_team_lead(site: Site, page_for: Any) -> None:
    page = page_for("lena")
    page.goto("/statistics")
    assert page.locator("svg.chart").count() == 5
    page.screenshot(path=str(SCREENSHOTS / "statistics.png"), full_page=True)
    assert "user:lena" in page.locator("main").inner_text(), "her replies count per agent"
