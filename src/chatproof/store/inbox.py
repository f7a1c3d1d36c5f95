"""The team inbox's storage: the filtered conversation list, assignment, labels, internal
notes, read state, the access log, and full-text search over message text.

Read state is per person: ``conversations.inbound_count`` only grows (ingest adds to it in the
update it makes anyway) and ``read_states`` holds how far each person has read, so a person's
unread count is one subtraction on rows already being listed, joined by primary key. Without a
row, the person's ``ReadBaseline`` decides; only for a conversation older than it with inbound
messages after it are those messages counted, from the (conversation, id) index.

Message text is stored sealed, so search needs plain words somewhere: ``message_search``
holds the text of unshredded messages, filled by ``index_pending`` and deleted by
``forget_subject`` when a data subject is shredded (DESIGN invariant 4). Its word index is
FTS5 on SQLite and a GIN index with German stemming on PostgreSQL, created on first use
because neither fits the declared schema.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from chatproof.domain.inbox import MessageView, Page
from chatproof.domain.team_inbox import (
    UNCOUNTED_TYPES,
    InboxFilter,
    InboxRow,
    Note,
    ReadBaseline,
    View,
    seen_after_marking_unread,
)
from chatproof.store import tables as t
from chatproof.store._sql import (
    chunks,
    decode_cursor,
    encode_cursor,
    insert_ignoring_duplicates,
)
from chatproof.store.conversations import SqlAlchemyConversationRepository
from chatproof.store.errors import NotFound
from chatproof.store.keys import SqlAlchemyKeyRepository
from chatproof.store.personal import PersonalContent

_ready: set[str] = set()


@dataclass(frozen=True, slots=True)
class AccessRecord:
    at: datetime
    actor: str
    action: str
    target: str


class InboxRepository(ABC):
    """Contract: ``list`` MUST only return conversations matching every part of the filter,
    newest activity first, and its cursor MUST continue exactly after the last row."""

    @abstractmethod
    def list(self, where: InboxFilter, *, limit: int, cursor: str | None) -> Page[InboxRow]:
        """Raises ValueError for a cursor this repository did not hand out."""

    @abstractmethod
    def thread(
        self, conversation_id: int, *, limit: int, before: int | None
    ) -> tuple[Page[MessageView], dict[int, str]]:
        """Newest first, like ``ConversationRepository.messages``, with the keys of the whole
        page looked up at once; and the retention class of each message. Raises NotFound."""

    @abstractmethod
    def newest_sealed(self, conversation_id: int) -> bytes | None:
        """The sealed platform object of the conversation's newest message."""

    @abstractmethod
    def assignee(self, conversation_id: int) -> int | None: ...

    @abstractmethod
    def assign(self, conversation_id: int, user_id: int | None, at: datetime) -> None: ...

    @abstractmethod
    def labels_of(self, conversation_ids: Sequence[int]) -> dict[int, tuple[str, ...]]: ...

    @abstractmethod
    def all_labels(self) -> list[str]: ...

    @abstractmethod
    def add_label(self, conversation_id: int, name: str, at: datetime) -> bool: ...

    @abstractmethod
    def remove_label(self, conversation_id: int, name: str) -> bool: ...

    @abstractmethod
    def notes(self, conversation_id: int, subject_id: str) -> list[Note]: ...

    @abstractmethod
    def add_note(
        self, conversation_id: int, author_id: int, at: datetime, sealed: bytes
    ) -> int: ...

    @abstractmethod
    def set_status(self, conversation_id: int, status: str) -> None: ...

    @abstractmethod
    def mark_read(self, conversation_id: int) -> None:
        """The team's counter: nobody who may reply has unread messages here any more."""

    @abstractmethod
    def mark_seen(self, user_id: int, conversation_id: int, at: datetime) -> None:
        """The person has seen every inbound message so far; nobody else's state changes."""

    @abstractmethod
    def mark_unread(self, user_id: int, conversation_id: int, at: datetime) -> int:
        """Take back the person's newest seen inbound message; return their unread count."""

    @abstractmethod
    def unread_counts(self, user_id: int, conversation_ids: Sequence[int]) -> dict[int, int]:
        """The person's unread count for each of these conversations."""

    @abstractmethod
    def unread_summary(
        self, user_id: int, scope_user_id: int | None, horizon: int
    ) -> list[tuple[int, str, int]]:
        """(conversation id, subject id, unread) of the person's unread conversations among
        the ``horizon`` open ones (within ``scope_user_id``'s reach) with the latest activity."""

    @abstractmethod
    def version(self) -> str:
        """Changes whenever a message, status or note arrives."""

    @abstractmethod
    def access_log(
        self, *, limit: int, before: int | None, actor: str = "", target: str = ""
    ) -> list[AccessRecord]:
        """Newest first; ``target`` also matches lists of conversations that include it."""

    @abstractmethod
    def index_pending(self, batch: int) -> int:
        """Add the text of up to ``batch`` not yet indexed messages; return how many."""

    @abstractmethod
    def forget_subject(self, subject_id: str) -> int: ...

    @abstractmethod
    def forget_erased(self) -> int:
        """Drop the words of messages whose bucket was shredded (retention ran out) while
        their data subject lives on; return how many."""


