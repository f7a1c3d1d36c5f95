"""Group commit: concurrent webhook requests share one database transaction.

Each request waits for the commit that contains its events, so acknowledging stays durable
(DESIGN invariant 1), while one fsync serves every request that arrived during the previous
commit. The writes run on one dedicated thread: SQLite has a single writer anyway, and the
event loop keeps accepting requests meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_MAX_GROUP = 512
BUSY_WINDOW = 0.1
"""Seconds after a request during which ingest counts as busy for ``give_way``."""


class GroupCommitter(Generic[T]):
    """``write(items)`` MUST commit all items or none; when it raises, ``write_one`` is
    tried for each item alone, so that one bad item cannot fail its neighbours."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], object],
        write_one: Callable[[T, Exception], None] | None = None,
        *,
        max_group: int = DEFAULT_MAX_GROUP,
    ) -> None:
        self._write = write
        self._write_one = write_one
        self._max_group = max_group
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[None]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self._task: asyncio.Task[None] | None = None
        self.groups = 0
        self.items = 0
        self._last_submit = float("-inf")

    async def submit(self, item: T) -> None:
        """Return once ``item`` is committed; raise if it could not be."""
        if self._task is None:
            raise RuntimeError("GroupCommitter.start() was not called")
        loop = asyncio.get_running_loop()
        self._last_submit = loop.time()
        future: asyncio.Future[None] = loop.create_future()
        await self._queue.put((item, future))
        await future

    async def give_way(self, took: float) -> None:
        """Derived work (the search index, reactions) rests as long as its last pass took while
        webhooks are arriving: acknowledging them comes first, and each pass holds the write
        lock and the interpreter that ingest needs. Between bursts it runs at full speed."""
        if asyncio.get_running_loop().time() - self._last_submit < BUSY_WINDOW:
            await asyncio.sleep(took)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Finish what was submitted, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            items = [item for item, _ in group]
            try:
                await loop.run_in_executor(self._executor, self._write, items)
            except Exception:
                logger.exception("group of %d failed; retrying one by one", len(items))
                await self._write_singly(group)
            else:
                for _, future in group:
                    if not future.done():
                        future.set_result(None)
            finally:
                self.groups += 1
                self.items += len(group)
                for _ in group:
                    self._queue.task_done()

    async def _write_singly(self, group: list[tuple[T, asyncio.Future[None]]]) -> None:
        loop = asyncio.get_running_loop()
        for item, future in group:
            try:
                await loop.run_in_executor(self._executor, self._write, [item])
            except Exception as exc:
                if self._write_one is None:
                    _fail(future, exc)
                    continue
                try:
                    await loop.run_in_executor(self._executor, self._write_one, item, exc)
                except Exception as final:
                    _fail(future, final)
                    continue
            if not future.done():
                future.set_result(None)


def _fail(future: asyncio.Future[None], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
