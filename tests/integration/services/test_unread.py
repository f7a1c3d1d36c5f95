"""Unread counts per person on both backends: what one colleague opens stays unread for the
other, new inbound messages raise everyone's count, marking unread takes back one message, a
new colleague starts with the past read, and an upgrade keeps what the team counter showed."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, text

from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.accounts import Principal, Role
from chatproof.domain.team_inbox import View
from chatproof.services import inbox
from chatproof.services.accounts import add_user
from chatproof.services.ingest import Received, ingest
from chatproof.store import UnitOfWork
from chatproof.store.database import MIGRATIONS
from tests.support.samples import webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OTHER, THIRD = "4915112345678", "4915199999999"
Factory = Callable[[], UnitOfWork]


def deliver(
    uow_factory: Factory,
    wamid: str,
    at: datetime,
    *,
    customer: str = "16505551234",
    reaction_to: str = "",
) -> int:
    """One inbound message sent (and received) at ``at``; its conversation's id."""
    sample = json.loads(json.dumps(webhook_samples()["openapi/Text Message"]))
    value = sample["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = customer
    message = value["messages"][0]
    message.update(id=wamid, timestamp=str(int(at.timestamp())), **{"from": customer})
    if reaction_to:
        message.pop("text")
        message.update(type="reaction", reaction={"message_id": reaction_to, "emoji": "👍"})
    body = json.dumps(sample).encode()
    ingest([Received(body, batch=parse_webhook(body))], uow_factory, at)
    with uow_factory() as uow:
        page = uow.conversations.list(limit=50, cursor=None, status=None)
    return next(c.id for c in page.items if c.wa_id == customer)


def migration(name: str) -> ModuleType:
    path = MIGRATIONS / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def person(uow_factory: Factory, username: str, role: Role, at: datetime) -> Principal:
    user, _ = add_user(uow_factory, "test", at, username=username, role=role, password="x" * 12)
    return Principal(user.actor, user)


def unread(uow_factory: Factory, who: Principal, view: View = View.ALL) -> dict[int, int]:
    page = inbox.list_inbox(uow_factory, who, NOW + timedelta(days=1), view=view)
    return {row.conversation.id: row.unread for row in page.items}


def team_counter(uow_factory: Factory, conversation_id: int) -> int:
    with uow_factory() as uow:
        return uow.conversations.get(conversation_id).unread_count


def test_what_one_colleague_opens_stays_unread_for_the_other(uow_factory: Factory) -> None:
    anna = person(uow_factory, "anna", Role.AGENT, NOW)
    ben = person(uow_factory, "ben", Role.SUPERVISOR, NOW)
    deliver(uow_factory, "wamid.u1", NOW + timedelta(minutes=1))
    c = deliver(uow_factory, "wamid.u2", NOW + timedelta(minutes=2))
    assert unread(uow_factory, anna) == {c: 2} and unread(uow_factory, ben) == {c: 2}

    inbox.open_thread(uow_factory, anna, NOW + timedelta(minutes=3), c)
    assert unread(uow_factory, anna) == {c: 0}
    assert unread(uow_factory, ben) == {c: 2}, "Ben has not seen them"
    assert unread(uow_factory, anna, View.UNREAD) == {}
    assert unread(uow_factory, ben, View.UNREAD) == {c: 2}
    assert team_counter(uow_factory, c) == 0, "the team counter: someone who replies opened it"

    deliver(uow_factory, "wamid.u3", NOW + timedelta(minutes=4))
    assert unread(uow_factory, anna) == {c: 1} and unread(uow_factory, ben) == {c: 3}
    assert team_counter(uow_factory, c) == 1


def test_reactions_edits_and_revocations_do_not_count(uow_factory: Factory) -> None:
    anna = person(uow_factory, "anna", Role.AGENT, NOW)
    c = deliver(uow_factory, "wamid.r1", NOW + timedelta(minutes=1))
    inbox.open_thread(uow_factory, anna, NOW + timedelta(minutes=2), c)
    deliver(uow_factory, "wamid.r2", NOW + timedelta(minutes=3), reaction_to="wamid.r1")
    assert unread(uow_factory, anna) == {c: 0}
    with uow_factory() as uow:
        assert uow.conversations.get(c).message_count == 2


def test_marking_unread_takes_back_one_message_for_that_person_only(
    uow_factory: Factory,
) -> None:
    anna = person(uow_factory, "anna", Role.AGENT, NOW)
    ben = person(uow_factory, "ben", Role.AGENT, NOW)
    for n in range(3):
        c = deliver(uow_factory, f"wamid.m{n}", NOW + timedelta(minutes=1 + n))
    for who in (anna, ben):
        inbox.open_thread(uow_factory, who, NOW + timedelta(minutes=5), c)

    assert inbox.mark_unread(uow_factory, anna, NOW + timedelta(minutes=6), c) == 1
    assert unread(uow_factory, anna) == {c: 1} and unread(uow_factory, ben) == {c: 0}
    assert inbox.mark_unread(uow_factory, anna, NOW + timedelta(minutes=7), c) == 1, (
        "an unread conversation stays as it is"
    )
    assert inbox.unread_summary(uow_factory, anna).counts == {c: 1}
    assert inbox.unread_summary(uow_factory, ben).counts == {}


def test_a_new_colleague_starts_with_the_past_read_and_sees_what_comes_after(
    uow_factory: Factory,
) -> None:
    deliver(uow_factory, "wamid.old1", NOW + timedelta(minutes=1))
    first = deliver(uow_factory, "wamid.old2", NOW + timedelta(minutes=2))
    second = deliver(uow_factory, "wamid.other", NOW + timedelta(minutes=3), customer=OTHER)
    clara = person(uow_factory, "clara", Role.SUPERVISOR, NOW + timedelta(hours=1))
    assert unread(uow_factory, clara) == {first: 0, second: 0}

    deliver(uow_factory, "wamid.new1", NOW + timedelta(hours=2))
    deliver(uow_factory, "wamid.new2", NOW + timedelta(hours=3))
    third = deliver(uow_factory, "wamid.third", NOW + timedelta(hours=4), customer=THIRD)
    assert unread(uow_factory, clara) == {first: 2, second: 0, third: 1}
    assert inbox.unread_summary(uow_factory, clara).counts == {first: 2, third: 1}
    counts = inbox.unread_counts(uow_factory, clara, [first, second, third])
    assert counts == {first: 2, second: 0, third: 1}


def test_the_unread_total_stays_within_an_agents_reach(uow_factory: Factory) -> None:
    anna = person(uow_factory, "anna", Role.AGENT, NOW)
    ben = person(uow_factory, "ben", Role.AGENT, NOW)
    lead = person(uow_factory, "lead", Role.SUPERVISOR, NOW)
    first = deliver(uow_factory, "wamid.a", NOW + timedelta(minutes=1))
    second = deliver(uow_factory, "wamid.b", NOW + timedelta(minutes=2), customer=OTHER)
    assert ben.user is not None
    inbox.assign(uow_factory, lead, NOW + timedelta(minutes=3), second, ben.user.id)

    summary = inbox.unread_summary(uow_factory, anna)
    assert summary.counts == {first: 1} and summary.conversations == 1 and summary.messages == 1
    assert inbox.unread_summary(uow_factory, ben).counts == {first: 1, second: 1}
    assert inbox.unread_summary(uow_factory, lead).conversations == 2
    installation = Principal("api")
    assert inbox.unread_summary(uow_factory, installation).counts == {}
    assert inbox.unread_counts(uow_factory, installation, [first]) is None


def test_upgrading_keeps_what_the_team_counter_showed(uow_factory: Factory, engine: Engine) -> None:
    anna = person(uow_factory, "anna", Role.AGENT, NOW)
    deliver(uow_factory, "wamid.x1", NOW + timedelta(minutes=1))
    first = deliver(uow_factory, "wamid.x2", NOW + timedelta(minutes=2))
    second = deliver(uow_factory, "wamid.y1", NOW + timedelta(minutes=3), customer=OTHER)
    inbox.open_thread(uow_factory, anna, NOW + timedelta(minutes=4), second)
    deliver(uow_factory, "wamid.x3", NOW + timedelta(minutes=5))
    assert team_counter(uow_factory, first) == 3 and team_counter(uow_factory, second) == 0

    # as 0019 left it: no per-person state, no inbound counts; then 0020 fills them
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM read_states"))
        conn.execute(text("DELETE FROM read_baselines"))
        conn.execute(text("UPDATE conversations SET inbound_count = 0"))
        with Operations.context(MigrationContext.configure(conn)):
            migration("0020_per_user_read_state")._fill()

    assert unread(uow_factory, anna) == {first: 3, second: 0}
    deliver(uow_factory, "wamid.y2", NOW + timedelta(days=2), customer=OTHER)
    assert unread(uow_factory, anna) == {second: 1, first: 3}
    inbox.open_thread(uow_factory, anna, NOW + timedelta(days=2), first)
    assert unread(uow_factory, anna) == {second: 1, first: 0}
    another = person(uow_factory, "dora", Role.AGENT, NOW + timedelta(days=3))
    assert unread(uow_factory, another) == {second: 0, first: 0}
