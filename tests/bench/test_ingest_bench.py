"""The ingest benchmark's machinery at toy scale: its bodies are real signed webhooks, and a run
ends with the database holding exactly what was acknowledged. Speed is never asserted here:
figures on a shared machine are for docs/performance.md, not for a pass/fail."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import _loadgen
from chatproof.channels.whatsapp.signature import verify_signature
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.messages import Direction

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_bodies_are_signed_webhooks_with_one_new_inbound_text_each() -> None:
    bodies = _loadgen.build_bodies(300, "0A1B2C3D", seed=7, phone_number_id="106540352242922")
    wamids = set()
    for body in bodies:
        (message,) = parse_webhook(body).messages
        assert (message.direction, message.type) == (Direction.INBOUND, "text")
        assert message.text and message.platform_id.startswith("wamid.")
        assert message.business_number_id == "106540352242922"
        wamids.add(message.platform_id)
    assert len(wamids) == len(bodies)
    assert len({parse_webhook(b).messages[0].customer_wa_id for b in bodies}) > 20

    request = _loadgen.signed_request(bodies[0], b"secret", "127.0.0.1:1")
    head, _, sent = request.partition(b"\r\n\r\n")
    assert sent == bodies[0]
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert int(headers["Content-Length"]) == len(sent)
    verify_signature(sent, headers["X-Hub-Signature-256"], "secret")


@pytest.mark.slow
def test_a_tiny_run_reports_figures_and_stores_exactly_what_was_acknowledged() -> None:
    command = [sys.executable, str(BENCH), "--messages", "200", "--rate", "50"]
    command += ["--duration", "2", "--repeat", "1", "--warmup", "50", "--connections", "8"]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)

    check = report["check"]
    assert check["ok"]
    assert check["messages"] == check["deliveries"] == check["acknowledged"] == 50 + 200 + 100
    assert check["quarantined"] == 0

    phases = {p["label"]: p for p in report["phases"]}
    assert set(phases) == {"warm-up", "saturated 1", "open loop 1"}
    for phase in phases.values():
        assert phase["errors"] == 0 and phase["acknowledged"] == phase["sent"] == phase["stored"]
        ms = phase["latency_ms"]
        assert 0 < ms["p50"] <= ms["p90"] <= ms["p99"] <= ms["max"]
        assert phase["throughput"] > 0
    summary = report["summary"]
    assert summary["saturated_msgs_per_s"]["median"] == phases["saturated 1"]["throughput"]
    assert math.isfinite(summary["open_loop_p99_ms"]["median"])
    assert report["machine"]["cpus"] >= 1 and report["machine"]["python"]
