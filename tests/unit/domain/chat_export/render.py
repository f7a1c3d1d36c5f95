"""Writes messages the way the app exports them, in any supported format: the other half of
the round-trip property (parse(render(messages)) == messages)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chatproof.domain.chat_export import ChatMessage, DateOrder, ExportFormat, Kind, Platform

LRM = "\u200e"


def render(
    messages: Sequence[ChatMessage],
    fmt: ExportFormat,
    *,
    year_digits: int = 2,
    space: str = " ",
    markers: tuple[str, str] = ("AM", "PM"),
    newline: str = "\n",
    language: str = "en",
) -> str:
    return "".join(
        render_message(m, fmt, year_digits, space, markers, language) + "\n" for m in messages
    ).replace("\n", newline)


def render_message(
    m: ChatMessage,
    fmt: ExportFormat,
    year_digits: int,
    space: str,
    markers: tuple[str, str],
    language: str,
) -> str:
    stamp = f"{_date(m.at, fmt, year_digits)}, {_time(m.at, fmt, space, markers)}"
    ios = fmt.platform is Platform.IOS
    head = f"[{stamp}] " if ios else f"{stamp} - "
    if m.kind is Kind.SYSTEM and not m.author:
        return head + m.text
    body = _body(m, ios, language)
    return (LRM if ios and body.startswith(LRM) else "") + head + f"{m.author}: {body}"


def _body(m: ChatMessage, ios: bool, language: str) -> str:
    german = language == "de"
    if m.kind is Kind.MESSAGE:
        return m.text
    if m.kind is Kind.SYSTEM:
        return LRM + m.text
    if m.kind is Kind.DELETED:
        text = "Diese Nachricht wurde gelöscht." if german else "This message was deleted."
        return LRM + text if ios else text
    if m.kind is Kind.MEDIA_OMITTED:
        if ios:
            return LRM + ("Bild weggelassen" if german else "image omitted")
        return "<Medien ausgeschlossen>" if german else "<Media omitted>"
    assert m.attachment is not None
    if ios:
        tag = f"<Anhang: {m.attachment}>" if german else f"<attached: {m.attachment}>"
        return LRM + tag + (f"\n{m.text}" if m.text else "")
    note = "(Datei angehängt)" if german else "(file attached)"
    return f"{LRM}{m.attachment} {note}" + (f"\n{m.text}" if m.text else "")


def _date(at: datetime, fmt: ExportFormat, year_digits: int) -> str:
    year = f"{at.year % 100:02d}" if year_digits == 2 else f"{at.year:04d}"
    day, month = f"{at.day:02d}", f"{at.month:02d}"
    fields = {
        DateOrder.DMY: (day, month, year),
        DateOrder.MDY: (str(at.month), str(at.day), year),
        DateOrder.YMD: (f"{at.year:04d}", month, day),
    }[fmt.date_order]
    return fmt.date_separator.join(fields)


def _time(at: datetime, fmt: ExportFormat, space: str, markers: tuple[str, str]) -> str:
    seconds = f":{at.second:02d}" if fmt.seconds else ""
    if fmt.clock == 24:
        return f"{at.hour:02d}:{at.minute:02d}{seconds}"
    hour = at.hour % 12 or 12
    return f"{hour}:{at.minute:02d}{seconds}{space}{markers[at.hour >= 12]}"
