"""The sending API over HTTP: refusals are 403 with rule and reason, bad input 422 naming the
field, consent with proof, broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.web.sending_setup import NO_PRIVACY_NOTICE_WARNING

CONSENT = {
    "wa_id": "4915112345678",
    "purpose": "marketing",
    "action": "granted",
    "source": "web_form",
    "text": "Ja, Newsletter per WhatsApp.",
    "text_version": "v3",
}


def auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.server.api_token}"}


async def test_routes_need_the_api_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/consents", json=CONSENT)
    assert response.status_code == 401


async def test_consent_is_recorded_and_its_history_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    created = await client.post("/api/consents", json=CONSENT, headers=auth(settings))
    assert created.status_code == 201, created.text
    contact_id = created.json()["contact_id"]
    history = await client.get(f"/api/contacts/{contact_id}/consents", headers=auth(settings))
    body = history.json()
    assert body["states"]["marketing"]["granted"] is True
    assert body["events"][0]["text_version"] == "v3"


async def test_unprovable_consent_is_422_naming_the_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/api/consents", json={**CONSENT, "text_version": ""}, headers=auth(settings)
    )
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "text_version"


async def test_refusal_is_403_with_rule_and_reason(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    message = {"to": "4917612345678", "text": "Hallo", "idempotency_key": "k1"}
    response = await client.post("/api/messages", json=message, headers=auth(settings))
    assert response.status_code == 403
    detail: dict[str, Any] = response.json()["detail"]
    assert detail["rule_id"] == "window.closed"
    assert detail["reason_de"] and detail["reason_en"]


async def test_bad_send_request_is_422_naming_the_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    message = {"to": "4917612345678", "idempotency_key": "k1"}
    response = await client.post("/api/messages", json=message, headers=auth(settings))
    assert (response.status_code, response.json()["detail"]["field"]) == (422, "text")


async def test_unknown_broadcast_and_conversation_are_404(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await client.get("/api/broadcasts/99", headers=auth(settings))).status_code == 404
    send = {"text": "x", "idempotency_key": "k"}
    response = await client.post("/api/conversations/99/send", json=send, headers=auth(settings))
    assert response.status_code == 404


async def test_broadcast_with_an_unknown_template_is_422(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = {"name": "Sommer", "template": "nope", "language": "de"}
    response = await client.post("/api/broadcasts", json=body, headers=auth(settings))
    assert (response.status_code, response.json()["detail"]["field"]) == (422, "template")


async def test_unknown_quick_reply_is_422_naming_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    message = {"to": "4917612345678", "quick_reply": "nope", "idempotency_key": "q1"}
    response = await client.post("/api/messages", json=message, headers=auth(settings))
    assert (response.status_code, response.json()["detail"]["field"]) == (422, "snippet")
    listed = await client.get("/api/quick-replies", headers=auth(settings))
    assert (listed.status_code, listed.json()) == (200, {})


async def test_the_admin_is_warned_while_no_privacy_notice_is_configured(
    caplog: pytest.LogCaptureFixture, client: httpx.AsyncClient
) -> None:
    warned = [r.getMessage() for r in caplog.get_records("setup")]
    assert NO_PRIVACY_NOTICE_WARNING in warned


async def test_agents_cannot_send_into_a_conversation_assigned_to_someone_else(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    from sqlalchemy import select

    from chatproof.domain.accounts import Role
    from chatproof.services import accounts
    from chatproof.store import tables as t
    from tests.e2e.web.test_auth import add
    from tests.e2e.web.test_inbox import deliver

    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    add(components, "jonas", Role.AGENT)
    now = datetime.now(UTC)
    with components.engine.begin() as conn:
        maria = conn.execute(select(t.users.c.id).where(t.users.c.username == "maria")).scalar()
        cid = conn.execute(select(t.conversations.c.id)).scalar()
        conn.execute(
            t.conversation_assignments.insert().values(
                conversation_id=cid, user_id=maria, assigned_at=now
            )
        )
    token = accounts.create_api_token(components.writer, "test", now, "jonas", "x")
    message = {"text": "Hallo", "idempotency_key": "sneaky"}
    response = await client.post(
        f"/api/conversations/{cid}/send",
        json=message,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "assigned to someone else" in response.json()["detail"]


async def test_a_consent_document_is_kept_and_served(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    import base64

    scan = b"%PDF-1.4 signed form"
    body = {
        **CONSENT,
        "source": "paper_form",
        "text_version": "",
        "document_base64": base64.b64encode(scan).decode(),
    }
    created = await client.post("/api/consents", json=body, headers=auth(settings))
    assert created.status_code == 201, created.text
    contact_id = created.json()["contact_id"]
    history = await client.get(f"/api/contacts/{contact_id}/consents", headers=auth(settings))
    proof = history.json()["events"][0]["proof"]
    digest = next(p for p in proof.split() if p.startswith("document:"))[9:]
    served = await client.get(
        f"/api/contacts/{contact_id}/consent-documents/{digest}", headers=auth(settings)
    )
    assert (served.status_code, served.content) == (200, scan)
    bad = await client.post(
        "/api/consents", json={**body, "document_base64": "***"}, headers=auth(settings)
    )
    assert (bad.status_code, bad.json()["detail"]["field"]) == (422, "document_base64")
