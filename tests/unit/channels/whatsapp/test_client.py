"""CloudApiClient against httpx.MockTransport behind each provider's base URL: the exact
requests it makes, how it reads answers and errors, and media up- and download."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest

from chatproof.channels.whatsapp.client import CloudApiClient, MediaInfo, SendResult
from chatproof.channels.whatsapp.connection import Connection
from chatproof.channels.whatsapp.errors import (
    CloudApiError,
    CloudApiUnavailable,
    InvalidToken,
    MediaError,
    MediaIntegrityError,
    MediaTooLarge,
    MessageValidationError,
    ReEngagementRequired,
)
from chatproof.channels.whatsapp.outbound import (
    ListRow,
    ListSection,
    body_component,
    quick_reply_button,
    text_param,
)

TOKEN = "EAAG-secret-token"
API_KEY = "d360-secret-key"
TO = "4915112345678"
WAMID = "wamid.HBgLNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMEM5"
SEND_OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": TO, "wa_id": TO}],
    "messages": [{"id": WAMID, "message_status": "accepted"}],
}
CDN_URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=55&ext=1&hash=abc"
MEDIA = b"\x89PNG fake image bytes"

CONNECTIONS = {
    "meta": Connection(provider="meta", access_token=TOKEN, phone_number_id="1055"),
    "360dialog": Connection(provider="360dialog", api_key=API_KEY),
    "emulator": Connection(
        provider="meta", base_url="http://127.0.0.1:8026", access_token=TOKEN, phone_number_id="1"
    ),
}
MESSAGES_URL = {
    "meta": "https://graph.facebook.com/v23.0/1055/messages",
    "360dialog": "https://waba-v2.360dialog.io/messages",
    "emulator": "http://127.0.0.1:8026/v23.0/1/messages",
}
MEDIA_OBJECT_URL = {
    "meta": "https://graph.facebook.com/v23.0/55",
    "360dialog": "https://waba-v2.360dialog.io/55",
    "emulator": "http://127.0.0.1:8026/v23.0/55",
}
AUTH = {
    "meta": ("authorization", f"Bearer {TOKEN}"),
    "360dialog": ("d360-api-key", API_KEY),
    "emulator": ("authorization", f"Bearer {TOKEN}"),
}

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class Api:
    """A MockTransport that records requests and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.handler(request)
        if isinstance(response, Awaitable):
            response = await response
        return response


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., tuple[CloudApiClient, Api]]]:
    opened: list[httpx.AsyncClient] = []

    def make(handler: Handler, provider: str = "meta", **kwargs: Any) -> tuple[CloudApiClient, Api]:
        api = Api(handler)
        http = httpx.AsyncClient(transport=httpx.MockTransport(api))
        opened.append(http)
        return CloudApiClient(CONNECTIONS[provider], http, **kwargs), api

    yield make
    for http in opened:
        await http.aclose()


def ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=SEND_OK)


def assert_auth(request: httpx.Request, provider: str) -> None:
    name, value = AUTH[provider]
    assert request.headers[name] == value
    other = "d360-api-key" if name == "authorization" else "authorization"
    assert other not in request.headers


def envelope(kind: str, **body: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": kind,
        **body,
    }


