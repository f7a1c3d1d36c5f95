"""How to reach WhatsApp: Meta's Cloud API, 360dialog, or the local emulator.

The JSON bodies are the same everywhere; only the base URL, the path prefix and the auth header
differ (reference §5). Keeping those differences in one value object lets the client, the
emulator tests and the demo share every other line. Secrets never appear in ``repr`` or in error
messages, so a logged connection cannot leak a token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from chatproof.channels.whatsapp.errors import ConnectionConfigError

__all__ = [
    "DEFAULT_360DIALOG_BASE_URL",
    "DEFAULT_API_VERSION",
    "DEFAULT_META_BASE_URL",
    "DEFAULT_TIMEOUT",
    "Connection",
    "Provider",
]

Provider = Literal["meta", "360dialog"]

DEFAULT_META_BASE_URL = "https://graph.facebook.com"
DEFAULT_360DIALOG_BASE_URL = "https://waba-v2.360dialog.io"
DEFAULT_API_VERSION = "v23.0"
DEFAULT_TIMEOUT = 30.0

_VERSION = re.compile(r"v\d+\.\d+")
_PREFIX = "whatsapp"
_CONFIG_KEYS = frozenset(
    {"provider", "base_url", "api_version", "access_token", "phone_number_id", "api_key", "timeout"}
)


def _missing(name: str, provider: str) -> ConnectionConfigError:
    return ConnectionConfigError(f"{_PREFIX}.{name}", f"is required for provider {provider}")


@dataclass(frozen=True)
class Connection:
    """Where and how to call the Cloud API.

    ``base_url`` may be left empty to use the provider's public endpoint; point it at the
    emulator (e.g. ``http://127.0.0.1:8026``) to talk to it with the Meta flavour.

    Raises:
        ConnectionConfigError: naming the ``whatsapp.*`` key that is missing or invalid.
    """

    provider: Provider = "meta"
    base_url: str = ""
    api_version: str = DEFAULT_API_VERSION
    access_token: str = field(default="", repr=False)
    phone_number_id: str = ""
    api_key: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.provider not in ("meta", "360dialog"):
            raise ConnectionConfigError(f"{_PREFIX}.provider", "must be 'meta' or '360dialog'")
        base_url = (self.base_url or self._default_base_url()).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConnectionConfigError(f"{_PREFIX}.base_url", "must be an http(s) URL")
        object.__setattr__(self, "base_url", base_url)
        if not isinstance(self.timeout, int | float) or self.timeout <= 0:
            raise ConnectionConfigError(f"{_PREFIX}.timeout", "must be a positive number")
        if self.provider == "meta":
            if not self.access_token:
                raise _missing("access_token", "meta")
            if not self.phone_number_id:
                raise _missing("phone_number_id", "meta")
            if not _VERSION.fullmatch(self.api_version):
                raise ConnectionConfigError(f"{_PREFIX}.api_version", "must look like 'v23.0'")
        elif not self.api_key:
            raise _missing("api_key", "360dialog")

    def _default_base_url(self) -> str:
        return DEFAULT_META_BASE_URL if self.provider == "meta" else DEFAULT_360DIALOG_BASE_URL

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | object) -> Connection:
        """Build a connection from the ``whatsapp`` settings, a mapping or a settings object.

        Keys this class does not know (webhook secrets, verify token) are ignored.
        """
        values: dict[str, Any] = {}
        for name in _CONFIG_KEYS:
            if isinstance(section, Mapping):
                value = section.get(name)
            else:
                value = getattr(section, name, None)
            if value is not None:
                values[name] = value
        for name in _CONFIG_KEYS - {"timeout"}:
            if name in values and not isinstance(values[name], str):
                values[name] = str(values[name])
        if "timeout" in values:
            try:
                values["timeout"] = float(values["timeout"])
            except (TypeError, ValueError):
                raise ConnectionConfigError(
                    f"{_PREFIX}.timeout", "must be a positive number"
                ) from None
        return cls(**values)

    def _graph_prefix(self) -> str:
        if self.provider == "meta":
            return f"{self.base_url}/{self.api_version}"
        return self.base_url

    @property
    def messages_url(self) -> str:
        if self.provider == "meta":
            return f"{self._graph_prefix()}/{quote(self.phone_number_id, safe='')}/messages"
        return f"{self.base_url}/messages"

    @property
    def media_url(self) -> str:
        """Where media is uploaded."""
        if self.provider == "meta":
            return f"{self._graph_prefix()}/{quote(self.phone_number_id, safe='')}/media"
        return f"{self.base_url}/media"

    def templates_url(self, waba_id: str) -> str:
        """Where the business account's message templates are listed and new ones are
        submitted for review (Meta's Graph path).

        Raises:
            ConnectionConfigError: for 360dialog, whose template API is not supported here.
        """
        if self.provider != "meta":
            raise ConnectionConfigError(
                f"{_PREFIX}.provider", "template sync needs the Meta Cloud API"
            )
        return f"{self._graph_prefix()}/{quote(waba_id, safe='')}/message_templates"

    def media_object_url(self, media_id: str) -> str:
        """Where a media object is read (URL, hash, size) and deleted."""
        return f"{self._graph_prefix()}/{quote(media_id, safe='')}"

    def download_url(self, url: str) -> str:
        """The URL to fetch media bytes from, given the ``url`` of its media object.

        360dialog proxies Meta's CDN: the same path and query on its own host.
        """
        if self.provider == "meta":
            return url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.base_url:
            return url
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}{parts.path}{query}"

    def auth_headers(self) -> dict[str, str]:
        if self.provider == "meta":
            return {"Authorization": f"Bearer {self.access_token}"}
        return {"D360-API-KEY": self.api_key}
