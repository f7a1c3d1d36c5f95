"""At most once through a crash: ``kill -9`` of the server in the middle of a broadcast sends
no message twice, and every message ends sent, failed with a reason, or visibly "outcome
unknown" (DESIGN invariant 5; the platform has no idempotency key)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.phone import mask_phone
from chatproof.emulator import EmulatorSettings
from chatproof.emulator import create_app as create_emulator
from tests.support.server import free_port, start, stop

pytestmark = pytest.mark.slow

CUSTOMERS = [f"4915100000{i:03d}" for i in range(80)]
RATE = "20"
TEMPLATE = """
[[templates.template]]
name = "newsletter"
language = "de"
category = "marketing"
body_params = 1
"""


async def serve_emulator(settings: EmulatorSettings, port: int) -> tuple[Any, Any]:
    config = uvicorn.Config(
        create_emulator(settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task


async def report(api: httpx.AsyncClient, broadcast: int) -> dict[str, Any]:
    response = await api.get(f"/api/broadcasts/{broadcast}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_kill_minus_nine_mid_broadcast_sends_nothing_twice(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    (data_dir / "chatproof.toml").open("a").write(TEMPLATE)
    port, emulator_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CHATPROOF_DATABASE_URL": database_url,
        "CHATPROOF_WHATSAPP_BASE_URL": f"http://127.0.0.1:{emulator_port}",
        "CHATPROOF_SENDING_MESSAGES_PER_SECOND": RATE,
    }
    settings = load_settings(data_dir, env)
    emulator, emulator_task = await serve_emulator(
        EmulatorSettings(
            app_secret=settings.whatsapp.app_secret,
            access_token=settings.whatsapp.access_token,
            phone_number_id=settings.whatsapp.phone_number_id,
            webhook_url=f"{base}/webhooks/whatsapp",
            public_base_url=f"http://127.0.0.1:{emulator_port}",
            messages_per_second=int(RATE),
            status_delay=0.05,
            webhook_retry_base_delay=0.1,
            webhook_retry_max_delay=0.5,
        ),
        emulator_port,
    )
    server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
    headers = {"Authorization": f"Bearer {settings.server.api_token}"}
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{emulator_port}") as control,
            httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as api,
        ):
            for wa_id in CUSTOMERS:
                await control.post("/_emulator/customers", json={"wa_id": wa_id})
                consent = {
                    "wa_id": wa_id,
                    "purpose": "marketing",
                    "action": "granted",
                    "source": "web_form",
                    "text": "Ja, Newsletter.",
                    "text_version": "1",
                }
                assert (await api.post("/api/consents", json=consent)).status_code == 201
            body = {"name": "Crash", "template": "newsletter", "language": "de",
                    "body_params": ["Sommer"]}  # fmt: skip
            broadcast = (await api.post("/api/broadcasts", json=body)).json()["id"]

            while len((await control.get("/_emulator/sent")).json()["data"]) < 25:
                await asyncio.sleep(0.02)
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            sent_before_restart = len((await control.get("/_emulator/sent")).json()["data"])
            assert sent_before_restart < len(CUSTOMERS), "killed mid-broadcast"

            server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                counts = (await report(api, broadcast))["counts"]
                busy = counts.get("queued", 0) + counts.get("sending", 0)
                flushed = (await control.get("/_emulator/webhooks", params={"pending": 1})).json()
                if not busy and not flushed["pending"]:
                    await asyncio.sleep(1.0)  # the processor follows the last webhooks
                    break
                assert asyncio.get_running_loop().time() < deadline, counts
                await asyncio.sleep(0.2)

            accepted = Counter(
                m["to"] for m in (await control.get("/_emulator/sent")).json()["data"]
            )
            final = await report(api, broadcast)
    finally:
        stop(server)
        emulator.should_exit = True
        await emulator_task

    assert max(accepted.values()) == 1, "a message went out twice"
    outcomes = {r["number"]: r for r in final["recipients"]}
    assert len(outcomes) == len(CUSTOMERS)
    reached = {mask_phone(wa_id) for wa_id in accepted}
    for number, recipient in outcomes.items():
        assert recipient["outcome"] in ("sent", "delivered", "read", "failed", "unknown")
        if recipient["outcome"] == "failed":
            assert recipient["reason"], number
        if recipient["outcome"] == "unknown":
            assert number not in reached, "a message the platform took stayed unknown"
            assert recipient["reason"]
        if number in reached:
            assert recipient["outcome"] in ("sent", "delivered", "read"), recipient
