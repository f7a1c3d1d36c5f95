"""The after-ingest processor: keywords, the Art. 13 notice, greeting, away message, FAQ and
reconciling the outbox from status webhooks, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.business_hours import BusinessHours
from chatproof.domain.consent import MARKETING, SERVICE, ConsentSource
from chatproof.domain.faq import FaqRule
from chatproof.services import consent
from chatproof.services.ingest import Received, ingest
from chatproof.services.reactions import AutomationSettings, ReactionProcessor
from chatproof.services.sending import Outgoing
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from tests.integration.services.test_sending import ANNA, BEN, SETTINGS, send
from tests.support import webhook_bodies as bodies

UowFactory = Callable[[], UnitOfWork]
# Wednesday 10 June 2026, 14:00 in Berlin: open. Thursday 4 June 2026 is Corpus Christi.
OPEN = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
EVENING = datetime(2026, 6, 10, 19, 0, tzinfo=UTC)
HOLIDAY = datetime(2026, 6, 4, 10, 0, tzinfo=UTC)
US = "12025550123"
HOURS = BusinessHours.from_settings(
    {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}, "Europe/Berlin", "BY"
)
AUTOMATIONS = AutomationSettings(
    opt_out_confirmation={"de": "Abgemeldet.", "en": "Unsubscribed."},
    opt_in_text={"de": "Ja, Newsletter per WhatsApp.", "en": "Yes, newsletter on WhatsApp."},
    opt_in_confirmation={"de": "Angemeldet.", "en": "Subscribed."},
    privacy_notice={"de": "Datenschutz: https://example.de/ds", "en": "Privacy: https://x"},
    greeting={"de": "Willkommen!", "en": "Welcome!"},
    away={"de": "Wir sind gerade nicht da.", "en": "We are away."},
    away_interval=timedelta(hours=12),
    hours=HOURS,
    faq_enabled=True,
    faq=(FaqRule("hours", "Mo-Fr 9-17 Uhr", any_words=("öffnungszeiten",)),),
)


class World:
    def __init__(self, uow_factory: UowFactory, engine: Engine, automations: AutomationSettings):
        self.uow_factory = uow_factory
        self.engine = engine
        self.automations = automations
        self.count = 0

    def writes(self, at: datetime, text: str = "", wa_id: str = ANNA, **message: Any) -> None:
        self.count += 1
        body = bodies.inbound(wa_id, f"wamid.in{self.count}", at, text, **message)
        self.ingest(body, at)

    def ingest(self, body: bytes, at: datetime) -> None:
        ingest([Received(body, parse_webhook(body))], self.uow_factory, at)

    def react(self, at: datetime) -> Any:
        processor = ReactionProcessor(
            self.uow_factory, SETTINGS, self.automations, now=lambda: at, lag=timedelta(0)
        )
        return processor.run_once()

    def queued(self) -> list[tuple[str, str]]:
        """(origin, text) of every queued message, oldest first."""
        found = []
        with self.uow_factory() as uow:
            rows = uow.sending.outbox_in_state("queued")
            for row in rows:
                subject = uow.sending.contact(row.contact_id).subject_id
                document = json.loads(uow.personal.unseal_bytes(subject, row.payload))
                found.append((row.origin, document["preview"]))
        return found

    def states(self, wa_id: str = ANNA) -> dict[str, Any]:
        return consent.history(self.uow_factory, "test", OPEN, wa_id=wa_id).states


@pytest.fixture
def world(uow_factory: UowFactory, engine: Engine) -> World:
    return World(uow_factory, engine, AUTOMATIONS)


def test_first_message_gets_notice_and_greeting_once_in_the_customers_language(
    world: World,
) -> None:
    world.writes(OPEN, "Hallo")
    world.writes(OPEN + timedelta(minutes=1), "Noch was")
    world.writes(OPEN, "Hello", wa_id=US)
    world.react(OPEN + timedelta(minutes=2))
    assert world.queued() == [
        ("automation:privacy_notice", "Datenschutz: https://example.de/ds"),
        ("automation:greeting", "Willkommen!"),
        ("automation:privacy_notice", "Privacy: https://x"),
        ("automation:greeting", "Welcome!"),
    ]


def test_stop_withdraws_everything_and_is_confirmed_once(world: World) -> None:
    world.writes(OPEN, "START")
    world.react(OPEN)
    assert world.states()[MARKETING].granted
    world.writes(OPEN + timedelta(minutes=1), "STOPP!")
    world.writes(OPEN + timedelta(minutes=2), "stop")
    world.react(OPEN + timedelta(minutes=3))
    states = world.states()
    assert states[MARKETING].withdrawn and states[SERVICE].withdrawn
    confirmations = [q for q in world.queued() if q[0] == "automation:opt_out_confirmation"]
    assert confirmations == [("automation:opt_out_confirmation", "Abgemeldet.")]
    # a new opt-in, then a new STOP: confirmed again
    world.writes(OPEN + timedelta(minutes=4), "Start")
    world.writes(OPEN + timedelta(minutes=5), "Abmelden")
    world.react(OPEN + timedelta(minutes=6))
    confirmations = [q for q in world.queued() if q[0] == "automation:opt_out_confirmation"]
    assert len(confirmations) == 2


def test_start_is_a_double_opt_in_with_the_consent_text_and_a_confirmation(world: World) -> None:
    world.writes(OPEN, "START")
    world.react(OPEN)
    (event,) = consent.history(world.uow_factory, "t", OPEN, wa_id=ANNA).events
    assert (event.source, event.text, event.text_version) == (
        ConsentSource.KEYWORD,
        "Ja, Newsletter per WhatsApp.",
        "1",
    )
    assert ("automation:opt_in_confirmation", "Angemeldet.") in world.queued()


def test_a_keyword_inside_a_sentence_is_a_question(world: World) -> None:
    world.writes(OPEN, "Ich kann den Motor nicht stoppen")
    world.react(OPEN)
    assert not world.states()[MARKETING].withdrawn


def test_unsubscribe_button_opts_out_without_a_confirmation(world: World) -> None:
    button = {"type": "button", "button": {"payload": "Unsubscribe", "text": "Abmelden"}}
    world.writes(OPEN, **button)
    world.react(OPEN)
    assert world.states()[MARKETING].withdrawn
    assert not [q for q in world.queued() if "opt_out" in q[0]]


def test_platform_preference_stop_opts_out(world: World) -> None:
    world.writes(OPEN, "Hallo")
    world.ingest(bodies.preference(ANNA, "stop", OPEN), OPEN)
    world.react(OPEN)
    history = consent.history(world.uow_factory, "t", OPEN, wa_id=ANNA)
    assert history.states[MARKETING].withdrawn
    assert history.events[-1].source is ConsentSource.PLATFORM_PREFERENCE


def test_away_message_outside_hours_and_on_holidays_at_most_once_per_interval(
    world: World,
) -> None:
    world.writes(OPEN, "Hallo")
    world.writes(EVENING, "Sind Sie noch da?")
    world.writes(EVENING + timedelta(hours=1), "Hallo??")
    world.react(EVENING + timedelta(hours=1))
    away = [q for q in world.queued() if q[0] == "automation:away"]
    assert away == [("automation:away", "Wir sind gerade nicht da.")]


def test_away_message_on_a_public_holiday(world: World) -> None:
    world.writes(HOLIDAY, "Hallo")
    world.react(HOLIDAY)
    assert ("automation:away", "Wir sind gerade nicht da.") in world.queued()


def test_faq_answers_only_where_enabled(
    uow_factory: UowFactory, engine: Engine, world: World
) -> None:
    world.writes(OPEN, "Wie sind Ihre Öffnungszeiten?")
    world.react(OPEN)
    assert ("automation:faq", "Mo-Fr 9-17 Uhr") in world.queued()
    quiet = World(uow_factory, engine, AutomationSettings(faq=AUTOMATIONS.faq))
    quiet.writes(OPEN, "Öffnungszeiten?", wa_id=US)
    quiet.react(OPEN)
    assert [q for q in quiet.queued() if q[0] == "automation:faq"] == [
        ("automation:faq", "Mo-Fr 9-17 Uhr")
    ]


def test_old_messages_get_no_automatic_answer(world: World) -> None:
    world.writes(OPEN - timedelta(days=2), "Hallo")
    world.react(OPEN)
    assert world.queued() == []


def test_restart_neither_loses_nor_repeats(world: World) -> None:
    world.writes(OPEN, "Hallo")
    first = world.react(OPEN)
    again = world.react(OPEN)
    assert (first.messages, again.messages) == (1, 0)
    assert len(world.queued()) == 2


def test_status_webhooks_reconcile_an_unknown_outcome(world: World, engine: Engine) -> None:
    world.writes(OPEN, "Hallo")
    accepted = send(world.uow_factory, ANNA, Outgoing(text="Antwort"), "k", OPEN)
    with engine.begin() as conn:
        conn.execute(t.outbox.update().values(state="unknown", reason="timed out"))
    callback = f"outbox:{accepted.outbox_id}"
    world.ingest(bodies.status("wamid.out1", "delivered", ANNA, OPEN, callback=callback), OPEN)
    world.react(OPEN)
    with engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.id == accepted.outbox_id)).one()
        kinds = conn.execute(select(t.log_entries.c.kind)).scalars().all()
    assert (row.state, row.delivery, row.reason) == ("sent", "delivered", None)
    assert "outbox.reconciled" in kinds


def test_failed_status_is_final_with_code_and_reason(world: World, engine: Engine) -> None:
    world.writes(OPEN - timedelta(hours=1), "Hallo")
    accepted = send(world.uow_factory, ANNA, Outgoing(text="Antwort"), "k", OPEN)
    callback = f"outbox:{accepted.outbox_id}"
    with engine.begin() as conn:
        conn.execute(t.outbox.update().values(state="in_flight"))
    failed = bodies.status("wamid.out1", "failed", ANNA, OPEN, code=131047, callback=callback)
    world.ingest(failed, OPEN)
    world.react(OPEN)
    with engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.id == accepted.outbox_id)).one()
    assert (row.state, row.error_code) == ("failed", 131047)
    assert "24 hours" in row.reason


def test_a_message_that_cannot_be_answered_holds_up_nothing(
    uow_factory: UowFactory, engine: Engine
) -> None:
    too_long = AutomationSettings(greeting={"de": "x" * 5000, "en": "x" * 5000})
    world = World(uow_factory, engine, too_long)
    world.writes(OPEN, "Hallo")
    world.writes(OPEN, "STOP", wa_id=BEN)
    report = world.react(OPEN)
    assert report.messages == 2
    assert world.states(BEN)[MARKETING].withdrawn


async def test_an_idle_processor_has_nothing_new_after_the_business_sent(
    world: World,
) -> None:
    from tests.integration.services.test_sending import FakePlatform, worker

    world.writes(OPEN, "Hallo")
    world.react(OPEN)
    await worker(world.uow_factory, FakePlatform(), [OPEN]).run_once()  # notice, greeting
    world.react(OPEN)
    processor = ReactionProcessor(
        world.uow_factory, SETTINGS, world.automations, now=lambda: OPEN, lag=timedelta(0)
    )
    assert not processor._anything_new(), "it would take the writer's lock every round"


def test_a_message_whose_ingest_commits_late_is_not_skipped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers ingest at once: the one that stored its message first commits last. The
    processor, following message ids, must still see that message once it is committed."""
    from chatproof.store.webhooks import SqlAlchemyWebhookRepository

    saved, release = threading.Event(), threading.Event()
    save = SqlAlchemyWebhookRepository.save

    def save_then_pause(self: SqlAlchemyWebhookRepository, *args: Any, **kwargs: Any) -> Any:
        counts = save(self, *args, **kwargs)
        if threading.current_thread().name == "slow":
            saved.set()
            release.wait(10)
        return counts

    monkeypatch.setattr(SqlAlchemyWebhookRepository, "save", save_then_pause)
    world.writes(OPEN, "Hallo", wa_id=US)
    world.react(OPEN)
    slow = threading.Thread(target=world.writes, args=(OPEN, "STOP"), name="slow")
    slow.start()
    assert saved.wait(10)
    fast = threading.Thread(target=world.writes, args=(OPEN, "STOP", US), name="fast")
    fast.start()
    fast.join(0.5)
    # PostgreSQL: reacts to whatever is committed. SQLite: waits for the slow writer.
    between = threading.Thread(target=world.react, args=(OPEN + timedelta(seconds=1),))
    between.start()
    between.join(0.5)
    release.set()
    for thread in (slow, fast, between):
        thread.join(10)
    world.react(OPEN + timedelta(seconds=2))

    assert world.states()[MARKETING].withdrawn
    assert world.states(US)[MARKETING].withdrawn
