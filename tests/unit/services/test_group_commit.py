"""Group commit: concurrent submitters share writes, and each learns its own outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from chatproof.services.group_commit import GroupCommitter


class RecordingWriter:
    def __init__(self, fail_on: set[str] | None = None, delay: float = 0.01) -> None:
        self.groups: list[list[str]] = []
        self.committed: list[str] = []
        self.fail_on = fail_on or set()
        self.delay = delay
        self.threads: set[str] = set()

    def __call__(self, items: Sequence[str]) -> None:
        self.threads.add(threading.current_thread().name)
        threading.Event().wait(self.delay)
        self.groups.append(list(items))
        if self.fail_on & set(items):
            raise RuntimeError(f"refused {sorted(self.fail_on & set(items))}")
        self.committed.extend(items)


async def test_concurrent_items_are_written_in_few_groups() -> None:
    writer = RecordingWriter()
    committer: GroupCommitter[str] = GroupCommitter(writer)
    committer.start()
    await asyncio.gather(*(committer.submit(f"m{i}") for i in range(100)))
    await committer.stop()
    assert sorted(writer.committed) == sorted(f"m{i}" for i in range(100))
    assert len(writer.groups) < 20
    assert writer.threads == {"group-commit_0"}


async def test_submit_returns_only_after_the_write_that_holds_the_item() -> None:
    writer = RecordingWriter(delay=0.05)
    committer: GroupCommitter[str] = GroupCommitter(writer)
    committer.start()
    await committer.submit("a")
    assert "a" in writer.committed
    await committer.stop()


async def test_one_bad_item_fails_alone() -> None:
    writer = RecordingWriter(fail_on={"bad"})
    committer: GroupCommitter[str] = GroupCommitter(writer)
    committer.start()
    results = await asyncio.gather(
        *(committer.submit(x) for x in ("a", "bad", "b", "c")), return_exceptions=True
    )
    await committer.stop()
    assert [type(r).__name__ for r in results] == [
        "NoneType",
        "RuntimeError",
        "NoneType",
        "NoneType",
    ]
    assert sorted(writer.committed) == ["a", "b", "c"]


async def test_a_fallback_can_keep_what_the_main_write_refused() -> None:
    kept: list[tuple[str, str]] = []
    writer = RecordingWriter(fail_on={"bad"})
    committer: GroupCommitter[str] = GroupCommitter(
        writer, lambda item, exc: kept.append((item, str(exc)))
    )
    committer.start()
    await asyncio.gather(*(committer.submit(x) for x in ("a", "bad")))
    await committer.stop()
    assert kept == [("bad", "refused ['bad']")]


async def test_groups_are_capped() -> None:
    writer = RecordingWriter()
    committer: GroupCommitter[str] = GroupCommitter(writer, max_group=7)
    committer.start()
    await asyncio.gather(*(committer.submit(str(i)) for i in range(50)))
    await committer.stop()
    assert max(len(g) for g in writer.groups) <= 7


async def test_submitting_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        await GroupCommitter(RecordingWriter()).submit("x")


async def test_derived_work_gives_way_only_while_requests_arrive() -> None:
    committer: GroupCommitter[str] = GroupCommitter(RecordingWriter(delay=0))
    committer.start()
    loop = asyncio.get_running_loop()

    started = loop.time()
    await committer.give_way(0.2)
    assert loop.time() - started < 0.1  # nothing arrived yet: no pause

    await committer.submit("m")
    started = loop.time()
    await committer.give_way(0.2)
    assert loop.time() - started >= 0.2  # a request just arrived: rest as long as the pass took

    await asyncio.sleep(0.15)
    started = loop.time()
    await committer.give_way(0.2)
    assert loop.time() - started < 0.1  # quiet again
    await committer.stop()
