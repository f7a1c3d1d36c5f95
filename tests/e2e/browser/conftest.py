"""A real chatproof server and emulator as processes, and Debian's Chromium driven by
Playwright. Screenshots are test artefacts in test-artifacts/screenshots/; with
CHATPROOF_SCREENSHOTS=docs/screenshots (``make screenshots``) they renew the README's."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.signature import SIGNATURE_HEADER, sign
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.domain.accounts import Role
from chatproof.services import accounts
from chatproof.services.accounts import AccountKeys
from tests.support.samples import sample_body
from tests.support.server import free_port, start, stop

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("CHATPROOF_SCREENSHOTS")
    or Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
)
PASSWORD = "correct horse battery"
CUSTOMER = "4915112344567"
OTHER_CUSTOMER = "4917612345678"
QUIET_CUSTOMER = "4915209876543"
EXTRA_CUSTOMERS = (("447700900123", "Emily Clarke"), ("4917011122233", "Lukas Hoffmann"))
CONFIG = """
[[templates.template]]
name = "order_update"
language = "de"
category = "utility"
body_params = 2
text = "Ihre Bestellung {{1}} kommt am {{2}}."

[[automations.quick_reply]]
name = "danke"
text = "Vielen Dank für Ihre Nachricht, wir kümmern uns sofort darum."
"""
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@dataclass
class Site:
    base: str
    emulator: httpx.Client
    data_dir: Path
    secrets: dict[str, str]

    def components(self) -> Components:
        return build(load_settings(self.data_dir, {}))

    def customer_wrote_long_ago(self, text: str, wa_id: str, hours: float) -> None:
        """A message from before the 24-hour window, delivered to chatproof as a webhook."""
        settings = load_settings(self.data_dir, {})
        sample = json.loads(sample_body("openapi/Text Message"))
        value = sample["entry"][0]["changes"][0]["value"]
        value["contacts"][0].update(wa_id=wa_id, profile={"name": "Carla Neumann"})
        value["messages"][0].update(
            {
                "from": wa_id,
                "id": f"wamid.old{wa_id}",
                "timestamp": str(int(time.time() - hours * 3600)),
            }
        )
        value["messages"][0]["text"] = {"body": text}
        body = json.dumps(sample).encode()
        headers = {
            SIGNATURE_HEADER: sign(body, settings.whatsapp.app_secret),
            "Content-Type": "application/json",
        }
        response = httpx.post(f"{self.base}/webhooks/whatsapp", content=body, headers=headers)
        assert response.status_code == 200, response.text

    def customer_writes(self, text: str, wa_id: str = CUSTOMER) -> None:
        response = self.emulator.post(
            f"/_emulator/customers/{wa_id}/messages",
            json={"type": "text", "text": {"body": text}},
        )
        assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    assert CliRunner().invoke(app, ["init", "--data-dir", str(data_dir)]).exit_code == 0
    with (data_dir / "chatproof.toml").open("a") as config:
        config.write(CONFIG)
    port, emulator_port = free_port(), free_port()
    base, emulator_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{emulator_port}"
    env = {
        "CHATPROOF_SERVER_PORT": str(port),
        "CHATPROOF_WHATSAPP_BASE_URL": emulator_base,
        "CHATPROOF_EMULATOR_WEBHOOK_URL": f"{base}/webhooks/whatsapp",
    }
    secrets = _users(data_dir)
    server = start(
        ["serve", "--port", str(port), "--log-level", "warning"], data_dir, f"{base}/healthz", env
    )
    emulator = start(
        ["emulator", "--port", str(emulator_port)],
        data_dir,
        f"{emulator_base}/_emulator/clock",
        env,
    )
    try:
        with httpx.Client(base_url=emulator_base, timeout=10) as control:
            customers = (
                (CUSTOMER, "Anna Weber"),
                (OTHER_CUSTOMER, "Jonas Becker"),
                (QUIET_CUSTOMER, "Carla Neumann"),
                *EXTRA_CUSTOMERS,
            )
            for wa_id, name in customers:
                control.post("/_emulator/customers", json={"wa_id": wa_id, "name": name})
            yield Site(base, control, data_dir, secrets)
    finally:
        stop(emulator)
        stop(server)


def _users(data_dir: Path) -> dict[str, str]:
    """maria (agent), lena (supervisor), dana (DPO) and otto (auditor); the TOTP secrets of
    those who need one, enrolled a while ago."""
    components = build(load_settings(data_dir, {}))
    keys = AccountKeys.from_master(components.derivation_key)
    now = datetime.now(UTC)
    secrets = {}
    try:
        for name, display, role in (
            ("maria", "Maria Schulz", Role.AGENT),
            ("lena", "Lena Vogt", Role.SUPERVISOR),
            ("dana", "Dana Keller", Role.DPO),
            ("otto", "Otto Brandt", Role.AUDITOR),
        ):
            user, _ = accounts.add_user(
                components.writer,
                "test",
                now,
                username=name,
                role=role,
                display_name=display,
                language="en",
                password=PASSWORD,
            )
            if role in (Role.DPO, Role.AUDITOR):
                earlier = now - timedelta(minutes=2)
                secrets[name] = accounts.enrol_totp_now(components.writer, keys, earlier, user)
    finally:
        components.close()
    return secrets


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run scripts/ensure-chromium.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page_for(browser: object, site: Site) -> Iterator[object]:
    """A fresh browser context per person, signed in."""
    import pyotp

    contexts = []

    def open_as(name: str, *, width: int = 1280, height: int = 800) -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            base_url=site.base, locale="en-GB", viewport={"width": width, "height": height}
        )
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        if name in site.secrets:
            page.wait_for_url("**/login/totp")
            page.get_by_label("Code from your authenticator app").fill(
                pyotp.TOTP(site.secrets[name]).now()
            )
            page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()
