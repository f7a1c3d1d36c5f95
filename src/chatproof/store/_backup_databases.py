"""The databases behind a backup: which kind the URL names, whether it already holds data,
and the PostgreSQL client tools (pg_dump's snapshot is consistent, pg_restore runs in one
transaction), so a restored archive verifies like the original (DESIGN invariants 3 and 4).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import cast

from sqlalchemy import URL, func, inspect, literal, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from chatproof.store._backup_manifest import (
    DATABASE_DIR,
    DATABASE_FILES,
    DatabaseKind,
    ManifestFile,
    hash_file,
)
from chatproof.store.database import make_engine
from chatproof.store.errors import BackupError

logger = logging.getLogger(__name__)

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def database_kind(url: str) -> DatabaseKind:
    """Raises:
    BackupError: the URL names a database chatproof cannot back up.
    """
    backend = make_url(url).get_backend_name()
    if backend not in DATABASE_FILES:
        raise BackupError("database.url", f"cannot back up a {backend!r} database")
    return cast(DatabaseKind, backend)


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("database.url", "an in-memory SQLite database has nothing to back up")
    return Path(database)


def table_with_rows(url: str) -> str | None:
    """The first table other than Alembic's that holds a row, or None for an empty database."""
    if database_kind(url) == "sqlite" and not sqlite_path(url).exists():
        return None
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            for name in sorted(inspect(conn).get_table_names()):
                query = select(literal(1)).select_from(table(name)).limit(1)
                if name != "alembic_version" and conn.execute(query).first() is not None:
                    return name
    except SQLAlchemyError as exc:
        raise BackupError("database", f"cannot inspect the configured database: {exc}") from exc
    finally:
        engine.dispose()
    return None


def find_pg_tool(name: str, *, bin_glob: str = PG_BIN_GLOB) -> Path:
    """``name`` (pg_dump, pg_restore) on PATH, else the newest in ``bin_glob``.

    Raises:
        BackupError: the tool is in neither place.
    """
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = sorted(
        (Path(p) for p in glob.glob(f"{bin_glob}/{name}")),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if candidates:
        return candidates[-1]
    raise BackupError(
        name,
        f"not found on PATH or in {bin_glob}; install the PostgreSQL client tools "
        "(Debian: apt install postgresql-client)",
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI and an environment; the password goes into the environment so
    that it never shows in a process listing."""
    parsed = make_url(url)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    uri = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return uri.render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    logger.info("running %s", what)
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise BackupError(what, " / ".join(lines[-3:]) or f"exit status {result.returncode}")


def postgresql_size(url: str) -> int:
    """The database's size on disk: an estimate of the work pg_dump has to do."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            query = select(func.pg_database_size(func.current_database()))
            return int(conn.execute(query).scalar_one())
    except SQLAlchemyError as exc:
        raise BackupError("database", f"cannot connect to the configured database: {exc}") from exc
    finally:
        engine.dispose()


def dump_postgresql(url: str, directory: Path) -> ManifestFile:
    """pg_dump's one consistent snapshot, in the custom format, checked to be readable.

    Raises:
        BackupError: pg_dump or pg_restore is missing, or either fails.
    """
    pg_dump, pg_restore = find_pg_tool("pg_dump"), find_pg_tool("pg_restore")
    name = DATABASE_FILES["postgresql"]
    partial = directory / f".{name}.partial"
    partial.unlink(missing_ok=True)
    uri, environment = _libpq(url)
    try:
        _run(
            [str(pg_dump), "--format=custom", f"--file={partial}", f"--dbname={uri}"],
            environment,
            "pg_dump",
        )
        os.chmod(partial, 0o600)
        _run([str(pg_restore), "--list", str(partial)], environment, "pg_restore --list")
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, directory / name)
    finally:
        partial.unlink(missing_ok=True)
    sha256, size = hash_file(directory / name)
    return ManifestFile(f"{DATABASE_DIR}/{name}", sha256, size, 0o600)


def restore_postgresql(dump: Path, url: str) -> None:
    """All or nothing: one transaction, which pg_restore rolls back on the first error."""
    uri, environment = _libpq(url)
    command = [
        str(find_pg_tool("pg_restore")),
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={uri}",
        str(dump),
    ]
    _run(command, environment, "pg_restore")
