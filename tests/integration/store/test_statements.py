"""SQL sent to the driver directly binds datetimes as the declared column type does; what it
caches for that stays small however many rows an import writes (an import of a million
messages binds a million distinct times in one transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from chatproof.store._sql import MomentBinder
from chatproof.store.tables import Moment


def test_the_cache_of_bound_moments_stays_small_for_a_long_import(engine: Engine) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with engine.connect() as conn:
        binder = MomentBinder(conn.dialect)
        for minute in range(3 * MomentBinder.MAX_CACHED):
            binder(start + timedelta(minutes=minute))
        assert len(binder._cache) <= MomentBinder.MAX_CACHED
        assert binder(start) == MomentBinder(conn.dialect)(start)


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
    )
)
def test_a_moment_is_bound_as_the_column_type_binds_it(moment: datetime) -> None:
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        declared = Moment.dialect_impl(dialect).bind_processor(dialect)
        expected = moment if declared is None else declared(moment)
        assert MomentBinder(dialect)(moment) == expected


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(StatementError, match="naive"):
        MomentBinder(sqlite.dialect())(datetime(2026, 1, 1))


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)))
def test_a_whole_second_is_bound_from_its_iso_form_as_any_moment(moment: datetime) -> None:
    utc = moment.replace(microsecond=0)
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        binder = MomentBinder(dialect)
        assert binder.whole_second(utc, utc.isoformat()) == binder(utc.replace(tzinfo=UTC))
