"""Attachments in Chromium: an agent attaches a PDF and an image in the composer, and sees
both in the thread (the image inline, the document as a download) with their delivery
ticks coming back from the emulator."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser.conftest import CUSTOMER, SCREENSHOTS, Site

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 160, height: int = 100) -> bytes:
    """A small, valid PNG (an orange square), so the browser can show it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_an_agent_attaches_a_pdf_and_an_image_and_sees_them_delivered_and_read(
    site: Site, page_for: Any, tmp_path: Path
) -> None:
    invoice = tmp_path / "Rechnung 4711.pdf"
    invoice.write_bytes(PDF)
    photo = tmp_path / "paket.png"
    photo.write_bytes(png())
    site.customer_writes("Können Sie mir die Rechnung und ein Foto schicken?")
    page = page_for("maria", height=1000)
    page.locator("a.conv", has_text="Anna Weber").click(timeout=20_000)
    page.wait_for_url(re.compile(r".*/inbox/\d+"))

    page.get_by_label("Attach a file").set_input_files(str(invoice))
    caption = page.get_by_label("Caption (optional)")
    caption.wait_for(state="visible")
    caption.fill("Ihre Rechnung")
    page.locator("#gate.gate-ok").wait_for(timeout=30_000)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r".*/inbox/\d+$"))

    page.get_by_label("Attach a file").set_input_files(str(photo))
    page.get_by_label("Caption (optional)").fill("So kam das Paket an")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r".*/inbox/\d+$"))

    document = page.locator('article.msg.outbound[data-type="document"]')
    document.locator('[data-state="read"]').wait_for(timeout=30_000)
    link = document.get_by_role("link", name="Rechnung 4711.pdf")
    assert "Ihre Rechnung" in document.inner_text()
    href = link.get_attribute("href")
    assert href is not None and href.endswith("/media")
    downloaded = page.request.get(href)
    assert downloaded.status == 200 and downloaded.body() == PDF

    image = page.locator('article.msg.outbound[data-type="image"]')
    image.locator('[data-state="read"]').wait_for(timeout=30_000)
    assert "So kam das Paket an" in image.inner_text()
    shown = image.locator("img")
    shown.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", shown.element_handle()) == 160
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "attachments.png"))

    sent = site.emulator.get("/_emulator/sent", params={"to": CUSTOMER}).json()["data"]
    media = {m["type"]: m["media"] for m in sent if m["type"] in ("document", "image")}
    assert media["document"]["mime_type"] == "application/pdf"
    assert media["document"]["filename"] == "Rechnung 4711.pdf"
    assert media["image"]["mime_type"] == "image/png"


def test_a_file_the_platform_does_not_take_is_refused_in_words(
    site: Site, page_for: Any, tmp_path: Path
) -> None:
    archive = tmp_path / "fotos.zip"
    archive.write_bytes(b"PK\x03\x04 not a document")
    site.customer_writes("Noch eine Frage")
    page = page_for("maria")
    page.locator("a.conv", has_text="Anna Weber").click(timeout=20_000)
    page.wait_for_url(re.compile(r".*/inbox/\d+"))
    page.get_by_label("Attach a file").set_input_files(str(archive))
    with page.expect_response(re.compile(r".*/send$")) as answer:
        page.get_by_role("button", name="Send").click()
    response = answer.value
    assert response.status == 400
    assert "attachment: fotos.zip" in httpx.Response(200, content=response.body()).text
