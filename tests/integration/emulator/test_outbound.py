from __future__ import annotations

from typing import Any

import pytest

from .conftest import ANNA, Harness


def _base(**fields: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": ANNA, **fields}


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "no messaging_product",
        {"to": ANNA, "type": "text", "text": {"body": "x"}},
        "messaging_product",
    ),
    ("no to", {"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, "to"),
    (
        "to not a number",
        _base(to="{{Recipient-Phone-Number}}", type="text", text={"body": "x"}),
        "to",
    ),
    ("unknown type", _base(type="hologram", hologram={}), "type"),
    ("type without its object", _base(type="image"), "image"),
    ("text without body", _base(type="text", text={}), "text['body']"),
    ("blank body", _base(type="text", text={"body": "  "}), "text['body']"),
    ("body too long", _base(type="text", text={"body": "x" * 4097}), "text['body']"),
    (
        "preview_url not bool",
        _base(type="text", text={"body": "x", "preview_url": "yes"}),
        "preview_url",
    ),
    (
        "group recipient",
        _base(recipient_type="group", type="text", text={"body": "x"}),
        "recipient_type",
    ),
    (
        "image with id and link",
        _base(type="image", image={"id": "1", "link": "https://x"}),
        "image",
    ),
    ("image unknown id", _base(type="image", image={"id": "123"}), "image['id']"),
    (
        "caption on audio",
        _base(type="audio", audio={"link": "https://x/a.ogg", "caption": "c"}),
        "audio['caption']",
    ),
    (
        "reaction without message_id",
        _base(type="reaction", reaction={"emoji": "x"}),
        "reaction['message_id']",
    ),
    (
        "location without latitude",
        _base(type="location", location={"longitude": 1}),
        "location['latitude']",
    ),
    (
        "latitude out of range",
        _base(type="location", location={"latitude": 91, "longitude": 1}),
        "latitude",
    ),
    ("contacts empty", _base(type="contacts", contacts=[]), "contacts"),
    ("contact without name", _base(type="contacts", contacts=[{"phones": []}]), "formatted_name"),
    (
        "context without id",
        _base(type="text", text={"body": "x"}, context={}),
        "context['message_id']",
    ),
    (
        "opaque data too long",
        _base(type="text", text={"body": "x"}, biz_opaque_callback_data="x" * 513),
        "biz_opaque_callback_data",
    ),
    (
        "interactive unknown type",
        _base(type="interactive", interactive={"type": "poll"}),
        "interactive['type']",
    ),
    (
        "too many buttons",
        _base(
            type="interactive",
            interactive={
                "type": "button",
                "body": {"text": "?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": str(i), "title": "t"}} for i in range(4)
                    ]
                },
            },
        ),
        "buttons",
    ),
    (
        "button title too long",
        _base(
            type="interactive",
            interactive={
                "type": "button",
                "body": {"text": "?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "t" * 21}}]},
            },
        ),
        "['title']",
    ),
    (
        "list without rows",
        _base(
            type="interactive",
            interactive={
                "type": "list",
                "body": {"text": "?"},
                "action": {"button": "Go", "sections": [{"title": "S"}]},
            },
        ),
        "['rows']",
    ),
    (
        "interactive without body",
        _base(type="interactive", interactive={"type": "button", "action": {"buttons": []}}),
        "interactive['body']",
    ),
    (
        "payments are not emulated",
        _base(type="interactive", interactive={"type": "order_details"}),
        "order_details",
    ),
]


@pytest.mark.parametrize(
    ("payload", "field"), [(p, f) for _, p, f in INVALID], ids=[n for n, _, _ in INVALID]
)
async def test_invalid_requests_are_code_100_naming_the_field(
    harness: Harness, anna: str, payload: dict[str, Any], field: str
) -> None:
    response = await harness.send(payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["message"] == "(#100) Invalid parameter"
    assert field in error["error_data"]["details"]


async def test_type_defaults_to_text(harness: Harness, anna: str) -> None:
    wamid = await harness.send_ok(
        {"messaging_product": "whatsapp", "to": ANNA, "text": {"body": "hi"}}
    )
    sent = (await harness.client.get(f"/_emulator/sent/{wamid}")).json()
    assert sent["type"] == "text"


VALID: list[tuple[str, dict[str, Any]]] = [
    ("reaction", _base(type="reaction", reaction={"message_id": "wamid.X", "emoji": "👍"})),
    ("remove reaction", _base(type="reaction", reaction={"message_id": "wamid.X", "emoji": ""})),
    (
        "location as strings",
        _base(type="location", location={"latitude": "52.5", "longitude": "13.4"}),
    ),
    (
        "image by link",
        _base(type="image", image={"link": "https://example.com/a.jpg", "caption": "c"}),
    ),
    (
        "contacts",
        _base(
            type="contacts",
            contacts=[{"name": {"formatted_name": "Jo"}, "phones": [{"phone": "+1"}]}],
        ),
    ),
    (
        "list",
        _base(
            type="interactive",
            interactive={
                "type": "list",
                "header": {"type": "text", "text": "Menu"},
                "body": {"text": "Pick"},
                "footer": {"text": "f"},
                "action": {
                    "button": "Options",
                    "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row"}]}],
                },
            },
        ),
    ),
    (
        "cta url",
        _base(
            type="interactive",
            interactive={
                "type": "cta_url",
                "body": {"text": "See"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Open", "url": "https://x"},
                },
            },
        ),
    ),
    ("reply", _base(type="text", text={"body": "x"}, context={"message_id": "wamid.Y"})),
]


@pytest.mark.parametrize("payload", [p for _, p in VALID], ids=[n for n, _ in VALID])
async def test_valid_requests_are_accepted(
    harness: Harness, anna: str, payload: dict[str, Any]
) -> None:
    response = await harness.send(payload)
    assert response.status_code == 200, response.text


async def test_media_sent_by_id_must_exist_and_then_is_accepted(
    harness: Harness, anna: str
) -> None:
    upload = await harness.client.post(
        "/v23.0/106540352242922/media",
        headers=harness.headers,
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("a.png", b"\x89PNG....", "image/png")},
    )
    media_id = upload.json()["id"]
    wamid = await harness.send_ok(
        _base(type="image", image={"id": media_id, "caption": "Rechnung"})
    )
    assert wamid.startswith("wamid.")
