"""The export benchmark's machinery on a small archive: it generates properly sealed messages
with log entries, exports them with the real command, reports every figure, and the export it
measured checks out. Speed is never asserted here: figures on a shared machine are for
docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import export


def test_a_small_run_reports_every_figure_and_an_export_that_checks_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--messages", "3000", "--contacts", "20", "--batch", "700"]
    assert export.main([*argv, "--tmp-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    assert report["check"]["ok"] is True
    assert report["generate"]["messages"] == 3000
    full, month = report["export"], report["export_one_month"]
    assert full["messages"] == 3000 and full["contacts"] == 20
    assert 0 < month["messages"] < full["messages"]
    for figures in (full, month):
        assert figures["rows_per_s"] > 0 and figures["cpu_s"] > 0 and figures["peak_rss_mib"] > 0
    assert set(report["targets"]) == {"rows_per_s"}
    assert list(tmp_path.iterdir()) == [], "nothing is left behind without --keep"
