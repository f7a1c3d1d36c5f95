"""The inbox benchmark's machinery on a tiny data set: it generates what it says, every
measured request answers 200, and the thread page shows the whole thread. Speed is never
asserted here: figures on a shared machine are for docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import inbox


def test_a_tiny_run_reports_every_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--conversations", "120", "--messages", "1200", "--thread", "60"]
    argv += ["--requests", "3", "--pages", "2", "--tmp-dir", str(tmp_path), "--json"]
    assert inbox.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"]["conversations"] == 120
    assert report["data"]["messages"] == 1200
    timings = report["server_ms"]
    assert len(timings) == 8
    assert "list: unread" in timings
    assert report["search_index"]["messages"] == 1200
    for row in timings.values():
        assert row["n"] == 3 and 0 < row["p50"] <= row["p95"] <= row["max"]
    assert timings["thread page"]["shown"] == 60
    assert "list: page 3 (cursor)" in timings


def test_a_kept_data_set_is_measured_again_without_generating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--conversations", "60", "--messages", "300", "--thread", "20", "--requests", "2"]
    argv += ["--pages", "1", "--tmp-dir", str(tmp_path), "--keep", "--json"]
    assert inbox.main(argv) == 0
    capsys.readouterr()
    (kept,) = tmp_path.iterdir()
    again = ["--requests", "2", "--pages", "1", "--reuse", str(kept), "--json"]
    assert inbox.main(again) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"] is None and report["server_ms"]["thread page"]["shown"] == 20
