"""Acknowledged means durable (DESIGN invariant 1): a ``kill -9`` of the server in the middle
of a burst loses no event that was answered 200."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from chatproof.bootstrap import build
from chatproof.channels.whatsapp.signature import SIGNATURE_HEADER, sign
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.store import tables as t
from tests.support.samples import webhook_samples
from tests.support.server import free_port, start, stop

pytestmark = pytest.mark.slow

BURST = 600


def bodies(count: int) -> list[tuple[str, bytes]]:
    template = webhook_samples()["message/text"]
    out = []
    for i in range(count):
        body = json.loads(json.dumps(template))
        value = body["entry"][0]["changes"][0]["value"]
        value["contacts"][0]["wa_id"] = f"4915100{i % 50:05d}"
        message = value["messages"][0]
        message.update(id=f"wamid.kill{i:05d}", text={"body": f"Nachricht {i}"})
        message["from"] = value["contacts"][0]["wa_id"]
        out.append((message["id"], json.dumps(body).encode()))
    return out


def stored_wamid_hashes(data_dir: Path, env: dict[str, str]) -> set[str]:
    components = build(load_settings(data_dir, env))
    with components.engine.connect() as conn:
        found = set(conn.execute(select(t.messages.c.platform_id_hash)).scalars())
    components.close()
    return found


async def test_kill_minus_nine_during_a_burst_loses_no_acknowledged_event(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    env = {"CHATPROOF_DATABASE_URL": database_url}
    settings = load_settings(data_dir, env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
    acknowledged: list[str] = []
    killed = asyncio.Event()

    async def deliver(client: httpx.AsyncClient, wamid: str, body: bytes) -> None:
        headers = {SIGNATURE_HEADER: sign(body, settings.whatsapp.app_secret)}
        try:
            response = await client.post(f"{base}/webhooks/whatsapp", content=body, headers=headers)
        except httpx.TransportError:
            return
        if response.status_code == 200:
            acknowledged.append(wamid)
            if len(acknowledged) >= BURST // 4 and not killed.is_set():
                killed.set()
                os.kill(server.pid, signal.SIGKILL)

    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await asyncio.gather(*(deliver(client, w, b) for w, b in bodies(BURST)))
    server.wait(timeout=10)
    assert killed.is_set() and server.returncode == -signal.SIGKILL
    assert BURST // 4 <= len(acknowledged) < BURST

    components = build(settings)
    expected = {components.pseudonyms.hash("wamid", w) for w in acknowledged}
    components.close()
    stored = stored_wamid_hashes(data_dir, env)
    assert expected <= stored, f"{len(expected - stored)} acknowledged events were lost"

    restarted = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for wamid, body in bodies(BURST):
                headers = {SIGNATURE_HEADER: sign(body, settings.whatsapp.app_secret)}
                response = await client.post(
                    f"{base}/webhooks/whatsapp", content=body, headers=headers
                )
                assert response.status_code == 200, wamid
    finally:
        stop(restarted)
    assert len(stored_wamid_hashes(data_dir, env)) == BURST
