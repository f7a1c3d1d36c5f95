"""Pacing without sleeping: the bucket and the per-customer pacer are told the time."""

from __future__ import annotations

import pytest

from chatproof.domain.pacing import CustomerPacer, SlidingWindow, TokenBucket


def test_bucket_allows_rate_per_second_and_no_more() -> None:
    bucket = TokenBucket(80, capacity=1, now=0.0)
    sent, t = 0, 0.0
    while t < 10.0:
        wait = bucket.wait_time(t)
        if wait == 0:
            assert bucket.try_take(t)
            sent += 1
        t += max(wait, 0.001)
    assert 799 <= sent <= 801


def test_bucket_saves_up_only_to_capacity() -> None:
    bucket = TokenBucket(10, capacity=5, now=0.0)
    taken = sum(bucket.try_take(100.0) for _ in range(20))
    assert taken == 5
    assert bucket.wait_time(100.0) == pytest.approx(0.1)


def test_drain_after_the_platform_says_too_fast() -> None:
    bucket = TokenBucket(10, capacity=5, now=0.0)
    bucket.drain(0.0)
    assert not bucket.try_take(0.0)
    assert bucket.try_take(0.1)


@pytest.mark.parametrize("rate", [0, -1])
def test_bucket_refuses_nonsense(rate: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate)


def test_customer_pacer_spaces_sends_to_one_customer_only() -> None:
    pacer = CustomerPacer(6.0)
    pacer.record("a", 100.0)
    assert pacer.wait_time("a", 101.0) == pytest.approx(5.0)
    assert pacer.wait_time("b", 101.0) == 0.0
    assert pacer.wait_time("a", 106.0) == 0.0


def test_customer_pacer_forgets_the_oldest() -> None:
    pacer = CustomerPacer(6.0, memory=2)
    for i, key in enumerate("abc"):
        pacer.record(key, float(i))
    assert pacer.wait_time("a", 2.0) == 0.0
    assert pacer.wait_time("c", 2.0) == 6.0


def test_sliding_window_keeps_every_trailing_window_under_the_limit() -> None:
    window = SlidingWindow(3, 1.0)
    times = []
    t = 0.0
    while len(times) < 10:
        wait = window.wait_time(t)
        if wait == 0:
            window.record(t)
            times.append(t)
        t += max(wait, 0.01)
    for start in times:
        assert sum(start <= x < start + 1.0 for x in times) <= 3
    assert times[3] == pytest.approx(1.0)


def test_sliding_window_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        SlidingWindow(0, 1.0)
