from __future__ import annotations

import base64
from typing import Any

import pytest

from .conftest import ANNA, Harness, text_to

BUSINESS = "15550783881"


async def _says(harness: Harness, body: dict[str, Any]) -> dict[str, Any]:
    if ANNA not in harness.emulator.state.customers:
        await harness.add_customer(ANNA, name="Anna")
    sent = await harness.customer_says(ANNA, body)
    message: dict[str, Any] = sent["message"]
    assert message["from"] == ANNA
    assert message["id"] == sent["id"]
    assert message["timestamp"] == "1750000000"
    return message


async def test_text_reply_carries_context(harness: Harness) -> None:
    message = await _says(
        harness, {"type": "text", "text": {"body": "Ja"}, "context": {"message_id": "wamid.ABC"}}
    )
    assert message["context"] == {"from": BUSINESS, "id": "wamid.ABC"}


async def test_forwarded_flag_is_kept(harness: Harness) -> None:
    message = await _says(
        harness, {"type": "text", "text": {"body": "fw"}, "context": {"forwarded": True}}
    )
    assert message["context"] == {"forwarded": True}


async def test_voice_note_defaults_to_ogg_opus(harness: Harness) -> None:
    message = await _says(harness, {"type": "audio", "audio": {"voice": True}})
    audio = message["audio"]
    assert audio["voice"] is True
    assert audio["mime_type"] == "audio/ogg; codecs=opus"
    assert set(audio) == {"voice", "mime_type", "sha256", "id"}


@pytest.mark.parametrize(
    ("kind", "extra_keys"),
    [("video", set()), ("sticker", {"animated"}), ("document", {"filename"}), ("image", set())],
)
async def test_media_types_get_id_mime_and_hash(
    harness: Harness, kind: str, extra_keys: set[str]
) -> None:
    message = await _says(harness, {"type": kind})
    assert set(message[kind]) == {"mime_type", "sha256", "id"} | extra_keys
    assert len(base64.b64decode(message[kind]["sha256"])) == 32


async def test_document_keeps_its_filename(harness: Harness) -> None:
    message = await _says(
        harness,
        {
            "type": "document",
            "document": {"caption": "Rechnung"},
            "media": {
                "content_base64": base64.b64encode(b"%PDF").decode(),
                "mime_type": "application/pdf",
                "filename": "r.pdf",
            },
        },
    )
    assert message["document"]["filename"] == "r.pdf"
    assert message["document"]["caption"] == "Rechnung"


async def test_button_and_interactive_replies_default_to_the_last_business_message(
    harness: Harness,
) -> None:
    await _says(harness, {"type": "text", "text": {"body": "Hallo"}})
    wamid = await harness.send_ok(text_to(ANNA))
    button = await _says(
        harness, {"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}}
    )
    assert button["context"] == {"from": BUSINESS, "id": wamid}
    reply = await _says(
        harness,
        {
            "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row"}},
        },
    )
    assert reply["context"]["id"] == wamid
    assert reply["interactive"]["list_reply"] == {"id": "r1", "title": "Row"}


async def test_location_contacts_reaction_order_pass_through(harness: Harness) -> None:
    location = {"latitude": 52.52, "longitude": 13.4, "name": "Büro", "address": "Berlin"}
    assert (await _says(harness, {"type": "location", "location": location}))[
        "location"
    ] == location
    contacts = [
        {"name": {"formatted_name": "Jo"}, "phones": [{"phone": "+49 30 1", "type": "WORK"}]}
    ]
    assert (await _says(harness, {"type": "contacts", "contacts": contacts}))[
        "contacts"
    ] == contacts
    reaction = {"message_id": "wamid.X", "emoji": "👍"}
    assert (await _says(harness, {"type": "reaction", "reaction": reaction}))[
        "reaction"
    ] == reaction
    order = {
        "catalog_id": "1",
        "text": "",
        "product_items": [
            {"product_retailer_id": "a", "quantity": 1, "item_price": 2, "currency": "EUR"}
        ],
    }
    assert (await _says(harness, {"type": "order", "order": order}))["order"] == order


async def test_edit_and_revoke(harness: Harness) -> None:
    edit = await _says(
        harness,
        {
            "type": "edit",
            "edit": {
                "original_message_id": "wamid.O",
                "message": {"type": "text", "text": {"body": "neu"}},
            },
        },
    )
    assert edit["edit"] == {
        "original_message_id": "wamid.O",
        "message": {"type": "text", "text": {"body": "neu"}},
    }
    revoke = await _says(harness, {"type": "revoke", "revoke": {"original_message_id": "wamid.O"}})
    assert revoke["revoke"] == {"original_message_id": "wamid.O"}


async def test_unsupported_message_carries_131051(harness: Harness) -> None:
    message = await _says(harness, {"type": "unsupported", "unsupported": {"type": "video_note"}})
    [error] = message["errors"]
    assert error["code"] == 131051
    assert message["unsupported"] == {"type": "video_note"}


async def test_system_message_webhook_has_no_contacts(harness: Harness) -> None:
    await _says(
        harness,
        {
            "type": "system",
            "system": {
                "body": "Anna changed number",
                "type": "user_changed_number",
                "wa_id": "491700000",
            },
        },
    )
    await harness.flush()
    [value] = harness.recorder.values()
    assert "contacts" not in value
    assert value["messages"][0]["system"]["type"] == "user_changed_number"


async def test_referral_is_passed_through(harness: Harness) -> None:
    referral = {"source_url": "https://fb.me/x", "source_id": "1", "source_type": "ad"}
    message = await _says(harness, {"type": "text", "text": {"body": "Ad"}, "referral": referral})
    assert message["referral"] == referral


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "hologram"}, "type"),
        ({"type": "text", "text": {"body": "x"}, "id": "wamid.mine"}, "id"),
        ({"type": "text"}, "text"),
        ({"type": "text", "text": {}}, "text.body"),
        ({"type": "image", "media": {"content_base64": "!!!"}}, "media.content_base64"),
        ({"type": "image", "media": {"mime_type": "jpeg"}}, "media.mime_type"),
        ({"type": "image", "context": "wamid.X"}, "context"),
        ({"type": "image", "referral": []}, "referral"),
        ({"type": "interactive", "interactive": {"type": "poll"}}, "interactive.type"),
        ({"type": "button", "button": {"payload": "x"}}, "button.text"),
        (
            {"type": "edit", "edit": {"message": {"type": "text", "text": {"body": "x"}}}},
            "edit.original_message_id",
        ),
    ],
)
async def test_bad_customer_messages_are_refused(
    harness: Harness, body: dict[str, Any], field: str
) -> None:
    await harness.add_customer(ANNA)
    response = await harness.client.post(f"/_emulator/customers/{ANNA}/messages", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert harness.emulator.state.inbound == {}
    assert harness.emulator.webhooks.deliveries() == []
    assert len(harness.emulator.media) == 0


async def test_unknown_customer_is_404(harness: Harness) -> None:
    response = await harness.client.post(
        "/_emulator/customers/4900000000/messages", json={"type": "text", "text": {"body": "x"}}
    )
    assert response.status_code == 404
