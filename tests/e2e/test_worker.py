"""``chatproof serve`` runs the background work in a ``chatproof worker`` process of its own:
the work gets done (a tree head is signed), the worker is started again if it dies, and it
stops by itself when the server is killed outright."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from tests.support.samples import sample_body
from tests.support.server import free_port, start, stop

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def eventually(check: Callable[[], object], timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("did not happen in time")


def test_the_worker_does_the_background_work_and_dies_with_its_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"CHATPROOF_ARCHIVE_HEAD_EVERY_SECONDS": "1", "CHATPROOF_ARCHIVE_HEAD_EVERY_ENTRIES": "1"}
    server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", env)
    try:
        (worker,) = eventually(lambda: children(server.pid))  # type: ignore[misc]
        settings = load_settings(data_dir)
        body = sample_body("message/text")
        signature = _sign(body, settings.whatsapp.app_secret)
        response = httpx.post(
            f"{base}/webhooks/whatsapp",
            content=body,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        )
        assert response.status_code == 200
        components = build(settings, run_migrations=False)
        try:

            def signed() -> bool:
                with components.reader() as uow:
                    latest = uow.log.latest_head()
                    return latest is not None and latest.head.tree_size == uow.log.size() > 0

            eventually(signed)
        finally:
            components.close()

        os.kill(worker, signal.SIGKILL)
        eventually(lambda: [p for p in children(server.pid) if p != worker])

        (restarted,) = children(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        eventually(lambda: not alive(restarted))
    finally:
        stop(server)


def _sign(body: bytes, secret: str) -> str:
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
