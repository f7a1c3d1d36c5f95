"""Reading exports written by both apps, in German and English, with both clocks: messages,
multi-line text, system notices, deleted messages, omitted media and attachments."""

from __future__ import annotations

import importlib
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest

from chatproof.domain.chat_export import (
    BadLine,
    ChatMessage,
    DateOrder,
    ExportFormat,
    Kind,
    Platform,
    detect,
    parse,
)

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "chat_export"


def read(name: str) -> list[ChatMessage | BadLine]:
    lines = [raw.decode() for raw in (SAMPLES / name).read_bytes().splitlines(keepends=True)]
    return list(parse(lines, detect(lines).format))


def summary(items: list[ChatMessage | BadLine]) -> list[tuple]:
    return [
        (m.line, m.at, m.author, m.kind, m.attachment, m.text)
        for m in items
        if isinstance(m, ChatMessage)
    ]


def test_android_german_24_hour() -> None:
    got = summary(read("android-de-24h.txt"))
    assert got[0][:4] == (1, datetime(2024, 3, 12, 14, 5), "", Kind.SYSTEM)
    assert got[0][5].startswith("Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.")
    assert got[1:] == [
        (2, datetime(2024, 3, 12, 14, 5), "Max Mustermann", Kind.MESSAGE, None,
         "Guten Tag, mein Rad quietscht."),
        (3, datetime(2024, 3, 12, 14, 6), "Max Mustermann", Kind.MESSAGE, None,
         "Rechnung Nr. 4711\nKauf am 02.01.24\n\nDanke!"),
        (7, datetime(2024, 3, 13, 9, 0), "Fahrradladen Weber", Kind.MESSAGE, None,
         "Kommen Sie gern vorbei: Mo–Fr 9–18 Uhr."),
        (8, datetime(2024, 3, 13, 9, 1), "Max Mustermann", Kind.MEDIA_OMITTED, None, ""),
        (9, datetime(2024, 3, 13, 9, 2), "Max Mustermann", Kind.ATTACHMENT,
         "IMG-20240313-WA0001.jpg", "So sieht es aus"),
        (11, datetime(2024, 3, 13, 9, 3), "Fahrradladen Weber", Kind.DELETED, None, ""),
        (12, datetime(2024, 3, 13, 9, 4), "Max Mustermann", Kind.DELETED, None, ""),
        (13, datetime(2024, 3, 14, 10, 15), "", Kind.SYSTEM, None,
         "Max Mustermann hat seine Telefonnummer zu einer neuen Nummer geändert. Tippe, um eine "
         "Nachricht zu schreiben oder die neue Nummer hinzuzufügen."),
        (14, datetime(2024, 3, 14, 10, 16), "Max Mustermann", Kind.ATTACHMENT,
         "VID-20240314-WA0002.mp4", ""),
    ]  # fmt: skip


def test_android_english_12_hour_with_narrow_no_break_spaces() -> None:
    got = summary(read("android-en-12h.txt"))
    assert [(line, at, kind) for line, at, _, kind, _, _ in got] == [
        (1, datetime(2024, 3, 12, 14, 5), Kind.SYSTEM),
        (2, datetime(2024, 3, 12, 14, 5), Kind.MESSAGE),
        (3, datetime(2024, 3, 12, 23, 59), Kind.MESSAGE),
        (5, datetime(2024, 3, 13, 0, 1), Kind.MEDIA_OMITTED),
        (6, datetime(2024, 3, 13, 8, 30), Kind.ATTACHMENT),
        (7, datetime(2024, 3, 13, 8, 31), Kind.DELETED),
        (8, datetime(2024, 3, 13, 12, 30), Kind.DELETED),
        (9, datetime(2024, 3, 14, 9, 0), Kind.SYSTEM),
    ]
    assert got[2][5] == "Yes: pick it up tomorrow\nafter 9."
    assert got[4][4] == "invoice.pdf"
    assert got[7][5].startswith("Jane Roe changed their phone number")


