"""Which format an export is in, decided from its own lines: platform, date separator, clock
and date order. The day/month order is the one thing the lines can leave open; it is decided
by a day above 12 where there is one, else by which order keeps the dates going forward, else
by what the separator usually means (``.`` day first, ``/`` with a 12-hour clock month first).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import islice, pairwise

from chatproof.domain.chat_export.errors import UnrecognisedExport
from chatproof.domain.chat_export.grammar import Grammar
from chatproof.domain.chat_export.model import DateOrder, Detection, ExportFormat, Platform
from chatproof.domain.chat_export.phrases import CLOCK_MARKER, SPACE

SAMPLE_LINES = 5000
"""Lines read to detect the format; enough for every day/month question a chat settles at all
in practice, small enough to be instant."""

_HEADER = re.compile(
    rf"^\u200e?(\[)?(\d{{1,4}})([./-])(\d{{1,2}})\3(\d{{1,4}}),?{SPACE}"
    rf"\d{{1,2}}:\d{{2}}(:\d{{2}})?({SPACE}?{CLOCK_MARKER})?(\]{SPACE}|{SPACE}-{SPACE})",
    re.MULTILINE,
)

_CERTAIN, _INFERRED, _ASSUMED = 1.0, 0.9, 0.6


def detect(
    lines: Iterable[str],
    *,
    date_order: DateOrder | None = None,
    clock: int | None = None,
    sample: int = SAMPLE_LINES,
) -> Detection:
    """Detect the format from the first ``sample`` lines; ``date_order`` and ``clock``
    override what the lines say.

    Raises:
        UnrecognisedExport: no line looks like the start of a message.
    """
    sampled = [line.rstrip("\r\n") for line in islice(lines, sample)]
    if sampled:
        sampled[0] = sampled[0].lstrip("\ufeff")
    text = "\n".join(sampled)
    found = _HEADER.findall(text)
    if not found:
        raise UnrecognisedExport([line for line in sampled if line.strip()][:5])
    columns = zip(*found, strict=True)
    brackets, firsts, separators, seconds, lasts, with_seconds, markers, tails = columns
    headers = len(found)
    bracketed = zip(brackets, tails, strict=True)
    ios = sum(1 for bracket, tail in bracketed if bracket and tail[0] == "]")
    platform = Platform.IOS if ios > headers - ios else Platform.ANDROID
    separator = Counter(separators).most_common(1)[0][0]
    detected_clock = 12 if (headers - markers.count("")) * 2 > headers else 24
    order, evidence, certainty = _date_order(
        Counter(zip(firsts, seconds, lasts, strict=True)), separator, detected_clock
    )
    if date_order is not None:
        order, evidence, certainty = date_order, "day/month order given", _CERTAIN
    fmt = ExportFormat(
        platform,
        order,
        separator,
        clock or detected_clock,
        (headers - with_seconds.count("")) * 2 > headers,
    )
    readable = _readable(Grammar(fmt), text)
    confidence = round(certainty * readable / headers, 2)
    return Detection(fmt, confidence, headers, readable, evidence)


def _readable(grammar: Grammar, text: str) -> int:
    """How many message lines of ``text`` the grammar reads: their date and time exist."""
    found = grammar.findall(text)
    if not found:
        return 0
    days, times, _ = zip(*found, strict=True)
    good_days = {day for day in set(days) if _exists(grammar.date_of, day)}
    good_times = {time for time in set(times) if _exists(grammar.time_of, time)}
    pairs = zip(days, times, strict=True)
    return sum(1 for day, time in pairs if day in good_days and time in good_times)


def _exists(read: Callable[[str], object], text: str) -> bool:
    try:
        read(text)
    except ValueError:
        return False
    return True


def _date_order(
    dates: Counter[tuple[str, str, str]], separator: str, clock: int
) -> tuple[DateOrder, str, float]:
    """(order, evidence in words, certainty), from how often each date's three fields were
    seen."""
    lines = dates.total()
    if sum(n for (a, _, _), n in dates.items() if len(a) == 4) * 2 > lines:
        return DateOrder.YMD, "year first", _CERTAIN
    day_first = sum(n for (a, _, _), n in dates.items() if int(a) > 12)
    month_first = sum(n for (_, b, _), n in dates.items() if int(b) > 12)
    if day_first and not month_first:
        return DateOrder.DMY, "a day above 12 in first place", _CERTAIN
    if month_first and not day_first:
        return DateOrder.MDY, "a day above 12 in second place", _CERTAIN
    if day_first or month_first:
        order = DateOrder.DMY if day_first >= month_first else DateOrder.MDY
        return order, "days above 12 in both places (contradictory)", _ASSUMED
    distinct = list(dates)
    backwards_dmy = _backward_steps(distinct, dmy=True)
    backwards_mdy = _backward_steps(distinct, dmy=False)
    if backwards_dmy != backwards_mdy:
        order = DateOrder.DMY if backwards_dmy < backwards_mdy else DateOrder.MDY
        return order, "dates run forward in this order", _INFERRED
    if separator == "/" and clock == 12:
        return DateOrder.MDY, "order assumed: month first with '/' and a 12-hour clock", _ASSUMED
    return DateOrder.DMY, "order assumed: day first", _ASSUMED


def _backward_steps(fields: list[tuple[str, str, str]], *, dmy: bool) -> int:
    dates = [(int(c), int(b), int(a)) if dmy else (int(c), int(a), int(b)) for a, b, c in fields]
    return sum(later < earlier for earlier, later in pairwise(dates))
