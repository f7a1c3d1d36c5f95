"""A format's grammar reads a message line's time with its clock marker as one field."""

from __future__ import annotations

import pytest

from chatproof.domain.chat_export import DateOrder, ExportFormat, Platform
from chatproof.domain.chat_export.grammar import Grammar

TWELVE = Grammar(ExportFormat(Platform.ANDROID, DateOrder.MDY, "/", 12))
TWENTY_FOUR = Grammar(ExportFormat(Platform.IOS, DateOrder.DMY, ".", 24, seconds=True))


@pytest.mark.parametrize(
    ("grammar", "text", "expected"),
    [
        (TWENTY_FOUR, "14:05", (14, 5, 0)),
        (TWENTY_FOUR, "09:05:59", (9, 5, 59)),
        (TWELVE, "2:05 PM", (14, 5, 0)),
        (TWELVE, "12:30\u202fAM", (0, 30, 0)),
        (TWELVE, "12:30 p. m.", (12, 30, 0)),
        (TWELVE, "7:01:02nachm.", (19, 1, 2)),
        (TWELVE, "11:59\u00a0vorm.", (11, 59, 0)),
    ],
)
def test_a_time_is_read_with_its_clock_marker(
    grammar: Grammar, text: str, expected: tuple[int, int, int]
) -> None:
    assert grammar.time_of(text) == expected


@pytest.mark.parametrize(
    ("grammar", "text", "message"),
    [
        (TWENTY_FOUR, "25:00", "no such time 25:00"),
        (TWENTY_FOUR, "12:60", "no such time 12:60"),
        (TWELVE, "13:05 PM", "no such time 13:05 PM on a 12-hour clock"),
        (TWELVE, "PM", "no such time PM"),
    ],
)
def test_an_impossible_time_is_named(grammar: Grammar, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        grammar.time_of(text)


def test_message_lines_are_found_with_date_time_and_rest() -> None:
    text = "3/12/24, 2:05\u202fPM - Kim: hello\nmore\n3/12/24, 9:00 AM - Kim: again\n"
    assert TWELVE.findall(text) == [
        ("3/12/24", "2:05\u202fPM", "Kim: hello"),
        ("3/12/24", "9:00 AM", "Kim: again"),
    ]
