"""Engines for SQLite (the embedded default) and PostgreSQL, and schema migrations.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk before chatproof
acknowledges a webhook (DESIGN invariant 1), and group commit pays that fsync once for many
requests. ``secure_delete`` zeroes what is deleted or overwritten, so shredded keys do not
survive in free pages (invariant 4). Writers take the lock up front (``BEGIN IMMEDIATE``) so
that a second process waits instead of failing half-way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from chatproof.store.errors import StoreError

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
WRITE = "chatproof_write"
"""Execution option marking a connection that will write (SQLite: ``BEGIN IMMEDIATE``)."""


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Raises:
    StoreError: the URL names a database chatproof does not support.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_size=pool_size, pool_pre_ping=True)
    raise StoreError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            # For a new database only (an existing one keeps its page size). A quarter of the
            # pages to write, spill and checkpoint: a large import's SQLite work takes a fifth
            # less CPU, and ingest and inbox reads are no slower (docs/performance.md).
            "page_size=16384",
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            "secure_delete=ON",
            # 64 MiB instead of 2: a large import or a group of webhooks dirties index pages
            # at random places, which a small cache spills to the WAL before the commit.
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def scrub(engine: Engine) -> None:
    """Make sure overwritten or deleted values (shredded keys) are gone from the files too:
    SQLite zeroes freed content (``secure_delete``) and this folds the WAL into the database
    and truncates it; PostgreSQL reclaims dead row versions of the key tables."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM bucket_keys, contacts")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info("database schema at %s", revision)
