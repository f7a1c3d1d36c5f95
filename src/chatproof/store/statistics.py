"""The raw facts team statistics are computed from: message times and states, conversations
opened and closed, consent events and refused sends, all within a time range. Nothing here
reads personal content."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime

from sqlalchemy import Connection, select

from chatproof.store import tables as t


class StatisticsRepository(ABC):
    """Contract: every method MUST return only facts with ``start <= time < end``, in time
    order."""

    @abstractmethod
    def messages(self, start: datetime, end: datetime) -> list[tuple[int, str, datetime, str]]:
        """(conversation, direction, sent at, delivery state)."""

    @abstractmethod
    def opened(self, start: datetime, end: datetime) -> list[datetime]: ...

    @abstractmethod
    def closed(self, start: datetime, end: datetime) -> list[tuple[datetime, float | None]]:
        """(closed at, seconds since the conversation was opened)."""

    @abstractmethod
    def consents(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]: ...

    @abstractmethod
    def sends(self, start: datetime, end: datetime) -> list[tuple[datetime, str, str, str]]:
        """(created at, actor, state, rule id) of every message the business tried to send."""


class SqlAlchemyStatisticsRepository(StatisticsRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def messages(self, start: datetime, end: datetime) -> list[tuple[int, str, datetime, str]]:
        m = t.messages.c
        rows = self.conn.execute(
            select(m.conversation_id, m.direction, m.sent_at, m.state)
            .where(m.sent_at >= start, m.sent_at < end)
            .order_by(m.sent_at)
        )
        return [(r.conversation_id, r.direction, r.sent_at, r.state or "") for r in rows]

    def opened(self, start: datetime, end: datetime) -> list[datetime]:
        c = t.conversations.c
        query = select(c.created_at).where(c.created_at >= start, c.created_at < end)
        return sorted(self.conn.execute(query).scalars())

    def closed(self, start: datetime, end: datetime) -> list[tuple[datetime, float | None]]:
        e = t.log_entries.c
        rows = self.conn.execute(
            select(e.appended_at, e.leaf)
            .where(e.kind == "inbox.closed", e.appended_at >= start, e.appended_at < end)
            .order_by(e.idx)
        ).all()
        closing = [(r.appended_at, json.loads(r.leaf)["attributes"]["conversation"]) for r in rows]
        ids = {conversation for _, conversation in closing}
        c = t.conversations.c
        created = (
            {
                r.id: r.created_at
                for r in self.conn.execute(select(c.id, c.created_at).where(c.id.in_(ids)))
            }
            if ids
            else {}
        )
        return [
            (at, (at - created[cid]).total_seconds() if cid in created else None)
            for at, cid in closing
        ]

    def consents(self, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
        k = t.consent_events.c
        rows = self.conn.execute(
            select(k.at, k.action).where(k.at >= start, k.at < end).order_by(k.at)
        )
        return [(r.at, r.action) for r in rows]

    def sends(self, start: datetime, end: datetime) -> list[tuple[datetime, str, str, str]]:
        o = t.outbox.c
        rows = self.conn.execute(
            select(o.created_at, o.actor, o.state, o.rule_id)
            .where(o.created_at >= start, o.created_at < end)
            .order_by(o.created_at)
        )
        return [(r.created_at, r.actor, r.state, r.rule_id or "") for r in rows]
