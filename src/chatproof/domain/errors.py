"""The root of every error chatproof raises on purpose.

    ChatproofError
    ├── DomainError              chatproof.domain: a rule or value was violated
    ├── ArchiveError             chatproof.archive: keys, blobs, the log
    ├── StoreError               chatproof.store: the database
    ├── ChannelError             chatproof.channels: WhatsApp payloads and the Cloud API
    └── ConfigError              chatproof.config: settings and the data directory

Decisions that must be archived are return values, never exceptions (DESIGN invariant 5);
these are for bad input and broken state (invariant 6).
"""

from __future__ import annotations


class ChatproofError(Exception):
    """Base of all chatproof errors; the message is safe to show to a person."""


class DomainError(ChatproofError):
    """A value or rule of the domain was violated."""
