"""Run ``chatproof`` commands as real server processes on free loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(
    args: list[str], data_dir: Path, ready_url: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``chatproof ARGS --data-dir DATA_DIR`` and wait until ``ready_url`` answers.

    Its output goes to ``ARGS[0].log`` beside the data directory: a pipe nobody reads would
    stop the process once it had filled, and the file is there to read when a test fails."""
    log = data_dir.parent / f"{args[0]}.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatproof", *args, "--data-dir", str(data_dir)],
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{args[0]} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(ready_url, timeout=0.5).status_code < 500:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{args[0]} did not become ready at {ready_url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