def test_ios_german_24_hour_with_seconds_and_direction_marks() -> None:
    got = summary(read("ios-de-24h.txt"))
    assert [row[:5] for row in got] == [
        (1, datetime(2024, 3, 12, 14, 5, 33), "Max Mustermann", Kind.SYSTEM, None),
        (2, datetime(2024, 3, 12, 14, 6, 1), "Max Mustermann", Kind.MESSAGE, None),
        (3, datetime(2024, 3, 12, 14, 10, 45), "Fahrradladen Weber", Kind.MESSAGE, None),
        (5, datetime(2024, 3, 13, 9, 0), "Max Mustermann", Kind.ATTACHMENT,
         "00000012-PHOTO-2024-03-13-09-00-00.jpg"),
        (6, datetime(2024, 3, 13, 9, 1, 10), "Fahrradladen Weber", Kind.MEDIA_OMITTED, None),
        (7, datetime(2024, 3, 13, 9, 2), "Max Mustermann", Kind.DELETED, None),
        (8, datetime(2024, 3, 13, 9, 3), "Max Mustermann", Kind.ATTACHMENT,
         "00000013-Angebot.pdf"),
    ]  # fmt: skip
    assert got[2][5] == "Ja!\nWollen Sie es probefahren?"
    assert got[6][5] == "00000013-Angebot.pdf • 2 Seiten"
    assert all("\u200e" not in (author + text) for _, _, author, _, _, text in got)


def test_ios_english_12_hour() -> None:
    got = summary(read("ios-en-12h.txt"))
    assert [row[1:5] for row in got] == [
        (datetime(2024, 3, 12, 14, 5, 33), "Jane Roe", Kind.SYSTEM, None),
        (datetime(2024, 3, 12, 14, 6, 1), "Jane Roe", Kind.MESSAGE, None),
        (datetime(2024, 3, 12, 14, 7), "Bike Shop", Kind.MESSAGE, None),
        (datetime(2024, 3, 13, 9, 0), "Jane Roe", Kind.ATTACHMENT,
         "00000021-PHOTO-2024-03-13-09-00-00.jpg"),
        (datetime(2024, 3, 13, 9, 1), "Bike Shop", Kind.MEDIA_OMITTED, None),
        (datetime(2024, 3, 13, 9, 2), "Jane Roe", Kind.DELETED, None),
    ]  # fmt: skip


def test_german_clock_markers_four_digit_years_and_crlf() -> None:
    got = summary(read("android-de-12h-crlf.txt"))
    assert [(at, text) for _, at, _, _, _, text in got] == [
        (datetime(2024, 3, 12, 14, 5), "Hallo\nmit Zeilenumbruch"),
        (datetime(2024, 3, 13, 9, 0), "Guten Morgen"),
        (datetime(2024, 3, 13, 12, 30), "Mittag"),
    ]


def test_spanish_clock_markers_with_no_break_spaces() -> None:
    got = summary(read("android-es-12h.txt"))
    assert [at for _, at, *_ in got] == [datetime(2024, 3, 12, 14, 5), datetime(2024, 3, 13, 9)]


def test_year_first_dates_with_dashes_and_no_comma() -> None:
    got = summary(read("android-sv-ymd.txt"))
    assert [(at, author) for _, at, author, *_ in got] == [
        (datetime(2024, 3, 12, 14, 5), "Anna"),
        (datetime(2024, 3, 13, 9, 0), "Cykelbutiken"),
    ]


def test_unreadable_message_lines_are_reported_by_number_and_skipped() -> None:
    items = read("broken-lines.txt")
    bad = [(b.line, b.reason) for b in items if isinstance(b, BadLine)]
    assert bad == [
        (2, "no such date '32.03.24' in dmy order"),
        (3, "continues an unreadable message"),
        (4, "no such time 25:00"),
    ]
    assert [(m.line, m.text) for m in items if isinstance(m, ChatMessage)] == [
        (1, "ok"),
        (5, "fine again"),
    ]


def test_lines_before_the_first_message_are_reported() -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)
    items = list(parse(["\n", "stray words\n", "12.03.24, 14:05 - A: hi\n"], fmt))
    assert items == [
        BadLine(2, "stray words", "comes before any message"),
        ChatMessage(datetime(2024, 3, 12, 14, 5), "A", "hi", Kind.MESSAGE, None, 3),
    ]


def test_a_line_in_another_format_is_not_glued_to_the_previous_message() -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)
    items = list(parse(["12.03.24, 14:05 - A: hi\n", "[12.03.24, 14:06:00] B: other\n"], fmt))
    assert isinstance(items[1], BadLine) and items[1].line == 2
    assert items[0] == ChatMessage(datetime(2024, 3, 12, 14, 5), "A", "hi", Kind.MESSAGE, None, 1)


def test_trailing_empty_lines_do_not_become_text() -> None:
    fmt = ExportFormat(Platform.IOS, DateOrder.DMY, ".", 24)
    (message,) = parse(["[12.03.24, 14:05:00] A: hi\r\n", "\r\n", "\n"], fmt)
    assert isinstance(message, ChatMessage) and message.text == "hi"