class SqlAlchemyInboxRepository(InboxRepository):
    def __init__(
        self, conn: Connection, personal: PersonalContent, keys: SqlAlchemyKeyRepository
    ) -> None:
        self.conn = conn
        self.personal = personal
        self.keys = keys
        self.conversations = SqlAlchemyConversationRepository(conn, personal)
        self.sqlite = conn.dialect.name == "sqlite"

    # --- the list -----------------------------------------------------------------------

    def list(self, where: InboxFilter, *, limit: int, cursor: str | None) -> Page[InboxRow]:
        c, a = t.conversations.c, t.conversation_assignments.c
        query = (
            self.conversations._summary_query()
            .add_columns(a.user_id.label("assignee_id"), t.users.c.display_name)
            .outerjoin(t.conversation_assignments, a.conversation_id == c.id)
            .outerjoin(t.users, t.users.c.id == a.user_id)
            .order_by(c.last_message_at.desc(), c.id.desc())
        )
        unread: ColumnElement[int] = literal(0)
        if where.user_id is not None:
            query, unread = self._with_unread(query, where.user_id)
        query = query.add_columns(unread.label("viewer_unread"))
        if where.view is View.MINE:
            query = query.where(a.user_id == where.user_id)
        elif where.view is View.UNASSIGNED:
            query = query.where(a.user_id.is_(None))
        elif where.view is View.UNREAD:
            query = query.where(unread > 0)
        if where.scope_user_id is not None:
            query = query.where(or_(a.user_id.is_(None), a.user_id == where.scope_user_id))
        if where.status:
            query = query.where(c.status == where.status)
        if where.label:
            labelled = (
                select(t.conversation_labels.c.conversation_id)
                .join(t.labels, t.labels.c.id == t.conversation_labels.c.label_id)
                .where(t.labels.c.name == where.label)
            )
            query = query.where(c.id.in_(labelled))
        if where.words:
            matching = self._matching_conversations(where.words)
            # SQLite: walk conversations newest first and look each up in the matches (a
            # common word then stops after one page), instead of sorting every match
            key = c.id + 0 if self.sqlite else c.id
            query = query.where(key.in_(matching))
        if cursor:
            at, last_id = decode_cursor(cursor)
            query = query.where(
                or_(c.last_message_at < at, and_(c.last_message_at == at, c.id < last_id))
            )
        rows = self.conn.execute(query.limit(limit + 1)).all()
        page = rows[:limit]
        self.personal.prefetch(value for row in page for value in (row.name, row.wa_id))
        labels = self.labels_of([row.id for row in page])
        items = tuple(
            InboxRow(
                self.conversations._summary(row),
                row.assignee_id,
                row.display_name or "",
                labels.get(row.id, ()),
                max(row.viewer_unread or 0, 0),
            )
            for row in page
        )
        next_cursor = None
        if len(rows) > limit:
            last = items[-1].conversation
            next_cursor = encode_cursor(last.last_message_at, last.id)
        return Page(items, next_cursor)

    # --- per-person read state ----------------------------------------------------------

    def baseline(self, user_id: int) -> ReadBaseline:
        """Raises NotFound for an unknown user."""
        b = t.read_baselines.c
        row = self.conn.execute(select(b.since, b.message_id).where(b.user_id == user_id)).first()
        if row is not None:
            return ReadBaseline(row.since, row.message_id)
        created = self.conn.execute(
            select(t.users.c.created_at).where(t.users.c.id == user_id)
        ).scalar_one_or_none()
        if created is None:
            raise NotFound("user", user_id)
        m = t.messages.c
        # the sent_at index finds it in one step; ids grow with arrival, which is what counts
        last = self.conn.execute(
            select(m.id).where(m.sent_at < created).order_by(m.sent_at.desc()).limit(1)
        ).scalar_one_or_none()
        return ReadBaseline(created, last or 0)

    def _with_unread(self, query: Any, user_id: int) -> tuple[Any, ColumnElement[int]]:
        """``query`` joined with the person's read state, and their unread count as a column."""
        c, r = t.conversations.c, t.read_states.c
        joined = query.outerjoin(
            t.read_states, and_(r.user_id == user_id, r.conversation_id == c.id)
        )
        return joined, self._unread_of(self.baseline(user_id))

    def _unread_of(self, baseline: ReadBaseline) -> ColumnElement[int]:
        c, r, m = t.conversations.c, t.read_states.c, t.messages.c
        newer = (
            select(func.count())
            .select_from(t.messages)
            .where(
                m.conversation_id == c.id,
                m.id > baseline.message_id,
                m.direction == "inbound",
                m.type.not_in(UNCOUNTED_TYPES),
            )
            .scalar_subquery()
        )
        least = func.min if self.sqlite else func.least
        return case(
            (r.seen_inbound.is_not(None), c.inbound_count - r.seen_inbound),
            (c.inbound_count == 0, 0),
            (c.created_at >= baseline.since, c.inbound_count),
            (or_(c.last_inbound_at.is_(None), c.last_inbound_at < baseline.since), 0),
            else_=least(c.inbound_count, newer),
        )

    def _set_seen(self, user_id: int, conversation_id: int, seen: Any, at: datetime) -> None:
        """Upsert, so two tabs opening the same thread cannot collide on the primary key."""
        c = t.conversations.c
        module = postgresql if not self.sqlite else sqlite
        source = select(
            literal(user_id), c.id, seen, literal(at, type_=t.read_states.c.seen_at.type)
        ).where(c.id == conversation_id)
        statement = module.insert(t.read_states).from_select(
            ["user_id", "conversation_id", "seen_inbound", "seen_at"], source
        )
        self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id", "conversation_id"],
                set_={
                    "seen_inbound": statement.excluded.seen_inbound,
                    "seen_at": statement.excluded.seen_at,
                },
            )
        )

    def mark_seen(self, user_id: int, conversation_id: int, at: datetime) -> None:
        self._set_seen(user_id, conversation_id, t.conversations.c.inbound_count, at)

    def mark_unread(self, user_id: int, conversation_id: int, at: datetime) -> int:
        c = t.conversations.c
        query, unread = self._with_unread(
            select(c.inbound_count).where(c.id == conversation_id), user_id
        )
        row = self.conn.execute(query.add_columns(unread.label("unread"))).first()
        if row is None:
            raise NotFound("conversation", conversation_id)
        seen = seen_after_marking_unread(row.inbound_count, row.inbound_count - row.unread)
        self._set_seen(user_id, conversation_id, literal(seen), at)
        return row.inbound_count - seen

    def unread_counts(self, user_id: int, conversation_ids: Sequence[int]) -> dict[int, int]:
        if not conversation_ids:
            return {}
        c = t.conversations.c
        found: dict[int, int] = {}
        for part in chunks(list(conversation_ids), 500):
            query, unread = self._with_unread(select(c.id).where(c.id.in_(part)), user_id)
            for row in self.conn.execute(query.add_columns(unread.label("unread"))):
                found[row.id] = max(row.unread or 0, 0)
        return found

    def unread_summary(
        self, user_id: int, scope_user_id: int | None, horizon: int
    ) -> list[tuple[int, str, int]]:
        c, a, p = t.conversations.c, t.conversation_assignments.c, t.contacts.c
        # One walk down the last_message_at index with primary-key lookups, like the list, and
        # the unread rows picked here: a filter in SQL let PostgreSQL plan hash joins over
        # whole tables instead.
        latest = (
            select(c.id, p.subject_id)
            .join(t.contacts, p.id == c.contact_id)
            .where(c.status == "open")
            .order_by(c.last_message_at.desc(), c.id.desc())
            .limit(horizon)
        )
        if scope_user_id is not None:
            # "nobody else's" as an anti-join: PostgreSQL estimates it well, where an OR over
            # an outer join looked so selective that it sorted the whole table
            others = select(a.conversation_id).where(
                a.conversation_id == c.id, a.user_id != scope_user_id
            )
            latest = latest.where(~others.exists())
        query, unread = self._with_unread(latest, user_id)
        rows = self.conn.execute(query.add_columns(unread.label("unread")))
        return [(row.id, row.subject_id, row.unread) for row in rows if row.unread > 0]

    # --- the thread ---------------------------------------------------------------------

    def thread(
        self, conversation_id: int, *, limit: int, before: int | None
    ) -> tuple[Page[MessageView], dict[int, str]]:
        page, rows = self.conversations.message_page(
            conversation_id, limit=limit, before=before, open_raw_of_text=False
        )
        classes = {row.id: self._retention_class(row.text or row.raw) for row in rows}
        return page, {k: v for k, v in classes.items() if v}

    def _retention_class(self, sealed: bytes) -> str:
        bucket = self.keys.bucket_of_sealed(sealed)
        return bucket.retention_class if bucket else ""

    def newest_sealed(self, conversation_id: int) -> bytes | None:
        m = t.messages.c
        return self.conn.execute(
            select(m.raw).where(m.conversation_id == conversation_id).order_by(m.id.desc()).limit(1)
        ).scalar_one_or_none()

    def _matching_conversations(self, words: Sequence[str]) -> Any:
        self._ensure_word_index()
        s = t.message_search.c
        if self.sqlite:
            query = " ".join('"' + w.replace('"', "") + '"*' for w in words)
            matched = text("SELECT rowid FROM message_fts WHERE message_fts MATCH :q").bindparams(
                q=query
            )
            return select(s.conversation_id).where(s.message_id.in_(matched))
        query = " & ".join(w.replace("'", "").replace("\\", "") + ":*" for w in words)
        condition = func.to_tsvector(text("'german'"), s.body).op("@@")(
            func.to_tsquery(text("'german'"), query)
        )
        return select(s.conversation_id).where(condition)

    # --- assignment, labels, notes, state --------------------------------------------------

    def assignee(self, conversation_id: int) -> int | None:
        a = t.conversation_assignments.c
        return self.conn.execute(
            select(a.user_id).where(a.conversation_id == conversation_id)
        ).scalar_one_or_none()

    def assign(self, conversation_id: int, user_id: int | None, at: datetime) -> None:
        a = t.conversation_assignments
        self.conn.execute(delete(a).where(a.c.conversation_id == conversation_id))
        if user_id is not None:
            self.conn.execute(
                insert(a).values(conversation_id=conversation_id, user_id=user_id, assigned_at=at)
            )

    def labels_of(self, conversation_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not conversation_ids:
            return {}
        cl, lb = t.conversation_labels.c, t.labels.c
        rows = self.conn.execute(
            select(cl.conversation_id, lb.name)
            .join(t.labels, lb.id == cl.label_id)
            .where(cl.conversation_id.in_(list(conversation_ids)))
            .order_by(lb.name)
        )
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(row.conversation_id, []).append(row.name)
        return {k: tuple(v) for k, v in found.items()}

    def all_labels(self) -> list[str]:
        return list(self.conn.execute(select(t.labels.c.name).order_by(t.labels.c.name)).scalars())

    def add_label(self, conversation_id: int, name: str, at: datetime) -> bool:
        lb, cl = t.labels.c, t.conversation_labels.c
        label_id = self.conn.execute(select(lb.id).where(lb.name == name)).scalar_one_or_none()
        if label_id is None:
            label_id = self.conn.execute(
                insert(t.labels).values(name=name, created_at=at)
            ).inserted_primary_key[0]  # type: ignore[index]
        exists = self.conn.execute(
            select(cl.label_id).where(
                cl.conversation_id == conversation_id, cl.label_id == label_id
            )
        ).first()
        if exists:
            return False
        self.conn.execute(
            insert(t.conversation_labels).values(
                conversation_id=conversation_id, label_id=label_id, added_at=at
            )
        )
        return True

    def remove_label(self, conversation_id: int, name: str) -> bool:
        lb, cl = t.labels.c, t.conversation_labels.c
        label_id = self.conn.execute(select(lb.id).where(lb.name == name)).scalar_one_or_none()
        if label_id is None:
            return False
        result = self.conn.execute(
            delete(t.conversation_labels).where(
                cl.conversation_id == conversation_id, cl.label_id == label_id
            )
        )
        return result.rowcount > 0

    def notes(self, conversation_id: int, subject_id: str) -> list[Note]:
        n, u = t.notes.c, t.users.c
        rows = self.conn.execute(
            select(n.id, n.at, n.text, u.display_name)
            .join(t.users, u.id == n.author_id)
            .where(n.conversation_id == conversation_id)
            .order_by(n.id)
        )
        notes = []
        for row in rows:
            opened = self.personal.read_text(subject_id, row.text)
            notes.append(
                Note(
                    row.id, conversation_id, row.display_name, row.at, opened.text, opened.erased_at
                )
            )
        return notes

    def add_note(self, conversation_id: int, author_id: int, at: datetime, sealed: bytes) -> int:
        result = self.conn.execute(
            insert(t.notes).values(
                conversation_id=conversation_id, author_id=author_id, at=at, text=sealed
            )
        )
        return result.inserted_primary_key[0]  # type: ignore[index]

    def set_status(self, conversation_id: int, status: str) -> None:
        c = t.conversations
        self.conn.execute(update(c).where(c.c.id == conversation_id).values(status=status))

    def mark_read(self, conversation_id: int) -> None:
        c = t.conversations
        self.conn.execute(
            update(c).where(c.c.id == conversation_id, c.c.unread_count != 0).values(unread_count=0)
        )

    def version(self) -> str:
        latest = [
            self.conn.execute(select(func.max(table.c.id))).scalar() or 0
            for table in (t.messages, t.statuses, t.notes)
        ]
        assigned = self.conn.execute(
            select(func.max(t.conversation_assignments.c.assigned_at))
        ).scalar()
        return "-".join(map(str, latest)) + f"-{assigned.timestamp() if assigned else 0:.0f}"

    def access_log(
        self, *, limit: int, before: int | None, actor: str = "", target: str = ""
    ) -> list[AccessRecord]:
        log = t.access_log.c
        query = select(log.id, log.at, log.actor, log.action, log.target).order_by(log.id.desc())
        if before is not None:
            query = query.where(log.id < before)
        if actor:
            query = query.where(log.actor == actor)
        if target.startswith("conversation:") and target[13:].isdigit():
            number = target[13:]
            query = query.where(
                or_(
                    log.target == target,
                    log.target == f"conversations:{number}",
                    log.target.like(f"conversations:{number},%"),
                    log.target.like(f"conversations:%,{number}"),
                    log.target.like(f"conversations:%,{number},%"),
                )
            )
        elif target:
            query = query.where(log.target == target)
        return [
            AccessRecord(r.at, r.actor, r.action, r.target)
            for r in self.conn.execute(query.limit(limit))
        ]

    # --- search index -------------------------------------------------------------------

    def _ensure_word_index(self) -> None:
        key = self.conn.engine.url.render_as_string(hide_password=False)
        if key in _ready:
            return
        if self.sqlite:
            exists = self.conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'message_fts'")
            ).first()
            if not exists:
                self.conn.execute(
                    text(
                        "CREATE VIRTUAL TABLE message_fts USING fts5(body, "
                        "content='message_search', content_rowid='message_id', "
                        "tokenize='unicode61 remove_diacritics 2')"
                    )
                )
                self.conn.execute(text("INSERT INTO message_fts(message_fts) VALUES('rebuild')"))
        else:
            self.conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_message_search_words ON message_search "
                    "USING gin (to_tsvector('german', body))"
                )
            )
        _ready.add(key)

    def index_pending(self, batch: int) -> int:
        self._ensure_word_index()
        m, c, p, s = t.messages.c, t.conversations.c, t.contacts.c, t.message_search.c
        done = self.conn.execute(select(func.coalesce(func.max(s.message_id), 0))).scalar_one()
        rows = self.conn.execute(
            select(m.id, m.conversation_id, m.text, p.subject_id)
            .join(t.conversations, c.id == m.conversation_id)
            .join(t.contacts, p.id == c.contact_id)
            .where(m.id > done, m.text.is_not(None))
            .order_by(m.id)
            .limit(batch)
        ).all()
        self.personal.prefetch(row.text for row in rows)
        values = [
            {
                "message_id": row.id,
                "conversation_id": row.conversation_id,
                "subject_id": row.subject_id,
                "body": self.personal.read_text(row.subject_id, row.text).text,
            }
            for row in rows
        ]
        if values:
            # Another process indexing the same messages at the same moment (PostgreSQL
            # writers run side by side) has stored the same bodies: theirs stand.
            statement = insert_ignoring_duplicates(self.conn, t.message_search, "message_id")
            self.conn.execute(statement, values)
            if self.sqlite:
                self.conn.execute(
                    text("INSERT INTO message_fts(rowid, body) VALUES (:message_id, :body)"),
                    values,
                )
        return len(values)

    def forget_erased(self) -> int:
        s, m, b = t.message_search.c, t.messages.c, t.bucket_keys.c
        partly_shredded = (
            select(b.subject_id).where(b.shredded_at.is_not(None)).distinct().scalar_subquery()
        )
        rows = self.conn.execute(
            select(s.message_id, s.body, m.text)
            .join(t.messages, m.id == s.message_id)
            .where(s.subject_id.in_(partly_shredded))
        ).all()
        self.personal.prefetch(row.text for row in rows)
        erased = []
        for row in rows:
            if not row.text:
                continue
            bucket = self.keys.bucket_of_sealed(row.text)
            if bucket is None or bucket.shredded_at is not None:
                erased.append({"message_id": row.message_id, "body": row.body})
        self._remove(erased)
        return len(erased)

    def _remove(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.sqlite:
            self._ensure_word_index()
            self.conn.execute(
                text(
                    "INSERT INTO message_fts(message_fts, rowid, body) "
                    "VALUES ('delete', :message_id, :body)"
                ),
                rows,
            )
        s = t.message_search.c
        for part in chunks([r["message_id"] for r in rows], 500):
            self.conn.execute(delete(t.message_search).where(s.message_id.in_(part)))

    def forget_subject(self, subject_id: str) -> int:
        s = t.message_search.c
        rows = self.conn.execute(
            select(s.message_id, s.body).where(s.subject_id == subject_id)
        ).all()
        self._remove([{"message_id": r.message_id, "body": r.body} for r in rows])
        return len(rows)
