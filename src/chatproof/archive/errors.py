"""Errors of the archive: keys, pseudonyms, blobs and (later) the log.

ArchiveError
└── BlobIntegrityError       stored media bytes do not match their content hash
"""

from __future__ import annotations

from chatproof.domain.errors import ChatproofError


class ArchiveError(ChatproofError):
    """Base of errors raised by chatproof.archive."""


class BlobIntegrityError(ArchiveError):
    """Media bytes do not hash to the SHA-256 they were announced or stored under."""

    def __init__(self, expected: str, computed: str) -> None:
        self.expected = expected
        self.computed = computed
        super().__init__(f"content hash mismatch: expected {expected}, computed {computed}")
