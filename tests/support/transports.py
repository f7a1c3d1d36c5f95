"""Wire two in-process ASGI apps to each other (chatproof ↔ emulator) over httpx."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp


class LateASGITransport(httpx.AsyncBaseTransport):
    """An ASGI transport whose app is attached after construction, for apps that call
    each other."""

    def __init__(self) -> None:
        self._inner: httpx.ASGITransport | None = None

    def attach(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self._inner is not None, "attach() an app first"
        return await self._inner.handle_async_request(request)
