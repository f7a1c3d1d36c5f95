"""Errors of the channel adapters (WhatsApp payloads and the Cloud API).

ChannelError
├── SignatureError           a webhook whose signature is missing or wrong (→ 401)
├── PayloadError             a signed webhook body chatproof cannot understand (→ quarantine)
└── CloudApiError            the Cloud API (or a provider) answered with an error
    (subclasses by platform error code live in chatproof.channels.whatsapp.errors)
"""

from __future__ import annotations

from chatproof.domain.errors import ChatproofError


class ChannelError(ChatproofError):
    """Base of errors raised by chatproof.channels."""


class SignatureError(ChannelError):
    """The webhook's signature header is missing or does not match the body."""


class PayloadError(ChannelError):
    """A webhook body is not JSON or not of a shape chatproof understands.

    ``path`` names the offending field the way a person would look it up,
    e.g. ``entry[0].changes[1].value.messages[0].id``.
    """

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)
