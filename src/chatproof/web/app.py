"""The ASGI application: webhook ingest, the JSON API, and the background media worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chatproof.archive.keyfiles import load_signing_key
from chatproof.archive.witness import NO_WITNESS_WARNING
from chatproof.bootstrap import Components
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.channels.whatsapp.connection import Connection
from chatproof.services.accounts import AccountKeys
from chatproof.services.archive import HeadPolicy, head_due, publish_head, sign_head
from chatproof.services.group_commit import GroupCommitter
from chatproof.services.ingest import Received, ingest, quarantine_unstorable
from chatproof.services.media import Download, MediaPolicy, fetch_due_media
from chatproof.web import api, api_sending, sending_setup, ui, webhooks

logger = logging.getLogger(__name__)

MEDIA_POLL = 1.0


def create_app(
    components: Components,
    *,
    whatsapp_transport: httpx.AsyncBaseTransport | None = None,
    media_poll: float = MEDIA_POLL,
) -> FastAPI:
    """``whatsapp_transport`` routes Cloud API calls in-process (tests use the emulator)."""
    settings = components.settings
    media_policy = MediaPolicy(
        max_attempts=settings.media.max_attempts,
        retry_base=timedelta(seconds=settings.media.retry_base_seconds),
    )

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
        download = partial(_download, client)
        workers = [
            asyncio.create_task(
                _media_worker(components, download, media_policy, media_poll), name="media"
            ),
            asyncio.create_task(_head_signer(components), name="tree heads"),
            *sending_setup.background_tasks(
                sending, components.writer, components.reader, client, committer.give_way
            ),
        ]
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
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


async def _head_signer(components: Components) -> None:
    """Sign a tree head whenever one is due (every N entries or T seconds) and hand it to the
    witnesses (DESIGN invariant 3)."""
    archive_settings = components.settings.archive
    policy = HeadPolicy(archive_settings.head_every_entries, archive_settings.head_every_seconds)
    key = load_signing_key(components.settings.signing_key_path)
    witnesses = components.witnesses()
    if not witnesses:
        logger.warning("%s", NO_WITNESS_WARNING)
    poll = min(1.0, archive_settings.head_every_seconds)
    while True:
        try:
            now = datetime.now(UTC)
            due = await asyncio.to_thread(head_due, components.reader, policy, now)
            sth = None
            if due:
                sth = await asyncio.to_thread(sign_head, components.writer, key, now, policy=policy)
            if sth is not None:
                await publish_head(components.writer, sth, witnesses)
        except Exception:
            logger.exception("signing a tree head failed")
        await asyncio.sleep(poll)


async def _download(client: CloudApiClient, media_id: str, sha256: str) -> bytes:
    return await client.download_media(media_id, expected_sha256=sha256 or None)


async def _media_worker(
    components: Components, download: Download, policy: MediaPolicy, poll: float
) -> None:
    while True:
        try:
            await fetch_due_media(
                components.writer, download, components.blobs, policy, datetime.now(UTC)
            )
        except Exception:
            logger.exception("media worker pass failed")
        await asyncio.sleep(poll)