SENDS: dict[str, tuple[Callable[[CloudApiClient], Awaitable[SendResult]], dict[str, Any]]] = {
    "text": (
        lambda c: c.send_text(TO, "Guten Tag", reply_to="wamid.Q", biz_opaque_callback_data="o:7"),
        envelope(
            "text",
            context={"message_id": "wamid.Q"},
            biz_opaque_callback_data="o:7",
            text={"body": "Guten Tag", "preview_url": False},
        ),
    ),
    "text with preview": (
        lambda c: c.send_text(TO, "https://example.com", preview_url=True),
        envelope("text", text={"body": "https://example.com", "preview_url": True}),
    ),
    "template": (
        lambda c: c.send_template(
            TO,
            "appointment",
            "de",
            [body_component(text_param("Jane")), quick_reply_button(0, "STOP")],
        ),
        envelope(
            "template",
            template={
                "name": "appointment",
                "language": {"policy": "deterministic", "code": "de"},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "Jane"}]},
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": "STOP"}],
                    },
                ],
            },
        ),
    ),
    "buttons": (
        lambda c: c.send_interactive_buttons(
            TO, "Termin ok?", [("y", "Ja"), ("n", "Nein")], header="Termin", footer="Praxis"
        ),
        envelope(
            "interactive",
            interactive={
                "type": "button",
                "header": {"type": "text", "text": "Termin"},
                "body": {"text": "Termin ok?"},
                "footer": {"text": "Praxis"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "y", "title": "Ja"}},
                        {"type": "reply", "reply": {"id": "n", "title": "Nein"}},
                    ]
                },
            },
        ),
    ),
    "list": (
        lambda c: c.send_interactive_list(
            TO, "Wählen", "Öffnen", [ListSection("Zeit", [ListRow("am", "Vormittag", "9–12")])]
        ),
        envelope(
            "interactive",
            interactive={
                "type": "list",
                "body": {"text": "Wählen"},
                "action": {
                    "button": "Öffnen",
                    "sections": [
                        {
                            "title": "Zeit",
                            "rows": [{"id": "am", "title": "Vormittag", "description": "9–12"}],
                        }
                    ],
                },
            },
        ),
    ),
    "image": (
        lambda c: c.send_media(TO, "image", media_id="55", caption="Foto"),
        envelope("image", image={"id": "55", "caption": "Foto"}),
    ),
    "document": (
        lambda c: c.send_media(TO, "document", link="https://e.com/r.pdf", filename="r.pdf"),
        envelope("document", document={"link": "https://e.com/r.pdf", "filename": "r.pdf"}),
    ),
    "audio": (
        lambda c: c.send_media(TO, "audio", media_id="56"),
        envelope("audio", audio={"id": "56"}),
    ),
    "video": (
        lambda c: c.send_media(TO, "video", link="https://e.com/v.mp4", caption="Clip"),
        envelope("video", video={"link": "https://e.com/v.mp4", "caption": "Clip"}),
    ),
    "sticker": (
        lambda c: c.send_media(TO, "sticker", media_id="57"),
        envelope("sticker", sticker={"id": "57"}),
    ),
    "reaction": (
        lambda c: c.send_reaction(TO, "wamid.Q", "\N{THUMBS UP SIGN}"),
        envelope("reaction", reaction={"message_id": "wamid.Q", "emoji": "\N{THUMBS UP SIGN}"}),
    ),
    "reaction removed": (
        lambda c: c.send_reaction(TO, "wamid.Q", ""),
        envelope("reaction", reaction={"message_id": "wamid.Q", "emoji": ""}),
    ),
    "location": (
        lambda c: c.send_location(TO, 52.52, 13.405, name="Büro", address="Berlin"),
        envelope(
            "location",
            location={"latitude": 52.52, "longitude": 13.405, "name": "Büro", "address": "Berlin"},
        ),
    ),
}


@pytest.mark.parametrize("provider", list(CONNECTIONS))
@pytest.mark.parametrize("kind", list(SENDS))
async def test_send_requests_are_exact(
    make_client: Callable[..., tuple[CloudApiClient, Api]], provider: str, kind: str
) -> None:
    client, api = make_client(ok, provider)
    call, expected_body = SENDS[kind]
    result = await call(client)
    assert result == SendResult(message_id=WAMID, wa_id=TO, input=TO, message_status="accepted")
    (request,) = api.requests
    assert request.method == "POST"
    assert str(request.url) == MESSAGES_URL[provider]
    assert request.headers["content-type"] == "application/json"
    assert_auth(request, provider)
    assert json.loads(request.content) == expected_body


async def test_send_result_without_optional_fields(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json={"messages": [{"id": WAMID}]}))
    result = await client.send_text(TO, "x")
    assert result == SendResult(message_id=WAMID, wa_id=None, input=TO, message_status=None)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"messaging_product": "whatsapp", "messages": []}),
        httpx.Response(200, json=[1]),
        httpx.Response(200, text="<html>ok</html>"),
    ],
)
async def test_send_without_message_id_is_an_error(
    make_client: Callable[..., tuple[CloudApiClient, Api]], response: httpx.Response
) -> None:
    client, _ = make_client(lambda _: response)
    with pytest.raises(CloudApiError) as caught:
        await client.send_text(TO, "x")
    assert caught.value.http_status == 200
    assert caught.value.retryable is False


