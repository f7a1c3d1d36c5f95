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
    """Start ``chatproof ARGS --data-dir DATA_DIR`` and wait until ``ready_url`` answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chatproof", *args, "--data-dir", str(data_dir)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{args[0]} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
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
