"""When each data subject's conversations last saw a message: content with no retention duty
is kept only for a while after its conversation ends (DESIGN invariant 4; GDPR Art. 5 (1)(e))."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from chatproof.store import tables as t
from chatproof.store._sql import chunks


class ActivityRepository(ABC):
    @abstractmethod
    def conversation_ends(self, subject_ids: Sequence[str]) -> dict[str, datetime]:
        """The time of the last message in any conversation of each subject; subjects without
        a conversation are left out."""


class SqlAlchemyActivityRepository(ActivityRepository):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def conversation_ends(self, subject_ids: Sequence[str]) -> dict[str, datetime]:
        c, p = t.conversations.c, t.contacts.c
        found: dict[str, datetime] = {}
        for part in chunks(sorted(set(subject_ids))):
            query = (
                select(p.subject_id, func.max(c.last_message_at))
                .join(t.conversations, c.contact_id == p.id)
                .where(p.subject_id.in_(part))
                .group_by(p.subject_id)
            )
            found.update({subject: last for subject, last in self.conn.execute(query)})
        return found
