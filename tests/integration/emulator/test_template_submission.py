"""Submitting a template (``POST /{waba-id}/message_templates``) through the real client: the
emulator holds it PENDING, an emulated review approves it, or the control API decides, and a
``message_template_status_update`` webhook in Meta's sample shape tells the business."""

from __future__ import annotations

from typing import Any

import pytest

from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.channels.whatsapp.errors import InvalidParameter
from chatproof.domain.templates import from_platform
from tests.integration.emulator.conftest import (
    ANNA,
    NOW,
    PHONE_ID,
    TOKEN,
    WABA_ID,
    Harness,
    eventually,
    template_to,
)


def client_for(harness: Harness) -> CloudApiClient:
    connection = Connection(
        base_url="http://emulator.test", access_token=TOKEN, phone_number_id=PHONE_ID
    )
    return CloudApiClient(connection, http=harness.client)


def submission(name: str = "delivery_notice", text: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "language": "de",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": text or "Hallo {{1}}, Ihre Lieferung {{2}} kommt heute.",
                "example": {"body_text": [["Anna", "4711"]]},
            }
        ],
    }


def template_updates(harness: Harness) -> list[dict[str, Any]]:
    return [
        change["value"]
        for payload in harness.recorder.acknowledged
        for entry in payload["entry"]
        for change in entry["changes"]
        if change["field"] == "message_template_status_update"
    ]


async def test_a_submitted_template_is_pending_then_approved_with_a_webhook(
    harness: Harness,
) -> None:
    await harness.client.put("/_emulator/templates/review", json={"seconds": 0.01})
    answer = await client_for(harness).create_template(WABA_ID, submission())
    assert answer["status"] == "PENDING" and answer["category"] == "UTILITY"
    await eventually(lambda: bool(template_updates(harness)))
    (update,) = template_updates(harness)
    assert update == {
        "event": "APPROVED",
        "message_template_id": int(answer["id"]),
        "message_template_name": "delivery_notice",
        "message_template_language": "de",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    payload = harness.recorder.acknowledged[-1]
    assert payload["entry"][0]["id"] == WABA_ID and payload["entry"][0]["time"] == int(NOW)
    listed = await client_for(harness).list_templates(WABA_ID)
    (spec,) = [from_platform(t) for t in listed if t["name"] == "delivery_notice"]
    assert spec.approved and spec.body_params == 2
    assert spec.text == "Hallo {{1}}, Ihre Lieferung {{2}} kommt heute."
    await harness.add_customer(ANNA)
    await harness.send_ok(template_to(ANNA, "delivery_notice", "de", "Anna", "4711"))


async def test_without_automatic_review_the_control_api_decides(harness: Harness) -> None:
    await harness.client.put("/_emulator/templates/review", json={"seconds": None})
    await client_for(harness).create_template(WABA_ID, submission())
    listed = await client_for(harness).list_templates(WABA_ID)
    (pending,) = [t for t in listed if t["name"] == "delivery_notice"]
    assert pending["status"] == "PENDING"
    refused = await harness.send(template_to(ANNA, "delivery_notice", "de", "a", "b"))
    assert refused.json()["error"]["code"] == 132001
    decided = await harness.client.post(
        "/_emulator/templates/delivery_notice/de/review",
        json={"status": "REJECTED", "reason": "INVALID_FORMAT"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "REJECTED"
    await harness.flush()
    (update,) = template_updates(harness)
    assert (update["event"], update["reason"]) == ("REJECTED", "INVALID_FORMAT")
    missing = await harness.client.post(
        "/_emulator/templates/nothing/de/review", json={"status": "APPROVED"}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"language": "deutsch"}, "language"),
        ({"category": "SERVICE"}, "category"),
        ({"components": []}, "components"),
        (
            {"components": [{"type": "BODY", "text": "Hallo {{1}}", "example": {}}]},
            "example",
        ),
        ({"components": [{"type": "BODY", "text": "Hallo {{2}}"}]}, "{{1}}"),
    ],
)
async def test_a_bad_submission_is_refused_naming_the_parameter(
    harness: Harness, change: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        await client_for(harness).create_template(WABA_ID, {**submission(), **change})
    assert named in str(raised.value)


async def test_the_same_name_and_language_cannot_be_submitted_twice(harness: Harness) -> None:
    await client_for(harness).create_template(WABA_ID, submission())
    with pytest.raises(InvalidParameter) as raised:
        await client_for(harness).create_template(WABA_ID, submission())
    assert "already exists" in str(raised.value)
