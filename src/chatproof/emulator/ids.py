"""Fresh identifiers in the platform's formats, from one seedable random source.

Seeding (``EmulatorSettings.random_seed``) makes a whole emulator run reproducible, which
helps when a benchmark or a failing test needs to be replayed.
"""

from __future__ import annotations

import random
import string

from chatproof.emulator.wamid import new_wamid

__all__ = ["IdFactory"]

_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"


class IdFactory:
    """Makes wamids, media ids, fbtrace ids and conversation ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._media_ids: set[str] = set()

    def wamid(self, wa_id: str, *, inbound: bool) -> str:
        """72 random bits per wamid make a collision negligible, so none are remembered."""
        return new_wamid(wa_id, self.rng, inbound=inbound)

    def media_id(self) -> str:
        """Media ids are 15–16 digit numbers, like ``1003383421387256``; never reused."""
        while True:
            candidate = str(self.rng.randrange(10**14, 10**16))
            if candidate not in self._media_ids:
                self._media_ids.add(candidate)
                return candidate

    def trace_id(self) -> str:
        return "A" + "".join(self.rng.choice(_TRACE_ALPHABET) for _ in range(22))

    def conversation_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"
