"""The inbox page knows what it was rendered from: a message that arrives after the page was
rendered but before its first poll still shows up, without a reload."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chatproof.services import inbox
from tests.e2e.browser.conftest import Site

pytestmark = pytest.mark.slow


def _arrives(site: Site, text: str) -> None:
    """The customer writes, and the message is stored before this returns."""
    components = site.components()
    try:
        before = inbox.version(components.reader)
        site.customer_writes(text)
        deadline = time.monotonic() + 20
        while inbox.version(components.reader) == before:
            assert time.monotonic() < deadline, "the message was not stored"
            time.sleep(0.05)
    finally:
        components.close()


def test_a_message_arriving_before_the_first_poll_shows_up(site: Site, page_for: Any) -> None:
    maria = page_for("maria")
    maria.wait_for_url("**/inbox")
    held: list[Any] = []

    def first_poll_after_a_message(route: Any) -> None:
        if not held:
            held.append(route)
            _arrives(site, "Guten Tag, ist meine Bestellung schon verschickt?")
        route.continue_()

    maria.route("**/inbox/updates", first_poll_after_a_message)
    maria.goto("/inbox")
    maria.locator("a.conv.unread", has_text="Anna Weber").wait_for(timeout=20_000)
    assert held
