"""Lawful sending end to end: chatproof and the emulator in-process over the real protocol.

Each test drives the JSON API and the emulator's control API; the outbox worker and the
after-ingest processor run in the app as in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from chatproof.bootstrap import Components, build
from chatproof.config import Settings
from chatproof.emulator import EmulatorSettings
from chatproof.emulator import create_app as create_emulator
from chatproof.store import tables as t
from chatproof.web.app import create_app
from tests.support.transports import LateASGITransport

ANNA, BEN, CARL = "4915112344567", "4917612345678", "4915209876543"
TEMPLATES = """
[[templates.template]]
name = "newsletter"
language = "de"
category = "marketing"
body_params = 1
text = "Neu: {{1}}"

[[templates.template]]
name = "order_update"
language = "de"
category = "utility"
body_params = 2

[[automations.quick_reply]]
name = "thanks"
text = "Danke, {name}! Viele Grüße, {agent}"
"""
AUTOMATIONS = {
    "CHATPROOF_AUTOMATIONS_PRIVACY_NOTICE_DE": "Datenschutzhinweis: https://example.de/ds",
    "CHATPROOF_AUTOMATIONS_PRIVACY_NOTICE_EN": "Privacy notice: https://example.de/privacy",
}
ALWAYS_OPEN = {
    f"CHATPROOF_AUTOMATIONS_HOURS_{d}": "00:00-24:00"
    for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
}


@dataclass
class Linked:
    control: httpx.AsyncClient
    api: httpx.AsyncClient
    components: Components

    async def customer(self, wa_id: str, **fields: Any) -> None:
        response = await self.control.post("/_emulator/customers", json={"wa_id": wa_id, **fields})
        assert response.status_code in (200, 201), response.text

    async def writes(self, wa_id: str, text: str = "", **message: Any) -> str:
        body = {"type": "text", "text": {"body": text}} if text else message
        response = await self.control.post(f"/_emulator/customers/{wa_id}/messages", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        response = await self.control.get("/_emulator/sent", params={"to": wa_id})
        return list(response.json()["data"])

    async def outbox(self) -> list[Any]:
        def read() -> list[Any]:
            with self.components.engine.connect() as conn:
                return list(conn.execute(select(t.outbox).order_by(t.outbox.c.id)))

        return await asyncio.to_thread(read)

    async def consent(self, wa_id: str, **fields: Any) -> None:
        body = {
            "wa_id": wa_id,
            "purpose": "marketing",
            "action": "granted",
            "source": "web_form",
            "text": "Ja, Newsletter per WhatsApp.",
            "text_version": "v1",
            **fields,
        }
        response = await self.api.post("/api/consents", json=body)
        assert response.status_code == 201, response.text

    async def conversation_of(self, wa_id: str) -> int:
        def read() -> int:
            c, p = t.conversations.c, t.contacts.c
            with self.components.engine.connect() as conn:
                return (
                    conn.execute(select(c.id).join(t.contacts, p.id == c.contact_id).order_by(c.id))
                    .scalars()
                    .all()[-1]
                )

        await self.wait(lambda: self._has_conversation())
        return await asyncio.to_thread(read)

    async def _has_conversation(self) -> bool:
        def read() -> bool:
            with self.components.engine.connect() as conn:
                return conn.execute(select(t.conversations.c.id)).first() is not None

        return await asyncio.to_thread(read)

    @staticmethod
    async def wait(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.05)


LinkedFactory = Callable[..., Awaitable[Linked]]


@pytest.fixture
async def linked_factory(
    tmp_path: Path, settings_factory: Callable[..., Settings]
) -> AsyncIterator[LinkedFactory]:
    (tmp_path / "data" / "chatproof.toml").open("a").write(TEMPLATES)
    stack: list[Any] = []

    async def make(emulator_mps: int = 80, **env: str) -> Linked:
        settings = settings_factory(**AUTOMATIONS, **env)
        components = build(settings)
        to_emulator, to_chatproof = LateASGITransport(), LateASGITransport()
        chatproof = create_app(components, whatsapp_transport=to_emulator)
        emulator = create_emulator(
            EmulatorSettings(
                app_secret=settings.whatsapp.app_secret,
                access_token=settings.whatsapp.access_token,
                phone_number_id=settings.whatsapp.phone_number_id,
                webhook_url="http://chatproof/webhooks/whatsapp",
                public_base_url=settings.whatsapp.base_url,
                status_delay=0.01,
                webhook_retry_base_delay=0.02,
                messages_per_second=emulator_mps,
            ),
            webhook_transport=to_chatproof,
        )
        to_emulator.attach(emulator)
        to_chatproof.attach(chatproof)
        contexts = [
            chatproof.router.lifespan_context(chatproof),
            emulator.router.lifespan_context(emulator),
        ]
        for context in contexts:
            await context.__aenter__()
        control = httpx.AsyncClient(transport=to_emulator, base_url=settings.whatsapp.base_url)
        api = httpx.AsyncClient(transport=to_chatproof, base_url="http://chatproof")
        api.headers["Authorization"] = f"Bearer {settings.server.api_token}"
        stack.append((contexts, control, api, components))
        return Linked(control, api, components)

    yield make
    for contexts, control, api, components in reversed(stack):
        await control.aclose()
        await api.aclose()
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)
        components.close()


async def test_reply_inside_the_window_reaches_the_customer(linked_factory: LinkedFactory) -> None:
    linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Wo ist mein Paket?")
    conversation = await linked.conversation_of(ANNA)
    reply = {"text": "Es kommt morgen.", "idempotency_key": "reply-1"}
    response = await linked.api.post(f"/api/conversations/{conversation}/send", json=reply)
    assert response.status_code == 202, response.text
    assert response.json()["rule_id"] == "window.reply"

    async def delivered() -> bool:
        texts = [m["request"].get("text", {}).get("body") for m in await linked.sent_to(ANNA)]
        return "Es kommt morgen." in texts

    await linked.wait(delivered)
    outbox_id = response.json()["outbox_id"]

    async def reported() -> bool:
        found = (await linked.api.get(f"/api/outbox/{outbox_id}")).json()
        return found["state"] == "sent" and found["delivery"] == "read"

    await linked.wait(reported)


async def test_free_text_outside_the_window_is_refused_before_the_platform(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    await linked.customer(BEN)
    message = {"to": BEN, "text": "Hallo!", "idempotency_key": "cold-1"}
    response = await linked.api.post("/api/messages", json=message)
    assert response.status_code == 403
    assert response.json()["detail"]["rule_id"] == "window.closed"
    await asyncio.sleep(0.5)
    assert await linked.sent_to(BEN) == []


async def test_template_outside_the_window_with_consent_and_marketing_without_refused(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    for wa_id in (ANNA, BEN):
        await linked.customer(wa_id)
    await linked.consent(ANNA)
    news = {
        "template": "newsletter",
        "language": "de",
        "body_params": ["Sommer"],
        "purpose": "marketing",
    }
    allowed = await linked.api.post(
        "/api/messages", json={**news, "to": ANNA, "idempotency_key": "n-anna"}
    )
    refused = await linked.api.post(
        "/api/messages", json={**news, "to": BEN, "idempotency_key": "n-ben"}
    )
    assert (allowed.status_code, allowed.json()["rule_id"]) == (202, "consent.documented")
    assert (refused.status_code, refused.json()["detail"]["rule_id"]) == (
        403,
        "marketing.no_opt_in",
    )

    async def arrived() -> bool:
        return any(m["type"] == "template" for m in await linked.sent_to(ANNA))

    await linked.wait(arrived)
    assert await linked.sent_to(BEN) == []


async def test_stop_opts_out_and_is_confirmed_once(linked_factory: LinkedFactory) -> None:
    linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.consent(ANNA)
    await linked.writes(ANNA, "STOP")

    async def confirmed() -> bool:
        texts = [m["request"].get("text", {}).get("body", "") for m in await linked.sent_to(ANNA)]
        return any("abgemeldet" in text for text in texts)

    await linked.wait(confirmed)
    await linked.writes(ANNA, "Stopp!")
    await asyncio.sleep(1.5)
    texts = [m["request"].get("text", {}).get("body", "") for m in await linked.sent_to(ANNA)]
    assert sum("abgemeldet" in text for text in texts) == 1
    contact = (await linked.outbox())[0].contact_id
    history = (await linked.api.get(f"/api/contacts/{contact}/consents")).json()
    assert history["states"]["marketing"]["withdrawn"] is True


async def test_the_art_13_notice_goes_out_once(linked_factory: LinkedFactory) -> None:
    linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Hallo")
    await linked.writes(ANNA, "Noch eine Frage")

    async def noticed() -> bool:
        return len(await linked.sent_to(ANNA)) >= 1

    await linked.wait(noticed)
    await asyncio.sleep(1.5)
    texts = [m["request"]["text"]["body"] for m in await linked.sent_to(ANNA)]
    assert texts == ["Datenschutzhinweis: https://example.de/ds"]


async def test_a_broadcast_reaches_exactly_the_opted_in(linked_factory: LinkedFactory) -> None:
    linked = await linked_factory()
    for wa_id in (ANNA, BEN, CARL):
        await linked.customer(wa_id)
    await linked.consent(ANNA)
    await linked.writes(BEN, "START")  # double opt-in by keyword, confirmed
    await linked.writes(CARL, "Hallo")  # wrote, never opted in

    async def ben_confirmed() -> bool:
        texts = [m["request"].get("text", {}).get("body", "") for m in await linked.sent_to(BEN)]
        return any("Danke" in text for text in texts)

    await linked.wait(ben_confirmed)
    body = {"name": "Sommer", "template": "newsletter", "language": "de", "body_params": ["Eis"]}
    created = await linked.api.post("/api/broadcasts", json=body)
    assert created.status_code == 201, created.text
    broadcast = created.json()["id"]

    async def done() -> bool:
        report = (await linked.api.get(f"/api/broadcasts/{broadcast}")).json()
        return report["counts"].get("queued", 0) == 0 and report["counts"].get("sending", 0) == 0

    await linked.wait(done)
    templates = {
        wa_id: [m for m in await linked.sent_to(wa_id) if m["type"] == "template"]
        for wa_id in (ANNA, BEN, CARL)
    }
    assert {k: len(v) for k, v in templates.items()} == {ANNA: 1, BEN: 1, CARL: 0}


def _seconds_until(moment: datetime) -> float:
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


async def test_away_message_respects_hours_and_a_holiday(linked_factory: LinkedFactory) -> None:
    linked = await linked_factory(
        **ALWAYS_OPEN,
        CHATPROOF_AUTOMATIONS_AWAY_DE="Heute geschlossen.",
        CHATPROOF_AUTOMATIONS_HOLIDAY_STATE="BY",
    )
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Hallo")  # open every day, all day: no away message
    await linked.wait(lambda: _count(linked, ANNA, 1))
    now = datetime.now(ZoneInfo("Europe/Berlin"))
    christmas = datetime(
        now.year + (now.month == 12 and now.day >= 25),
        12,
        25,
        10,
        0,
        tzinfo=ZoneInfo("Europe/Berlin"),
    )
    await linked.control.post("/_emulator/clock", json={"seconds": _seconds_until(christmas)})
    await linked.writes(ANNA, "Frohe Weihnachten, haben Sie offen?")

    async def away() -> bool:
        texts = [m["request"].get("text", {}).get("body") for m in await linked.sent_to(ANNA)]
        return "Heute geschlossen." in texts

    await linked.wait(away)
    texts = [m["request"]["text"]["body"] for m in await linked.sent_to(ANNA)]
    assert texts.count("Heute geschlossen.") == 1


async def _count(linked: Linked, wa_id: str, expected: int) -> bool:
    return len(await linked.sent_to(wa_id)) >= expected


async def test_throughput_refusal_130429_is_retried_and_nothing_sent_twice(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory(emulator_mps=2, CHATPROOF_SENDING_MESSAGES_PER_SECOND="50")
    customers = [f"49151000000{i:02d}" for i in range(6)]
    for wa_id in customers:
        await linked.customer(wa_id)
        await linked.consent(wa_id)
    body = {"name": "Eng", "template": "newsletter", "language": "de", "body_params": ["x"]}
    broadcast = (await linked.api.post("/api/broadcasts", json=body)).json()["id"]

    async def all_sent() -> bool:
        report = (await linked.api.get(f"/api/broadcasts/{broadcast}")).json()
        return report["counts"].get("sent", 0) + report["counts"].get("delivered", 0) + report[
            "counts"
        ].get("read", 0) == len(customers)

    await linked.wait(all_sent, timeout=40)
    rows = await linked.outbox()
    assert max(row.attempts for row in rows) > 1, "the emulator refused some with 130429"
    assert any(row.error_code == 130429 for row in rows)
    for wa_id in customers:
        assert len(await linked.sent_to(wa_id)) == 1


async def test_failed_status_131047_is_final_with_code_and_reason(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Hallo")
    conversation = await linked.conversation_of(ANNA)
    await linked.wait(lambda: _count(linked, ANNA, 1))
    # The platform's clock says the window closed; chatproof's does not yet.
    await linked.control.post("/_emulator/clock", json={"seconds": 25 * 3600})
    reply = {"text": "Späte Antwort", "idempotency_key": "late"}
    response = await linked.api.post(f"/api/conversations/{conversation}/send", json=reply)
    assert response.status_code == 202
    outbox_id = response.json()["outbox_id"]

    async def failed() -> bool:
        found = (await linked.api.get(f"/api/outbox/{outbox_id}")).json()
        return found["state"] == "failed"

    await linked.wait(failed)
    found = (await linked.api.get(f"/api/outbox/{outbox_id}")).json()
    assert found["error_code"] == 131047
    assert "24 hours" in found["reason"]
    late = [
        m
        for m in await linked.sent_to(ANNA)
        if m["request"].get("text", {}).get("body") == "Späte Antwort"
    ]
    assert len(late) == 1, "never retried"


async def test_templates_synced_from_the_platform_can_be_sent(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    synced = await linked.api.post("/api/templates/sync")
    assert synced.status_code == 200, synced.text
    names = {(t["name"], t["language"]) for t in synced.json()["synced"]}
    assert ("hello_world", "en_US") in names
    listed = {(t["name"], t["language"]) for t in (await linked.api.get("/api/templates")).json()}
    assert ("hello_world", "en_US") in listed and ("newsletter", "de") in listed
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Hallo")
    conversation = await linked.conversation_of(ANNA)
    message = {"template": "hello_world", "language": "en_US", "idempotency_key": "hw"}
    response = await linked.api.post(f"/api/conversations/{conversation}/send", json=message)
    assert response.status_code == 202, response.text

    async def arrived() -> bool:
        return any(m["type"] == "template" for m in await linked.sent_to(ANNA))

    await linked.wait(arrived)


async def test_a_quick_reply_is_filled_with_the_customers_name(
    linked_factory: LinkedFactory,
) -> None:
    linked = await linked_factory()
    await linked.customer(ANNA, name="Anna")
    await linked.writes(ANNA, "Hat geklappt, danke!")
    conversation = await linked.conversation_of(ANNA)
    message = {"quick_reply": "thanks", "values": {"agent": "Ben"}, "idempotency_key": "qr"}
    response = await linked.api.post(f"/api/conversations/{conversation}/send", json=message)
    assert response.status_code == 202, response.text

    async def arrived() -> bool:
        texts = [m["request"].get("text", {}).get("body") for m in await linked.sent_to(ANNA)]
        return "Danke, Anna! Viele Grüße, Ben" in texts

    await linked.wait(arrived)
