"""The composer: the policy gate's answer before sending, free text inside the window, a
refusal outside it shown in words with its rule, a template going through, quick replies
and the customer's consent on the page."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from chatproof.bootstrap import Components, build
from chatproof.config import Settings
from chatproof.domain.accounts import Role
from chatproof.services import accounts
from chatproof.store import tables as t
from tests.e2e.conftest import signed
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.support.samples import sample_body

CONFIG = """
[[templates.template]]
name = "order_update"
language = "de"
category = "utility"
body_params = 2
text = "Ihre Bestellung {{1}} kommt am {{2}}."

[[automations.quick_reply]]
name = "danke"
text = "Vielen Dank für Ihre Nachricht!"
"""


@pytest.fixture
def components(settings_factory: Callable[..., Settings], tmp_path: Path) -> Components:
    with (tmp_path / "data" / "chatproof.toml").open("a") as config:
        config.write(CONFIG)
    built = build(settings_factory())
    yield built  # type: ignore[misc]
    built.close()


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en"


async def customer_wrote(client: httpx.AsyncClient, settings: Settings, hours_ago: float) -> int:
    sample = json.loads(sample_body("openapi/Text Message"))
    message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
    message["timestamp"] = str(int(time.time() - hours_ago * 3600))
    body = json.dumps(sample).encode()
    response = await client.post("/webhooks/whatsapp", content=body, headers=signed(body, settings))
    assert response.status_code == 200
    page = await client.get("/inbox")
    found = re.search(r'href="/inbox/(\d+)', page.text)
    assert found, page.text
    return int(found.group(1))


def outbox(components: Components) -> list:
    with components.engine.connect() as conn:
        return list(conn.execute(select(t.outbox).order_by(t.outbox.c.id)))


async def test_free_text_inside_the_window_is_allowed_and_queued(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid = await customer_wrote(client, settings, hours_ago=0.1)
    page = await client.get(f"/inbox/{cid}")
    assert 'id="composer"' in page.text and "left for free text" in page.text
    assert "/danke" in page.text and "order_update (de, utility)" in page.text
    assert 'id="consents"' in page.text and "marketing" in page.text
    gate = (await client.get(f"/inbox/{cid}/gate", params={"text": "Hallo"})).json()
    assert gate["allowed"] and gate["rule"] == "window.reply"
    before = len(outbox(components))
    sent = await client.post(
        f"/inbox/{cid}/send", data={"text": "Wir kümmern uns.", "csrf": csrf_of(page)}
    )
    assert sent.status_code == 303
    rows = outbox(components)
    assert len(rows) == before + 1 and rows[-1].actor == "user:maria"
    assert rows[-1].state != "refused"


async def test_outside_the_window_free_text_is_refused_in_words_and_a_template_goes(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid = await customer_wrote(client, settings, hours_ago=30)
    page = await client.get(f"/inbox/{cid}")
    gate = (await client.get(f"/inbox/{cid}/gate", params={"text": "Hallo"})).json()
    assert not gate["allowed"] and "24" in gate["reason"]
    refused = await client.post(
        f"/inbox/{cid}/send", data={"text": "Hallo?", "csrf": csrf_of(page)}
    )
    assert refused.status_code == 403
    assert 'id="refusal"' in refused.text and gate["rule"] in refused.text
    assert "Hallo?" in refused.text, "the draft is kept"
    template = {"template": "order_update|de", "param": ["4711", "Dienstag"]}
    assert (await client.get(f"/inbox/{cid}/gate", params=template)).json()["allowed"]
    went = await client.post(f"/inbox/{cid}/send", data={**template, "csrf": csrf_of(page)})
    assert went.status_code == 303
    last = outbox(components)[-1]
    assert (last.kind, last.template_name, last.state != "refused") == (
        "template",
        "order_update",
        True,
    )


async def test_incomplete_templates_are_named_and_auditors_cannot_send(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    secret = add(components, "otto", Role.AUDITOR)
    await sign_in(client, "maria")
    cid = await customer_wrote(client, settings, hours_ago=0.1)
    incomplete = await client.get(f"/inbox/{cid}/gate", params={"template": "order_update|de"})
    assert incomplete.json()["complete"] is False
    await client.post("/logout", data={"csrf": csrf_of(await client.get("/inbox"))})
    await sign_in(client, "otto", secret=secret)
    assert (await client.get(f"/inbox/{cid}")).status_code == 403  # the audit workspace only
    page = await client.get("/account/password")
    refused = await client.post(f"/inbox/{cid}/send", data={"text": "x", "csrf": csrf_of(page)})
    assert refused.status_code == 403


async def test_quick_replies_kept_in_the_browser_appear_in_the_composer(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    from datetime import UTC, datetime

    from chatproof.domain.accounts import Principal
    from chatproof.services import quick_replies

    boss = add(components, "boss", Role.ADMIN)
    assert boss
    admin = accounts.find_user(components.reader, "boss")
    quick_replies.save(
        components.writer,
        Principal(admin.actor, admin),
        datetime.now(UTC),
        "oeffnung",
        "Mo-Fr 9-18 Uhr",
    )
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid = await customer_wrote(client, settings, hours_ago=0.1)
    page = (await client.get(f"/inbox/{cid}")).text
    assert "/oeffnung" in page and "/danke" in page


KEY = re.compile(r"\b(?:inbox|panel|thread|composer|stats|settings|users|access|login|nav|state)"
                 r"\.(?!js\b)[a-z_]+\b")  # fmt: skip


async def test_every_text_of_the_thread_is_translated(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    cid = await customer_wrote(client, settings, hours_ago=0.1)
    for language, word in (("de", "Servicefenster"), ("en", "Service window")):
        client.headers["Accept-Language"] = language
        page = (await client.get(f"/inbox/{cid}")).text
        stats = (await client.get("/statistics")).text
        assert word in page
        assert KEY.findall(page) == [] and KEY.findall(stats) == []
