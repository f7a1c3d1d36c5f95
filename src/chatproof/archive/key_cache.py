"""Unwrapped bucket keys kept in memory between transactions, so sealing does not unwrap the
same bucket key for every message (DESIGN invariant 4)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DEFAULT_CACHE_SIZE = 4096


class KeyCache:
    """Bounded LRU of unwrapped bucket keys, keyed by (bucket id, generation). One cache may
    serve the short-lived KeyStores of many transactions.

    An entry is served only for the exact wrapped bytes it was unwrapped from: a key created in
    a transaction that rolled back, while another process stored a different key for the same
    generation, must never be used to wrap data keys.
    """

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, int], tuple[bytes, AESGCM]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int], wrapped: bytes) -> AESGCM | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != wrapped:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple[str, int], wrapped: bytes, value: AESGCM) -> None:
        with self._lock:
            self._items[key] = (wrapped, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._items.pop(key, None)
