"""Attachments in the composer and the JSON API: a multipart form with its CSRF token, 400
naming the field for a bad file, 403 outside the window, and the whole way to the customer
through the emulator (one upload, a media message, delivered and read)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.domain.accounts import Role
from chatproof.store import tables as t
from tests.e2e.test_sending_emulator import ANNA, Linked, LinkedFactory, linked_factory
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.e2e.web.test_composer import components, customer_wrote, outbox

__all__ = ["components", "linked_factory"]  # fixtures used here

PDF = b"%PDF-1.7\n" + b"Rechnung 4711\n" * 50 + b"%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def kinds(components: Components) -> list[str]:
    with components.engine.connect() as conn:
        return list(
            conn.execute(select(t.log_entries.c.kind).order_by(t.log_entries.c.idx)).scalars()
        )


async def open_thread(
    client: httpx.AsyncClient, components: Components, settings: Settings, hours_ago: float
) -> tuple[int, str]:
    client.headers["Accept-Language"] = "en"
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid = await customer_wrote(client, settings, hours_ago=hours_ago)
    page = await client.get(f"/inbox/{cid}")
    return cid, csrf_of(page)


async def test_the_composer_is_a_multipart_form_with_a_file_input(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, _ = await open_thread(client, components, settings, 0.1)
    page = (await client.get(f"/inbox/{cid}")).text
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" id="attachment" name="attachment"' in page
    assert "application/pdf" in page and 'id="caption"' in page
    client.headers["Accept-Language"] = "de"
    assert "Datei anhängen" in (await client.get(f"/inbox/{cid}")).text


async def test_a_pdf_with_its_caption_is_accepted_sealed_and_queued(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, csrf = await open_thread(client, components, settings, 0.1)
    sent = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "text": "", "caption": "Ihre Rechnung", "key": "k-pdf"},
        files={"attachment": ("Rechnung 4711.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    (row,) = [r for r in outbox(components) if r.attachment_blob]
    assert (row.kind, row.state, row.actor) == ("free_text", "queued", "user:maria")
    assert components.blobs.path_for(row.attachment_blob).is_file()
    assert "attachment.stored" in kinds(components)


async def test_the_text_typed_becomes_the_caption_when_none_is_given(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, csrf = await open_thread(client, components, settings, 0.1)
    sent = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "text": "So kam es an"},
        files={"attachment": ("paket.png", PNG, "image/png")},
    )
    assert sent.status_code == 303
    with components.engine.connect() as conn:
        leaf = conn.execute(
            select(t.log_entries.c.leaf).where(t.log_entries.c.kind == "attachment.stored")
        ).scalar_one()
    assert json.loads(leaf)["attributes"]["media_type"] == "image"


async def test_no_file_chosen_sends_the_text_as_before(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, csrf = await open_thread(client, components, settings, 0.1)
    sent = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "text": "Hallo"},
        files={"attachment": ("", b"", "application/octet-stream")},
    )
    assert sent.status_code == 303
    assert outbox(components)[-1].attachment_blob is None


async def test_a_multipart_post_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, _ = await open_thread(client, components, settings, 0.1)
    refused = await client.post(
        f"/inbox/{cid}/send",
        data={"caption": "x"},
        files={"attachment": ("a.pdf", PDF, "application/pdf")},
    )
    assert refused.status_code == 403
    assert outbox(components) == []


@pytest.mark.parametrize(
    ("name", "content", "mime", "message"),
    [
        ("leer.pdf", b"", "application/pdf", "attachment: the file is empty"),
        ("invoice.pdf", b"MZ\x90\x00 program", "application/pdf", "attachment: invoice.pdf"),
        ("a.zip", b"PK\x03\x04 zip", "application/zip", "is not an image"),
        ("big.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png", "image files may be at most 5"),
    ],
    ids=["empty", "disguised", "unsupported", "too large"],
)
async def test_a_bad_file_is_a_400_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    components: Components,
    settings: Settings,
    name: str,
    content: bytes,
    mime: str,
    message: str,
) -> None:
    cid, csrf = await open_thread(client, components, settings, 0.1)
    before = kinds(components)
    refused = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf},
        files={"attachment": (name, content, mime)},
    )
    assert refused.status_code == 400
    assert message in refused.text
    assert outbox(components) == []
    assert [k for k in kinds(components) if k != "access.read"] == [
        k for k in before if k != "access.read"
    ]
    assert not components.blobs.root.exists() or not any(components.blobs.root.rglob("*"))


async def test_a_caption_on_audio_or_a_file_with_a_template_is_a_400(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, csrf = await open_thread(client, components, settings, 0.1)
    audio = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "caption": "hör mal"},
        files={"attachment": ("a.ogg", b"OggS\x00\x02" + b"\x00" * 30, "audio/ogg")},
    )
    assert audio.status_code == 400 and "caption: audio messages carry no caption" in audio.text
    template = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "template": "order_update|de", "param": ["1", "2"]},
        files={"attachment": ("a.pdf", PDF, "application/pdf")},
    )
    assert template.status_code == 400 and "attachment: a file goes alone" in template.text
    assert outbox(components) == []


async def test_outside_the_window_a_file_is_refused_with_the_rule(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    cid, csrf = await open_thread(client, components, settings, 30)
    refused = await client.post(
        f"/inbox/{cid}/send",
        data={"csrf": csrf, "caption": "Rechnung"},
        files={"attachment": ("a.pdf", PDF, "application/pdf")},
    )
    assert refused.status_code == 403
    assert 'id="refusal"' in refused.text and "window.closed" in refused.text
    assert "24" in refused.text
    assert outbox(components) == []
    assert not components.blobs.root.exists() or not any(components.blobs.root.rglob("*"))


# the JSON API and the way to the customer


def attachment(content: bytes, name: str, caption: str = "") -> dict[str, Any]:
    return {
        "content_base64": base64.b64encode(content).decode(),
        "filename": name,
        "caption": caption,
    }


async def test_the_api_sends_a_document_through_the_emulator_once(
    linked_factory: LinkedFactory,
) -> None:
    linked: Linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Schicken Sie mir die Rechnung?")
    conversation = await linked.conversation_of(ANNA)
    body = {"idempotency_key": "doc-1", "attachment": attachment(PDF, "R-4711.pdf", "Bitte")}
    response = await linked.api.post(f"/api/conversations/{conversation}/send", json=body)
    assert response.status_code == 202, response.text
    outbox_id = response.json()["outbox_id"]

    async def read() -> bool:
        found = (await linked.api.get(f"/api/outbox/{outbox_id}")).json()
        return found["state"] == "sent" and found["delivery"] == "read"

    await linked.wait(read)
    # the privacy notice to a new customer may go out meanwhile; the document goes once
    (sent,) = [m for m in await linked.sent_to(ANNA) if m["type"] == "document"]
    assert sent["request"]["document"]["caption"] == "Bitte"
    assert sent["request"]["document"]["filename"] == "R-4711.pdf"
    assert sent["media"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert sent["media"]["mime_type"] == "application/pdf"
    again = await linked.api.post(f"/api/conversations/{conversation}/send", json=body)
    assert again.status_code == 200 and again.json()["duplicate"]
    messages = (await linked.api.get(f"/api/conversations/{conversation}/messages")).json()
    items = messages.get("items", messages.get("messages", messages))
    (document,) = [m for m in items if m["direction"] == "outbound" and m["type"] == "document"]
    media = await linked.api.get(f"/api/messages/{document['id']}/media")
    assert (media.status_code, media.content) == (200, PDF)


async def test_the_api_names_the_field_of_a_bad_attachment(linked_factory: LinkedFactory) -> None:
    linked: Linked = await linked_factory()
    await linked.customer(ANNA)
    await linked.writes(ANNA, "Hallo")
    conversation = await linked.conversation_of(ANNA)
    for given, message in (
        ({"content_base64": "***"}, "attachment: content_base64 is not base64"),
        (attachment(b"GIF89a...", "a.gif"), "is not an image"),
    ):
        body = {"idempotency_key": "bad", "attachment": given}
        response = await linked.api.post(f"/api/conversations/{conversation}/send", json=body)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail["field"] == "attachment" and message in detail["message"]
    assert await linked.outbox() == []
