"""Who may post webhooks: Meta signs each body with the app secret (``X-Hub-Signature-256``);
a 360dialog-style provider instead sends a secret header configured with the webhook.

Both checks compare in constant time and run on the raw body before it is parsed, since
re-serialised JSON would not match the signature (reference §1.2).
"""

from __future__ import annotations

import hashlib
import hmac

from chatproof.channels.errors import SignatureError

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value the platform would send for ``body``."""
    return _PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> None:
    """Raises:
    SignatureError: the header is missing, malformed or does not match the body.
    """
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not header.startswith(_PREFIX):
        raise SignatureError(f"{SIGNATURE_HEADER} must start with {_PREFIX!r}")
    if not hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


def verify_secret_header(value: str | None, expected: str, name: str) -> None:
    """Raises:
    SignatureError: the provider's secret header is missing or wrong.
    """
    if not value:
        raise SignatureError(f"missing {name} header")
    if not hmac.compare_digest(value.encode(), expected.encode()):
        raise SignatureError(f"{name} header does not match")
