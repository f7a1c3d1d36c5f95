"""Simulated customers for ``make demo``: a few people writing in German and English.

The script covers what an inbox must cope with on day one: questions, a photo with a
caption, a location, a voice note, a button tap, a customer typing "STOP" and one who
switches off marketing in the app. It drives only the control API, so it works against an
emulator in another process as well as one mounted in-process.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatproof.emulator._privacy import mask_phone

__all__ = ["DEMO_CUSTOMERS", "DemoReport", "DemoStep", "run_demo_customers", "tiny_png"]

logger = logging.getLogger(__name__)

DEFAULT_PACE = 1.5


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png(rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid 1×1 PNG, so the inbox has a real image to show."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class DemoStep:
    """One thing a customer does: send ``message``, or set ``marketing`` to stop/resume."""

    wa_id: str
    message: dict[str, Any] | None = None
    marketing: str | None = None


DEMO_CUSTOMERS: tuple[dict[str, Any], ...] = (
    {"wa_id": "4915112345678", "name": "Anna Schmidt", "language": "de"},
    {"wa_id": "4917623456789", "name": "Jonas Becker", "language": "de", "read_receipts": False},
    {"wa_id": "447700900123", "name": "Emily Clarke", "language": "en"},
    {"wa_id": "15551234567", "name": "Michael Brown", "language": "en"},
)

_VOICE_NOTE = b"OggS\x00\x02" + b"\x00" * 20 + b"chatproof demo voice note"


def _script() -> list[DemoStep]:
    anna, jonas, emily, michael = (c["wa_id"] for c in DEMO_CUSTOMERS)
    return [
        DemoStep(
            anna,
            {"type": "text", "text": {"body": "Hallo! Ist meine Bestellung 4711 schon unterwegs?"}},
        ),
        DemoStep(
            emily,
            {
                "type": "text",
                "text": {"body": "Hi, do you ship to the UK? And how long does it take?"},
            },
        ),
        DemoStep(
            jonas,
            {
                "type": "image",
                "image": {"caption": "Das Paket kam leider beschädigt an."},
                "media": {"content_base64": _b64(tiny_png()), "mime_type": "image/png"},
            },
        ),
        DemoStep(
            michael,
            {
                "type": "location",
                "location": {
                    "latitude": 52.520008,
                    "longitude": 13.404954,
                    "name": "Alexanderplatz",
                    "address": "Alexanderplatz, 10178 Berlin",
                },
            },
        ),
        DemoStep(
            anna,
            {
                "type": "audio",
                "audio": {"voice": True},
                "media": {
                    "content_base64": _b64(_VOICE_NOTE),
                    "mime_type": "audio/ogg; codecs=opus",
                },
            },
        ),
        DemoStep(
            emily,
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "track", "title": "Track my order"},
                },
            },
        ),
        DemoStep(michael, {"type": "text", "text": {"body": "Can I change my delivery address?"}}),
        DemoStep(jonas, {"type": "text", "text": {"body": "STOP"}}),
        DemoStep(michael, marketing="stop"),
        DemoStep(anna, {"type": "text", "text": {"body": "Danke schön! 😊"}}),
    ]


@dataclass
class DemoReport:
    """What the demo did: the wamids customers sent and the deliveries it caused."""

    message_ids: list[str] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)


def _control_base(control_url: str) -> str:
    base = control_url.rstrip("/")
    return base if base.endswith("/_emulator") else f"{base}/_emulator"


async def run_demo_customers(
    control_url: str,
    *,
    pace: float = DEFAULT_PACE,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DemoReport:
    """Create the demo customers and play their script, ``pace`` seconds between steps.

    ``control_url`` is the emulator's base URL (``…/_emulator`` is added if missing).

    Raises:
        httpx.HTTPStatusError: if the emulator refuses a step.
    """
    report = DemoReport()
    async with httpx.AsyncClient(
        base_url=_control_base(control_url), transport=transport
    ) as client:
        for customer in DEMO_CUSTOMERS:
            (await client.post("/customers", json=customer)).raise_for_status()
        for index, step in enumerate(_script()):
            if index and pace:
                await asyncio.sleep(pace)
            if step.marketing is not None:
                response = await client.post(
                    f"/customers/{step.wa_id}/marketing", json={"value": step.marketing}
                )
            else:
                response = await client.post(f"/customers/{step.wa_id}/messages", json=step.message)
            response.raise_for_status()
            data = response.json()
            if "id" in data:
                report.message_ids.append(data["id"])
            report.delivery_ids.append(data["delivery_id"])
            logger.info("demo step %d: customer %s", index + 1, mask_phone(step.wa_id))
    return report
