"""Errors of reading a chat export.

DomainError
└── UnrecognisedExport       no line of the file reads as a WhatsApp message line
"""

from __future__ import annotations

from collections.abc import Sequence

from chatproof.domain.errors import DomainError


class UnrecognisedExport(DomainError):
    def __init__(self, first_lines: Sequence[str], source: str = "") -> None:
        self.first_lines = list(first_lines)
        self.source = source
        shown = "\n".join(f"  {line[:120]}" for line in self.first_lines) or "  (the file is empty)"
        super().__init__(
            (f"{source}: " if source else "")
            + "not a WhatsApp chat export: no line starts like a message "
            f"('DATE, TIME - NAME: TEXT' or '[DATE, TIME] NAME: TEXT'). First lines:\n{shown}"
        )
