"""``chatproof worker``: the background work of a data directory in a process of its own.
``chatproof serve`` starts one (``server.background = "process"``, the default) and starts it
again if it exits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Annotated

import typer

from chatproof.bootstrap import Components
from chatproof.commands.common import DataDir, components_for, fails_cleanly

PARENT_POLL = 0.5


@fails_cleanly
def worker(
    data_dir: DataDir = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    parent: Annotated[
        int | None, typer.Option(help="Stop when this process is gone.", hidden=True)
    ] = None,
) -> None:
    """Download media, sign tree heads, keep the search index current, react to what came in
    and send the outbox, until stopped (SIGTERM or Ctrl-C).

    Example: chatproof worker --data-dir ./chatproof-data
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with components_for(data_dir) as components:
        asyncio.run(_run(components, parent))


async def _run(components: Components, parent: int | None) -> None:
    import httpx

    from chatproof.channels.whatsapp.client import CloudApiClient
    from chatproof.channels.whatsapp.connection import Connection
    from chatproof.web import background

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with httpx.AsyncClient(timeout=30.0) as http:
        client = CloudApiClient(Connection.from_config(components.settings.whatsapp), http=http)
        tasks = background.start(components, client, give_way=background.rest)
        if parent is not None:
            tasks.append(asyncio.create_task(_outlive_not(parent, stopping)))
        await stopping.wait()
        await background.stop(tasks)


async def _outlive_not(parent: int, stopping: asyncio.Event) -> None:
    """A server killed outright (kill -9) cannot stop its worker: the worker stops itself."""
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_POLL)
    logging.getLogger(__name__).warning("the server (pid %d) is gone; stopping", parent)
    stopping.set()
