"""Procedure documentation versions on SQLite and PostgreSQL: an unchanged procedure is no new
version, a changed setting is, each version is a log entry, and the version in force at any
moment is the one shown."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from chatproof.domain.processing import Organisation, RetentionFact, SystemFacts
from chatproof.services.procedure import (
    NoProcedureVersion,
    procedure_in_force,
    procedure_versions,
    record_procedure,
    versions_during,
)
from chatproof.store import tables as t

TZ = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
FACTS = SystemFacts(
    organisation=Organisation(name="Muster GmbH"),
    provider="meta",
    bsp_name="",
    database_backend="SQLite",
    timezone="Europe/Berlin",
    default_retention_class="business_letter",
    retention=(RetentionFact("business_letter", 6, 0, "end_of_calendar_year", "§ 147 AO"),),
    head_every_entries=1000,
    head_every_seconds=60.0,
    witnesses=(),
    master_key_version=1,
    roles=("admin", "auditor"),
    totp_roles=("admin", "auditor"),
    backup="",
    privacy_notice=False,
    opt_in_text_version="1",
    media_max_bytes=1024 * 1024,
    software_version="0.1.0",
)


def test_versions_follow_the_settings_and_each_is_logged(engine: Engine) -> None:
    first, new = record_procedure(engine, FACTS, "cli:anna", T0, TZ)
    assert new
    same, new_again = record_procedure(engine, FACTS, "cli:anna", T0 + timedelta(days=1), TZ)
    assert not new_again and same.id == first.id

    changed = replace(FACTS, backup="daily to the NAS")
    later = T0 + timedelta(days=30)
    second, new = record_procedure(engine, changed, "cli:ben", later, TZ)
    assert new and second.sha256 != first.sha256 and "daily to the NAS" in second.text

    assert procedure_in_force(engine, T0 + timedelta(days=5), "de").id == first.id
    assert procedure_in_force(engine, later, "de").id == second.id
    with pytest.raises(NoProcedureVersion):
        procedure_in_force(engine, T0 - timedelta(seconds=1), "de")
    assert [v.id for v in procedure_versions(engine)] == [first.id, second.id]
    during = versions_during(engine, T0 + timedelta(days=2), later + timedelta(days=1), "de")
    assert [v.id for v in during] == [first.id, second.id]

    with engine.connect() as conn:
        leaves = {
            idx: json.loads(bytes(leaf))
            for idx, leaf in conn.execute(
                select(t.log_entries.c.idx, t.log_entries.c.leaf).where(
                    t.log_entries.c.kind == "procedure.version"
                )
            )
        }
    assert leaves[first.log_index]["attributes"]["sha256"] == first.sha256
    assert leaves[second.log_index]["attributes"]["actor"] == "cli:ben"
    assert leaves[second.log_index]["retention"]["class"] == "books_and_records"


def test_english_versions_are_kept_apart(engine: Engine) -> None:
    german, _ = record_procedure(engine, FACTS, "cli:anna", T0, TZ)
    english, new = record_procedure(engine, replace(FACTS, language="en"), "cli:anna", T0, TZ)
    assert new and english.text.startswith("# Procedure documentation")
    assert procedure_in_force(engine, T0, "de").id == german.id
    assert procedure_in_force(engine, T0, "en").id == english.id
