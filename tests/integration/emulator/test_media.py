from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from .conftest import ANNA, PHONE_ID, VERSION, Harness, HarnessFactory

PDF = b"%PDF-1.4 invoice 4711 %%EOF"


async def _upload(harness: Harness, content: bytes = PDF, mime: str = "application/pdf") -> str:
    response = await harness.client.post(
        f"/{VERSION}/{PHONE_ID}/media",
        headers=harness.headers,
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": ("invoice.pdf", content, mime)},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    media_id: str = response.json()["id"]
    return media_id


async def test_upload_then_read_the_media_object(harness: Harness) -> None:
    media_id = await _upload(harness)
    assert media_id.isdigit()
    response = await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)
    assert response.status_code == 200
    info = response.json()
    assert info == {
        "messaging_product": "whatsapp",
        "url": info["url"],
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "file_size": str(len(PDF)),
        "id": media_id,
    }
    assert urlsplit(info["url"]).path == "/whatsapp_business/attachments/"


async def test_download_needs_the_token_and_returns_the_bytes(harness: Harness) -> None:
    media_id = await _upload(harness)
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()[
        "url"
    ]
    anonymous = await harness.client.get(url)
    assert anonymous.status_code == 401
    download = await harness.client.get(url, headers=harness.headers)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"


async def test_download_url_expires_after_five_minutes(harness: Harness) -> None:
    media_id = await _upload(harness)
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()[
        "url"
    ]
    harness.clock.advance(299)
    assert (await harness.client.get(url, headers=harness.headers)).status_code == 200
    harness.clock.advance(2)
    assert (await harness.client.get(url, headers=harness.headers)).status_code == 404
    fresh = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()[
        "url"
    ]
    assert fresh != url
    assert (await harness.client.get(fresh, headers=harness.headers)).content == PDF


async def test_tampered_download_url_is_404(harness: Harness) -> None:
    media_id = await _upload(harness)
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()[
        "url"
    ]
    tampered = url.replace("ext=", "ext=9")
    assert (await harness.client.get(tampered, headers=harness.headers)).status_code == 404


async def test_delete_media(harness: Harness) -> None:
    media_id = await _upload(harness)
    url = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()[
        "url"
    ]
    deleted = await harness.client.delete(f"/{VERSION}/{media_id}", headers=harness.headers)
    assert deleted.json() == {"success": True}
    again = await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)
    assert again.status_code == 400
    assert again.json()["error"]["error_subcode"] == 33
    assert (await harness.client.get(url, headers=harness.headers)).status_code == 404
    twice = await harness.client.delete(f"/{VERSION}/{media_id}", headers=harness.headers)
    assert twice.json()["error"]["code"] == 100


async def test_media_object_checks_the_owning_phone_number(harness: Harness) -> None:
    media_id = await _upload(harness)
    mine = await harness.client.get(
        f"/{VERSION}/{media_id}", params={"phone_number_id": PHONE_ID}, headers=harness.headers
    )
    assert mine.status_code == 200
    other = await harness.client.get(
        f"/{VERSION}/{media_id}", params={"phone_number_id": "1"}, headers=harness.headers
    )
    assert other.json()["error"]["code"] == 100


async def test_media_object_needs_the_token(harness: Harness) -> None:
    media_id = await _upload(harness)
    response = await harness.client.get(f"/{VERSION}/{media_id}")
    assert response.status_code == 401


async def test_upload_errors_name_the_field(harness: Harness) -> None:
    url = f"/{VERSION}/{PHONE_ID}/media"
    no_file = await harness.client.post(
        url, headers=harness.headers, data={"messaging_product": "whatsapp"}
    )
    assert "file" in no_file.json()["error"]["error_data"]["details"]
    no_product = await harness.client.post(
        url, headers=harness.headers, files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert "messaging_product" in no_product.json()["error"]["error_data"]["details"]
    bad_type = await harness.client.post(
        url,
        headers=harness.headers,
        data={"messaging_product": "whatsapp", "type": "pdf"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert "type" in bad_type.json()["error"]["error_data"]["details"]


async def test_customer_media_arrives_with_id_and_base64_hash(harness: Harness) -> None:
    await harness.add_customer(ANNA)
    photo = b"\xff\xd8\xff\xe0 a photo of a broken parcel \xff\xd9"
    sent = await harness.customer_says(
        ANNA,
        {
            "type": "image",
            "image": {"caption": "Kaputt"},
            "media": {
                "content_base64": base64.b64encode(photo).decode(),
                "mime_type": "image/jpeg",
            },
        },
    )
    await harness.flush()
    [message] = harness.recorder.messages()
    assert message["id"] == sent["id"]
    image = message["image"]
    assert image["caption"] == "Kaputt"
    assert image["mime_type"] == "image/jpeg"
    assert image["sha256"] == base64.b64encode(hashlib.sha256(photo).digest()).decode()
    info = (await harness.client.get(f"/{VERSION}/{image['id']}", headers=harness.headers)).json()
    assert info["sha256"] == hashlib.sha256(photo).hexdigest()
    assert (await harness.client.get(info["url"], headers=harness.headers)).content == photo


async def test_public_base_url_is_used_for_download_urls(make_harness: HarnessFactory) -> None:
    async with make_harness(public_base_url="https://emulator.example:8026") as harness:
        media_id = await _upload(harness)
        info = (await harness.client.get(f"/{VERSION}/{media_id}", headers=harness.headers)).json()
        assert info["url"].startswith(
            "https://emulator.example:8026/whatsapp_business/attachments/?mid="
        )


async def test_360dialog_media_paths(make_harness: HarnessFactory) -> None:
    async with make_harness(d360_api_key="k") as harness:
        key = {"D360-API-KEY": "k"}
        upload = await harness.client.post(
            "/media",
            headers=key,
            data={"messaging_product": "whatsapp"},
            files={"file": ("a.pdf", PDF, "application/pdf")},
        )
        media_id = upload.json()["id"]
        info = (await harness.client.get(f"/{media_id}", headers=key)).json()
        assert info["mime_type"] == "application/pdf"
        parts = urlsplit(info["url"])
        download = await harness.client.get(f"{parts.path}?{parts.query}", headers=key)
        assert download.content == PDF
        denied = await harness.client.get(f"/{media_id}")
        assert denied.status_code == 401
        assert (await harness.client.delete(f"/{media_id}", headers=key)).json() == {
            "success": True
        }
