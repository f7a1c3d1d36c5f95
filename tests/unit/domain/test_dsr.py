"""Deadlines of data-subject requests (Art. 12(3) GDPR) and what a request must record."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chatproof.domain.dsr import (
    DataSubjectRequest,
    DsrError,
    RequestKind,
    Urgency,
    add_months,
    check_new,
    close,
    deadline,
    extend,
    urgency,
)

AT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def request(received: date = date(2026, 1, 31)) -> DataSubjectRequest:
    return DataSubjectRequest(
        id=7,
        kind=RequestKind.ACCESS,
        subject_id="s-1",
        contact_id=1,
        received_on=received,
        identity_check="called back on the registered number",
        due_on=deadline(received),
        recorded_by="user:dpo",
        recorded_at=AT,
    )


def test_one_month_ends_on_the_same_day_or_the_last_day_of_a_shorter_month() -> None:
    assert deadline(date(2026, 3, 15)) == date(2026, 4, 15)
    assert deadline(date(2026, 1, 31)) == date(2026, 2, 28)
    assert deadline(date(2028, 1, 31)) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 10), 3) == date(2027, 3, 10)


def test_an_extension_adds_at_most_two_months_and_needs_a_reason() -> None:
    first = extend(request(), 1, "complex request")
    assert (first.due_on, first.extended_months) == (date(2026, 3, 31), 1)
    second = extend(first, 1, "many requests")
    assert second.due_on == date(2026, 4, 30)
    with pytest.raises(DsrError, match="months: can extend by 1 to 0"):
        extend(second, 1, "again")
    with pytest.raises(DsrError, match="reason"):
        extend(request(), 2, "  ")
    with pytest.raises(DsrError, match="months"):
        extend(request(), 3, "too long")


def test_urgency_follows_the_deadline() -> None:
    r = request(date(2026, 11, 1))  # due 1 December
    assert urgency(r, date(2026, 11, 20)) is Urgency.ON_TIME
    assert urgency(r, date(2026, 11, 24)) is Urgency.DUE_SOON
    assert urgency(r, date(2026, 12, 1)) is Urgency.DUE_SOON
    assert urgency(r, date(2026, 12, 2)) is Urgency.OVERDUE
    assert urgency(close(r, "answered", AT), date(2027, 1, 1)) is Urgency.CLOSED


def test_a_new_request_names_what_is_wrong() -> None:
    today = date(2026, 11, 22)
    assert check_new("erasure", today, "ID card seen", today) is RequestKind.ERASURE
    with pytest.raises(DsrError, match="kind: must be one of access"):
        check_new("forget", today, "ID", today)
    with pytest.raises(DsrError, match="received"):
        check_new("access", date(2026, 11, 23), "ID", today)
    with pytest.raises(DsrError, match="identity_check"):
        check_new("access", today, "", today)


def test_a_closed_request_cannot_be_closed_or_extended_again() -> None:
    closed = close(request(), "report sent", AT)
    with pytest.raises(DsrError, match="already closed"):
        close(closed, "again", AT)
    with pytest.raises(DsrError, match="already closed"):
        extend(closed, 1, "late")
    with pytest.raises(DsrError, match="outcome"):
        close(request(), "", AT)
