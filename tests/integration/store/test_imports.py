"""Imported messages are stored with the ids the database gave them, in order, and a row that
turns out to be stored already is left out, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

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


def prepared(conversation_id: int, fingerprints: list[str], bind: MomentBinder) -> PreparedMessages:
    at = bind(NOW)
    values = [
        (conversation_id, f, b"sealed id", "inbound", "import.message", at, at, None, b"sealed raw")
        + (None,) * 7
        + (n,)
        for n, f in enumerate(fingerprints)
    ]
    return PreparedMessages(values, [(n + 1, "message") for n in range(len(fingerprints))])


def test_messages_get_their_ids_in_order_and_those_stored_already_are_left_out(
    engine: Engine,
) -> None:
    factory = partial(SqlAlchemyImportUnitOfWork, engine, SEALING, PSEUDONYMS)
    with factory() as uow:
        contact = uow.imports.ensure_contact("4915123456789", "", NOW)
        record = ImportRecord(
            contact.conversation_id, "0" * 64, b"x", "f", 100, "1", "UTC", "t", NOW
        )
        import_id = uow.imports.start(record)
        bind = MomentBinder(engine.dialect)
        first = uow.imports.add_messages(
            import_id, prepared(contact.conversation_id, ["ia", "ib", "ic"], bind)
        )
        again = uow.imports.add_messages(
            import_id, prepared(contact.conversation_id, ["id", "ib", "ie"], bind)
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
