"""Errors the emulator raises on purpose.

    ChatproofError
    └── EmulatorError            chatproof.emulator: settings or a control request
        ├── GraphError           a request the simulated Cloud API refuses (Graph error body)
        └── ControlError         a bad request to the /_emulator control API

A ``GraphError`` is not a failure of the emulator: it is the answer a real client must be
able to handle, so it carries everything needed to render Meta's error body.
"""

from __future__ import annotations

from chatproof.domain.errors import ChatproofError

__all__ = ["ControlError", "EmulatorError", "GraphError"]


class EmulatorError(ChatproofError):
    """Base of the emulator's errors."""


class GraphError(EmulatorError):
    """A Cloud API error answer: Graph ``code``, HTTP status and ``error_data.details``.

    ``details`` is None for plain Graph errors (auth, unknown object), which Meta sends
    without ``error_data``.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        http_status: int = 400,
        error_type: str = "OAuthException",
        details: str | None = None,
        subcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.error_type = error_type
        self.details = details
        self.subcode = subcode


class ControlError(EmulatorError):
    """A control request the emulator cannot carry out; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
