"""What an exported chat is made of: its line format, the messages read from it, the lines
that could not be read, and how sure the format detection is.

Export times carry no time zone; ``ChatMessage.at`` is the naive local time as written, and
only the importing service decides which zone it was written in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Platform(StrEnum):
    ANDROID = "android"
    """``DATE, TIME - NAME: TEXT``"""
    IOS = "ios"
    """``[DATE, TIME] NAME: TEXT``"""


class DateOrder(StrEnum):
    DMY = "dmy"
    MDY = "mdy"
    YMD = "ymd"


class Kind(StrEnum):
    MESSAGE = "message"
    SYSTEM = "system"
    DELETED = "deleted"
    MEDIA_OMITTED = "media_omitted"
    ATTACHMENT = "attachment"


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """The parts of a line format that change how it is read. Year length, leading zeros
    and seconds are read whichever way each line has them; ``seconds`` only says what was
    seen, for the report and for writing samples."""

    platform: Platform
    date_order: DateOrder
    date_separator: str
    clock: int
    seconds: bool = False

    def with_overrides(
        self, date_order: DateOrder | None = None, clock: int | None = None
    ) -> ExportFormat:
        return replace(
            self,
            date_order=date_order or self.date_order,
            clock=clock or self.clock,
        )

    def describe(self) -> str:
        """``android DD.MM.YY 24h`` — short, stable, recorded with every import."""
        year = "YYYY" if self.date_order is DateOrder.YMD else "YY"  # YY: two or four digits
        parts = {"d": "DD", "m": "MM", "y": year}
        date = self.date_separator.join(parts[c] for c in self.date_order.value)
        clock = f"{self.clock}h" + ("+s" if self.seconds else "")
        return f"{self.platform.value} {date} {clock}"


class ChatMessage(NamedTuple):
    """One message as the export shows it. ``text`` is what was written (for an attachment
    its caption); media markers and deletion notices leave it empty; ``author`` is empty for
    system lines that name none.

    A named tuple rather than a frozen dataclass: just as immutable, and a chat has hundreds of
    thousands of them (a frozen dataclass costs four times as much to build)."""

    at: datetime
    author: str
    text: str
    kind: Kind = Kind.MESSAGE
    attachment: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that looks like the start of a message but cannot be read as one."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Detection:
    """The detected format and the evidence for it. ``confidence`` runs from 0 to 1: the
    share of message lines the format reads, lowered when the day/month order had to be
    inferred from date monotonicity or assumed."""

    format: ExportFormat
    confidence: float
    headers: int
    readable: int
    order_evidence: str

    def describe(self) -> str:
        return (
            f"{self.format.describe()} (confidence {self.confidence:.2f}; "
            f"{self.readable}/{self.headers} sampled message lines read; {self.order_evidence})"
        )
