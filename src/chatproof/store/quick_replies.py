"""Quick replies kept in the database, so an admin can change them in the browser."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from chatproof.store import tables as t


class QuickReplyRepository(ABC):
    """Contract: names are unique; ``all`` MUST return them sorted by name."""

    @abstractmethod
    def all(self) -> dict[str, str]: ...

    @abstractmethod
    def save(self, name: str, text: str, by: str, at: datetime) -> str | None:
        """Store ``text`` under ``name``; return the text it replaced, if any."""

    @abstractmethod
    def delete(self, name: str) -> str | None:
        """Return the text that was deleted, or None if there was none."""


class SqlAlchemyQuickReplyRepository(QuickReplyRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, str]:
        q = t.quick_replies.c
        return {r.name: r.text for r in self.conn.execute(select(q.name, q.text).order_by(q.name))}

    def _text(self, name: str) -> str | None:
        q = t.quick_replies.c
        return self.conn.execute(select(q.text).where(q.name == name)).scalar_one_or_none()

    def save(self, name: str, text: str, by: str, at: datetime) -> str | None:
        before = self._text(name)
        q = t.quick_replies
        values = {"text": text, "updated_at": at, "updated_by": by}
        if before is None:
            self.conn.execute(insert(q).values(name=name, **values))
        else:
            self.conn.execute(update(q).where(q.c.name == name).values(**values))
        return before

    def delete(self, name: str) -> str | None:
        before = self._text(name)
        if before is not None:
            self.conn.execute(delete(t.quick_replies).where(t.quick_replies.c.name == name))
        return before
