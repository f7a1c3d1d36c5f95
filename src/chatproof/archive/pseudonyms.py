"""Keyed hashes of platform identifiers (DESIGN invariant 3).

A ``wamid`` is base64 of data containing the customer's number, and a ``wa_id`` is the number:
neither may be used in clear as a key or in a log. A keyed hash still lets chatproof find
the same message or customer again (deduplication, status updates) without revealing them.
"""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymizer(<key>)"

    def hasher(self, kind: str) -> KeyedHash:
        """``hash`` for one kind, as a callable that can be sent to another process."""
        return KeyedHash(self._key, kind.encode() + b"\x00")

    def hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` in the namespace ``kind`` (``wamid``, ``wa_id``…)."""
        return _keyed_hex(self._key, kind.encode() + b"\x00", value)


class KeyedHash:
    def __init__(self, key: bytes, prefix: bytes) -> None:
        self._key = key
        self._prefix = prefix

    def __repr__(self) -> str:
        return "KeyedHash(<key>)"

    def __call__(self, value: str) -> str:
        return _keyed_hex(self._key, self._prefix, value)


def _keyed_hex(key: bytes, namespace: bytes, value: str) -> str:
    return hmac.digest(key, namespace + value.encode(), hashlib.sha256).hex()