def test_a_known_authors_lines_stay_one_message_up_to_an_unreadable_line() -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)
    lines = [
        "12.03.24, 14:05 - A: hi\n",
        "12.03.24, 14:06 - A: first\n",
        "second\n",
        "\n",
        "third\n",
        "\n",
        "12.03.24, 14:07 - A: \n",
        "only continued\n",
        "31.02.24, 14:08 - A: no such day\n",
        "12.03.24, 14:09 - A: IMG-1.jpg (Datei angehängt)\n",
        "caption\n",
    ]
    items = list(parse(lines, fmt))
    assert [(m.line, m.text, m.kind) for m in items if isinstance(m, ChatMessage)] == [
        (1, "hi", Kind.MESSAGE),
        (2, "first\nsecond\n\nthird", Kind.MESSAGE),
        (7, "only continued", Kind.MESSAGE),
        (10, "caption", Kind.ATTACHMENT),
    ]
    assert [b for b in items if isinstance(b, BadLine)] == [
        BadLine(9, "31.02.24, 14:08 - A: no such day", "no such date '31.02.24' in dmy order")
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("<Media omitted>", Kind.MEDIA_OMITTED),
        ("<Medien ausgeschlossen>", Kind.MEDIA_OMITTED),
        ("This message was deleted", Kind.DELETED),
        ("Du hast diese Nachricht gelöscht.", Kind.DELETED),
        ("scan.pdf (file attached)", Kind.ATTACHMENT),
        ("scan.pdf (Datei angehängt)", Kind.ATTACHMENT),
        ("I have (file attached) questions", Kind.MESSAGE),
        ("my number changed, Telefonnummer neu", Kind.MESSAGE),
    ],
)
def test_content_kinds_in_an_authors_line(text: str, kind: Kind) -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)
    (message,) = parse([f"12.03.24, 14:05 - Kim: {text}\n"], fmt)
    assert isinstance(message, ChatMessage) and message.kind is kind


def test_parsing_is_lazy() -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)

    def endless():
        n = 0
        while True:
            n += 1
            yield f"12.03.24, 14:05 - A: message {n}\n"

    items = parse(endless(), fmt)
    assert [next(items).text for _ in range(3)] == ["message 1", "message 2", "message 3"]


def test_memory_does_not_grow_with_the_chat() -> None:
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)

    def chat(messages: int):
        for n in range(messages):
            yield f"{1 + n % 28:02d}.03.24, {n % 24:02d}:{n % 60:02d} - Kim: message number {n}\n"

    def peak(messages: int) -> int:
        tracemalloc.start()
        count = sum(1 for _ in parse(chat(messages), fmt))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == messages
        return top

    assert peak(40_000) < 1.5 * peak(4_000)


MIXED = (
    "stray words\n"
    "12.03.24, 14:05 - A: hi\n"
    "second line\n"
    "\n"
    "10 Euro, third line\n"
    "32.03.24, 14:06 - B: no such day\n"
    "goes on\n"
    "12.03.24, 14:07 - B: <Medien ausgeschlossen>\n"
    "[12.03.24, 14:08:00] C: other format\n"
    "12.03.24, 14:09 - Kim: scan.pdf (Datei angehängt)\n"
    "12.03.24, 14:10 - A: last"
)


@pytest.mark.parametrize("block", [1, 7, 30, 64, 1 << 16])
def test_where_blocks_end_does_not_change_what_is_read(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsing = importlib.import_module("chatproof.domain.chat_export.parse")
    fmt = ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24)
    whole = list(parse([MIXED], fmt))
    monkeypatch.setattr(parsing, "BLOCK", block)
    pieces = [MIXED[i : i + 5] for i in range(0, len(MIXED), 5)]
    assert list(parse(pieces, fmt)) == whole
    assert list(parse([MIXED], fmt)) == whole, "one piece of many blocks"
    assert [(m.line, type(m).__name__, m.text) for m in whole] == [
        (1, "BadLine", "stray words"),
        (2, "ChatMessage", "hi\nsecond line\n\n10 Euro, third line"),
        (6, "BadLine", "32.03.24, 14:06 - B: no such day"),
        (7, "BadLine", "goes on"),
        (8, "ChatMessage", ""),
        (9, "BadLine", "[12.03.24, 14:08:00] C: other format"),
        (10, "ChatMessage", ""),
        (11, "ChatMessage", "last"),
    ]
