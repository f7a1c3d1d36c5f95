"""``chatproof demo``: starts everything, customers write, Ctrl-C stops all of it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatproof.config import load_settings
from tests.support.server import free_port

pytestmark = pytest.mark.slow


def test_demo_runs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, emulator_port = free_port(), free_port()
    data_dir = tmp_path / "demo"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatproof",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
            "--pace",
            "0.02",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            output.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        assert f"http://127.0.0.1:{port}" in text
        token = load_settings(data_dir, {}).server.api_token
        assert token in text
        time.sleep(0.5)
        listing = httpx.get(
            f"http://127.0.0.1:{port}/api/conversations",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert {c["name"] for c in listing["items"]} == {
            "Anna Schmidt",
            "Jonas Becker",
            "Emily Clarke",
            "Michael Brown",
        }
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=20)
    assert demo.returncode == 0
    for p in (port, emulator_port):
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{p}/", timeout=1)
