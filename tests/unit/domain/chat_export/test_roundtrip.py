"""Property: messages written in any supported format, German or English, with any clock
markers, spaces and line endings the app uses, are read back exactly — format detected from
the file itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chatproof.domain.chat_export import (
    ChatMessage,
    DateOrder,
    ExportFormat,
    Kind,
    Platform,
    detect,
    parse,
)
from chatproof.domain.chat_export.phrases import NOTICES as PLACEHOLDERS
from tests.unit.domain.chat_export.render import render

NAMES = ["Max Mustermann", "Bike Shop", "Zoë", "李雷", "+49 151 2345678", "Dr. A. B-C"]
NOTICES = [
    "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
    "Messages and calls are end-to-end encrypted.",
    "Max Mustermann hat seine Telefonnummer zu einer neuen Nummer geändert.",
    "Jane changed their phone number to a new number.",
]
FILES = ["IMG-20240313-WA0001.jpg", "00000012-PHOTO-2024-03-13-09-00-00.jpg", "Angebot 2.pdf"]
MARKERS = [("AM", "PM"), ("am", "pm"), ("a. m.", "p. m."), ("a.m.", "p.m."), ("vorm.", "nachm.")]
START = datetime(2009, 2, 1)
ANCHOR = datetime(2009, 1, 13, 10, 0)
"""A first message on the 13th, so every generated chat settles the day/month order."""

line_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "" and s.split("\n")[0].strip() not in PLACEHOLDERS)
texts = st.lists(line_text, min_size=1, max_size=3).map("\n".join)


@st.composite
def formats(draw: st.DrawFn) -> ExportFormat:
    return ExportFormat(
        draw(st.sampled_from(Platform)),
        draw(st.sampled_from(DateOrder)),
        draw(st.sampled_from([".", "/", "-"])),
        draw(st.sampled_from([12, 24])),
        draw(st.booleans()),
    )


@st.composite
def chats(draw: st.DrawFn, fmt: ExportFormat) -> list[ChatMessage]:
    n = draw(st.integers(1, 25))
    offsets = sorted(draw(st.lists(st.integers(0, 20 * 365 * 86400), min_size=n, max_size=n)))
    messages = [ChatMessage(ANCHOR, "Zoë", "hello", Kind.MESSAGE)]
    for offset in offsets:
        at = START + timedelta(seconds=offset)
        if not fmt.seconds:
            at = at.replace(second=0)
        kind = draw(st.sampled_from(Kind))
        author = draw(st.sampled_from(NAMES))
        if kind is Kind.SYSTEM:
            text = draw(st.sampled_from(NOTICES))
            author = author if fmt.platform is Platform.IOS else ""
            messages.append(ChatMessage(at, author, text, kind))
        elif kind is Kind.ATTACHMENT:
            caption = draw(st.one_of(st.just(""), texts))
            messages.append(ChatMessage(at, author, caption, kind, draw(st.sampled_from(FILES))))
        elif kind is Kind.MESSAGE:
            messages.append(ChatMessage(at, author, draw(texts), kind))
        else:
            messages.append(ChatMessage(at, author, "", kind))
    return messages


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_rendered_messages_parse_back_exactly(data: st.DataObject) -> None:
    fmt = data.draw(formats())
    messages = data.draw(chats(fmt))
    rendered = render(
        messages,
        fmt,
        year_digits=4 if fmt.date_order is DateOrder.YMD else data.draw(st.sampled_from([2, 4])),
        space=data.draw(st.sampled_from([" ", "\u202f", "\u00a0"])),
        markers=data.draw(st.sampled_from(MARKERS)),
        newline=data.draw(st.sampled_from(["\n", "\r\n"])),
        language=data.draw(st.sampled_from(["de", "en"])),
    )
    lines = [raw.decode() for raw in rendered.encode().splitlines(keepends=True)]

    detection = detect(lines)
    parsed = list(parse(lines, detection.format))

    assert detection.format == fmt
    assert detection.confidence == 1.0
    assert [m._replace(line=0) for m in parsed] == messages  # type: ignore[union-attr]
    assert [m.line for m in parsed] == sorted({m.line for m in parsed})  # type: ignore[union-attr]
