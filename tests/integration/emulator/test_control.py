from __future__ import annotations

from typing import Any

import pytest

from .conftest import ANNA, BEN, NOW, Harness, text_to


async def test_create_list_and_update_customers(harness: Harness) -> None:
    created = await harness.client.post(
        "/_emulator/customers",
        json={"wa_id": "+49 151 1234 5678", "name": "Anna", "language": "de"},
    )
    assert created.status_code == 201
    assert created.json() == {
        "wa_id": ANNA,
        "name": "Anna",
        "language": "de",
        "read_receipts": True,
        "reachable": True,
        "marketing_stopped": False,
        "window_open": False,
        "window_expires_at": None,
    }
    again = await harness.client.post(
        "/_emulator/customers", json={"wa_id": ANNA, "name": "Anna S."}
    )
    assert again.status_code == 200
    await harness.add_customer(BEN, name="Ben", read_receipts=False)
    listing = (await harness.client.get("/_emulator/customers")).json()["data"]
    assert [(c["wa_id"], c["name"], c["read_receipts"]) for c in listing] == [
        (ANNA, "Anna S.", True),
        (BEN, "Ben", False),
    ]
    patched = await harness.client.patch(
        f"/_emulator/customers/{BEN}", json={"read_receipts": True}
    )
    assert patched.json()["read_receipts"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "wa_id"),
        ({"wa_id": "abc"}, "wa_id"),
        ({"wa_id": ANNA, "name": ""}, "name"),
        ({"wa_id": ANNA, "read_receipts": "yes"}, "read_receipts"),
        ({"wa_id": ANNA, "colour": "blue"}, "colour"),
    ],
)
async def test_bad_customer_definitions_change_nothing(
    harness: Harness, body: dict[str, Any], field: str
) -> None:
    response = await harness.client.post("/_emulator/customers", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert (await harness.client.get("/_emulator/customers")).json()["data"] == []


async def test_control_body_must_be_a_json_object(harness: Harness) -> None:
    response = await harness.client.post("/_emulator/customers", content=b"[1]")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"


async def test_unknown_customer_is_404(harness: Harness) -> None:
    assert (await harness.client.get("/_emulator/customers/4999")).status_code == 404
    assert (await harness.client.patch("/_emulator/customers/4999", json={})).status_code == 404


async def test_unknown_control_route_is_plain_404(harness: Harness) -> None:
    response = await harness.client.get("/_emulator/nothing")
    assert response.status_code == 404
    assert "error" in response.json()


async def test_customer_message_opens_the_window(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hi"}})
    customer = (await harness.client.get(f"/_emulator/customers/{ANNA}")).json()
    assert customer["window_open"] is True
    assert customer["window_expires_at"] == int(NOW) + 86400


async def test_clock_moves_only_forward(harness: Harness) -> None:
    before = (await harness.client.get("/_emulator/clock")).json()
    assert before == {"now": NOW, "offset": 0.0}
    after = (await harness.client.post("/_emulator/clock", json={"seconds": 3600})).json()
    assert after["now"] == NOW + 3600
    backwards = await harness.client.post("/_emulator/clock", json={"seconds": -1})
    assert backwards.status_code == 400
    assert backwards.json()["error"]["field"] == "seconds"


async def test_mark_as_read_is_recorded(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    wamid = (await harness.customer_says(ANNA, {"type": "text", "text": {"body": "Hi"}}))["id"]
    payload = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    response = await harness.send({**payload, "typing_indicator": {"type": "text"}})
    assert response.json() == {"success": True}
    [inbound] = (await harness.client.get("/_emulator/inbound")).json()["data"]
    assert inbound["read_by_business"] is True
    unknown = await harness.send({**payload, "message_id": "wamid.nope"})
    assert unknown.json()["error"]["code"] == 100
    not_read = await harness.send({**payload, "status": "delivered"})
    assert "status" in not_read.json()["error"]["error_data"]["details"]


async def test_sent_message_lookup(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    wamid = await harness.send_ok(text_to(ANNA))
    found = (await harness.client.get(f"/_emulator/sent/{wamid}")).json()
    assert found["id"] == wamid
    assert found["request"]["to"] == ANNA
    assert (await harness.client.get("/_emulator/sent/wamid.none")).status_code == 404


async def test_flush_rejects_a_bad_timeout(harness: Harness) -> None:
    response = await harness.client.post("/_emulator/webhooks/flush", json={"timeout": "soon"})
    assert response.status_code == 400


async def test_flush_without_body_uses_the_default(harness: Harness) -> None:
    response = await harness.client.post("/_emulator/webhooks/flush")
    assert response.json()["settled"] is True
