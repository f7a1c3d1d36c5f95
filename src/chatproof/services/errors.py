"""Errors of the use cases.

ServiceError
├── LegalHoldActive          shredding refused while a legal hold is in place
├── ReclassificationRefused  a reclassification names an unknown class or gives no reason;
│                            names the field
└── DeepVerificationFailed   stored records disagree with their log entries; names each
"""

from __future__ import annotations

from collections.abc import Sequence

from chatproof.domain.errors import ChatproofError


class ServiceError(ChatproofError):
    """Base of errors raised by chatproof.services."""


class LegalHoldActive(ServiceError):
    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        super().__init__(
            f"data subject {subject_id} is under a legal hold; lift it before shredding"
        )


class ReclassificationRefused(ServiceError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class DeepVerificationFailed(ServiceError):
    SHOWN = 20

    def __init__(self, disagreements: Sequence[object]) -> None:
        self.disagreements = list(disagreements)
        lines = [f"  {d}" for d in self.disagreements[: self.SHOWN]]
        if len(self.disagreements) > self.SHOWN:
            lines.append(f"  … and {len(self.disagreements) - self.SHOWN} more")
        count = len(self.disagreements)
        super().__init__(
            f"deep check: {count} disagreement{'s' * (count != 1)} with the log\n"
            + "\n".join(lines)
        )
