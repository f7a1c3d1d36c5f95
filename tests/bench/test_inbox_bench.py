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
    assert len(timings) == 5
    for row in timings.values():
        assert row["n"] == 3 and 0 < row["p50"] <= row["p95"] <= row["max"]
    assert timings["thread page"]["shown"] == 60
    assert "list: page 3 (cursor)" in timings
