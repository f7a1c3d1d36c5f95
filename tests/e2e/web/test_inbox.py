"""The inbox pages over HTTP: every message type shown, filters and search, assignment,
labels, notes, closing; reach and roles checked on the server; reads logged."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import httpx
import pytest

from chatproof.bootstrap import Components
from chatproof.config import Settings
from chatproof.domain.accounts import Role
from chatproof.services import accounts
from chatproof.services.auditor import set_scope
from chatproof.services.erasure import shred_subject
from tests.e2e.conftest import signed
from tests.e2e.web.test_auth import add, csrf_of, sign_in
from tests.support.samples import sample_body

TYPES = [
    "openapi/Text Message",
    "openapi/Image Message",
    "openapi/Location Message",
    "openapi/Contact Sharing Message",
    "openapi/Reaction Message",
    "openapi/Button Message",
    "openapi/Interactive List Reply Message",
    "openapi/Interactive Button Reply Message",
]


@pytest.fixture(autouse=True)
def english(client: httpx.AsyncClient) -> None:
    client.headers["Accept-Language"] = "en"


async def deliver(client: httpx.AsyncClient, settings: Settings, *names: str) -> None:
    """Deliver published sample webhooks, each message with an id of its own (several
    samples share one)."""
    for number, name in enumerate(names):
        sample = json.loads(sample_body(name))
        for change in sample["entry"][0]["changes"]:
            for message in change["value"].get("messages", []):
                message["id"] = f"wamid.sample{number}"
        body = json.dumps(sample).encode()
        response = await client.post(
            "/webhooks/whatsapp", content=body, headers=signed(body, settings)
        )
        assert response.status_code == 200


async def first_conversation(client: httpx.AsyncClient) -> tuple[int, httpx.Response]:
    page = await client.get("/inbox")
    assert page.status_code == 200
    found = re.search(r'href="/inbox/(\d+)', page.text)
    assert found, page.text
    return int(found.group(1)), page


async def test_the_thread_shows_every_message_type(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    await deliver(client, settings, *TYPES)
    await sign_in(client, "maria")
    assert (await client.get("/")).headers["location"] == "/inbox"
    conversation_id, listing = await first_conversation(client)
    assert "Sheena Nelson" in listing.text and 'class="conv unread"' in listing.text
    thread = (await client.get(f"/inbox/{conversation_id}")).text
    for kind in ("text", "image", "location", "contacts", "reaction", "button", "interactive"):
        assert f'data-type="{kind}"' in thread, kind
    assert "openstreetmap.org/?mlat=" in thread and "Philz Coffee" in thread
    assert "+1 650 ••• 1234" in thread and "16505551234" not in thread
    again = (await client.get("/inbox")).text
    assert 'class="conv unread"' not in again, "opening the thread marks it read"
    assert f'data-id="{conversation_id}" data-unread="0"' in again


async def test_supervisors_see_the_full_number(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    conversation_id, _ = await first_conversation(client)
    assert "+16505551234" in (await client.get(f"/inbox/{conversation_id}")).text


async def test_search_finds_words_of_messages(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Location Message", "openapi/Image Message")
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    hit = await client.get("/inbox", params={"q": "coff"})
    assert "Sheena Nelson" in hit.text
    miss = await client.get("/inbox", params={"q": "zebra"})
    assert "Sheena Nelson" not in miss.text and "No conversations." in miss.text


async def test_shredding_removes_the_words_from_the_search_index(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Location Message")
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    assert "Sheena Nelson" in (await client.get("/inbox", params={"q": "philz"})).text
    conversation_id, _ = await first_conversation(client)
    with components.reader() as uow:
        subject = uow.conversations.get(conversation_id).subject_id
    shred_subject(
        components.writer,
        subject,
        reason="Art. 17",
        by="test",
        now=datetime.now(UTC),
        tz=components.timezone,
        scrub=components.scrub,
    )
    after = await client.get("/inbox", params={"q": "philz"})
    assert "No conversations." in after.text


async def test_assign_label_note_and_close(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid, page = await first_conversation(client)
    csrf = csrf_of(page)
    for action, data in (
        ("assign", {"user_id": "me"}),
        ("label", {"label": "Rückruf"}),
        ("note", {"note": "Customer prefers mornings"}),
    ):
        response = await client.post(f"/inbox/{cid}/{action}", data={**data, "csrf": csrf})
        assert response.status_code == 303, (action, response.text)
    thread = (await client.get(f"/inbox/{cid}")).text
    assert "Customer prefers mornings" in thread and "Rückruf" in thread
    assert "Sheena Nelson" in (await client.get("/inbox", params={"view": "mine"})).text
    assert "No conversations." in (await client.get("/inbox?view=unassigned")).text
    labelled = await client.get("/inbox", params={"label": "Rückruf"})
    assert "Sheena Nelson" in labelled.text
    closed = await client.post(f"/inbox/{cid}/status", data={"status": "closed", "csrf": csrf})
    assert closed.status_code == 303
    assert "No conversations." in (await client.get("/inbox")).text
    assert "Sheena Nelson" in (await client.get("/inbox?status=closed")).text
    kinds = {e for e in _kinds(components)}
    assert {"inbox.assigned", "inbox.labelled", "inbox.note", "inbox.closed"} <= kinds


def _kinds(components: Components) -> list[str]:
    from sqlalchemy import select

    from chatproof.store import tables as t

    with components.engine.connect() as conn:
        return list(conn.execute(select(t.log_entries.c.kind)).scalars())


async def test_agents_cannot_open_what_is_assigned_to_someone_else(
    client: httpx.AsyncClient,
    client_for: object,
    components: Components,
    settings: Settings,
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    add(components, "jonas", Role.AGENT)
    await sign_in(client, "maria")
    cid, page = await first_conversation(client)
    await client.post(f"/inbox/{cid}/assign", data={"user_id": "me", "csrf": csrf_of(page)})
    other = await client_for(components)  # type: ignore[operator]
    other.headers["Accept-Language"] = "en"
    await sign_in(other, "jonas")
    assert "No conversations." in (await other.get("/inbox")).text
    assert (await other.get(f"/inbox/{cid}")).status_code == 403
    home = await other.get("/inbox")
    forced = await other.post(f"/inbox/{cid}/note", data={"note": "sneaky", "csrf": csrf_of(home)})
    assert forced.status_code == 403


async def test_the_dpo_sees_who_read_what_and_agents_get_403(
    client: httpx.AsyncClient,
    client_for: object,
    components: Components,
    settings: Settings,
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    secret = add(components, "dana", Role.DPO)
    await sign_in(client, "maria")
    cid, _ = await first_conversation(client)
    await client.get(f"/inbox/{cid}")
    assert (await client.get("/dpo/access-log")).status_code == 403
    dpo = await client_for(components)  # type: ignore[operator]
    await sign_in(dpo, "dana", secret=secret)
    log = (await dpo.get("/dpo/access-log")).text
    assert "user:maria" in log and f"conversation:{cid}" in log


async def test_every_page_an_auditor_views_is_logged(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    with components.reader() as uow:
        cid = uow.conversations.list(limit=1, cursor=None, status=None).items[0].id
    secret = add(components, "audit", Role.AUDITOR)
    now = datetime.now(UTC)
    today = now.astimezone(components.timezone).date()  # audit periods are business days
    set_scope(components.writer, "audit", date(2020, 1, 1), today, by="t", now=now,
              tz=components.timezone)  # fmt: skip
    await sign_in(client, "audit", secret=secret)
    assert (await client.get(f"/inbox/{cid}")).status_code == 403  # the audit workspace only
    assert (await client.get(f"/audit/conversations/{cid}")).status_code == 200
    forbidden = await client.post(
        f"/inbox/{cid}/note", data={"note": "x", "csrf": csrf_of(await client.get("/audit"))}
    )
    assert forbidden.status_code == 403
    from sqlalchemy import select

    from chatproof.store import tables as t

    with components.engine.connect() as conn:
        rows = conn.execute(
            select(t.access_log.c.action, t.access_log.c.target).where(
                t.access_log.c.actor == "user:audit"
            )
        ).all()
    assert ("view_page", f"/audit/conversations/{cid}") in rows
    assert ("audit_view", f"conversation:{cid}") in rows


async def test_live_updates_change_the_version(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    before = (await client.get("/inbox/updates")).json()["version"]
    await deliver(client, settings, "openapi/Text Message")
    after = (await client.get("/inbox/updates")).json()["version"]
    assert before != after
    listing = await client.get("/inbox/fragment/list")
    assert "Sheena Nelson" in listing.text


async def test_bad_filters_are_400_naming_the_field(
    client: httpx.AsyncClient, components: Components
) -> None:
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    response = await client.get("/inbox", params={"view": "everything"})
    assert response.status_code == 400 and "view:" in response.json()["detail"]
    assert (await client.get("/inbox", params={"cursor": "nonsense"})).status_code == 400
    assert accounts.list_users(components.reader)


async def test_a_supervisor_makes_one_message_a_booking_voucher(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message", "openapi/Image Message")
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    cid, _ = await first_conversation(client)
    page = await client.get(f"/inbox/{cid}")
    assert 'id="retention">business_letter' in page.text and 'data-retention="' not in page.text
    # not the latest stored message, whose class the conversation shows
    links = re.findall(rf"/inbox/{cid}/messages/(\d+)/retention", page.text)
    message_id = min(int(i) for i in links)
    form = await client.get(f"/inbox/{cid}/messages/{message_id}/retention")
    assert form.status_code == 200 and 'name="retention_class"' in form.text
    changed = await client.post(
        f"/inbox/{cid}/message-retention",
        data={
            "message_id": str(message_id),
            "retention_class": "booking_voucher",
            "reason": "Rechnung 2026-114 per Chat",
            "csrf": csrf_of(page),
        },
    )
    assert changed.status_code == 303, changed.text
    after = (await client.get(f"/inbox/{cid}")).text
    assert 'data-retention="booking_voucher"' in after
    assert "retention.reclassified" in _kinds(components)
    no_reason = await client.post(
        f"/inbox/{cid}/retention",
        data={"retention_class": "booking_voucher", "reason": "", "csrf": csrf_of(page)},
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]


async def test_agents_cannot_change_retention_classes(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    await sign_in(client, "maria")
    cid, page = await first_conversation(client)
    assert "/retention" not in (await client.get(f"/inbox/{cid}")).text
    assert (await client.get(f"/inbox/{cid}/messages/1/retention")).status_code == 403
    refused = await client.post(
        f"/inbox/{cid}/retention",
        data={"retention_class": "booking_voucher", "reason": "x", "csrf": csrf_of(page)},
    )
    assert refused.status_code == 403


async def test_the_panel_shows_a_legal_hold_and_the_dpo_filters_the_access_log(
    client: httpx.AsyncClient,
    client_for: object,
    components: Components,
    settings: Settings,
) -> None:
    await deliver(client, settings, "openapi/Text Message")
    add(components, "maria", Role.AGENT)
    secret = add(components, "dana", Role.DPO)
    await sign_in(client, "maria")
    cid, _ = await first_conversation(client)
    with components.writer() as uow:
        subject = uow.conversations.get(cid).subject_id
        uow.holds.place(subject, "LG Berlin 4 O 17/26", "test", datetime.now(UTC))
        uow.commit()
    assert 'id="legal-hold">Legal hold: <strong>yes' in (await client.get(f"/inbox/{cid}")).text
    dpo = await client_for(components)  # type: ignore[operator]
    dpo.headers["Accept-Language"] = "en"
    await sign_in(dpo, "dana", secret=secret)
    page = (await dpo.get(f"/inbox/{cid}")).text
    assert f"/dpo/access-log?target=conversation:{cid}" in page
    person = re.search(r'href="(/dpo/person-access\?contact=\d+)"', page)
    assert person and (await dpo.get(person.group(1))).status_code == 200
    log = await dpo.get("/dpo/access-log", params={"target": f"conversation:{cid}"})
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", log.text)
    assert "user:maria" in rows and "user:dana" in rows
    only_maria = await dpo.get("/dpo/access-log", params={"actor": "user:maria"})
    assert set(re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", only_maria.text)) == {"user:maria"}


async def test_an_agents_api_token_reaches_what_the_agent_reaches(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    await deliver(client, settings, "openapi/Text Message", "openapi/Image Message")
    add(components, "maria", Role.AGENT)
    add(components, "jonas", Role.AGENT)
    now = datetime.now(UTC)
    jonas_token = accounts.create_api_token(components.writer, "test", now, "jonas", "x")
    mine = {"Authorization": f"Bearer {jonas_token}"}
    listed = (await client.get("/api/conversations", headers=mine)).json()["items"]
    (conversation,) = listed
    cid = conversation["id"]
    await sign_in(client, "maria")
    page = await client.get("/inbox")
    await client.post(f"/inbox/{cid}/assign", data={"user_id": "me", "csrf": csrf_of(page)})
    assert (await client.get("/api/conversations", headers=mine)).json()["items"] == []
    refused = await client.get(f"/api/conversations/{cid}/messages", headers=mine)
    assert refused.status_code == 403
    with components.reader() as uow:
        image = next(m for m in uow.sealed.messages(conversation_id=cid) if m.media_state)
    media = await client.get(f"/api/messages/{image.id}/media", headers=mine)
    assert media.status_code == 403
    installation = {"Authorization": f"Bearer {settings.server.api_token}"}
    assert (await client.get(f"/api/conversations/{cid}/messages", headers=installation)).is_success


async def test_a_failed_outbound_message_shows_the_reason(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    echo = json.loads(sample_body("outgoing_message/text"))
    sent = echo["entry"][0]["changes"][0]["value"]["message_echoes"][0]
    sent.update({"to": "972987654321", "id": "wamid.xyzxyz", "from": "972123456789"})
    for body in (json.dumps(echo).encode(), sample_body("message_status/failed")):
        response = await client.post(
            "/webhooks/whatsapp", content=body, headers=signed(body, settings)
        )
        assert response.status_code == 200
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    cid, _ = await first_conversation(client)
    thread = (await client.get(f"/inbox/{cid}")).text
    assert 'data-state="failed"' in thread
    assert '<span class="failure">Platform error 130472</span>' in thread


MEDIA = ["message/video", "message/document", "message/audio", "message/voice"]


async def test_media_messages_and_a_message_the_customer_deleted(
    client: httpx.AsyncClient, components: Components, settings: Settings
) -> None:
    wa_id = "972987654321"
    for number, name in enumerate([*MEDIA, "message/static_sticker", "deleted_message/revoke"]):
        sample = json.loads(sample_body(name))
        value = sample["entry"][0]["changes"][0]["value"]
        message = value["messages"][0]
        message.update({"from": wa_id, "id": f"wamid.media{number}"})
        if value.get("contacts"):
            value["contacts"][0]["wa_id"] = wa_id
        if message["type"] == "revoke":
            message["revoke"]["original_message_id"] = "wamid.media0"
        body = json.dumps(sample).encode()
        response = await client.post(
            "/webhooks/whatsapp", content=body, headers=signed(body, settings)
        )
        assert response.status_code == 200, name
    add(components, "lead", Role.SUPERVISOR)
    await sign_in(client, "lead")
    cid, _ = await first_conversation(client)
    thread = (await client.get(f"/inbox/{cid}")).text
    for kind in ("video", "document", "audio", "voice", "sticker"):
        assert f'data-type="{kind}"' in thread, kind
    assert "Media is being fetched" in thread
    assert "deleted by the customer" in thread
