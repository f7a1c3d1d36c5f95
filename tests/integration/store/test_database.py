"""The migrated schema is exactly the declared one, on both backends, and SQLite is durable."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from chatproof.store import StoreError, make_engine, migrate
from chatproof.store.database import MIGRATIONS
from chatproof.store.tables import metadata


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
