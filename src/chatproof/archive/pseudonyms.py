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
        self._hashers: dict[str, KeyedHash] = {}

    def __repr__(self) -> str:
        return "Pseudonymizer(<key>)"

    def hasher(self, kind: str) -> KeyedHash:
        """``hash`` for one kind, as a callable that can be sent to another process."""
        return KeyedHash(self._key, kind.encode() + b"\x00")

    def hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` in the namespace ``kind`` (``wamid``, ``wa_id``…)."""
        hasher = self._hashers.get(kind)
        if hasher is None:
            hasher = self._hashers[kind] = self.hasher(kind)
        return hasher(value)


class KeyedHash:
    """Each value is hashed by a copy of one HMAC that has taken the key and the namespace
    already: a third faster than keying a new one per value, as an import hashes every
    message. Pickled, it is the key and namespace."""

    def __init__(self, key: bytes, prefix: bytes) -> None:
        self._key = key
        self._prefix = prefix
        self._keyed = hmac.new(key, prefix, hashlib.sha256)

    def __repr__(self) -> str:
        return "KeyedHash(<key>)"

    def __reduce__(self) -> tuple[type[KeyedHash], tuple[bytes, bytes]]:
        return KeyedHash, (self._key, self._prefix)

    def __call__(self, value: str) -> str:
        keyed = self._keyed.copy()
        keyed.update(value.encode())
        return keyed.hexdigest()
