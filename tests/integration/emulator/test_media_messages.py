"""Media messages by uploaded id: what Graph refuses at once (an id it does not know, a file
type it does not take), what it fails later (131053), and what the control API shows."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from .conftest import ANNA, PHONE_ID, VERSION, Harness

PDF = b"%PDF-1.4 Rechnung 4711 %%EOF"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n a photo"


async def upload(harness: Harness, content: bytes, mime: str, name: str) -> Any:
    return await harness.client.post(
        f"/{VERSION}/{PHONE_ID}/media",
        headers=harness.headers,
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (name, content, mime)},
    )


def media_message(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": ANNA, "type": kind, kind: body}


async def test_an_unknown_media_id_is_refused_with_code_100(harness: Harness, anna: str) -> None:
    response = await harness.send(media_message("document", {"id": "999", "filename": "a.pdf"}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_data"]["details"] == (
        "Param document['id'] is not a valid whatsapp business account media attachment ID"
    )
    assert (await harness.client.get("/_emulator/sent")).json()["data"] == []


async def test_a_deleted_media_id_is_unknown_too(harness: Harness, anna: str) -> None:
    media_id = (await upload(harness, PDF, "application/pdf", "a.pdf")).json()["id"]
    await harness.client.delete(f"/{VERSION}/{media_id}", headers=harness.headers)
    response = await harness.send(media_message("document", {"id": media_id}))
    assert response.json()["error"]["code"] == 100


async def test_uploads_of_types_the_platform_does_not_take_are_refused(harness: Harness) -> None:
    response = await upload(harness, b"PK\x03\x04", "application/zip", "a.zip")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    details = error["error_data"]["details"]
    assert details.startswith("Param file must be a file with one of the following types: ")
    assert "application/pdf" in details and "Received file of type 'application/zip'." in details


@pytest.mark.parametrize(
    ("data", "mime_type", "name"),
    [(PDF, "application/pdf", "a.pdf"), (WEBP, "image/webp", "sticker.webp")],
)
async def test_media_the_type_cannot_carry_fails_later_with_131053(
    harness: Harness, anna: str, data: bytes, mime_type: str, name: str
) -> None:
    media_id = (await upload(harness, data, mime_type, name)).json()["id"]
    wamid = await harness.send_ok(media_message("image", {"id": media_id}))
    await harness.flush()
    (failed,) = harness.recorder.statuses(wamid)
    assert failed["status"] == "failed"
    (error,) = failed["errors"]
    assert (error["code"], error["title"]) == (131053, "Media upload error")
    assert f"{mime_type} cannot be sent as image" in error["error_data"]["details"]


async def test_a_sent_media_message_shows_its_media_in_the_control_api(
    harness: Harness, anna: str
) -> None:
    media_id = (await upload(harness, PDF, "application/pdf", "Rechnung.pdf")).json()["id"]
    wamid = await harness.send_ok(
        media_message("document", {"id": media_id, "caption": "Ihre Rechnung", "filename": "R.pdf"})
    )
    await harness.flush()
    (sent,) = (await harness.client.get("/_emulator/sent", params={"to": ANNA})).json()["data"]
    assert sent["id"] == wamid and sent["type"] == "document"
    assert sent["request"]["document"]["caption"] == "Ihre Rechnung"
    assert sent["media"] == {
        "id": media_id,
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "file_size": len(PDF),
        "filename": "Rechnung.pdf",
    }
    assert [s["status"] for s in harness.recorder.statuses(wamid)][:2] == ["sent", "delivered"]


async def test_an_image_within_its_limit_is_delivered(harness: Harness, anna: str) -> None:
    media_id = (await upload(harness, PNG, "image/png", "a.png")).json()["id"]
    wamid = await harness.send_ok(media_message("image", {"id": media_id, "caption": "Paket"}))
    await harness.flush()
    assert harness.recorder.statuses(wamid)[0]["status"] == "sent"
    text = await harness.send_ok({**media_message("text", {"body": "x"})})
    assert (await harness.client.get(f"/_emulator/sent/{text}")).json()["media"] is None
