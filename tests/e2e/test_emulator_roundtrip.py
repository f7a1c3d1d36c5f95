"""chatproof and the emulator talking to each other in-process over the real protocol:
customers write, media is fetched and verified, and statuses of what the business sends
come back."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from chatproof.bootstrap import Components
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.config import Settings
from chatproof.emulator import EmulatorSettings
from chatproof.emulator import create_app as create_emulator
from chatproof.store import tables as t
from chatproof.web.app import create_app
from tests.support.transports import LateASGITransport

CUSTOMER = "4915112344567"


@dataclass
class Linked:
    control: httpx.AsyncClient
    whatsapp: CloudApiClient
    api: httpx.AsyncClient
    components: Components

    async def flush(self) -> None:
        response = await self.control.post("/_emulator/webhooks/flush", json={"timeout": 10})
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.05)


@pytest.fixture
async def linked(components: Components, settings: Settings) -> AsyncIterator[Linked]:
    to_emulator, to_chatproof = LateASGITransport(), LateASGITransport()
    chatproof = create_app(components, whatsapp_transport=to_emulator, media_poll=0.02)
    emulator = create_emulator(
        EmulatorSettings(
            app_secret=settings.whatsapp.app_secret,
            access_token=settings.whatsapp.access_token,
            phone_number_id=settings.whatsapp.phone_number_id,
            webhook_url="http://chatproof/webhooks/whatsapp",
            public_base_url=settings.whatsapp.base_url,
            status_delay=0.01,
            webhook_retry_base_delay=0.02,
        ),
        webhook_transport=to_chatproof,
    )
    to_emulator.attach(emulator)
    to_chatproof.attach(chatproof)
    async with (
        chatproof.router.lifespan_context(chatproof),
        emulator.router.lifespan_context(emulator),
        httpx.AsyncClient(transport=to_emulator, base_url=settings.whatsapp.base_url) as control,
        httpx.AsyncClient(transport=to_chatproof, base_url="http://chatproof") as api,
        httpx.AsyncClient(transport=to_emulator) as http,
    ):
        api.headers["Authorization"] = f"Bearer {settings.server.api_token}"
        whatsapp = CloudApiClient(Connection.from_config(settings.whatsapp), http=http)
        await control.post("/_emulator/customers", json={"wa_id": CUSTOMER, "name": "Anna"})
        yield Linked(control, whatsapp, api, components)


async def customer_sends(linked: Linked, message: dict) -> str:
    response = await linked.control.post(f"/_emulator/customers/{CUSTOMER}/messages", json=message)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def only_conversation_messages(linked: Linked) -> list[dict]:
    (conversation,) = (await linked.api.get("/api/conversations")).json()["items"]
    page = await linked.api.get(f"/api/conversations/{conversation['id']}/messages")
    return page.json()["items"]


async def test_a_customer_message_arrives_in_the_inbox(linked: Linked) -> None:
    await customer_sends(linked, {"type": "text", "text": {"body": "Wo ist mein Paket?"}})
    await linked.flush()
    (message,) = await only_conversation_messages(linked)
    assert (message["direction"], message["type"], message["text"]) == (
        "inbound",
        "text",
        "Wo ist mein Paket?",
    )


async def test_inbound_media_is_fetched_verified_and_stored_by_content(linked: Linked) -> None:
    photo = b"\x89PNG\r\n\x1a\n" + b"chatproof-test-image" * 50
    await customer_sends(
        linked,
        {
            "type": "image",
            "image": {"caption": "Kaputt angekommen"},
            "media": {"content_base64": base64.b64encode(photo).decode(), "mime_type": "image/png"},
        },
    )
    await linked.flush()
    digest = hashlib.sha256(photo).hexdigest()
    for _ in range(100):
        (message,) = await only_conversation_messages(linked)
        if message["media"]["state"] == "stored":
            break
        await asyncio.sleep(0.05)
    assert message["text"] == "Kaputt angekommen"
    assert message["media"]["state"] == "stored"
    downloaded = await linked.api.get(message["media"]["url"])
    assert (downloaded.status_code, downloaded.content) == (200, photo)
    assert downloaded.headers["content-type"] == "image/png"
    stored = linked.components.settings.media_dir.rglob("*")
    assert all(photo not in p.read_bytes() for p in stored if p.is_file())
    assert not linked.components.blobs.path_for(digest).exists()


async def test_statuses_of_a_reply_come_back_and_are_stored(linked: Linked) -> None:
    await customer_sends(linked, {"type": "text", "text": {"body": "Hallo?"}})
    sent = await linked.whatsapp.send_text(CUSTOMER, "Guten Tag, wir kümmern uns darum.")
    await linked.flush()
    wamid_hash = linked.components.pseudonyms.hash("wamid", sent.message_id)
    with linked.components.engine.connect() as conn:
        statuses = set(
            conn.execute(
                select(t.statuses.c.status).where(t.statuses.c.platform_id_hash == wamid_hash)
            ).scalars()
        )
    assert statuses == {"sent", "delivered", "read"}


async def test_free_text_outside_the_window_fails_with_131047_via_webhook(linked: Linked) -> None:
    sent = await linked.whatsapp.send_text(CUSTOMER, "Newsletter!")
    await linked.flush()
    wamid_hash = linked.components.pseudonyms.hash("wamid", sent.message_id)
    with linked.components.engine.connect() as conn:
        row = conn.execute(
            select(t.statuses.c.status, t.statuses.c.error_code).where(
                t.statuses.c.platform_id_hash == wamid_hash
            )
        ).one()
    assert tuple(row) == ("failed", 131047)
