"""``chatproof demo`` opens on the inbox: it prints the team's logins, they work, and
simulated customers keep writing."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.slow


def test_the_demo_prints_logins_that_open_the_inbox(tmp_path: Path) -> None:
    port, emulator_port = free_port(), free_port()
    options = ["--port", str(port), "--emulator-port", str(emulator_port), "--pace", "0.02"]
    options += ["--live", "0.5"]
    demo = subprocess.Popen(
        [sys.executable, "-m", "chatproof", "demo", "--data-dir", str(tmp_path / "demo"), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(lines)
        assert f"open http://127.0.0.1:{port}/ and sign in as" in text, text
        found = re.search(r"^\s+maria\s+(\S+)\s+\(agent\)$", text, re.MULTILINE)
        assert found, text
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Accept-Language": "en"}) as browser:
            form = browser.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            signed_in = browser.post(
                "/login",
                data={"username": "maria", "password": found.group(1), "csrf": csrf.group(1)},
            )
            assert signed_in.status_code == 303
            inbox = browser.get("/", follow_redirects=True)
            assert inbox.url.path == "/inbox"
            assert "Anna Schmidt" in inbox.text
            token = re.search(r"API token: (\S+)\)", text)
            assert token
            api = {"Authorization": f"Bearer {token.group(1)}"}

            def received() -> int:
                listing = browser.get("/api/conversations", headers=api).json()
                return sum(c["message_count"] for c in listing["items"])

            before = received()
            deadline = time.monotonic() + 10
            while received() <= before and time.monotonic() < deadline:
                time.sleep(0.3)
            assert received() > before, "live customers keep writing"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=20)
    assert demo.returncode == 0
