"""The import benchmark's machinery on a tiny chat: both parsers read the same number of
messages, every figure is reported, and the import stores every message. Speed is never
asserted here: figures on a shared machine are for docs/performance.md."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from chatproof.domain.chat_export import ChatMessage, detect, parse

pytest.importorskip("whatstk")
bench = importlib.import_module("bench.import")


def test_a_tiny_run_reports_both_parsers_and_the_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--messages", "3000", "--repeat", "2", "--tmp-dir", str(tmp_path), "--json"]
    assert bench.main(argv) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["parse"]["same_count"] is True
    assert [r["chatproof_messages"] for r in report["rounds"]] == [3000, 3000]
    assert report["parse"]["ratio_of_medians"] > 0
    assert report["import"]["messages"] == 3000
    assert report["import"]["log_entries"] == 3001
    assert report["import"]["messages_per_s"] > 0
    assert set(report["targets"]) == {"parse_ratio", "import_msgs_per_s"}


def test_the_generated_chat_is_a_valid_export(tmp_path: Path) -> None:
    chat = tmp_path / bench.FILE_NAME
    bench.generate(chat, 3000)
    lines = chat.read_text(encoding="utf-8").splitlines(keepends=True)
    detection = detect(lines)
    assert detection.confidence == 1.0
    messages = [m for m in parse(lines, detection.format) if isinstance(m, ChatMessage)]
    assert len(messages) == 3000
    assert {m.author for m in messages} == {bench.BUSINESS, bench.CUSTOMER}


@pytest.mark.parametrize("keep", [False, True])
def test_each_round_s_data_directory_is_removed_unless_kept(tmp_path: Path, keep: bool) -> None:
    argv = ["--messages", "200", "--repeat", "1", "--import-rounds", "2", "--json"]
    argv += ["--tmp-dir", str(tmp_path)] + (["--keep"] if keep else [])
    assert bench.main(argv) == 0
    kept = sorted(p.name for p in tmp_path.glob("*/import-*"))
    assert kept == (["import-0", "import-1"] if keep else [])
