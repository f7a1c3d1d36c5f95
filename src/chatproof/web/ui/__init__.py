"""The inbox in the browser: server-rendered pages and a little JavaScript, no build step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chatproof.services.inbox import forget_erased, index_pending
from chatproof.web.ui import admin, audit, dpo, home, inbox, login, statistics
from chatproof.web.ui.pages import HERE

logger = logging.getLogger(__name__)

INDEX_POLL = 1.0
PURGE_EVERY = 300.0


def install(app: FastAPI, *, index_poll: float = INDEX_POLL) -> None:
    """Add the pages, their static files, and the worker keeping the search index current."""
    for module in (login, home, inbox, statistics, dpo, audit, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    running = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with running(application) as state:
            writer = application.state.components.writer
            give_way = application.state.committer.give_way
            worker = asyncio.create_task(
                _indexer(writer, index_poll, give_way), name="search index"
            )
            try:
                yield state
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    app.router.lifespan_context = lifespan


async def _indexer(
    writer: Callable[[], Any], poll: float, give_way: Callable[[float], Awaitable[None]]
) -> None:
    """Add new messages to the search index; now and then drop the words of content whose
    retention ran out (shredding a whole data subject drops theirs at once). While webhooks
    arrive, ingest goes first (``give_way``)."""
    next_purge = 0.0
    loop = asyncio.get_running_loop()
    while True:
        added = 0
        started = loop.time()
        try:
            added = await asyncio.to_thread(index_pending, writer)
            if loop.time() >= next_purge:
                await asyncio.to_thread(forget_erased, writer)
                next_purge = loop.time() + PURGE_EVERY
        except Exception:
            logger.exception("search index pass failed")
        if not added:
            await asyncio.sleep(poll)
        else:
            await give_way(loop.time() - started)


__all__ = ["install"]
