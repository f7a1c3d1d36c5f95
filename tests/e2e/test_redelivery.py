"""The platform makes up what was not acknowledged: with the server killed while customers
keep writing, the emulator's retries deliver every message once the server is back, and
each is stored exactly once (DESIGN invariant 1)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.store import tables as t
from tests.support.server import free_port, start, stop

pytestmark = pytest.mark.slow

MESSAGES = 30


def test_emulator_redelivery_makes_up_for_a_killed_server(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    port, emulator_port = free_port(), free_port()
    base, emulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{emulator_port}"
    env = {
        "CHATPROOF_DATABASE_URL": database_url,
        "CHATPROOF_WHATSAPP_BASE_URL": emulator,
        "CHATPROOF_EMULATOR_WEBHOOK_URL": f"{base}/webhooks/whatsapp",
    }
    server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
    emu = start(
        ["emulator", "--port", str(emulator_port)], data_dir, f"{emulator}/_emulator/clock", env
    )
    try:
        control = httpx.Client(base_url=f"{emulator}/_emulator", timeout=30)
        control.post("/customers", json={"wa_id": "4915112344567", "name": "Anna"})
        sent = []
        for i in range(MESSAGES):
            if i == MESSAGES // 3:
                os.kill(server.pid, signal.SIGKILL)
                server.wait()
            response = control.post(
                "/customers/4915112344567/messages",
                json={"type": "text", "text": {"body": f"Nachricht {i}"}},
            )
            sent.append(response.json()["id"])
        time.sleep(0.5)
        pending = control.get("/webhooks", params={"pending": "true"}).json()
        assert pending["data"], "deliveries to the dead server should be waiting for a retry"

        server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
        flushed = control.post("/webhooks/flush", json={"timeout": 20})
        assert flushed.status_code == 200, flushed.text
        # Replaying already acknowledged deliveries must not create duplicates.
        for delivery in control.get("/webhooks").json()["data"][:5]:
            control.post(f"/webhooks/{delivery['id']}/replay")
        control.post("/webhooks/flush", json={"timeout": 20})
    finally:
        stop(server)
        stop(emu)

    components = build(load_settings(data_dir, env))
    with components.engine.connect() as conn:
        stored = set(conn.execute(select(t.messages.c.platform_id_hash)).scalars())
        total = conn.execute(select(func.count()).select_from(t.messages)).scalar_one()
    assert stored == {components.pseudonyms.hash("wamid", w) for w in sent}
    assert total == MESSAGES
    components.close()
