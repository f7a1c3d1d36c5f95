"""The ASGI application: webhook ingest, the JSON API and the inbox, with the background work
(``web.background``) in the same event loop or in a worker process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Literal

import httpx
from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chatproof.bootstrap import Components
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.services.accounts import AccountKeys
from chatproof.services.group_commit import GroupCommitter
from chatproof.services.ingest import Received, ingest, quarantine_unstorable
from chatproof.web import api, api_sending, sending_setup, ui, webhooks
from chatproof.web import background as background_work

logger = logging.getLogger(__name__)


def create_app(
    components: Components,
    *,
    whatsapp_transport: httpx.AsyncBaseTransport | None = None,
    media_poll: float = background_work.MEDIA_POLL,
    background: Literal["inline", "process"] = "inline",
) -> FastAPI:
    """``whatsapp_transport`` routes Cloud API calls in-process (tests use the emulator);
    ``background="process"`` runs the background work in a ``chatproof worker`` process."""
    settings = components.settings

    def write(items: Sequence[Received]) -> None:
        ingest(items, components.writer, datetime.now(UTC))

    def write_one(item: Received, error: Exception) -> None:
        quarantine_unstorable(item, error, components.writer, datetime.now(UTC))

    sending = sending_setup.sending_setup(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        committer: GroupCommitter[Received] = GroupCommitter(write, write_one)
        committer.start()
        http = httpx.AsyncClient(transport=whatsapp_transport, timeout=30.0)
        client = CloudApiClient(Connection.from_config(settings.whatsapp), http=http)
        app.state.committer = committer
        app.state.client = client
        if background == "inline":
            workers = background_work.start(
                components,
                client,
                sending=sending,
                give_way=committer.give_way,
                media_poll=media_poll,
            )
        else:
            supervisor = background_work.supervise(str(settings.data_dir))
            # The API checks templates too: it follows what `templates sync` stores.
            refresh = sending_setup.refresh_templates(sending.sending.catalogue, components.reader)
            workers = [
                asyncio.create_task(supervisor, name="background worker"),
                asyncio.create_task(refresh, name="templates"),
            ]
        try:
            yield
        finally:
            await background_work.stop(workers)
            await committer.stop()
            await client.aclose()
            await http.aclose()

    app = ChatproofApp(title="chatproof", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.components = components
    app.state.sending = sending
    app.state.account_keys = AccountKeys.from_master(components.derivation_key)
    app.router.routes.extend(
        [
            Route(webhooks.PATH, webhooks.handshake, methods=["GET"]),
            Route(webhooks.PATH, webhooks.receive, methods=["POST"]),
            Route("/healthz", _health, methods=["GET"]),
        ]
    )
    app.include_router(api.router)
    app.include_router(api_sending.router)
    ui.install(app)
    return app


class ChatproofApp(FastAPI):
    """FastAPI, except that webhook deliveries go straight to their handler.

    They are nearly all the traffic, need none of the middleware (the handler answers every
    error itself) and would spend most of their time in it. The same handler stays routed,
    so a request the shortcut misses (a root path, say) is still answered the same way.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == webhooks.PATH:
            scope["app"] = self
            await webhooks.receive(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def _health(_request: object) -> Response:
    return PlainTextResponse("ok")
