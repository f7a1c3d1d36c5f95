"""Work that follows what ingest committed: media downloads, signed tree heads, the search
index, reactions to what came in (opt-outs, notices, automations) and the outbox.

It runs beside the webhook receiver in the same event loop (``inline``), or in a process of its
own (``chatproof worker``), which ``chatproof serve`` starts by default: in one process, this
work and ingest share one interpreter lock, and acknowledging webhooks slowed to half
(docs/performance.md). Every task here is restart-safe: each follows durable state in the
database, so a worker that dies and is started again carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from chatproof.archive.keyfiles import load_signing_key
from chatproof.archive.witness import NO_WITNESS_WARNING
from chatproof.bootstrap import Components
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.services.archive import HeadPolicy, head_due, publish_head, sign_head
from chatproof.services.inbox import forget_erased, index_pending
from chatproof.services.media import Download, MediaPolicy, fetch_due_media
from chatproof.web import sending_setup

logger = logging.getLogger(__name__)

MEDIA_POLL = 1.0
INDEX_POLL = 1.0
PURGE_EVERY = 300.0
RESTART_DELAY = 1.0

GiveWay = Callable[[float], Awaitable[None]]


async def _go_on(_took: float) -> None:
    """Where nothing else runs in the process, nothing needs to go first."""


async def rest(took: float) -> None:
    """In a worker process, which cannot see whether webhooks are arriving: rest after each
    pass twice as long as it took, so the database's single write lock is mostly free for the
    server's group commits (a pass of a hundred rows takes milliseconds)."""
    await asyncio.sleep(2 * took)


def start(
    components: Components,
    client: CloudApiClient,
    *,
    sending: sending_setup.SendingSetup | None = None,
    give_way: GiveWay = _go_on,
    media_poll: float = MEDIA_POLL,
    index_poll: float = INDEX_POLL,
) -> list[asyncio.Task[None]]:
    """Every background task, started on the running loop. ``sending`` is the server's own
    when it runs them in-process, so templates it syncs are the ones the outbox sends."""
    settings = components.settings
    media_policy = MediaPolicy(
        max_attempts=settings.media.max_attempts,
        retry_base=timedelta(seconds=settings.media.retry_base_seconds),
    )
    download = partial(_download, client)
    sending = sending or sending_setup.sending_setup(settings)
    return [
        asyncio.create_task(
            _media_worker(components, download, media_policy, media_poll), name="media"
        ),
        asyncio.create_task(_head_signer(components), name="tree heads"),
        asyncio.create_task(_indexer(components.writer, index_poll, give_way), name="search index"),
        *sending_setup.background_tasks(
            sending, components.writer, components.reader, client, give_way, components.blobs
        ),
    ]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def supervise(data_dir: str) -> None:
    """Keep a ``chatproof worker`` process running for ``data_dir`` until cancelled; one
    that exits is started again."""
    while True:
        process = await asyncio.to_thread(_spawn, data_dir)
        try:
            code = await asyncio.to_thread(process.wait)
        except asyncio.CancelledError:
            await asyncio.to_thread(_terminate, process)
            raise
        logger.warning("background worker exited with %s; starting it again", code)
        await asyncio.sleep(RESTART_DELAY)


def _spawn(data_dir: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "chatproof", "worker", "--data-dir", data_dir]
    command += ["--parent", str(os.getpid())]
    return subprocess.Popen(command, env=os.environ.copy())


def _terminate(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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


async def _indexer(writer: Callable[[], object], poll: float, give_way: GiveWay) -> None:
    """Add new messages to the search index; now and then drop the words of content whose
    retention ran out (shredding a whole data subject drops theirs at once). While webhooks
    arrive, ingest goes first (``give_way``)."""
    next_purge = 0.0
    loop = asyncio.get_running_loop()
    while True:
        added = 0
        started = loop.time()
        try:
            added = await asyncio.to_thread(index_pending, writer)  # type: ignore[arg-type]
            if loop.time() >= next_purge:
                await asyncio.to_thread(forget_erased, writer)  # type: ignore[arg-type]
                next_purge = loop.time() + PURGE_EVERY
        except Exception:
            logger.exception("search index pass failed")
        if not added:
            await asyncio.sleep(poll)
        else:
            await give_way(loop.time() - started)
