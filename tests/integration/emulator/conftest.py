"""Fixtures for driving the emulator in-process, with a recording webhook receiver.

The emulator's lifespan runs for the duration of each test (``app.router.lifespan_context``),
webhooks are delivered through ``httpx.ASGITransport`` into ``Recorder``, and the emulator
clock is frozen so timestamps and windows are deterministic.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatproof.emulator import EmulatorClock, EmulatorSettings, create_app
from chatproof.emulator.engine import Emulator

APP_SECRET = "test-app-secret"
TOKEN = "test-access-token"
VERIFY_TOKEN = "test-verify-token"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
VERSION = "v23.0"
NOW = 1_750_000_000.0
ANNA = "4915112345678"
BEN = "447700900123"
WEBHOOK_URL = "http://receiver.test/webhook"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    answered: int
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder:
    """A tiny webhook receiver: records every POST and answers from a script, then 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[int] = []
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.app = Starlette(routes=[Route("/webhook", self._receive, methods=["GET", "POST"])])

    async def _receive(self, request: Request) -> Response:
        if request.method == "GET":
            query = request.query_params
            if (
                query.get("hub.verify_token") == VERIFY_TOKEN
                and query.get("hub.mode") == "subscribe"
            ):
                return PlainTextResponse(query.get("hub.challenge", ""))
            return PlainTextResponse("Forbidden", status_code=403)
        status = self.script.pop(0) if self.script else 200
        body = await request.body()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        self.requests.append(Received(body, dict(request.headers), status, time.monotonic()))
        return Response(status_code=status)

    @property
    def acknowledged(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests if r.answered == 200]

    def values(self) -> list[dict[str, Any]]:
        return [p["entry"][0]["changes"][0]["value"] for p in self.acknowledged]

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        found = [s for v in self.values() for s in v.get("statuses", [])]
        return [s for s in found if wamid is None or s["id"] == wamid]

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]


class SwitchableTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; while ``down`` every request fails as if the receiver were gone."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("receiver is down", request=request)
        return await self.inner.handle_async_request(request)


@dataclass
class Harness:
    app: Starlette
    client: httpx.AsyncClient
    recorder: Recorder
    transport: SwitchableTransport
    settings: EmulatorSettings
    clock: EmulatorClock
    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {TOKEN}"})

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    async def send(self, payload: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(
            f"/{VERSION}/{PHONE_ID}/messages",
            json=payload,
            headers=self.headers if headers is None else headers,
        )

    async def send_ok(self, payload: dict[str, Any]) -> str:
        response = await self.send(payload)
        assert response.status_code == 200, response.text
        wamid: str = response.json()["messages"][0]["id"]
        return wamid

    async def add_customer(self, wa_id: str = ANNA, **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/_emulator/customers", json={"wa_id": wa_id, **fields})
        assert response.status_code in (200, 201), response.text
        data: dict[str, Any] = response.json()
        return data

    async def customer_says(self, wa_id: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"/_emulator/customers/{wa_id}/messages", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def flush(self, timeout: float = 5.0) -> dict[str, Any]:
        response = await self.client.post("/_emulator/webhooks/flush", json={"timeout": timeout})
        data: dict[str, Any] = response.json()
        assert response.status_code == 200, data
        return data


def text_to(wa_id: str, body: str = "Guten Tag") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": wa_id, "type": "text", "text": {"body": body}}


def template_to(wa_id: str, name: str, language: str, *params: str) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        ]
    return {"messaging_product": "whatsapp", "to": wa_id, "type": "template", "template": template}


HarnessFactory = Callable[..., AbstractAsyncContextManager[Harness]]


async def eventually(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait for background work to reach ``condition``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.002)


@asynccontextmanager
async def open_harness(**overrides: Any) -> AsyncIterator[Harness]:
    recorder = Recorder()
    transport = SwitchableTransport(httpx.ASGITransport(app=recorder.app))
    options: dict[str, Any] = {
        "app_secret": APP_SECRET,
        "access_token": TOKEN,
        "webhook_url": WEBHOOK_URL,
        "status_delay": 0.001,
        "webhook_retry_base_delay": 0.01,
        "webhook_retry_max_delay": 0.04,
        "random_seed": 7,
    }
    options.update(overrides)
    settings = EmulatorSettings(**options)
    clock = EmulatorClock(source=lambda: NOW)
    app = create_app(settings, webhook_transport=transport, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://emulator.test"
        ) as client,
    ):
        yield Harness(app, client, recorder, transport, settings, clock)


@pytest.fixture
def make_harness() -> HarnessFactory:
    return open_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with open_harness() as opened:
        yield opened


@pytest.fixture
async def anna(harness: Harness) -> str:
    """A customer whose 24-hour window is open (she just wrote)."""
    await harness.add_customer(ANNA, name="Anna Schmidt", language="de")
    await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hallo"}})
    return ANNA
