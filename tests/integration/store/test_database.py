"""The migrated schema is exactly the declared one, on both backends, and SQLite is durable."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.ingest import Received, ingest
from chatproof.store import SqlAlchemyUnitOfWork, StoreError, make_engine, migrate
from chatproof.store.database import MIGRATIONS
from chatproof.store.tables import metadata
from tests.integration.conftest import PSEUDONYMS, SEALING
from tests.support.databases import BACKENDS, scratch_database
from tests.support.samples import sample_body

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_migrations_produce_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrations_form_one_line_of_history() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    revisions = [r.revision for r in script.walk_revisions()]
    assert revisions == sorted(revisions, reverse=True)


def test_migrating_twice_changes_nothing(engine: Engine) -> None:
    migrate(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
    engine.dispose()


def test_a_new_sqlite_database_has_pages_of_16_kib_and_an_existing_one_keeps_its_own(
    tmp_path,
) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    migrate(fresh)
    with fresh.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 16384
    fresh.dispose()
    older = sqlite3.connect(tmp_path / "old.sqlite3")
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE t (x)")
    older.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()


def test_unsupported_databases_are_named() -> None:
    with pytest.raises(StoreError, match=r"database\.url: unsupported database 'mysql'"):
        make_engine("mysql://localhost/x")


def test_reading_one_kind_of_log_entry_does_not_scan_the_log(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate(engine)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT idx FROM log_entries"
            " WHERE kind = 'access.read' AND subject_id = 's' ORDER BY idx"
        ).all()
    engine.dispose()
    assert "USING INDEX ix_log_entries_kind_idx" in plan[0][-1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_newest_migrations_step_back_and_forth_over_stored_messages(
    backend: str, tmp_path: Path
) -> None:
    with scratch_database(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            body = sample_body("openapi/Text Message")
            uow_factory = partial(SqlAlchemyUnitOfWork, engine, SEALING, PSEUDONYMS)
            ingest([Received(body, batch=parse_webhook(body))], uow_factory, NOW)
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, "0019")
            migrate(engine)
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), metadata)
                messages = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
        finally:
            engine.dispose()
    assert diff == [] and messages == 1
