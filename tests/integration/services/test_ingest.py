"""Ingest stores what every published webhook sample carries, exactly once, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import StatementError

from chatproof.archive.errors import ContentErased
from chatproof.channels.errors import PayloadError
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.messages import WebhookBatch
from chatproof.services.archive import resolve_entry
from chatproof.services.erasure import shred_subject
from chatproof.services.ingest import Received, ingest
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from tests.integration.conftest import PSEUDONYMS
from tests.support.databases import unseal
from tests.support.samples import sample_body, webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def received(body: bytes) -> Received:
    return Received(body, batch=parse_webhook(body))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def expected_rows(body: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]], int]:
    """(message ids, (status id, status) pairs, number of other events) a body carries,
    counted straight from its JSON."""
    message_ids: set[str] = set()
    statuses: set[tuple[str, str]] = set()
    events = 0
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            if change["field"] == "calls":
                events += sum(len(value.get(k, [])) for k in ("calls", "statuses", "errors"))
                continue
            if change["field"] not in ("messages", "smb_message_echoes", "user_preferences"):
                events += 1
                continue
            message_ids |= {m["id"] for m in value.get("messages", [])}
            message_ids |= {m["id"] for m in value.get("message_echoes", [])}
            statuses |= {(s["id"], s["status"]) for s in value.get("statuses", [])}
            events += len(value.get("errors", [])) + len(value.get("user_preferences", []))
    return message_ids, statuses, events


@pytest.mark.parametrize("name", sorted(webhook_samples()))
def test_each_sample_is_stored_completely(
    name: str, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    body = sample_body(name)
    report = ingest([received(body)], uow_factory, NOW)

    message_ids, statuses, events = expected_rows(webhook_samples()[name])
    assert (report.counts.messages, report.counts.statuses, report.counts.events) == (
        len(message_ids),
        len(statuses),
        events,
    )
    with engine.connect() as conn, uow_factory() as uow:
        (stored_body,) = conn.execute(select(t.webhook_deliveries.c.body)).scalars()
        assert stored_body != body
        assert unseal(uow, stored_body) == body
        rows = conn.execute(select(t.messages)).all()
        assert {unseal(uow, r.platform_id).decode() for r in rows} == message_ids
        assert {r.platform_id_hash for r in rows} == {
            PSEUDONYMS.hash("wamid", i) for i in message_ids
        }
        for row in rows:
            assert json.loads(unseal(uow, row.raw))["id"] == unseal(uow, row.platform_id).decode()
        stored_statuses = conn.execute(select(t.statuses.c.platform_id_hash, t.statuses.c.status))
        assert set(stored_statuses) == {(PSEUDONYMS.hash("wamid", i), s) for i, s in statuses}
    assert count(engine, t.platform_events) == events
    assert count(engine, t.quarantine) == 0


def test_redelivery_is_stored_once(engine: Engine, uow_factory: Callable[[], UnitOfWork]) -> None:
    body = sample_body("message/text")
    ingest([received(body), received(body)], uow_factory, NOW)
    again = ingest([received(body)], uow_factory, NOW)
    assert again.counts.messages == 0 and again.counts.duplicate_messages == 1
    assert count(engine, t.messages) == 1
    assert count(engine, t.webhook_deliveries) == 3
    with engine.connect() as conn:
        conversation = conn.execute(select(t.conversations)).one()
    assert (conversation.message_count, conversation.unread_count) == (1, 1)


def test_a_messages_wamid_finds_its_log_entry_through_the_message(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([_echo("wamid.first"), received(sample_body("message/text"))], uow_factory, NOW)
    ingest([_echo("wamid.second")], uow_factory, NOW)
    for wamid in ("wamid.first", "wamid.second"):
        index = resolve_entry(uow_factory, wamid, PSEUDONYMS)
        with uow_factory() as uow:
            entry = uow.log.entry(index)
        assert entry is not None and entry.kind == "message.outbound"
        assert entry.platform_id_hash == PSEUDONYMS.hash("wamid", wamid)
        with engine.connect() as conn:
            linked = conn.execute(
                select(t.messages.c.log_index).where(
                    t.messages.c.platform_id_hash == entry.platform_id_hash
                )
            ).scalar_one()
        assert linked == index


def test_a_customer_who_writes_again_after_erasure_can_be_answered(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([received(sample_body("message/text"))], uow_factory, NOW)
    with engine.connect() as conn:
        subject = conn.execute(select(t.contacts.c.subject_id)).scalar_one()
    shred_subject(
        uow_factory, subject, reason="Art. 17", by="dpo", now=NOW, tz=BERLIN, scrub=lambda: None
    )
    later = NOW + timedelta(days=40)
    body = sample_body("message/text").replace(b"wamid.", b"wamid.again.")
    ingest([received(body)], uow_factory, later)
    with engine.connect() as conn:
        contact = conn.execute(select(t.contacts)).one()
        texts = conn.execute(select(t.messages.c.text).order_by(t.messages.c.id)).scalars().all()
    with uow_factory() as uow:
        assert unseal(uow, contact.wa_id).decode() == parse_webhook(body).messages[0].customer_wa_id
        assert unseal(uow, contact.name)
        assert unseal(uow, texts[1])
        with pytest.raises(ContentErased):
            unseal(uow, texts[0])


def _status_body(wamid: str, status: str, ts: int, error: int | None = None) -> bytes:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(ts),
        "recipient_id": "4915112344567",
    }
    if error:
        item["errors"] = [{"code": error, "title": "Message undeliverable"}]
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1122334455667"},
                                "statuses": [item],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def _echo(wamid: str) -> Received:
    """A message the business sent from another device, with a known id."""
    body = json.loads(sample_body("outgoing_message/text"))
    body["entry"][0]["changes"][0]["value"]["message_echoes"][0]["id"] = wamid
    return received(json.dumps(body).encode())


def _state(engine: Engine) -> tuple[str, int | None]:
    with engine.connect() as conn:
        row = conn.execute(select(t.messages.c.state, t.messages.c.error_code)).one()
    return row.state, row.error_code


def test_statuses_out_of_order_never_move_a_message_backwards(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([_echo("wamid.yyyyyy")], uow_factory, NOW)
    wamid = "wamid.yyyyyy"
    for status, ts in [("read", 30), ("sent", 10), ("delivered", 20)]:
        ingest([received(_status_body(wamid, status, ts))], uow_factory, NOW)
        assert _state(engine) == ("read", None)


def test_failed_is_final(engine: Engine, uow_factory: Callable[[], UnitOfWork]) -> None:
    ingest([_echo("wamid.yyyyyy")], uow_factory, NOW)
    ingest([received(_status_body("wamid.yyyyyy", "failed", 15, error=131026))], uow_factory, NOW)
    ingest([received(_status_body("wamid.yyyyyy", "read", 30))], uow_factory, NOW)
    assert _state(engine) == ("failed", 131026)


def test_statuses_that_arrive_before_their_message_apply_once_it_exists(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([received(_status_body("wamid.yyyyyy", "delivered", 20))], uow_factory, NOW)
    ingest([_echo("wamid.yyyyyy")], uow_factory, NOW)
    assert _state(engine) == ("delivered", None)


def test_a_body_that_cannot_be_parsed_is_quarantined_verbatim(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": "?"}'
    report = ingest(
        [Received(body, error=PayloadError("expected a list", "entry"))], uow_factory, NOW
    )
    assert report.quarantined == 1
    with engine.connect() as conn, uow_factory() as uow:
        row = conn.execute(select(t.quarantine)).one()
        kept = unseal(uow, row.body)
    assert (kept, row.reason, row.path, row.resolved_at) == (
        body,
        "expected a list",
        "entry",
        None,
    )
    assert count(engine, t.webhook_deliveries) == 0


def test_a_group_is_all_or_nothing(engine: Engine, uow_factory: Callable[[], UnitOfWork]) -> None:
    good = received(sample_body("message/text"))
    (message,) = received(sample_body("message/video")).batch.messages
    naive = replace(message, platform_id="wamid.new", sent_at=message.sent_at.replace(tzinfo=None))
    bad = Received(b"{}", batch=WebhookBatch(messages=(naive,)))
    with pytest.raises((StatementError, ValueError), match=r"naive datetime|timezone-aware"):
        ingest([good, bad], uow_factory, NOW)
    assert count(engine, t.messages) == 0
    assert count(engine, t.webhook_deliveries) == 0


def test_profile_names_follow_the_latest_webhook(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    body = webhook_samples()["message/text"]
    renamed = json.loads(json.dumps(body))
    renamed["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Neu Name"
    renamed["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.other"
    ingest([received(json.dumps(body).encode())], uow_factory, NOW)
    ingest([received(json.dumps(renamed).encode())], uow_factory, NOW + timedelta(minutes=1))
    with engine.connect() as conn, uow_factory() as uow:
        (name,) = conn.execute(select(t.contacts.c.name)).scalars()
        assert unseal(uow, name) == b"Neu Name"
    assert count(engine, t.contacts) == 1


def test_media_messages_are_queued_for_download(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([received(sample_body("message/image"))], uow_factory, NOW)
    with uow_factory() as uow:
        (due,) = uow.media.due(NOW, 10)
    assert due.media_id == "65463453" and due.attempts == 0


def test_edits_and_revokes_mark_the_original(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([_echo("wamid.yyyyyy")], uow_factory, NOW)
    original = webhook_samples()["outgoing_message/delete"]
    revoke = json.loads(json.dumps(original))
    echo = revoke["entry"][0]["changes"][0]["value"]["message_echoes"][0]
    echo["id"] = "wamid.revocation"
    echo["revoke"]["original_message_id"] = "wamid.yyyyyy"
    ingest([received(json.dumps(revoke).encode())], uow_factory, NOW)
    with engine.connect() as conn:
        revoked = conn.execute(
            select(t.messages.c.revoked_at).where(
                t.messages.c.platform_id_hash == PSEUDONYMS.hash("wamid", "wamid.yyyyyy")
            )
        ).scalar_one()
    assert revoked is not None
