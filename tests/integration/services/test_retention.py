"""The retention job shreds buckets whose duty has ended, never one under a legal hold, and
records every hold, lift and shredding in the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chatproof.archive.errors import ContentErased
from chatproof.archive.retention import DEFAULT_RETENTION_CLASSES, Bucket
from chatproof.services.retention import expiring, lift_hold, place_hold, shred_expired
from chatproof.store import NotFound, UnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def seal(uow_factory: Callable[[], UnitOfWork], subject: str, year: int, text: bytes) -> bytes:
    with uow_factory() as uow:
        sealed = uow.keystore.seal(subject, Bucket(subject, "business_letter", year), text)
        uow.commit()
    return sealed


def unseal(uow_factory: Callable[[], UnitOfWork], subject: str, sealed: bytes) -> bytes:
    with uow_factory() as uow:
        return uow.keystore.unseal(subject, sealed)


def log_kinds(uow_factory: Callable[[], UnitOfWork]) -> list[str]:
    with uow_factory() as uow:
        return [json.loads(leaf)["kind"] for _, leaf in uow.log.iter_leaves()]


def test_expired_buckets_go_held_and_running_ones_stay(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    old = seal(uow_factory, "anna", 2019, b"Brief 2019")  # duty ended 1 Jan 2026
    young = seal(uow_factory, "ben", 2020, b"Brief 2020")  # duty ends 1 Jan 2027
    held = seal(uow_factory, "cem", 2018, b"Brief 2018")
    hold = place_hold(uow_factory, "cem", "Rechtsstreit 4 O 17/26", "dpo", NOW, BERLIN)

    plan = expiring(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)
    assert {(b.subject_id, b.start_year, b.held) for b in plan} == {
        ("anna", 2019, False),
        ("cem", 2018, True),
    }
    assert unseal(uow_factory, "anna", old) == b"Brief 2019"

    done = shred_expired(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)
    assert [b.subject_id for b in done] == ["anna"]
    with pytest.raises(ContentErased, match="2026-11-22"):
        unseal(uow_factory, "anna", old)
    assert unseal(uow_factory, "ben", young) == b"Brief 2020"
    assert unseal(uow_factory, "cem", held) == b"Brief 2018"

    lift_hold(uow_factory, hold, "dpo", NOW, BERLIN)
    again = shred_expired(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)
    assert [b.subject_id for b in again] == ["cem"]
    assert log_kinds(uow_factory) == [
        "legal_hold.placed",
        "retention.shredded",
        "legal_hold.lifted",
        "retention.shredded",
    ]


def test_the_year_is_counted_in_the_business_time_zone(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    seal(uow_factory, "dora", 2019, b"x")
    just_before = datetime(2025, 12, 31, 22, 59, tzinfo=UTC)  # 23:59 in Berlin
    assert expiring(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, just_before) == []
    at_midnight = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert len(expiring(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, at_midnight)) == 1


def test_lifting_a_hold_that_is_not_in_place_is_refused(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with pytest.raises(NotFound):
        lift_hold(uow_factory, 404, "dpo", NOW, BERLIN)
