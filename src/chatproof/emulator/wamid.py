"""WhatsApp message ids that look and decode like the platform's own.

A real wamid is ``"wamid." + base64`` of a small binary record that embeds the customer's
number, a direction flag and a random id, e.g. ``HBgLMTY1MDM4Nzk0MzkVAgARGBJ...``. Clients
(and chatproof's archive, DESIGN invariant 3) must treat wamids as personal data because of
that; emulating the structure keeps such handling honest.
"""

from __future__ import annotations

import base64
import binascii
import random

__all__ = ["decode_wamid", "encode_wamid", "new_wamid"]

_PREFIX = "wamid."
_HEAD = b"\x1c\x18"
_MIDDLE = b"\x15\x02\x00"
_OUTBOUND = 0x11
_INBOUND = 0x12
_HEX = "0123456789ABCDEF"


def encode_wamid(wa_id: str, local_id: str, *, inbound: bool) -> str:
    """Pack a number and a local id the way the platform does.

    Raises:
        ValueError: if either part is longer than one length byte can describe.
    """
    number = wa_id.encode("ascii")
    local = local_id.encode("ascii")
    if len(number) > 0x7F or len(local) > 0x7F:
        raise ValueError("wamid parts are limited to 127 bytes")
    record = (
        _HEAD
        + bytes([len(number)])
        + number
        + _MIDDLE
        + bytes([_INBOUND if inbound else _OUTBOUND, 0x18, len(local)])
        + local
        + b"\x00"
    )
    return _PREFIX + base64.b64encode(record).decode("ascii")


def new_wamid(wa_id: str, rng: random.Random, *, inbound: bool) -> str:
    """A fresh wamid: 18 hex digits for business messages, 20 (``3A…``) for customers'."""
    if inbound:
        local = "3A" + "".join(rng.choice(_HEX) for _ in range(18))
    else:
        local = "".join(rng.choice(_HEX) for _ in range(18))
    return encode_wamid(wa_id, local, inbound=inbound)


def decode_wamid(wamid: str) -> tuple[str, str, bool] | None:
    """Return ``(wa_id, local_id, inbound)``, or None for ids of another shape."""
    if not wamid.startswith(_PREFIX):
        return None
    try:
        raw = base64.b64decode(wamid[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        if raw[:2] != _HEAD:
            return None
        n = raw[2]
        number = raw[3 : 3 + n]
        rest = raw[3 + n :]
        if rest[:3] != _MIDDLE or rest[4] != 0x18:
            return None
        direction = rest[3]
        m = rest[5]
        local = rest[6 : 6 + m]
        if len(local) != m or direction not in (_INBOUND, _OUTBOUND):
            return None
        return number.decode("ascii"), local.decode("ascii"), direction == _INBOUND
    except (IndexError, UnicodeDecodeError):
        return None
