"""Reading conversations back: newest first, paginated by cursor, every read logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.conversations import list_conversations, read_messages
from chatproof.services.ingest import Received, ingest
from chatproof.store import NotFound, UnitOfWork
from chatproof.store import tables as t
from tests.support.samples import webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def inbound(wa_id: str, wamid: str, text: str, at: datetime, **extra: object) -> Received:
    body = json.loads(json.dumps(webhook_samples()["message/text"]))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    message = value["messages"][0]
    message.update(id=wamid, timestamp=str(int(at.timestamp())), text={"body": text}, **extra)
    message["from"] = wa_id
    raw = json.dumps(body).encode()
    return Received(raw, parse_webhook(raw))


def test_conversations_are_listed_newest_first_across_pages(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    for i in range(5):
        at = NOW - timedelta(hours=5 - i)
        ingest([inbound(f"49151000000{i}", f"wamid.{i}", f"hi {i}", at)], uow_factory, NOW)
    first = list_conversations(uow_factory, "test", NOW, limit=2)
    second = list_conversations(uow_factory, "test", NOW, limit=2, cursor=first.next_cursor)
    third = list_conversations(uow_factory, "test", NOW, limit=2, cursor=second.next_cursor)
    numbers = [c.wa_id for page in (first, second, third) for c in page.items]
    assert numbers == [f"49151000000{i}" for i in (4, 3, 2, 1, 0)]
    assert third.next_cursor is None


def test_a_foreign_cursor_is_refused(uow_factory: Callable[[], UnitOfWork]) -> None:
    with pytest.raises(ValueError, match="cursor"):
        list_conversations(uow_factory, "test", NOW, cursor="bm9wZQ")


def test_messages_page_backwards_and_resolve_quotes(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    wa = "4915112344567"
    ingest([inbound(wa, "wamid.a", "Frage", NOW - timedelta(minutes=3))], uow_factory, NOW)
    ingest([inbound(wa, "wamid.b", "Noch was", NOW - timedelta(minutes=2))], uow_factory, NOW)
    quoted = inbound(
        wa, "wamid.c", "Antwort", NOW - timedelta(minutes=1), context={"id": "wamid.a"}
    )
    ingest([quoted], uow_factory, NOW)
    (conversation,) = list_conversations(uow_factory, "test", NOW).items
    assert (conversation.message_count, conversation.unread_count) == (3, 3)
    assert conversation.window_ends == NOW - timedelta(minutes=1) + timedelta(hours=24)

    _, newest = read_messages(uow_factory, "test", NOW, conversation.id, limit=2)
    assert [m.text for m in newest.items] == ["Antwort", "Noch was"]
    older_id = int(newest.next_cursor or 0)
    _, older = read_messages(uow_factory, "test", NOW, conversation.id, limit=2, before=older_id)
    assert [m.text for m in older.items] == ["Frage"]
    assert newest.items[0].reply_to == older.items[0].id


def test_every_read_is_logged_with_who_and_what(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ingest([inbound("4915112344567", "wamid.a", "Hallo", NOW)], uow_factory, NOW)
    (conversation,) = list_conversations(uow_factory, "alice", NOW).items
    read_messages(uow_factory, "bob", NOW, conversation.id)
    with engine.connect() as conn:
        log = conn.execute(
            select(t.access_log.c.actor, t.access_log.c.action, t.access_log.c.target)
        )
        assert list(log) == [
            ("alice", "list_conversations", f"conversations:{conversation.id}"),
            ("bob", "read_messages", f"conversation:{conversation.id}"),
        ]


def test_every_read_is_a_log_entry_too(uow_factory: Callable[[], UnitOfWork]) -> None:
    ingest([inbound("4915112344567", "wamid.a", "Hallo", NOW)], uow_factory, NOW)
    (conversation,) = list_conversations(uow_factory, "alice", NOW).items
    read_messages(uow_factory, "bob", NOW, conversation.id)
    with uow_factory() as uow:
        docs = [json.loads(leaf) for _, leaf in uow.log.iter_leaves()]
    reads = [d for d in docs if d["kind"] == "access.read"]
    assert [r["attributes"] for r in reads] == [
        {"actor": "alice", "action": "list_conversations", "conversations": [conversation.id]},
        {"actor": "bob", "action": "read_messages", "conversations": [conversation.id]},
    ]
    assert reads[1]["subject"] == conversation.subject_id


def test_unknown_conversations_are_not_found(uow_factory: Callable[[], UnitOfWork]) -> None:
    with pytest.raises(NotFound, match="conversation 999 not found"):
        read_messages(uow_factory, "test", NOW, 999)
