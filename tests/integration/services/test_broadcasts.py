"""Broadcasts reach exactly the opted-in contacts, keep refusals with reasons, respect the
messaging limit, and pause and resume against today's consent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from chatproof.domain.consent import MARKETING, ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.policy import PolicySettings
from chatproof.domain.templates import TemplateProblem
from chatproof.services import broadcasts, consent
from chatproof.services.sending import SendingError
from chatproof.store import UnitOfWork
from tests.integration.services.test_sending import (
    ANNA,
    BEN,
    NOW,
    SETTINGS,
    FakePlatform,
    customer_wrote,
    opt_in,
    worker,
)

UowFactory = Callable[[], UnitOfWork]
CARL = "4915209876543"


def withdraw(uow_factory: UowFactory, wa_id: str, at: object = NOW) -> None:
    event = ConsentEvent(MARKETING, ConsentAction.WITHDRAWN, ConsentSource.AGENT, at, "agent")
    consent.record(uow_factory, wa_id, event, at)  # type: ignore[arg-type]


def create(uow_factory: UowFactory, settings: object = SETTINGS) -> int:
    return broadcasts.create(
        uow_factory,
        settings,  # type: ignore[arg-type]
        NOW,
        name="Sommer",
        template="news",
        language="de",
        body_params=["Sommerangebot"],
        actor="lead",
    )


def outcomes(uow_factory: UowFactory, broadcast_id: int) -> dict[str, tuple[str, str | None]]:
    found = broadcasts.report(uow_factory, broadcast_id, "lead", NOW)
    return {r.number: (r.outcome, r.rule_id) for r in found.recipients}


async def test_a_broadcast_reaches_exactly_the_opted_in(uow_factory: UowFactory) -> None:
    opt_in(uow_factory, ANNA)
    opt_in(uow_factory, BEN)
    withdraw(uow_factory, BEN)
    customer_wrote(uow_factory, CARL, NOW - timedelta(hours=1))  # wrote, never opted in
    broadcast_id = create(uow_factory)
    assert outcomes(uow_factory, broadcast_id) == {
        "+49 151 ••• 4567": ("queued", "consent.documented"),
        "+49 176 ••• 5678": ("refused", "marketing.opted_out"),
    }
    platform = FakePlatform()
    await worker(uow_factory, platform, [NOW]).run_once()
    assert [p["to"] for p in platform.sent] == [ANNA]
    assert platform.sent[0]["template"]["name"] == "news"
    report = broadcasts.report(uow_factory, broadcast_id, "lead", NOW)
    assert report.counts == {"refused": 1, "sent": 1}


async def test_pause_holds_back_and_resume_meets_todays_consent(uow_factory: UowFactory) -> None:
    opt_in(uow_factory, ANNA)
    opt_in(uow_factory, BEN)
    broadcast_id = create(uow_factory)
    broadcasts.set_state(uow_factory, broadcast_id, broadcasts.PAUSED, "lead", NOW)
    platform = FakePlatform()
    assert await worker(uow_factory, platform, [NOW]).run_once() == 0
    withdraw(uow_factory, BEN, NOW + timedelta(minutes=1))
    broadcasts.set_state(uow_factory, broadcast_id, broadcasts.RUNNING, "lead", NOW)
    await worker(uow_factory, platform, [NOW + timedelta(minutes=2)]).run_once()
    assert [p["to"] for p in platform.sent] == [ANNA]
    assert outcomes(uow_factory, broadcast_id)["+49 176 ••• 5678"] == (
        "refused",
        "marketing.opted_out",
    )


async def test_the_messaging_limit_is_respected_at_send_time(uow_factory: UowFactory) -> None:
    opt_in(uow_factory, ANNA)
    opt_in(uow_factory, BEN)
    tight = replace(SETTINGS, policy=PolicySettings(messaging_limit=1))
    broadcast_id = create(uow_factory, tight)
    platform = FakePlatform()
    run = worker(uow_factory, platform, [NOW])
    run.sending = tight
    await run.run_once()
    assert len(platform.sent) == 1
    found = sorted(o for o, _ in outcomes(uow_factory, broadcast_id).values())
    assert found == ["refused", "sent"]
    assert "limit.messaging_tier" in {r for _, r in outcomes(uow_factory, broadcast_id).values()}


@pytest.mark.parametrize(
    ("template", "error", "field"),
    [("order_update", SendingError, "template"), ("nope", TemplateProblem, "template")],
)
def test_only_marketing_templates_from_the_catalogue(
    uow_factory: UowFactory, template: str, error: type, field: str
) -> None:
    with pytest.raises(error) as raised:
        broadcasts.create(
            uow_factory, SETTINGS, NOW, name="x", template=template, language="de", actor="a"
        )
    assert raised.value.field == field


async def test_a_label_narrows_the_segment(uow_factory: UowFactory, engine: object) -> None:
    from sqlalchemy import select

    from chatproof.store import tables as t

    opt_in(uow_factory, ANNA)
    opt_in(uow_factory, BEN)
    customer_wrote(uow_factory, ANNA, NOW - timedelta(days=1))
    with engine.begin() as conn:  # type: ignore[attr-defined]
        label = conn.execute(t.labels.insert().values(name="vip", created_at=NOW))
        (conversation,) = conn.execute(select(t.conversations.c.id)).scalars()
        conn.execute(
            t.conversation_labels.insert().values(
                conversation_id=conversation,
                label_id=label.inserted_primary_key[0],
                added_at=NOW,
            )
        )
    broadcast_id = broadcasts.create(
        uow_factory, SETTINGS, NOW, name="VIP", template="news", language="de",
        body_params=["x"], label="vip", actor="lead",
    )  # fmt: skip
    assert list(outcomes(uow_factory, broadcast_id)) == ["+49 151 ••• 4567"]
