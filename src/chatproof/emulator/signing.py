"""The ``X-Hub-Signature-256`` header Meta puts on every webhook.

HMAC-SHA256 of the exact body bytes, keyed with the app secret, hex-encoded and prefixed
with ``sha256=`` (reference §1.2). Receivers must check it before parsing.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "signature_header"]

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature_header(body: bytes, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
