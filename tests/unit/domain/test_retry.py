"""Which failures are retried, which are final, and which leave the outcome unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chatproof.domain.retry import (
    Outcome,
    SendFailure,
    Transport,
    backoff,
    classify,
    reason_for,
)


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (SendFailure(code=130429, http_status=400), Outcome.RETRY),
        (SendFailure(code=131056), Outcome.RETRY),
        (SendFailure(transport=Transport.REFUSED), Outcome.RETRY),
        (SendFailure(transport=Transport.TIMEOUT), Outcome.UNKNOWN),
        (SendFailure(http_status=502), Outcome.UNKNOWN),
        (SendFailure(code=131000, http_status=500), Outcome.UNKNOWN),
        *[
            (SendFailure(code=code, http_status=400), Outcome.FAILED)
            for code in (131047, 131026, 131049, 131050, 132000, 132001, 132016, 368, 100, 190)
        ],
        (SendFailure(code=131050, http_status=500), Outcome.FAILED),
        (SendFailure(http_status=400), Outcome.FAILED),
    ],
)
def test_classification(failure: SendFailure, outcome: Outcome) -> None:
    assert classify(failure) is outcome


def test_backoff_grows_is_capped_and_jittered() -> None:
    assert backoff(1, 0.0) == timedelta(seconds=0.5)
    assert backoff(1, 0.999) < timedelta(seconds=1)
    assert backoff(4, 1.0) == timedelta(seconds=8)
    assert backoff(40, 1.0, cap=60) == timedelta(seconds=60)


def test_reasons_are_human_readable_in_both_languages() -> None:
    de, en = reason_for(131047)
    assert "24 Stunden" in de and "24 hours" in en
    assert reason_for(132099)[1] == "Template rejected."
    assert reason_for(None, "boom") == ("boom", "boom")
