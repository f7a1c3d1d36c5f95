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

    def hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` in the namespace ``kind`` (``wamid``, ``wa_id``…)."""
        data = kind.encode() + b"\x00" + value.encode()
        return hmac.digest(self._key, data, hashlib.sha256).hex()
