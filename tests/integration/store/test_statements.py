"""SQL sent to the driver directly binds datetimes as the declared column type does; what it
caches for that stays small however many rows an import writes (an import of a million
messages binds a million distinct times in one transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from chatproof.store._sql import MomentBinder


def test_the_cache_of_bound_moments_stays_small_for_a_long_import(engine: Engine) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with engine.connect() as conn:
        binder = MomentBinder(conn.dialect)
        for minute in range(3 * MomentBinder.MAX_CACHED):
            binder(start + timedelta(minutes=minute))
        assert len(binder._cache) <= MomentBinder.MAX_CACHED
        assert binder(start) == MomentBinder(conn.dialect)(start)
