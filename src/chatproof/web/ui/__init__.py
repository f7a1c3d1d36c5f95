"""The inbox in the browser: server-rendered pages and a little JavaScript, no build step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chatproof.services.inbox import index_pending
from chatproof.web.ui import admin, dpo, home, inbox, login, statistics
from chatproof.web.ui.pages import HERE

logger = logging.getLogger(__name__)

INDEX_POLL = 1.0


def install(app: FastAPI, *, index_poll: float = INDEX_POLL) -> None:
    """Add the pages, their static files, and the worker keeping the search index current."""
    for module in (login, home, inbox, statistics, dpo, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    running = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with running(application) as state:
            writer = application.state.components.writer
            worker = asyncio.create_task(_indexer(writer, index_poll), name="search index")
            try:
                yield state
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    app.router.lifespan_context = lifespan


async def _indexer(writer: Callable[[], Any], poll: float) -> None:
    while True:
        try:
            added = await asyncio.to_thread(index_pending, writer)
        except Exception:
            logger.exception("search index pass failed")
            added = 0
        if not added:
            await asyncio.sleep(poll)


__all__ = ["install"]