async def test_invalid_message_is_refused_before_sending(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, api = make_client(ok)
    buttons = [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]
    with pytest.raises(MessageValidationError, match=r"interactive\.action\.buttons"):
        await client.send_interactive_buttons(TO, "b", buttons)
    with pytest.raises(MessageValidationError, match=r"reply\.title"):
        await client.send_interactive_buttons(TO, "b", [("a", "A title of 21 chars..")])
    with pytest.raises(MessageValidationError, match="exactly one"):
        await client.send_media(TO, "image", media_id="1", link="https://e.com/a.png")
    assert api.requests == []


@pytest.mark.parametrize("provider", ["meta", "360dialog"])
@pytest.mark.parametrize("typing", [False, True])
async def test_mark_as_read(
    make_client: Callable[..., tuple[CloudApiClient, Api]], provider: str, typing: bool
) -> None:
    client, api = make_client(lambda _: httpx.Response(200, json={"success": True}), provider)
    assert await client.mark_as_read("wamid.IN", typing_indicator=typing) is None
    (request,) = api.requests
    assert (request.method, str(request.url)) == ("POST", MESSAGES_URL[provider])
    assert_auth(request, provider)
    expected: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }
    if typing:
        expected["typing_indicator"] = {"type": "text"}
    assert json.loads(request.content) == expected


