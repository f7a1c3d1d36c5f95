"""The tax auditor's workspace: searches and views stay inside the auditor's audit period and
the tax-relevant retention classes on the server, each is an access-log entry the DPO can
filter by user, and nobody else (nor an auditor without a period) gets in."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.accounts import Role
from chatproof.services.auditor import set_scope
from chatproof.services.ingest import Received, ingest
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.support.samples import webhook_samples

ANNA, BEN = "4917612398765", "4915100000001"


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en-GB,en;q=0.9"


def write(components: Components, wa_id: str, text: str, when: datetime) -> None:
    body = json.loads(json.dumps(webhook_samples()["message/text"]))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=wa_id, profile={"name": f"Kunde {wa_id[-3:]}"})
    message = value["messages"][0]
    message.update(id=f"wamid.{wa_id}.{when:%Y%m%d}", text={"body": text})
    message.update(timestamp=str(int(when.timestamp())))
    message["from"] = wa_id
    raw = json.dumps(body).encode()
    ingest([Received(raw, parse_webhook(raw))], components.writer, when)


def archive(components: Components) -> None:
    write(components, ANNA, "Rechnung 2024", datetime(2024, 5, 1, 9, tzinfo=UTC))
    write(components, ANNA, "Rechnung 2025", datetime(2025, 3, 1, 9, tzinfo=UTC))
    with components.writer() as uow:
        uow.conversations.set_retention_class(1, "no_duty")
        uow.commit()
    write(components, ANNA, "Rechnung privat", datetime(2025, 4, 1, 9, tzinfo=UTC))
    write(components, BEN, "Rechnung Ben 2025", datetime(2025, 6, 1, 9, tzinfo=UTC))


def texts(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


async def test_searches_and_views_stay_in_the_period_and_the_tax_classes(
    client: httpx.AsyncClient, components: Components
) -> None:
    archive(components)
    secret = add(components, "otto", Role.AUDITOR)
    now = datetime.now(UTC)
    set_scope(
        components.writer, "otto", date(2025, 1, 1), date(2025, 12, 31), by="user:admin",
        now=now, tz=components.timezone,
    )  # fmt: skip
    await sign_in(client, "otto", secret=secret)
    page = await client.get("/audit")
    assert "2025-01-01 – 2025-12-31" in page.text and 'href="/audit"' in page.text

    found = await client.get("/audit/search", params={"q": "rechnung"})
    assert texts(found) == ["Rechnung 2025", "Rechnung Ben 2025"]
    wider = await client.get("/audit/search", params={"q": "rechnung", "from": "2020-01-01"})
    assert texts(wider) == ["Rechnung 2025", "Rechnung Ben 2025"]
    one = await client.get("/audit/search", params={"contact": ANNA})
    assert texts(one) == ["Rechnung 2025"]
    narrow = await client.get(
        "/audit/search", params={"from": "2025-05-01", "direction": "inbound"}
    )
    assert texts(narrow) == ["Rechnung Ben 2025"]
    assert texts(await client.get("/audit/search", params={"direction": "outbound"})) == []
    assert texts(await client.get("/audit/conversations/1")) == ["Rechnung 2025"]
    assert (await client.get("/audit/conversations/99")).status_code == 404
    assert (await client.get("/audit/search", params={"direction": "sideways"})).status_code == 422

    with components.reader() as uow:
        rows = uow.inbox.access_log(limit=50, before=None, actor="user:otto")
    audited = [r.action for r in rows if r.action.startswith("audit_")]
    assert audited == ["audit_view"] + ["audit_search"] * 5

    await client.post("/logout", data={"csrf": ""})
    officer = add(components, "dora", Role.DPO)
    client.cookies.clear()
    await sign_in(client, "dora", secret=officer)
    log = await client.get("/dpo/access-log", params={"actor": "user:otto"})
    assert log.status_code == 200 and "audit_search" in log.text


async def test_an_auditor_without_a_period_reads_nothing(
    client: httpx.AsyncClient, components: Components
) -> None:
    archive(components)
    secret = add(components, "otto", Role.AUDITOR)
    await sign_in(client, "otto", secret=secret)
    refused = await client.get("/audit/search", params={"q": "rechnung"})
    assert refused.status_code == 403
    assert "no audit period" in refused.text


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.DPO, Role.ADMIN])
async def test_no_other_role_reaches_the_audit_workspace(
    client: httpx.AsyncClient, components: Components, role: Role
) -> None:
    archive(components)
    secret = add(components, "other", role)
    await sign_in(client, "other", secret=secret)
    assert (await client.get("/audit")).status_code == 403
    assert (await client.get("/audit/search")).status_code == 403
    assert (await client.get("/audit/conversations/1")).status_code == 403


async def test_the_auditor_takes_away_the_gobd_handover_of_a_period_inside_the_audit_period(
    client: httpx.AsyncClient, components: Components
) -> None:
    archive(components)
    secret = add(components, "otto", Role.AUDITOR)
    set_scope(
        components.writer, "otto", date(2025, 1, 1), date(2025, 12, 31), by="user:admin",
        now=datetime.now(UTC), tz=components.timezone,
    )  # fmt: skip
    await sign_in(client, "otto", secret=secret)
    token = csrf_of(await client.get("/audit"))

    outside = {"from": "2024-01-01", "to": "2025-12-31", "csrf": token}
    assert (await client.post("/audit/export", data=outside)).status_code == 403
    assert (await client.post("/audit/export", data={"from": "2025-01-01"})).status_code == 403

    taken = await client.post(
        "/audit/export", data={"from": "2025-01-01", "to": "2025-12-31", "csrf": token}
    )
    assert taken.status_code == 200, taken.text
    with zipfile.ZipFile(io.BytesIO(taken.content)) as handover:
        names = handover.namelist()
        messages = handover.read(next(n for n in names if n.endswith("messages.csv")))
    assert any(n.endswith("index.xml") for n in names)
    assert b"Rechnung Ben 2025" in messages and b"Rechnung 2024" not in messages
    with components.reader() as uow:
        kinds = [json.loads(leaf)["kind"] for _, leaf in uow.log.iter_leaves()]
        actors = [
            json.loads(leaf)["attributes"].get("actor")
            for _, leaf in uow.log.iter_leaves()
            if json.loads(leaf)["kind"] == "access.read"
        ]
    assert "access.read" in kinds and "user:otto" in actors
