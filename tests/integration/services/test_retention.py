"""The retention job shreds buckets whose duty has ended, never one under a legal hold, and
records every hold, lift and shredding in the log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from chatproof.archive.errors import ContentErased
from chatproof.archive.retention import DEFAULT_RETENTION_CLASSES, Bucket, retention_classes
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.services.erasure import shred_subject
from chatproof.services.ingest import Received, ingest
from chatproof.services.retention import expiring, lift_hold, place_hold, shred_expired
from chatproof.store import NotFound, UnitOfWork
from chatproof.store import tables as t
from tests.support import webhook_bodies as bodies

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANNA, BEN = "4915111111111", "4915122222222"


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


def start_conversation(engine: Engine, subject: str, last_message_at: datetime) -> None:
    with engine.begin() as conn:
        contact_id = conn.execute(
            insert(t.contacts).values(
                subject_id=subject,
                wa_id_hash=f"hash-{subject}",
                wa_id=b"sealed",
                first_seen_at=last_message_at,
                updated_at=last_message_at,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(t.conversations).values(
                contact_id=contact_id,
                business_number_id="106540352242922",
                created_at=last_message_at,
                last_message_at=last_message_at,
            )
        )


def seal_no_duty(uow_factory: Callable[[], UnitOfWork], subject: str, year: int) -> bytes:
    with uow_factory() as uow:
        sealed = uow.keystore.seal(subject, Bucket(subject, "no_duty", year), b"Danke!")
        uow.commit()
    return sealed


def test_content_without_duty_goes_months_after_its_conversation_ends(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    start_conversation(engine, "quiet", datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    start_conversation(engine, "chatty", datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    quiet = seal_no_duty(uow_factory, "quiet", 2026)
    chatty = seal_no_duty(uow_factory, "chatty", 2026)
    orphan = seal_no_duty(uow_factory, "orphan", 2025)  # no conversation: from the year's end

    plan = expiring(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)
    assert {(b.subject_id, f"{b.duty_ended.astimezone(BERLIN):%Y-%m-%d}") for b in plan} == {
        ("quiet", "2026-09-10"),
        ("orphan", "2026-07-01"),
    }
    done = shred_expired(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)
    assert sorted(b.subject_id for b in done) == ["orphan", "quiet"]
    for subject, sealed in (("quiet", quiet), ("orphan", orphan)):
        with pytest.raises(ContentErased):
            unseal(uow_factory, subject, sealed)
    assert unseal(uow_factory, "chatty", chatty) == b"Danke!"
    assert log_kinds(uow_factory) == ["retention.shredded", "retention.shredded"]
    with uow_factory() as uow:
        (row,) = uow.keys.bucket_keys_of_subject("quiet")
    assert row.shred_reason == "no retention duty; kept long enough after the conversation ended"


def test_the_months_without_duty_come_from_configuration(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    start_conversation(engine, "chatty", datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    seal_no_duty(uow_factory, "chatty", 2026)
    classes = retention_classes({"no_duty": {"months": 1}}, "business_letter")
    assert [b.subject_id for b in expiring(uow_factory, classes, BERLIN, NOW)] == ["chatty"]


def test_a_hold_keeps_content_without_duty(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    start_conversation(engine, "quiet", datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    sealed = seal_no_duty(uow_factory, "quiet", 2026)
    place_hold(uow_factory, "quiet", "Beschwerde 2026-7", "dpo", NOW, BERLIN)
    assert shred_expired(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW) == []
    assert unseal(uow_factory, "quiet", sealed) == b"Danke!"


def test_erasure_shreds_content_without_duty_at_once(
    engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    start_conversation(engine, "chatty", NOW)
    sealed = seal_no_duty(uow_factory, "chatty", 2026)
    count = shred_subject(
        uow_factory, "chatty", reason="Art. 17", by="dpo", now=NOW, tz=BERLIN, scrub=lambda: None
    )
    assert count == 1
    with pytest.raises(ContentErased):
        unseal(uow_factory, "chatty", sealed)


def test_a_customer_still_in_the_archive_keeps_number_and_name_when_an_old_year_goes(
    uow_factory: Callable[[], UnitOfWork], engine: Engine
) -> None:
    def writes(wa_id: str, wamid: str, at: datetime) -> None:
        body = bodies.inbound(wa_id, wamid, at, "Guten Tag")
        ingest([Received(body, parse_webhook(body))], uow_factory, at)

    writes(ANNA, "wamid.a2019", datetime(2019, 5, 6, 10, 0, tzinfo=UTC))
    writes(ANNA, "wamid.a2026", datetime(2026, 5, 6, 10, 0, tzinfo=UTC))
    writes(BEN, "wamid.b2019", datetime(2019, 5, 6, 11, 0, tzinfo=UTC))

    done = shred_expired(uow_factory, DEFAULT_RETENTION_CLASSES, BERLIN, NOW)

    assert sorted(b.start_year for b in done) == [2019, 2019]
    with engine.connect() as conn:
        contacts = conn.execute(select(t.contacts.c.subject_id, t.contacts.c.wa_id)).all()
    with uow_factory() as uow:
        numbers = [uow.personal.read_text(subject, number) for subject, number in contacts]
        leaves = [json.loads(leaf) for _, leaf in uow.log.iter_leaves()]
    assert sorted((n.text, n.erased_at is None) for n in numbers) == [("", False), (ANNA, True)]
    kept = [e["attributes"] for e in leaves if e["kind"] == "retention.shredded"]
    assert sorted("contact_kept_in" in attributes for attributes in kept) == [False, True]
