"""Reading an export line by line: a message starts on a line the format's grammar matches
and runs until the next one; every other line continues it. Lines are consumed lazily and
only the message being read is held, so memory does not grow with the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from chatproof.domain.chat_export.grammar import LOOSE_START, Grammar
from chatproof.domain.chat_export.model import BadLine, ChatMessage, ExportFormat, Kind, Platform
from chatproof.domain.chat_export.phrases import (
    ANDROID_ATTACHMENT,
    DELETED,
    DIRECTION_MARKS,
    ENCRYPTION_NOTICE,
    IOS_ATTACHMENT,
    LRM,
    MEDIA_OMITTED,
    SYSTEM_NOTICE,
)

BLANK = DIRECTION_MARKS + " \t\ufeff"


def parse(lines: Iterable[str], fmt: ExportFormat) -> Iterator[ChatMessage | BadLine]:
    """Messages in file order, and a ``BadLine`` for each line that starts like a message
    but cannot be read as one (and for the lines that continue it). Lines may end in
    ``\\n`` or ``\\r\\n``; line numbers start at 1."""
    grammar = Grammar(fmt)
    match = grammar.match
    moment = grammar.moment
    loose = LOOSE_START.match
    ios = fmt.platform is Platform.IOS
    unreadable = f"not a message line in the {fmt.describe()} format"
    head: tuple[datetime, str, int] | None = None
    extra: list[str] = []
    broken = False
    for number, line in enumerate(lines, 1):
        if line[-1:] == "\n":
            line = line[:-1]
            if line[-1:] == "\r":
                line = line[:-1]
        found = match(line)
        if found is not None:
            day, time, marker, rest = found.groups()
            try:
                at = moment(day, time, marker)
            except ValueError as exc:
                reason = str(exc)
            else:
                if head is not None:
                    yield _message(head, extra, ios)
                    extra = []
                head = (at, rest, number)
                broken = False
                continue
        elif loose(line) is None:
            if head is not None:
                extra.append(line)
            elif line.strip(BLANK):
                why = "continues an unreadable message" if broken else "comes before any message"
                yield BadLine(number, line, why)
            continue
        else:
            reason = unreadable
        if head is not None:
            yield _message(head, extra, ios)
            head, extra = None, []
        broken = True
        yield BadLine(number, line, reason)
    if head is not None:
        yield _message(head, extra, ios)


def _message(head: tuple[datetime, str, int], extra: list[str], ios: bool) -> ChatMessage:
    at, rest, number = head
    while extra and not extra[-1]:
        extra.pop()
    split = rest.find(": ")
    if split < 0 or (not ios and SYSTEM_NOTICE.search(rest, 0, split)):
        text = "\n".join([rest, *extra]) if extra else rest
        return ChatMessage(at, "", text.lstrip(LRM), Kind.SYSTEM, None, number)
    author = rest[:split].strip(DIRECTION_MARKS)
    first = rest[split + 2 :]
    kind, first, attachment = _classify(first, ios)
    if extra:
        first = "\n".join([first, *extra]) if first else "\n".join(extra)
    return ChatMessage(at, author, first, kind, attachment, number)


def _classify(first: str, ios: bool) -> tuple[Kind, str, str | None]:
    """(kind, remaining text of the first line, attachment file name)."""
    marked = first.startswith(LRM)
    bare = first.strip(BLANK)
    if DELETED.fullmatch(bare):
        return Kind.DELETED, "", None
    if MEDIA_OMITTED.fullmatch(bare):
        return Kind.MEDIA_OMITTED, "", None
    if ">" in bare:
        found = IOS_ATTACHMENT.search(bare)
        if found:
            caption = bare[: found.start()].strip(DIRECTION_MARKS + " ")
            return Kind.ATTACHMENT, caption, found.group(1).strip()
    if bare.endswith(")"):
        found = ANDROID_ATTACHMENT.fullmatch(bare)
        if found:
            return Kind.ATTACHMENT, "", found.group(1).strip(DIRECTION_MARKS)
    if (marked and ios) or ENCRYPTION_NOTICE.search(bare):
        return Kind.SYSTEM, bare, None
    return Kind.MESSAGE, first, None
