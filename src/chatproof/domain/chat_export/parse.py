"""Reading an export: a message starts where the format's grammar finds a message line and
runs until the next one; the lines in between continue it.

The text is taken in blocks of many lines, and the grammar's one compiled expression finds
every message start in a block at once, so Python does work per message, not per line or
character. Only the message that runs past a block's end is carried over, so memory does not
grow with the file.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from itertools import chain

from chatproof.domain.chat_export.grammar import LOOSE_START, Grammar
from chatproof.domain.chat_export.model import BadLine, ChatMessage, ExportFormat, Kind, Platform
from chatproof.domain.chat_export.phrases import (
    ANDROID_ATTACHMENT,
    DIRECTION_MARKS,
    IOS_ATTACHMENT,
    LRM,
    NOTICES,
    SYSTEM_NOTICE,
)

BLOCK = 1 << 16
"""Characters gathered before message starts are searched for."""

MAX_AUTHORS = 10_000
"""Distinct authors remembered; a chat has a handful, a big group a few hundred."""

_MAY_START_LINE = re.compile("\n[0-9[\u200e]")
"""A line whose first character may start a message in some format (see LOOSE_START)."""

_SPECIAL_ENDS = ">) "
"""How an attachment line, or a notice with trailing space, ends."""

BLANK = DIRECTION_MARKS + " \t\ufeff"

_SYSTEM, _MESSAGE, _ATTACHMENT = Kind.SYSTEM, Kind.MESSAGE, Kind.ATTACHMENT


def parse(pieces: Iterable[str], fmt: ExportFormat) -> Iterator[ChatMessage | BadLine]:
    """Messages in file order, and a ``BadLine`` for each line that starts like a message
    but cannot be read as one (and for the lines that continue it).

    ``pieces`` concatenated are the file's text: lines, or blocks of any size. Line endings
    may be ``\\n`` or ``\\r\\n``; line numbers start at 1.
    """
    return chain.from_iterable(parse_batches(pieces, fmt))


def parse_batches(
    pieces: Iterable[str], fmt: ExportFormat
) -> Iterator[list[ChatMessage | BadLine]]:
    """``parse``, a block of text at a time: for callers that work in batches anyway, and
    cheaper than handing out every message on its own."""
    reader = _Reader(fmt)
    parts: list[str] = []
    size = 0
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size < BLOCK:
            continue
        text = "".join(parts)
        # Larger pieces are read a block at a time too: a block's messages and strings stay
        # in the CPU's caches while they are made (a sixth faster than megabyte blocks).
        start, carry = 0, ""
        while len(text) - start >= BLOCK:
            cut = text.rfind("\n", start, start + BLOCK) + 1 or text.find("\n", start + BLOCK) + 1
            if not cut:
                break
            yield reader.feed(carry + text[start:cut], final=False)
            start, carry = cut, reader.carry
        rest = carry + text[start:]
        parts, size = [rest], len(rest)
    yield reader.feed("".join(parts), final=True)


class _Reader:
    def __init__(self, fmt: ExportFormat) -> None:
        self.fmt = fmt
        self.grammar = Grammar(fmt)
        self.ios = fmt.platform is Platform.IOS
        self.unreadable = f"not a message line in the {fmt.describe()} format"
        self.line = 1
        """Line number of the next text fed."""
        self.carry = ""
        """The message that ran past the end of the last block, from its first line."""
        self.days: dict[str, datetime] = {}
        self.times: dict[str, timedelta] = {}
        self.authors: dict[str, str] = {}
        """Author part of a line → author, for parts known not to be a system notice."""

    def feed(self, text: str, *, final: bool) -> list[ChatMessage | BadLine]:
        """Everything that ends inside ``text`` (all of it when ``final``); keeps the rest in
        ``carry``."""
        # A block's messages are tens of thousands of new tuples and nothing cyclic: with the
        # cycle collector on, it would walk the whole heap again and again while they are
        # built (a third of the time). It is paused for the block, and only if it was on.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._feed(text, final=final)
        finally:
            if paused:
                gc.enable()

    def _feed(self, text: str, *, final: bool) -> list[ChatMessage | BadLine]:
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        self.carry = ""
        if not final:
            # The last message may go on in the next block: it is read with that block.
            cut = self._last_start(text)
            if cut is not None:
                text, self.carry = text[:cut], text[cut:]
        # Splitting at message lines hands out, in one call, what comes before the first one
        # and then, per message, (date, time with its clock marker, rest of the line, the text
        # up to the next message line: its newline and any continuation lines).
        parts = self.grammar.split(text)
        out: list[ChatMessage | BadLine] = []
        emit = out.append
        line = self.line
        lead = parts[0]
        if lead:
            out.extend(self._lines(lead, line, "comes before any message"))
            line += lead.count("\n")
        grammar = self.grammar
        days, times, authors = self.days, self.times, self.authors
        ios = self.ios
        new = tuple.__new__
        lines: list[str] = []
        fields = iter(parts)
        next(fields)
        for day, time, rest, after in zip(fields, fields, fields, fields, strict=True):
            # Dates and times are converted once per distinct string (a chat has few days).
            midnight = days.get(day)
            clock = times.get(time)
            if midnight is None or clock is None:
                try:
                    midnight = days[day] = datetime(*grammar.date_of(day))
                    h, m, sec = grammar.time_of(time)
                    clock = times[time] = timedelta(hours=h, minutes=m, seconds=sec)
                except ValueError as exc:
                    lines = lines or text.split("\n")
                    emit(BadLine(line, lines[line - self.line], str(exc)))
                    continued = "continues an unreadable message"
                    out.extend(self._lines(after[1:], line + 1, continued))
                    line += after.count("\n")
                    continue
            at = midnight + clock
            # The common cases, inline: a message by a known author, of one line or of more
            # lines none of which could start a message.
            part, separator, first = rest.partition(": ")
            author = authors.get(part) if separator else None
            if after != "\n" and after:
                if _MAY_START_LINE.search(after):
                    extra = after[1:].split("\n")
                    out.extend(self._multi_line(at, rest, extra, line))
                elif author is None or _special(first):
                    emit(_message(at, rest, after[1:].split("\n"), line, ios))
                else:
                    more = after[1:].rstrip("\n")
                    written = f"{first}\n{more}" if first and more else first or more
                    emit(new(ChatMessage, (at, author, written, _MESSAGE, None, line)))
                line += after.count("\n")
                continue
            if author is None:
                emit(_message(at, rest, [], line, ios))
                if separator:
                    self._remember(part)
            elif _special(first):
                kind, first, attachment = _classify(first, ios)
                emit(new(ChatMessage, (at, author, first, kind, attachment, line)))
            else:
                emit(new(ChatMessage, (at, author, first, _MESSAGE, None, line)))
            line += 1
        self.line = line
        return out

    def _last_start(self, text: str) -> int | None:
        """Where the last message line of ``text`` starts; None when it has none."""
        end = len(text)
        while end > 0:
            start = text.rfind("\n", 0, end - 1) + 1
            if self.grammar.match(text, start):
                return start
            end = start
        return None

    def _remember(self, part: str) -> None:
        """Remember an author part that is not a system notice, with the author it names."""
        if not part or len(self.authors) >= MAX_AUTHORS:
            return
        if self.ios or len(part) <= 12 or not SYSTEM_NOTICE.search(part):
            self.authors[part] = part.strip(DIRECTION_MARKS)

    def _multi_line(
        self, at: datetime, rest: str, extra: list[str], line: int
    ) -> Iterator[ChatMessage | BadLine]:
        """A message with continuation lines; one that starts like a message but is not one
        ends it and, with what follows it, is reported."""
        for k, continued in enumerate(extra):
            if LOOSE_START.match(continued):
                yield _message(at, rest, extra[:k], line, self.ios)
                yield BadLine(line + 1 + k, continued, self.unreadable)
                yield from self._lines(
                    "\n".join(extra[k + 1 :]), line + 2 + k, "continues an unreadable message"
                )
                return
        yield _message(at, rest, extra, line, self.ios)

    def _lines(self, text: str, line: int, reason: str) -> Iterator[BadLine]:
        """Each non-blank line of ``text`` as a bad line; one that starts like a message line
        says so."""
        for offset, content in enumerate(text.split("\n")):
            if content.strip(BLANK):
                why = self.unreadable if LOOSE_START.match(content) else reason
                yield BadLine(line + offset, content, why)


def _message(
    at: object, rest: str, extra: list[str] | tuple[()], line: int, ios: bool
) -> ChatMessage:
    while extra and not extra[-1]:
        extra.pop()  # type: ignore[union-attr]
    split = rest.find(": ")
    if split < 0 or (not ios and split > 12 and SYSTEM_NOTICE.search(rest, 0, split)):
        text = "\n".join([rest, *extra]) if extra else rest
        return ChatMessage(at, "", text.lstrip(LRM), _SYSTEM, None, line)
    author = rest[:split]
    if author[-1:] in DIRECTION_MARKS or author[:1] in DIRECTION_MARKS:
        author = author.strip(DIRECTION_MARKS)
    first = rest[split + 2 :]
    kind, first, attachment = _classify(first, ios)
    if extra:
        first = "\n".join([first, *extra]) if first else "\n".join(extra)
    return ChatMessage(at, author, first, kind, attachment, line)


def _special(first: str) -> bool:
    """Whether the first line of a message may be a media or deletion notice or name an
    attachment (``_classify`` tells)."""
    return first[-1:] in _SPECIAL_ENDS or first[:1] == LRM or first in NOTICES


def _classify(first: str, ios: bool) -> tuple[Kind, str, str | None]:
    """(kind, remaining text of the first line, attachment file name)."""
    notice = NOTICES.get(first)
    if notice is not None:
        return notice, "", None
    marked = first[:1] == LRM
    if marked or first[-1:] == " ":
        bare = first.strip(BLANK)
        notice = NOTICES.get(bare)
        if notice is not None:
            return notice, "", None
    else:
        bare = first
    if bare[-1:] == ">":
        found = IOS_ATTACHMENT.search(bare)
        if found:
            caption = bare[: found.start()].strip(BLANK)
            return _ATTACHMENT, caption, found.group(1).strip()
    elif bare[-1:] == ")":
        found = ANDROID_ATTACHMENT.fullmatch(bare)
        if found:
            return _ATTACHMENT, "", found.group(1).strip(DIRECTION_MARKS)
    if marked and ios:
        return _SYSTEM, bare, None
    return _MESSAGE, first, None
