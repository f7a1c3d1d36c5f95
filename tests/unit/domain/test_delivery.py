"""Delivery states move forward only, whatever order statuses arrive in."""

from __future__ import annotations

import itertools
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatproof.domain.delivery import DeliveryState as S
from chatproof.domain.delivery import advance, parse_state


@pytest.mark.parametrize(
    ("current", "reported", "after"),
    [
        (None, S.SENT, S.SENT),
        (S.SENT, S.DELIVERED, S.DELIVERED),
        (S.DELIVERED, S.READ, S.READ),
        (S.READ, S.PLAYED, S.PLAYED),
        (S.READ, S.DELIVERED, None),
        (S.DELIVERED, S.SENT, None),
        (S.READ, S.READ, None),
        (S.SENT, S.FAILED, S.FAILED),
        (S.READ, S.FAILED, S.FAILED),
        (S.FAILED, S.READ, None),
        (S.FAILED, S.SENT, None),
        (None, S.FAILED, S.FAILED),
    ],
)
def test_advance(current: S | None, reported: S, after: S | None) -> None:
    assert advance(current, reported) == after


def _fold(reports: list[S]) -> S | None:
    return reduce(lambda state, r: advance(state, r) or state, reports, None)


@given(st.lists(st.sampled_from(list(S)), min_size=1, max_size=8))
def test_the_outcome_does_not_depend_on_arrival_order(reports: list[S]) -> None:
    outcomes = {_fold(list(p)) for p in itertools.islice(itertools.permutations(reports), 50)}
    assert len(outcomes) == 1


def test_failed_is_final_and_wins() -> None:
    assert _fold([S.SENT, S.READ, S.FAILED, S.DELIVERED]) is S.FAILED


def test_unknown_platform_statuses_are_not_tracked() -> None:
    assert parse_state("READ") is S.READ
    assert parse_state("deleted") is None
