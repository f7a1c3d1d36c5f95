"""Two agents in two browser contexts: a customer's message is unread for both, live; what
one opens stays unread (and bold) for the other; a new message raises both; marking unread
brings a conversation back for the one who asked, and the title counts it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatproof.domain.accounts import Role
from chatproof.services import accounts
from tests.e2e.browser.conftest import PASSWORD, Site

pytestmark = pytest.mark.slow


def _second_agent(site: Site) -> None:
    components = site.components()
    try:
        accounts.add_user(
            components.writer,
            "test",
            datetime.now(UTC) - timedelta(minutes=1),
            username="paul",
            role=Role.AGENT,
            display_name="Paul Richter",
            language="en",
            password=PASSWORD,
        )
    finally:
        components.close()


def _badge(page: Any) -> str:
    return page.locator("a.conv", has_text="Anna Weber").locator(".badge .count").inner_text()


def test_each_agent_has_their_own_unread_state(site: Site, page_for: Any) -> None:
    _second_agent(site)
    maria, paul = page_for("maria"), page_for("paul")
    for page in (maria, paul):
        page.wait_for_url("**/inbox")

    site.customer_writes("Guten Morgen, ist mein Paket schon unterwegs?")
    for page in (maria, paul):
        row = page.locator("a.conv.unread", has_text="Anna Weber")
        row.wait_for(timeout=20_000)
        assert _badge(page) == "1"
        page.wait_for_function("document.title.startsWith('(1) ')", timeout=20_000)

    maria.locator("a.conv", has_text="Anna Weber").click()
    maria.wait_for_url(re.compile(r".*/inbox/\d+"))
    assert maria.locator("a.conv.unread", has_text="Anna Weber").count() == 0
    time.sleep(3)  # two of Paul's polls: Maria's reading must not reach him
    assert paul.locator("a.conv.unread", has_text="Anna Weber").count() == 1
    assert _badge(paul) == "1"

    site.customer_writes("Und können Sie es an die Packstation schicken?")
    maria.locator("#messages", has_text="Packstation").wait_for(timeout=20_000)
    paul.wait_for_function(
        "document.querySelector('a.conv.unread .badge .count')?.textContent === '2'",
        timeout=20_000,
    )
    assert maria.locator("a.conv.unread", has_text="Anna Weber").count() == 0

    maria.get_by_role("button", name="Mark as unread").click()
    maria.wait_for_url(re.compile(r".*/inbox(\?.*)?$"))
    maria.locator("a.conv.unread", has_text="Anna Weber").wait_for(timeout=10_000)
    assert _badge(maria) == "1"
    assert maria.title().startswith("(1) ")
    assert _badge(paul) == "2"

    paul.get_by_role("link", name=re.compile("^Unread")).click()
    paul.wait_for_url(re.compile(r".*view=unread.*"))
    assert paul.locator("a.conv", has_text="Anna Weber").count() == 1
