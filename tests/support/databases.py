"""Throw-away databases for tests: a SQLite file, or a fresh PostgreSQL database created on
the local server and dropped afterwards (so tests never share state with anything)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "CHATPROOF_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of an empty database of ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'chatproof-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    name = f"chatproof_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def unseal(uow: object, sealed: bytes) -> bytes:
    """Open sealed content without knowing its subject: the data key names its bucket."""
    from chatproof.archive.envelope import data_key_id

    keystore = uow.keystore  # type: ignore[attr-defined]
    subject = keystore.bucket_of(data_key_id(sealed)).subject_id
    return keystore.unseal(subject, sealed)
