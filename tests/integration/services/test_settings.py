"""Operational settings on SQLite and PostgreSQL: every change is a log entry with who, when,
before and after; a stale save is a conflict; a stored value wins over chatproof.toml; and a
running reaction processor answers the next new customer with the greeting just saved."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from chatproof.config import Settings, load_settings
from chatproof.domain.accounts import Principal, Role, User
from chatproof.domain.operational_settings import SettingError
from chatproof.services import settings as operational
from chatproof.services.inbox import NotAllowed
from chatproof.services.reactions import ReactionProcessor
from chatproof.services.settings import StaleSetting
from chatproof.store import UnitOfWork
from chatproof.store import tables as t
from chatproof.web.sending_setup import current_automations, file_defaults, sending_setup
from tests.integration.services.test_reactions import OPEN, US, World
from tests.integration.services.test_sending import SETTINGS

Factory = Callable[[], UnitOfWork]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADMIN = Principal("user:1")
TOML = """
[automations]
greeting_de = "Hallo aus der Datei"
greeting_en = "Hello from the file"
hours_mon = "09:00-17:00"
holiday_state = "BY"
"""


def agent() -> Principal:
    user = User(7, "s", "anna", "Anna", Role.AGENT, "de", NOW)
    return Principal(user.actor, user)


def entries(uow_factory: Factory) -> list[dict]:
    with uow_factory() as uow:
        leaves = uow.log.conn.execute(  # type: ignore[attr-defined]
            select(t.log_entries.c.leaf)
            .where(t.log_entries.c.kind == operational.CHANGED)
            .order_by(t.log_entries.c.idx)
        ).scalars()
        return [json.loads(leaf) for leaf in leaves]


@pytest.fixture
def file_settings(tmp_path: Path) -> Settings:
    (tmp_path / "chatproof.toml").write_text(TOML, encoding="utf-8")
    return load_settings(tmp_path, {})


def test_a_change_is_one_log_entry_with_who_when_before_and_after(
    uow_factory: Factory, file_settings: Settings
) -> None:
    defaults = file_defaults(file_settings)
    done = operational.change(
        uow_factory, ADMIN, NOW, "greeting_de", "  Moin!  ", expected_version=0, defaults=defaults
    )
    assert done is not None and done.version == 1
    (entry,) = entries(uow_factory)
    assert entry["time"] == "2026-11-22T12:00:00.000Z"
    assert entry["attributes"] == {
        "actor": "user:1",
        "key": "greeting_de",
        "before": "Hallo aus der Datei",
        "before_source": "file",
        "after": "Moin!",
        "after_source": "stored",
        "version": 1,
    }
    assert done.log_index == entry["index"]
    history = operational.history(uow_factory)
    assert [(h.actor, h.key, h.before, h.after) for h in history] == [
        ("user:1", "greeting_de", "Hallo aus der Datei", "Moin!")
    ]


def test_the_same_value_again_writes_nothing(uow_factory: Factory, file_settings: Settings) -> None:
    defaults = file_defaults(file_settings)
    assert (
        operational.change(uow_factory, ADMIN, NOW, "hours_mon", "09:00-17:00", defaults=defaults)
        is None
    )
    assert entries(uow_factory) == []
    assert operational.revision(uow_factory) == 0


def test_a_stale_version_is_a_conflict_and_changes_nothing(uow_factory: Factory) -> None:
    operational.change(uow_factory, ADMIN, NOW, "away_de", "Zu", expected_version=0)
    operational.change(
        uow_factory, Principal("user:2"), NOW, "away_de", "Geschlossen", expected_version=1
    )
    with pytest.raises(StaleSetting) as raised:
        operational.change(uow_factory, ADMIN, NOW, "away_de", "Mein Text", expected_version=1)
    assert "away_de" in str(raised.value) and "user:2" in str(raised.value)
    assert raised.value.current is not None and raised.value.current.version == 2
    stored = operational.effective(uow_factory, {})["away_de"]
    assert (stored.value, stored.version, stored.changed_by) == ("Geschlossen", 2, "user:2")
    assert len(entries(uow_factory)) == 2


def test_several_settings_are_saved_together_or_not_at_all(uow_factory: Factory) -> None:
    with pytest.raises(SettingError) as raised:
        operational.change_many(
            uow_factory, ADMIN, NOW, {"hours_tue": "08:00-12:00", "hours_wed": "9 bis 5"}
        )
    assert raised.value.field == "hours_wed"
    assert operational.revision(uow_factory) == 0 and entries(uow_factory) == []
    with pytest.raises(StaleSetting):
        operational.change_many(
            uow_factory,
            ADMIN,
            NOW,
            {"hours_tue": "08:00-12:00", "holiday_state": "be"},
            expected={"hours_tue": 0, "holiday_state": 3},
        )
    assert operational.revision(uow_factory) == 0 and entries(uow_factory) == []
    done = operational.change_many(
        uow_factory, ADMIN, NOW, {"hours_tue": "08:00-12:00", "holiday_state": "be"}
    )
    assert [(c.key, c.after) for c in done] == [
        ("hours_tue", "08:00-12:00"),
        ("holiday_state", "BE"),
    ]
    assert operational.revision(uow_factory) == 2


def test_an_agent_may_not_change_settings(uow_factory: Factory) -> None:
    with pytest.raises(NotAllowed):
        operational.change(uow_factory, agent(), NOW, "greeting_de", "Hi")
    assert entries(uow_factory) == []


def test_a_stored_value_wins_over_the_file_until_set_back(
    uow_factory: Factory, file_settings: Settings
) -> None:
    defaults = file_defaults(file_settings)
    operational.change(
        uow_factory, ADMIN, NOW, "greeting_de", "Aus der Datenbank", defaults=defaults
    )
    operational.change(
        uow_factory, ADMIN, NOW, "closed_days", ["2026-12-31", "2026-12-24"], defaults=defaults
    )
    found = operational.effective(uow_factory, defaults)
    assert (found["greeting_de"].value, found["greeting_de"].source) == (
        "Aus der Datenbank",
        "stored",
    )
    assert (found["greeting_en"].value, found["greeting_en"].source) == (
        "Hello from the file",
        "file",
    )
    _, stored = operational.overrides(uow_factory)
    setup = sending_setup(file_settings, stored)
    assert setup.automations.greeting == {"de": "Aus der Datenbank", "en": "Hello from the file"}
    assert setup.automations.hours is not None
    assert {d.isoformat() for d in setup.automations.hours.closed_days} == {
        "2026-12-24",
        "2026-12-31",
    }
    operational.change(uow_factory, ADMIN, NOW, "greeting_de", None, defaults=defaults)
    found = operational.effective(uow_factory, defaults)
    assert (found["greeting_de"].value, found["greeting_de"].source) == (
        "Hallo aus der Datei",
        "file",
    )
    last = entries(uow_factory)[-1]["attributes"]
    assert (last["before"], last["after"], last["after_source"]) == (
        "Aus der Datenbank",
        "Hallo aus der Datei",
        "file",
    )


def test_the_interval_is_archived_without_floating_point(uow_factory: Factory) -> None:
    operational.change(uow_factory, ADMIN, NOW, "away_interval_hours", 1.5)
    assert entries(uow_factory)[0]["attributes"]["after"] == "1.5"
    assert operational.effective(uow_factory, {})["away_interval_hours"].value == 1.5


def test_the_next_new_customer_gets_the_greeting_just_changed(
    uow_factory: Factory, engine: Engine, file_settings: Settings
) -> None:
    setup = sending_setup(file_settings)
    seen, automations = current_automations(setup, uow_factory)
    world = World(uow_factory, engine, automations)
    clock = [OPEN]
    processor = ReactionProcessor(
        uow_factory, SETTINGS, automations, now=lambda: clock[0], lag=timedelta(0)
    )
    world.writes(OPEN, "Hallo")
    processor.run_once()
    operational.change(
        uow_factory,
        ADMIN,
        NOW,
        "greeting_en",
        "Welcome, changed in the browser!",
        defaults=file_defaults(file_settings),
    )
    assert operational.revision(uow_factory) != seen
    _, automations = current_automations(setup, uow_factory)
    processor.use(automations)
    world.writes(OPEN + timedelta(minutes=1), "Hello", wa_id=US)
    clock[0] = OPEN + timedelta(minutes=2)
    processor.run_once()
    greetings = [text for origin, text in world.queued() if origin == "automation:greeting"]
    assert greetings == ["Hallo aus der Datei", "Welcome, changed in the browser!"]


def test_two_first_saves_of_one_key_do_not_both_succeed(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        assert uow.settings.put("away_en", "Closed.", 1, "user:1", NOW)
        assert not uow.settings.put("away_en", "Away.", 1, "user:2", NOW)
        assert not uow.settings.put("away_en", "Away.", 3, "user:2", NOW)
        stored = uow.settings.get("away_en")
        assert stored is not None and (stored.value, stored.changed_by) == ("Closed.", "user:1")
        uow.commit()
    assert operational.revision(uow_factory) == 1


def test_a_file_value_written_differently_is_not_saved_again(uow_factory: Factory) -> None:
    defaults = {"holiday_state": "by", "closed_days": ("2026-12-31", "2026-12-24")}
    done = operational.change_many(
        uow_factory,
        ADMIN,
        NOW,
        {"holiday_state": "BY", "closed_days": ["2026-12-24", "2026-12-31"]},
        defaults=defaults,
    )
    assert done == [] and entries(uow_factory) == []
