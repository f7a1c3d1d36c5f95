"""Detecting the format from the file itself, with a confidence, and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatproof.domain.chat_export import (
    DateOrder,
    ExportFormat,
    Platform,
    UnrecognisedExport,
    detect,
)

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "chat_export"


def lines_of(name: str) -> list[str]:
    return [raw.decode() for raw in (SAMPLES / name).read_bytes().splitlines(keepends=True)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("android-de-24h.txt", ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 24, False)),
        ("android-en-12h.txt", ExportFormat(Platform.ANDROID, DateOrder.MDY, "/", 12, False)),
        ("ios-de-24h.txt", ExportFormat(Platform.IOS, DateOrder.DMY, ".", 24, True)),
        ("ios-en-12h.txt", ExportFormat(Platform.IOS, DateOrder.MDY, "/", 12, True)),
        ("android-de-12h-crlf.txt", ExportFormat(Platform.ANDROID, DateOrder.DMY, ".", 12)),
        ("android-es-12h.txt", ExportFormat(Platform.ANDROID, DateOrder.DMY, "/", 12)),
        ("android-sv-ymd.txt", ExportFormat(Platform.ANDROID, DateOrder.YMD, "-", 24)),
    ],
)
def test_each_sample_is_detected_with_full_confidence(name: str, expected: ExportFormat) -> None:
    detection = detect(lines_of(name))
    assert detection.format == expected
    assert detection.confidence == 1.0
    assert detection.readable == detection.headers


def test_a_day_above_12_decides_the_order() -> None:
    detection = detect(["03/02/24, 10:00 - A: x\n", "13/02/24, 10:00 - A: y\n"])
    assert detection.format.date_order is DateOrder.DMY
    assert detection.order_evidence == "a day above 12 in first place"


def test_date_monotonicity_decides_when_no_day_is_above_12() -> None:
    detection = detect(lines_of("ambiguous-monotonic.txt"))
    assert detection.format.date_order is DateOrder.DMY
    assert detection.order_evidence == "dates run forward in this order"
    assert detection.confidence == 0.9


def test_months_first_when_that_keeps_dates_running_forward() -> None:
    lines = ["1/2/24, 10:00 - A: x\n", "1/3/24, 10:00 - A: y\n", "2/1/24, 10:00 - A: z\n"]
    assert detect(lines).format.date_order is DateOrder.MDY


def test_an_undecidable_order_is_assumed_and_says_so() -> None:
    detection = detect(["01.02.24, 10:00 - A: x\n"])
    assert detection.format.date_order is DateOrder.DMY
    assert detection.order_evidence.startswith("order assumed")
    assert detection.confidence < 0.9
    us = detect(["1/2/24, 10:00\u202fAM - A: x\n"])
    assert us.format.date_order is DateOrder.MDY


def test_overrides_win_over_the_data() -> None:
    lines = ["03/02/24, 10:00 - A: x\n", "04/02/24, 10:00 - A: y\n"]
    detection = detect(lines, date_order=DateOrder.MDY, clock=24)
    assert detection.format.date_order is DateOrder.MDY
    assert detection.order_evidence == "day/month order given"


def test_confidence_drops_with_unreadable_message_lines() -> None:
    detection = detect(lines_of("broken-lines.txt"))
    assert (detection.readable, detection.headers) == (2, 4)
    assert detection.confidence == 0.5
    assert "2/4" in detection.describe()


def test_a_file_that_is_no_export_names_its_first_lines() -> None:
    with pytest.raises(UnrecognisedExport) as raised:
        detect(lines_of("not-an-export.txt"))
    assert raised.value.first_lines == ["Dear customer,", "this is a letter, not a chat."]
    assert "Dear customer," in str(raised.value)


def test_an_empty_file_is_no_export() -> None:
    with pytest.raises(UnrecognisedExport, match="the file is empty"):
        detect([])


def test_only_the_sample_is_read() -> None:
    def endless():
        while True:
            yield "13.03.24, 14:05 - A: hi\n"

    assert detect(endless(), sample=100).headers == 100
