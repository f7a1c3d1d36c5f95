"""The access-report benchmark's machinery on a small archive: it generates one person's sealed
messages among others', produces the real report, and reports every figure. Speed is never
asserted here: figures on a shared machine are for docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import access_report


def test_a_small_run_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--messages", "300", "--others", "5", "--per-other", "10", "--rounds", "1"]
    assert access_report.main([*argv, "--tmp-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["data"]["messages"] == 300 and report["data"]["other_messages"] == 50
    figures = report["report"]
    assert figures["messages_in_report"] == 300
    assert figures["median_s"] > 0 and figures["zip_bytes"] > 0
    assert set(report["parts_s"]) == {"gather (read and open)", "html", "pdf", "json"}
    assert list(tmp_path.iterdir()) == [], "nothing is left behind"
