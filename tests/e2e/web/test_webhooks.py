"""``/webhooks/whatsapp`` over HTTP: who may post, what is acknowledged, what is kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.signature import SIGNATURE_HEADER
from chatproof.config import Settings
from chatproof.store import tables as t
from tests.e2e.conftest import signed
from tests.support.databases import unseal
from tests.support.samples import sample_body, webhook_samples

URL = "/webhooks/whatsapp"


def rows(components: Components, table: Any) -> int:
    with components.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


async def test_handshake_echoes_the_challenge_as_plain_text(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": settings.whatsapp.verify_token,
        "hub.challenge": "1158201444",
    }
    response = await client.get(URL, params=params)
    assert (response.status_code, response.text) == (200, "1158201444")
    assert response.headers["content-type"].startswith("text/plain")


async def test_handshake_with_wrong_token_or_mode_is_forbidden(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = settings.whatsapp.verify_token
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": token, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": token},
        {},
    ):
        assert (await client.get(URL, params=params)).status_code == 403


async def test_signed_webhook_is_stored_before_it_is_acknowledged(
    client: httpx.AsyncClient, settings: Settings, components: Components
) -> None:
    body = sample_body("message/image")
    response = await client.post(URL, content=body, headers=signed(body, settings))
    assert response.status_code == 200
    assert rows(components, t.messages) == 1
    assert rows(components, t.webhook_deliveries) == 1


async def test_missing_or_wrong_signature_is_401_and_stores_nothing(
    client: httpx.AsyncClient, settings: Settings, components: Components
) -> None:
    body = sample_body("message/text")
    missing = await client.post(URL, content=body)
    wrong = await client.post(URL, content=body, headers={SIGNATURE_HEADER: "sha256=" + "0" * 64})
    tampered = await client.post(URL, content=body + b" ", headers=signed(body, settings))
    assert [r.status_code for r in (missing, wrong, tampered)] == [401, 401, 401]
    assert "X-Hub-Signature-256" in missing.text
    assert rows(components, t.webhook_deliveries) == rows(components, t.quarantine) == 0


async def test_oversized_bodies_are_refused_with_413(
    client_for: Callable[..., Any], settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(CHATPROOF_SERVER_MAX_BODY_BYTES="2000")
    components = build(settings)
    client = await client_for(components)
    body = json.dumps({"object": "whatsapp_business_account", "pad": "x" * 3000}).encode()
    response = await client.post(URL, content=body, headers=signed(body, settings))
    assert response.status_code == 413
    assert "2000" in response.text
    assert rows(components, t.quarantine) == 0
    components.close()


async def test_signed_but_unintelligible_bodies_are_quarantined_and_acknowledged(
    client: httpx.AsyncClient, settings: Settings, components: Components
) -> None:
    for body in (b"<html>not json</html>", b'{"object": "whatsapp_business_account", "entry": 5}'):
        response = await client.post(URL, content=body, headers=signed(body, settings))
        assert response.status_code == 200
    with components.engine.connect() as conn:
        stored = conn.execute(select(t.quarantine.c.body, t.quarantine.c.path)).all()
    with components.reader() as uow:
        kept = [(unseal(uow, b), p) for b, p in stored]
    assert kept == [
        (b"<html>not json</html>", ""),
        (b'{"object": "whatsapp_business_account", "entry": 5}', "entry"),
    ]


async def test_provider_secret_header_instead_of_signature(
    client_for: Callable[..., Any], settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(
        CHATPROOF_WHATSAPP_APP_SECRET="",
        CHATPROOF_WHATSAPP_SECRET_HEADER_NAME="X-Chatproof-Secret",
        CHATPROOF_WHATSAPP_SECRET_HEADER_VALUE="hush",
    )
    components = build(settings)
    client = await client_for(components)
    body = sample_body("message/text")
    assert (await client.post(URL, content=body)).status_code == 401
    bad = await client.post(URL, content=body, headers={"X-Chatproof-Secret": "guess"})
    good = await client.post(URL, content=body, headers={"X-Chatproof-Secret": "hush"})
    assert (bad.status_code, good.status_code) == (401, 200)
    assert rows(components, t.messages) == 1
    components.close()


async def test_concurrent_requests_share_commits_and_each_waits_for_its_own(
    client: httpx.AsyncClient, settings: Settings, components: Components
) -> None:
    template = webhook_samples()["message/text"]

    async def post(i: int) -> int:
        body = json.loads(json.dumps(template))
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        message["id"] = f"wamid.burst{i}"
        raw = json.dumps(body).encode()
        return (await client.post(URL, content=raw, headers=signed(raw, settings))).status_code

    statuses = await asyncio.gather(*(post(i) for i in range(60)))
    assert statuses == [200] * 60
    assert rows(components, t.messages) == 60
    committer = client._transport.app.state.committer  # type: ignore[attr-defined]
    assert committer.items == 60
    assert committer.groups < 60


async def test_every_published_sample_is_acknowledged_over_http(
    client: httpx.AsyncClient, settings: Settings, components: Components
) -> None:
    for name in webhook_samples():
        body = sample_body(name)
        response = await client.post(URL, content=body, headers=signed(body, settings))
        assert response.status_code == 200, name
    assert rows(components, t.webhook_deliveries) == len(webhook_samples())
    assert rows(components, t.quarantine) == 0
