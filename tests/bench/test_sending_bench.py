"""The sending benchmark's machinery on a tiny run: it reports every figure and sends every
message exactly once. Speed is never asserted here: figures on a shared machine are for
docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sending


def test_a_tiny_run_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--messages", "30", "--rate", "40", "--decisions", "2000"]
    assert sending.main([*argv, "--tmp-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["gate"]["decisions"] == 2000 and report["gate"]["per_second"] > 0
    send = report["send"]
    assert (send["sent"], send["failed"], send["messages"]) == (30, 0, 30)
    for key in ("achieved_rate", "share_of_allowed", "throughput_refusals_130429", "target_met"):
        assert key in send
