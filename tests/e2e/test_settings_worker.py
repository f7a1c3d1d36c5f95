"""A greeting changed while ``chatproof serve`` runs is what the next new customer gets: the
``chatproof worker`` process, which sends the automatic answers, takes the stored settings
within seconds, without a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from chatproof.bootstrap import build
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.domain.accounts import Principal
from chatproof.services import settings as operational
from chatproof.web.sending_setup import SETTINGS_REFRESH
from tests.e2e.test_worker import _sign, children
from tests.support import webhook_bodies as bodies
from tests.support.server import free_port, start, stop

pytestmark = pytest.mark.slow

FILE = {
    "CHATPROOF_AUTOMATIONS_GREETING_DE": "Hallo aus der Datei",
    "CHATPROOF_AUTOMATIONS_GREETING_EN": "Hello from the file",
}
NEW = "Moin! Neu gespeichert, ohne Neustart."
STATES = ("queued", "in_flight", "sent", "failed", "unknown", "refused")


def eventually(check: Callable[[], object], timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("did not happen in time")


def test_the_worker_greets_the_next_customer_with_the_greeting_just_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    for name, value in FILE.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], data_dir, f"{base}/healthz", FILE)
    settings = load_settings(data_dir)
    components = build(settings, run_migrations=False)
    try:
        eventually(lambda: children(server.pid))

        def greetings() -> list[str]:
            found = []
            with components.reader() as uow:
                rows = [r for s in STATES for r in uow.sending.outbox_in_state(s)]
                for row in sorted(rows, key=lambda r: r.id):
                    if row.origin != "automation:greeting":
                        continue
                    subject = uow.sending.contact(row.contact_id).subject_id
                    found.append(json.loads(uow.personal.unseal_bytes(subject, row.payload)))
            return [document["preview"] for document in found]

        def customer_writes(wa_id: str, wamid: str) -> None:
            body = bodies.inbound(wa_id, wamid, datetime.now(UTC), "Hallo")
            headers = {
                "X-Hub-Signature-256": _sign(body, settings.whatsapp.app_secret),
                "Content-Type": "application/json",
            }
            response = httpx.post(f"{base}/webhooks/whatsapp", content=body, headers=headers)
            assert response.status_code == 200

        customer_writes("4915112340001", "wamid.first")
        eventually(lambda: greetings() == ["Hallo aus der Datei"])
        operational.change(
            components.writer, Principal("user:boss"), datetime.now(UTC), "greeting_de", NEW
        )
        time.sleep(SETTINGS_REFRESH * 2)
        customer_writes("4915112340002", "wamid.second")
        eventually(lambda: len(greetings()) == 2)
        assert greetings() == ["Hallo aus der Datei", NEW]
    finally:
        components.close()
        stop(server)
