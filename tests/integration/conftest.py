"""Integration fixtures: every storage test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest
from sqlalchemy import Engine

from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.store import (
    SealingPolicy,
    SqlAlchemyUnitOfWork,
    UnitOfWork,
    make_engine,
    migrate,
)
from chatproof.store import tables as t
from tests.support.databases import BACKENDS, scratch_database

PSEUDONYMS = Pseudonymizer(b"k" * 32)
SEALING = SealingPolicy(master_key=bytes(range(32)))


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with scratch_database(request.param, tmp_path_factory.mktemp("db")) as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    with migrated_engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(table.delete())
    return migrated_engine


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    return partial(SqlAlchemyUnitOfWork, engine, SEALING, PSEUDONYMS)
