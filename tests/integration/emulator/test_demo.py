from __future__ import annotations

import struct
import zlib

import httpx
import pytest

from chatproof.emulator import run_demo_customers
from chatproof.emulator.demo import DEMO_CUSTOMERS, tiny_png

from .conftest import Harness


async def test_demo_customers_play_their_script(harness: Harness) -> None:
    report = await run_demo_customers(
        "http://emulator.test", pace=0, transport=httpx.ASGITransport(app=harness.app)
    )
    await harness.flush()
    customers = (await harness.client.get("/_emulator/customers")).json()["data"]
    assert {c["wa_id"] for c in customers} == {c["wa_id"] for c in DEMO_CUSTOMERS}
    assert {c["language"] for c in customers} == {"de", "en"}
    messages = harness.recorder.messages()
    assert sorted(m["id"] for m in messages) == sorted(report.message_ids)
    types = [m["type"] for m in messages]
    assert {"text", "image", "location", "audio", "interactive"} <= set(types)
    assert any(m["type"] == "text" and m["text"]["body"] == "STOP" for m in messages)
    image = next(m for m in messages if m["type"] == "image")
    assert image["image"]["caption"]
    audio = next(m for m in messages if m["type"] == "audio")
    assert audio["audio"]["voice"] is True
    preferences = [v for v in harness.recorder.values() if "user_preferences" in v]
    assert preferences[0]["user_preferences"][0]["value"] == "stop"
    assert len(report.delivery_ids) == len(messages) + len(preferences)


async def test_demo_accepts_the_control_url_itself(harness: Harness) -> None:
    report = await run_demo_customers(
        "http://emulator.test/_emulator/", pace=0, transport=httpx.ASGITransport(app=harness.app)
    )
    assert len(report.message_ids) >= 9


async def test_demo_fails_loudly_when_the_emulator_refuses(harness: Harness) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        await run_demo_customers(
            "http://emulator.test/elsewhere", pace=0, transport=httpx.ASGITransport(app=harness.app)
        )


def test_tiny_png_is_a_valid_png() -> None:
    data = tiny_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    offset = 8
    kinds = []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunk = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + chunk)
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
