"""The line grammar of one export format, compiled once: a single regular expression finds a
message's start and splits off date, time and the rest; dates and times are converted by hand,
and its readers remember them per distinct string, because a chat has few distinct days and
minutes and ``strptime`` per line would cost more than everything else together."""

from __future__ import annotations

import re
from datetime import date

from chatproof.domain.chat_export.model import DateOrder, ExportFormat, Platform
from chatproof.domain.chat_export.phrases import CLOCK_MARKER, SPACE, SPACE_CHARACTERS, is_afternoon

LOOSE_START = re.compile(
    rf"\u200e?\[?\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}},?{SPACE}\d{{1,2}}[:.]\d{{2}}"
)
"""Anything that starts like a message line in some format; used to tell an unreadable
message line from a continuation line of a multi-line message."""


class Grammar:
    """Finds the starts of message lines in one ``ExportFormat``.

    ``findall(text)`` gives per message line its groups (date, time with its clock marker,
    rest of the line); ``split(text)`` cuts the text there, keeping the groups; ``date_of``
    and ``time_of`` read those two groups or raise ValueError naming what is wrong.
    """

    def __init__(self, fmt: ExportFormat) -> None:
        self.format = fmt
        sep = re.escape(fmt.date_separator)
        first = r"\d{4}" if fmt.date_order is DateOrder.YMD else r"\d{1,2}"
        last = r"\d{1,2}" if fmt.date_order is DateOrder.YMD else r"(?:\d{4}|\d{2})"
        day = rf"({first}{sep}\d{{1,2}}{sep}{last})"
        marker = rf"{SPACE}?{CLOCK_MARKER}" if fmt.clock == 12 else ""
        moment = rf"{day},?{SPACE}(\d{{1,2}}:\d{{2}}(?::\d{{2}})?{marker})"
        if fmt.platform is Platform.IOS:
            header = rf"^\u200e?\[{moment}\]{SPACE}([^\n]*)"
        else:
            header = rf"^\u200e?{moment}{SPACE}-{SPACE}([^\n]*)"
        compiled = re.compile(header, re.MULTILINE)
        self.findall = compiled.findall
        self.match = compiled.match
        self.split = compiled.split
        self._order = _FIELD_ORDER[fmt.date_order]
        self._separator = fmt.date_separator

    def date_of(self, text: str) -> tuple[int, int, int]:
        fields = text.split(self._separator)
        y, m, d = (int(fields[i]) for i in self._order)
        if y < 100:
            y += 2000
        try:
            date(y, m, d)
        except ValueError:
            raise ValueError(f"no such date {text!r} in {self.format.date_order} order") from None
        return y, m, d

    def time_of(self, text: str) -> tuple[int, int, int]:
        """``text`` as the grammar found it: ``14:05``, ``2:05:09 PM``, ``2:05\u202fnachm.``"""
        clock = _CLOCK.match(text)
        if clock is None:
            raise ValueError(f"no such time {text}")
        marker = text[clock.end() :].lstrip(SPACE_CHARACTERS)
        parts = [int(p) for p in clock.group().split(":")]
        h, mi = parts[0], parts[1]
        s = parts[2] if len(parts) == 3 else 0
        if marker:
            if not 1 <= h <= 12:
                raise ValueError(f"no such time {text} on a 12-hour clock")
            h = h % 12 + (12 if is_afternoon(marker) else 0)
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(f"no such time {text}")
        return h, mi, s


_CLOCK = re.compile(r"\d+(?::\d+)*")

_FIELD_ORDER = {
    DateOrder.DMY: (2, 1, 0),
    DateOrder.MDY: (2, 0, 1),
    DateOrder.YMD: (0, 1, 2),
}
"""Indexes of (year, month, day) among the date's fields."""
