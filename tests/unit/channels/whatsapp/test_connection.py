"""Connection: URLs and auth headers per provider, validation naming the field, no secrets in
repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chatproof.channels.errors import ChannelError
from chatproof.channels.whatsapp.connection import (
    DEFAULT_360DIALOG_BASE_URL,
    DEFAULT_META_BASE_URL,
    Connection,
)
from chatproof.channels.whatsapp.errors import ConnectionConfigError

TOKEN = "EAAG-secret-token-value"
API_KEY = "d360-secret-key-value"


def meta(**overrides: Any) -> Connection:
    return Connection(
        **{"provider": "meta", "access_token": TOKEN, "phone_number_id": "1055", **overrides}
    )


def dialog(**overrides: Any) -> Connection:
    return Connection(**{"provider": "360dialog", "api_key": API_KEY, **overrides})


def test_meta_urls_and_headers() -> None:
    connection = meta()
    assert connection.base_url == DEFAULT_META_BASE_URL
    assert connection.messages_url == "https://graph.facebook.com/v23.0/1055/messages"
    assert connection.media_url == "https://graph.facebook.com/v23.0/1055/media"
    assert connection.media_object_url("777") == "https://graph.facebook.com/v23.0/777"
    assert connection.auth_headers() == {"Authorization": f"Bearer {TOKEN}"}
    url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3"
    assert connection.download_url(url) == url


def test_emulator_speaks_the_meta_flavour() -> None:
    connection = meta(base_url="http://127.0.0.1:8026/", api_version="v21.0")
    assert connection.messages_url == "http://127.0.0.1:8026/v21.0/1055/messages"
    assert connection.media_object_url("9") == "http://127.0.0.1:8026/v21.0/9"


def test_360dialog_urls_and_headers() -> None:
    connection = dialog()
    assert connection.base_url == DEFAULT_360DIALOG_BASE_URL
    assert connection.messages_url == "https://waba-v2.360dialog.io/messages"
    assert connection.media_url == "https://waba-v2.360dialog.io/media"
    assert connection.media_object_url("777") == "https://waba-v2.360dialog.io/777"
    assert connection.auth_headers() == {"D360-API-KEY": API_KEY}


def test_360dialog_download_url_keeps_path_and_query_on_its_host() -> None:
    connection = dialog()
    meta_url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3"
    assert connection.download_url(meta_url) == (
        "https://waba-v2.360dialog.io/whatsapp_business/attachments/?mid=1&ext=2&hash=3"
    )
    own = "https://waba-v2.360dialog.io/whatsapp_business/attachments/?mid=1"
    assert connection.download_url(own) == own


def test_path_segments_are_quoted() -> None:
    assert meta().media_object_url("../1055/messages").endswith("/v23.0/..%2F1055%2Fmessages")


@pytest.mark.parametrize(
    ("build", "field_name", "text"),
    [
        (lambda: meta(access_token=""), "whatsapp.access_token", "required for provider meta"),
        (
            lambda: meta(phone_number_id=""),
            "whatsapp.phone_number_id",
            "whatsapp.phone_number_id is required for provider meta",
        ),
        (lambda: dialog(api_key=""), "whatsapp.api_key", "required for provider 360dialog"),
        (lambda: meta(provider="twilio"), "whatsapp.provider", "must be"),
        (lambda: meta(base_url="graph.facebook.com"), "whatsapp.base_url", "http(s) URL"),
        (lambda: meta(timeout=0), "whatsapp.timeout", "positive"),
        (lambda: meta(api_version="23"), "whatsapp.api_version", "v23.0"),
    ],
)
def test_validation_names_the_field(build: Any, field_name: str, text: str) -> None:
    with pytest.raises(ConnectionConfigError) as caught:
        build()
    assert caught.value.field == field_name
    assert text in str(caught.value)
    assert isinstance(caught.value, ChannelError)


def test_360dialog_needs_no_phone_number_id_or_token() -> None:
    assert dialog().phone_number_id == ""


def test_repr_and_errors_hide_secrets() -> None:
    for connection in (meta(api_key=API_KEY), dialog(access_token=TOKEN)):
        text = repr(connection) + str(connection)
        assert TOKEN not in text
        assert API_KEY not in text
        assert "provider=" in text
    with pytest.raises(ConnectionConfigError) as caught:
        meta(phone_number_id="", access_token=TOKEN)
    assert TOKEN not in str(caught.value)


def test_connection_is_frozen() -> None:
    connection = meta()
    with pytest.raises(AttributeError):
        connection.access_token = "other"  # type: ignore[misc]


def test_from_config_mapping_ignores_unknown_keys_and_coerces() -> None:
    connection = Connection.from_config(
        {
            "provider": "meta",
            "base_url": "http://127.0.0.1:8026",
            "access_token": TOKEN,
            "phone_number_id": 1055,
            "timeout": "12.5",
            "verify_token": "ignored",
            "app_secret": "ignored",
            "api_key": None,
        }
    )
    assert connection.phone_number_id == "1055"
    assert connection.timeout == 12.5
    assert connection.messages_url == "http://127.0.0.1:8026/v23.0/1055/messages"


@dataclass(frozen=True)
class SettingsLike:
    provider: str = "360dialog"
    base_url: str = ""
    api_version: str = "v23.0"
    phone_number_id: str = ""
    access_token: str = field(default="", repr=False)
    api_key: str = field(default=API_KEY, repr=False)
    app_secret: str = field(default="x", repr=False)


def test_from_config_settings_object() -> None:
    connection = Connection.from_config(SettingsLike())
    assert connection.provider == "360dialog"
    assert connection.messages_url == "https://waba-v2.360dialog.io/messages"


def test_from_config_missing_field_is_named() -> None:
    with pytest.raises(ConnectionConfigError, match=r"whatsapp\.access_token"):
        Connection.from_config({"provider": "meta", "phone_number_id": "1"})
    with pytest.raises(ConnectionConfigError, match=r"whatsapp\.timeout"):
        Connection.from_config({"provider": "360dialog", "api_key": "k", "timeout": "soon"})
