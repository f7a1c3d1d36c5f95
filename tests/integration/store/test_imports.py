"""Imported messages are stored with the ids the database gave them, in order, and a row that
turns out to be stored already is left out, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine, select

from chatproof.store import tables as t
from chatproof.store._sql import MomentBinder
from chatproof.store.imports import (
    ImportRecord,
    PreparedMessages,
    SqlAlchemyImportUnitOfWork,
)
from tests.integration.conftest import PSEUDONYMS, SEALING

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def prepared(
    conversation_id: int,
    fingerprints: list[str],
    bind: MomentBinder,
    media: dict[int, tuple[Any, ...]] | None = None,
) -> PreparedMessages:
    at = bind(NOW)
    values = [
        (conversation_id, f, b"id", "inbound", "import.message", at, at, None, b"raw", n)
        for n, f in enumerate(fingerprints)
    ]
    lines = [(n + 1, "message") for n in range(len(fingerprints))]
    return PreparedMessages(values, lines, media or {})


def attachment(name: str, state: str) -> tuple[Any, ...]:
    """``MEDIA_COLUMNS`` of an attachment."""
    return (f"import:1:{name}", "image/jpeg", None, name.encode(), state, None, None)


def start_import(uow: SqlAlchemyImportUnitOfWork) -> tuple[int, int]:
    """An import into a contact's conversation: the import's id and the conversation's."""
    contact = uow.imports.ensure_contact("4915123456789", "", NOW)
    record = ImportRecord(contact.conversation_id, "0" * 64, b"x", "f", 100, "1", "UTC", "t", NOW)
    return uow.imports.start(record), contact.conversation_id


def test_messages_get_their_ids_in_order_and_those_stored_already_are_left_out(
    engine: Engine,
) -> None:
    factory = partial(SqlAlchemyImportUnitOfWork, engine, SEALING, PSEUDONYMS)
    with factory() as uow:
        import_id, conversation = start_import(uow)
        bind = MomentBinder(engine.dialect)
        first = uow.imports.add_messages(
            import_id, prepared(conversation, ["ia", "ib", "ic"], bind)
        )
        again = uow.imports.add_messages(
            import_id, prepared(conversation, ["id", "ib", "ie"], bind)
        )
        uow.commit()
    with engine.connect() as conn:
        stored = dict(conn.execute(select(t.messages.c.platform_id_hash, t.messages.c.id)).all())
        linked = conn.execute(
            select(t.imported_messages.c.message_id, t.imported_messages.c.line)
        ).all()
    assert first == {f: stored[f] for f in ("ia", "ib", "ic")}
    assert first["ia"] < first["ib"] < first["ic"]
    assert again == {"id": stored["id"], "ie": stored["ie"]}
    assert sorted(linked) == sorted(
        [
            (stored["ia"], 1),
            (stored["ib"], 2),
            (stored["ic"], 3),
            (stored["id"], 1),
            (stored["ie"], 3),
        ]
    )


def test_the_media_columns_are_set_on_the_rows_inserted_and_no_other(engine: Engine) -> None:
    factory = partial(SqlAlchemyImportUnitOfWork, engine, SEALING, PSEUDONYMS)
    with factory() as uow:
        import_id, conversation = start_import(uow)
        bind = MomentBinder(engine.dialect)
        uow.imports.add_messages(
            import_id, prepared(conversation, ["ia", "ib"], bind, {1: attachment("b", "stored")})
        )
        uow.imports.add_messages(
            import_id,
            prepared(
                conversation,
                ["ib", "ic", "id"],
                bind,
                {0: attachment("again", "missing"), 2: attachment("d", "missing")},
            ),
        )
        uow.commit()
    m = t.messages.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.platform_id_hash, m.media_id, m.media_state, m.media_filename)
        ).all()
    media = {f: (media_id, state, filename) for f, media_id, state, filename in rows}
    assert media == {
        "ia": (None, None, None),
        "ib": ("import:1:b", "stored", b"b"),
        "ic": (None, None, None),
        "id": ("import:1:d", "missing", b"d"),
    }
