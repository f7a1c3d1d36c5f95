"""The read API: token required, paginated JSON, numbers masked, bad input named."""

from __future__ import annotations

import httpx

from chatproof.config import Settings
from tests.e2e.conftest import signed
from tests.support.samples import sample_body


def auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.server.api_token}"}


async def deliver(client: httpx.AsyncClient, settings: Settings, *names: str) -> None:
    for name in names:
        body = sample_body(name)
        response = await client.post(
            "/webhooks/whatsapp", content=body, headers=signed(body, settings)
        )
        assert response.status_code == 200


async def test_the_api_needs_the_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = await client.get("/api/conversations", headers=headers)
        assert response.status_code == 401
        assert "bearer token" in response.json()["detail"]


async def test_conversations_and_their_messages(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Location Message", "openapi/Image Message")
    listing = (await client.get("/api/conversations", headers=auth(settings))).json()
    (conversation,) = listing["items"]
    assert conversation["name"] == "Sheena Nelson"
    assert conversation["phone_masked"] == "+1 650 ••• 1234"
    assert "16505551234" not in str(listing)
    assert (conversation["message_count"], conversation["unread_count"]) == (2, 2)
    assert conversation["service_window_ends"] is not None

    url = f"/api/conversations/{conversation['id']}/messages"
    page = (await client.get(url, headers=auth(settings))).json()
    image, text = page["items"]
    assert (text["type"], text["text"]) == (
        "location",
        "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301",
    )
    assert (image["type"], image["text"]) == ("image", "Taj Mahal")
    assert image["media"]["media_id"] == "1003383421387256"
    assert image["raw"]["image"]["caption"] == "Taj Mahal"
    assert page["next_cursor"] is None


async def test_bad_parameters_are_4xx_naming_the_field(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    bad_limit = await client.get("/api/conversations?limit=0", headers=auth(settings))
    assert bad_limit.status_code == 422
    assert bad_limit.json()["detail"][0]["loc"] == ["query", "limit"]
    bad_cursor = await client.get("/api/conversations?cursor=zz", headers=auth(settings))
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["detail"].startswith("cursor:")
    missing = await client.get("/api/conversations/424242/messages", headers=auth(settings))
    assert missing.status_code == 404


async def test_quarantine_is_listed_for_the_admin_and_can_be_resolved(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {}}]}]}'
    await client.post("/webhooks/whatsapp", content=body, headers=signed(body, settings))
    (entry,) = (await client.get("/api/quarantine", headers=auth(settings))).json()
    assert (entry["reason"], entry["path"], entry["size"]) == (
        "required text is missing",
        "entry[0].changes[0].field",
        len(body),
    )
    url = f"/api/quarantine/{entry['id']}/resolve"
    assert (await client.post(url, headers=auth(settings))).status_code == 204
    assert (await client.post(url, headers=auth(settings))).status_code == 404
    assert (await client.get("/api/quarantine", headers=auth(settings))).json() == []
    kept = (
        await client.get("/api/quarantine?include_resolved=true", headers=auth(settings))
    ).json()
    assert kept[0]["resolved_by"] == "api-token"


async def test_media_of_a_message_without_stored_media_is_404(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Location Message")
    (conversation,) = (await client.get("/api/conversations", headers=auth(settings))).json()[
        "items"
    ]
    url = f"/api/conversations/{conversation['id']}/messages"
    (message,) = (await client.get(url, headers=auth(settings))).json()["items"]
    response = await client.get(f"/api/messages/{message['id']}/media", headers=auth(settings))
    assert response.status_code == 404
    assert "stored media of message" in response.json()["detail"]
    assert (await client.get(f"/api/messages/{message['id']}/media")).status_code == 401