async def test_mark_as_read_unconfirmed(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, _ = make_client(lambda _: httpx.Response(200, json={"success": False}))
    with pytest.raises(CloudApiError, match="not confirmed"):
        await client.mark_as_read("wamid.IN")


# Errors


async def test_graph_error_is_raised_typed(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    body = {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours"},
            "fbtrace_id": "Az8or",
        }
    }
    client, _ = make_client(lambda _: httpx.Response(400, json=body))
    with pytest.raises(ReEngagementRequired) as caught:
        await client.send_text(TO, "Hallo")
    error = caught.value
    assert (error.code, error.http_status, error.fbtrace_id) == (131047, 400, "Az8or")
    assert error.details == "More than 24 hours"
    assert error.retryable is False


async def test_360dialog_gateway_error_is_raised_typed(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    body = {"meta": {"api_status": "stable", "version": "2.0", "success": False,
                     "httpCode": 401, "developerMessage": "Invalid api key"}}  # fmt: skip
    client, _ = make_client(lambda _: httpx.Response(401, json=body), "360dialog")
    with pytest.raises(InvalidToken, match="Invalid api key"):
        await client.send_text(TO, "Hallo")


async def test_html_502_is_retryable(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, _ = make_client(lambda _: httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(CloudApiUnavailable) as caught:
        await client.send_text(TO, "Hallo")
    assert caught.value.http_status == 502
    assert caught.value.retryable is True


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_network_errors_become_unavailable(
    make_client: Callable[..., tuple[CloudApiClient, Api]], exc: type[httpx.TransportError]
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    client, _ = make_client(fail)
    with pytest.raises(CloudApiUnavailable) as caught:
        await client.send_text(TO, "Hallo")
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, exc)


async def test_logs_carry_no_numbers_tokens_ids_or_text(
    make_client: Callable[..., tuple[CloudApiClient, Api]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chatproof")
    client, _ = make_client(ok)
    await client.send_text(TO, "Geheimer Inhalt")
    failing, _ = make_client(lambda _: httpx.Response(400, json={"error": {"code": 131026}}))
    with pytest.raises(CloudApiError):
        await failing.send_text(TO, "Geheimer Inhalt")
    records = [r for r in caplog.records if r.name.startswith("chatproof")]
    assert records
    text = "\n".join(r.getMessage() for r in records)
    for secret in (TO, TOKEN, WAMID, "Geheimer"):
        assert secret not in text
    assert "131026" in text


# Media


def parse_multipart(request: httpx.Request) -> dict[str, tuple[str | None, str | None, bytes]]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content_type = part.get_content_type() if part.get("content-type") else None
        parts[name] = (part.get_filename(), content_type, part.get_payload(decode=True))
    return parts


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("meta", "https://graph.facebook.com/v23.0/1055/media"),
        ("360dialog", "https://waba-v2.360dialog.io/media"),
    ],
)
async def test_upload_media_multipart(
    make_client: Callable[..., tuple[CloudApiClient, Api]], provider: str, url: str
) -> None:
    client, api = make_client(
        lambda _: httpx.Response(200, json={"id": "4490709327384033"}), provider
    )
    media_id = await client.upload_media(MEDIA, "image/png", "scan.png")
    assert media_id == "4490709327384033"
    (request,) = api.requests
    assert (request.method, str(request.url)) == ("POST", url)
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert_auth(request, provider)
    parts = parse_multipart(request)
    assert parts == {
        "messaging_product": (None, None, b"whatsapp"),
        "type": (None, None, b"image/png"),
        "file": ("scan.png", "image/png", MEDIA),
    }


async def test_upload_media_checks_before_sending(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, api = make_client(ok, max_media_bytes=10)
    with pytest.raises(MediaTooLarge):
        await client.upload_media(b"x" * 11, "image/png", "a.png")
    with pytest.raises(MessageValidationError, match="file"):
        await client.upload_media(b"", "image/png", "a.png")
    with pytest.raises(MessageValidationError, match="type"):
        await client.upload_media(b"x", "png", "a.png")
    assert api.requests == []


def media_object(url: str = CDN_URL, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "url": url,
        "mime_type": "image/png",
        "sha256": hashlib.sha256(MEDIA).hexdigest(),
        "file_size": str(len(MEDIA)),
        "id": "55",
        **extra,
    }


@pytest.mark.parametrize("provider", ["meta", "360dialog"])
async def test_get_and_delete_media(
    make_client: Callable[..., tuple[CloudApiClient, Api]], provider: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200, json={"success": True})
        return httpx.Response(200, json=media_object())

    client, api = make_client(handler, provider)
    info = await client.get_media("55")
    assert info == MediaInfo(
        url=CDN_URL,
        mime_type="image/png",
        sha256=hashlib.sha256(MEDIA).hexdigest(),
        file_size=len(MEDIA),
        id="55",
    )
    assert await client.delete_media("55") is None
    assert [(r.method, str(r.url)) for r in api.requests] == [
        ("GET", MEDIA_OBJECT_URL[provider]),
        ("DELETE", MEDIA_OBJECT_URL[provider]),
    ]
    for request in api.requests:
        assert_auth(request, provider)


class FakeMediaHost:
    """Media object endpoint plus CDN; ``refusals`` CDN answers are refused first."""

    def __init__(self, refusals: int = 0, refusal_status: int = 404, **object_extra: Any) -> None:
        self.refusals = refusals
        self.refusal_status = refusal_status
        self.object_extra = object_extra
        self.object_reads = 0
        self.content: bytes | Callable[[], AsyncIterator[bytes]] = MEDIA

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/55"):
            self.object_reads += 1
            url = CDN_URL.replace("hash=abc", f"hash=v{self.object_reads}")
            return httpx.Response(200, json=media_object(url, **self.object_extra))
        assert request.url.path == "/whatsapp_business/attachments/"
        if self.refusals:
            self.refusals -= 1
            return httpx.Response(self.refusal_status, json={"error": {"message": "expired"}})
        if callable(self.content):
            return httpx.Response(200, content=self.content())
        return httpx.Response(200, content=self.content)


@pytest.mark.parametrize(
    ("provider", "cdn_host"),
    [("meta", "lookaside.fbsbx.com"), ("360dialog", "waba-v2.360dialog.io")],
)
async def test_download_media(
    make_client: Callable[..., tuple[CloudApiClient, Api]], provider: str, cdn_host: str
) -> None:
    client, api = make_client(FakeMediaHost(), provider)
    assert await client.download_media("55") == MEDIA
    get_object, download = api.requests
    assert str(get_object.url) == MEDIA_OBJECT_URL[provider]
    assert download.method == "GET"
    assert download.url.host == cdn_host
    assert download.url.path == "/whatsapp_business/attachments/"
    assert download.url.params["mid"] == "55"
    assert_auth(download, provider)


async def test_download_reasks_for_an_expired_url(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    host = FakeMediaHost(refusals=1)
    client, api = make_client(host)
    assert await client.download_media("55") == MEDIA
    assert host.object_reads == 2
    downloads = [r for r in api.requests if r.url.host == "lookaside.fbsbx.com"]
    assert [r.url.params["hash"] for r in downloads] == ["v1", "v2"]


@pytest.mark.parametrize(("status", "cls"), [(404, CloudApiError), (401, InvalidToken)])
async def test_download_gives_up_after_three_urls(
    make_client: Callable[..., tuple[CloudApiClient, Api]], status: int, cls: type[CloudApiError]
) -> None:
    host = FakeMediaHost(refusals=5, refusal_status=status)
    client, _ = make_client(host)
    with pytest.raises(cls) as caught:
        await client.download_media("55")
    assert caught.value.http_status == status
    assert host.object_reads == 3


async def test_download_server_error_is_not_reasked(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    host = FakeMediaHost(refusals=1, refusal_status=503)
    client, _ = make_client(host)
    with pytest.raises(CloudApiUnavailable):
        await client.download_media("55")
    assert host.object_reads == 1


@pytest.mark.parametrize(
    "announced",
    [
        base64.b64encode(hashlib.sha256(MEDIA).digest()).decode(),
        base64.urlsafe_b64encode(hashlib.sha256(MEDIA).digest()).decode().rstrip("="),
        hashlib.sha256(MEDIA).hexdigest(),
        hashlib.sha256(MEDIA).hexdigest().upper(),
    ],
)
async def test_download_verifies_sha256_hex_or_base64(
    make_client: Callable[..., tuple[CloudApiClient, Api]], announced: str
) -> None:
    client, _ = make_client(FakeMediaHost())
    assert await client.download_media("55", expected_sha256=announced) == MEDIA


@pytest.mark.parametrize(
    ("announced", "shown"),
    [
        (base64.b64encode(hashlib.sha256(b"other").digest()).decode(), "base64"),
        (hashlib.sha256(b"other").hexdigest(), "hex"),
    ],
)
async def test_download_sha256_mismatch(
    make_client: Callable[..., tuple[CloudApiClient, Api]], announced: str, shown: str
) -> None:
    client, _ = make_client(FakeMediaHost())
    with pytest.raises(MediaIntegrityError) as caught:
        await client.download_media("55", expected_sha256=announced)
    assert caught.value.expected == announced
    digest = hashlib.sha256(MEDIA).digest()
    expected = digest.hex() if shown == "hex" else base64.b64encode(digest).decode()
    assert caught.value.computed == expected


async def test_download_refuses_a_malformed_hash_without_fetching(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, api = make_client(FakeMediaHost())
    with pytest.raises(MediaError, match="neither hex nor base64"):
        await client.download_media("55", expected_sha256="4654+8g=")
    assert api.requests == []


async def test_download_cap_from_media_object(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    client, api = make_client(FakeMediaHost(file_size="5000"), max_media_bytes=1000)
    with pytest.raises(MediaTooLarge) as caught:
        await client.download_media("55")
    assert (caught.value.limit, caught.value.size) == (1000, 5000)
    assert len(api.requests) == 1


async def test_download_cap_from_content_length(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    host = FakeMediaHost(file_size=None)
    host.content = b"x" * 2000
    client, _ = make_client(host, max_media_bytes=1000)
    with pytest.raises(MediaTooLarge) as caught:
        await client.download_media("55")
    assert caught.value.size == 2000


async def test_download_cap_while_streaming(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b"x" * 300

    host = FakeMediaHost(file_size=None)
    host.content = chunks
    client, _ = make_client(host, max_media_bytes=1000)
    with pytest.raises(MediaTooLarge):
        await client.download_media("55")
    assert len(sent) < 10


async def test_download_streams_chunked_bodies(
    make_client: Callable[..., tuple[CloudApiClient, Api]],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(0, len(MEDIA), 4):
            yield MEDIA[index : index + 4]

    host = FakeMediaHost()
    host.content = chunks
    client, _ = make_client(host)
    digest = base64.b64encode(hashlib.sha256(MEDIA).digest()).decode()
    assert await client.download_media("55", expected_sha256=digest) == MEDIA


# Lifecycle


async def test_client_closes_only_its_own_http_client() -> None:
    shared = httpx.AsyncClient(transport=httpx.MockTransport(ok))
    async with CloudApiClient(CONNECTIONS["meta"], shared) as client:
        await client.send_text(TO, "x")
    assert not shared.is_closed
    await shared.aclose()

    async with CloudApiClient(CONNECTIONS["emulator"]) as owned:
        assert owned.connection is CONNECTIONS["emulator"]
    with pytest.raises(RuntimeError):
        await owned.send_text(TO, "x")
