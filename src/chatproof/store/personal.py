"""The one way personal content enters and leaves the database (DESIGN invariant 4).

Every text, name, number, raw payload and file name is sealed here before it is written and
unsealed here after it is read. Today's sealer stores UTF-8 as is; the archive replaces it with
per-subject envelope encryption, and nothing else in chatproof has to change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

SYSTEM_SUBJECT = "system"
"""Subject of content that belongs to no single person yet, such as a whole webhook body."""


class Sealer(ABC):
    """Contract: ``unseal(s, seal(s, data))`` MUST return ``data`` exactly, and a sealer MUST
    NOT need anything but the subject id and its own keys to do so."""

    @abstractmethod
    def seal(self, subject_id: str, data: bytes) -> bytes: ...

    @abstractmethod
    def unseal(self, subject_id: str, sealed: bytes) -> bytes: ...


class PlaintextSealer(Sealer):
    def seal(self, subject_id: str, data: bytes) -> bytes:
        return data

    def unseal(self, subject_id: str, sealed: bytes) -> bytes:
        return sealed


class PersonalContent:
    """Text-aware front of a ``Sealer``: empty values are stored as NULL."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def seal_text(self, subject_id: str, text: str | None) -> bytes | None:
        return self.sealer.seal(subject_id, text.encode()) if text else None

    def unseal_text(self, subject_id: str, sealed: bytes | None) -> str:
        return self.sealer.unseal(subject_id, sealed).decode() if sealed else ""

    def seal_bytes(self, subject_id: str, data: bytes) -> bytes:
        return self.sealer.seal(subject_id, data)

    def unseal_bytes(self, subject_id: str, sealed: bytes) -> bytes:
        return self.sealer.unseal(subject_id, sealed)
