"""Errors of the storage layer.

StoreError
├── NotFound                 a requested row does not exist
└── BackupError              a backup or restore step failed; names the file or step
"""

from __future__ import annotations

from chatproof.domain.errors import ChatproofError


class StoreError(ChatproofError):
    """Base of errors raised by chatproof.store."""


class NotFound(StoreError):
    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key} not found")


class BackupError(StoreError):
    """A backup or restore could not be made safely; ``what`` names the file or step."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")
