"""The settings page in Chromium: an admin changes Monday's business hours and the English
greeting, sees both in the change history, and the next new customer is greeted with the new
text by the running worker, without a restart. An agent gets 403 from the server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatproof.domain.accounts import Role
from chatproof.services import accounts
from chatproof.services.accounts import AccountKeys
from tests.e2e.browser.conftest import PASSWORD, SCREENSHOTS, Site

pytestmark = pytest.mark.slow

NEW_CUSTOMER = "447700900999"
GREETING = "Hello! Thanks for writing, we answer within the hour."


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    """boss, an admin with a second factor enrolled a while ago."""
    components = site.components()
    try:
        now = datetime.now(UTC)
        user, _ = accounts.add_user(
            components.writer,
            "test",
            now,
            username="boss",
            role=Role.ADMIN,
            display_name="Bea Oster",
            language="en",
            password=PASSWORD,
        )
        keys = AccountKeys.from_master(components.derivation_key)
        earlier = now - timedelta(minutes=2)
        site.secrets["boss"] = accounts.enrol_totp_now(components.writer, keys, earlier, user)
    finally:
        components.close()
    return "boss"


def test_an_admin_changes_hours_and_greeting_and_sees_the_history(
    page_for: Any, site: Site, admin: str
) -> None:
    page = page_for(admin)
    page.goto("/admin/settings")
    page.get_by_label("Monday").fill("08:00-12:00, 13:00-17:30")
    page.locator("#save-hours").click()
    page.wait_for_url("**/admin/settings?saved=1")
    assert page.locator("#notice").inner_text() == "Saved: 1 change(s)."
    page.get_by_label("Greeting (EN)").fill(GREETING)
    page.locator("#save-texts").click()
    page.wait_for_url("**/admin/settings?saved=1")
    assert page.get_by_label("Monday").input_value() == "08:00-12:00, 13:00-17:30"
    assert "changed by user:boss" in page.locator("#source-greeting_en").inner_text()
    rows = page.locator("#history tbody tr")
    newest, older = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "greeting_en" in newest and GREETING in newest and "user:boss" in newest
    assert "hours_mon" in older and "08:00-12:00, 13:00-17:30" in older
    page.locator("#history").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "settings.png"), full_page=True)

    # The worker takes the new greeting within seconds; the next new customer gets it.
    time.sleep(3)
    site.emulator.post("/_emulator/customers", json={"wa_id": NEW_CUSTOMER, "name": "Ruth"})
    site.customer_writes("Hi, is anyone there?", wa_id=NEW_CUSTOMER)
    deadline = time.monotonic() + 30
    texts: list[str] = []
    while time.monotonic() < deadline and GREETING not in texts:
        sent = site.emulator.get("/_emulator/sent", params={"to": NEW_CUSTOMER}).json()["data"]
        texts = [m["request"].get("text", {}).get("body", "") for m in sent]
        time.sleep(0.2)
    assert GREETING in texts


def test_an_agent_gets_403_for_the_settings_page(page_for: Any) -> None:
    page = page_for("maria")
    response = page.goto("/admin/settings")
    assert response is not None and response.status == 403
