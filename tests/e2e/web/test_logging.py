"""Logs never carry message text, and phone numbers only masked (DESIGN invariant 3)."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from chatproof.config import Settings
from tests.e2e.conftest import signed
from tests.support.samples import sample_body, webhook_samples

TEXTS = ["Body Text", "Does it come in another color?", "replied text", "Taj Mahal"]
NUMBERS = re.compile(r"\d{9,}")


async def test_ingest_logs_nothing_personal(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in webhook_samples():
        body = sample_body(name)
        await client.post("/webhooks/whatsapp", content=body, headers=signed(body, settings))
    bad = b'{"object": "whatsapp_business_account", "entry": [{"changes": "Body Text"}]}'
    await client.post("/webhooks/whatsapp", content=bad, headers=signed(bad, settings))
    await client.post("/webhooks/whatsapp", content=sample_body("message/text"))

    chatproof_lines = [r.getMessage() for r in caplog.records if r.name.startswith("chatproof")]
    assert any("quarantined" in line for line in chatproof_lines)
    assert any("refused" in line for line in chatproof_lines)
    for line in chatproof_lines:
        assert not any(text in line for text in TEXTS), line
        assert not NUMBERS.search(line), line
        assert "wamid." not in line, line
