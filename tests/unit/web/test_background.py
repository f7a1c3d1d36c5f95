"""Background work in a worker process leaves the database's write lock mostly free: after
each pass it rests twice as long as the pass took."""

from __future__ import annotations

import asyncio

from chatproof.web.background import rest


async def test_a_worker_rests_twice_as_long_as_its_pass_took() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await rest(0.05)
    assert 0.1 <= loop.time() - started < 0.5
