"""``chatproof settings show|set|history``: the same service and log entries as the settings
page, JSON output like the other commands, and bad input as one line with exit code 1. The
file's values come from ``CHATPROOF_AUTOMATIONS_*`` here, which override chatproof.toml."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.cli import app

runner = CliRunner()
Run = Callable[..., str]
FILE = {
    "CHATPROOF_AUTOMATIONS_GREETING_DE": "Hallo aus der Datei",
    "CHATPROOF_AUTOMATIONS_HOURS_MON": "09:00-17:00",
}


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str) -> tuple[str, ...]:
    data = tmp_path / "data"
    result = runner.invoke(
        app, ["init", "--data-dir", str(data)], env={"CHATPROOF_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    return ("--data-dir", str(data))


@pytest.fixture
def run(database_url: str) -> Run:
    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(
            app,
            list(args),
            env={"CHATPROOF_DATABASE_URL": database_url, "USER": "petra", "COLUMNS": "200", **FILE},
        )
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_show_set_and_history(data_dir: tuple[str, ...], run: Run) -> None:
    shown = {r["key"]: r for r in json.loads(run("settings", "show", "--json", *data_dir))}
    assert shown["greeting_de"]["value"] == "Hallo aus der Datei"
    assert (shown["greeting_de"]["source"], shown["greeting_de"]["version"]) == ("file", 0)
    assert shown["closed_days"]["value"] == []
    out = run("settings", "set", "greeting_de", "Moin aus der Kommandozeile", *data_dir)
    assert "greeting_de: Hallo aus der Datei → Moin aus der Kommandozeile (version 1" in out
    done = json.loads(
        run("settings", "set", "closed_days", "2026-12-31, 2026-12-24", "--json", *data_dir)
    )
    assert done["after"] == ["2026-12-24", "2026-12-31"] and done["before"] == []
    assert "unchanged" in run("settings", "set", "hours_mon", "09:00-17:00", *data_dir)
    shown = {r["key"]: r for r in json.loads(run("settings", "show", "--json", *data_dir))}
    assert shown["greeting_de"]["source"] == "stored"
    assert shown["greeting_de"]["changed_by"] == "cli:petra"
    history = json.loads(run("settings", "history", "--json", *data_dir))
    assert [(h["actor"], h["key"], h["before"], h["after"]) for h in history] == [
        ("cli:petra", "closed_days", [], ["2026-12-24", "2026-12-31"]),
        ("cli:petra", "greeting_de", "Hallo aus der Datei", "Moin aus der Kommandozeile"),
    ]
    assert "greeting_de" in run("settings", "history", *data_dir)
    back = run("settings", "set", "greeting_de", "--file", *data_dir)
    assert "→ Hallo aus der Datei" in back
    table = run("settings", "show", *data_dir)
    assert "Hallo aus der Datei" in table and "closed_days" in table


def test_bad_input_is_one_line_naming_the_field(data_dir: tuple[str, ...], run: Run) -> None:
    out = run("settings", "set", "hours_tue", "9 bis 5", *data_dir, code=1)
    assert out.startswith("Error: hours_tue:") and "Traceback" not in out
    out = run("settings", "set", "colour", "blue", *data_dir, code=1)
    assert out.startswith("Error: key: 'colour' is not a setting")
    run("settings", "set", "away_de", "Zu.", *data_dir)
    out = run("settings", "set", "away_de", "Offen.", "--version", "0", *data_dir, code=1)
    assert out.startswith("Error: away_de: was changed by cli:petra")
    run("settings", "set", "away_de", *data_dir, code=2)
    assert len(json.loads(run("settings", "history", "--json", *data_dir))) == 1


def test_the_facts_in_force_follow_a_stored_privacy_notice(
    data_dir: tuple[str, ...], run: Run, database_url: str
) -> None:
    from chatproof.bootstrap import build, system_facts
    from chatproof.config import load_settings

    def notice_in_force() -> bool:
        settings = load_settings(Path(data_dir[1]), {"CHATPROOF_DATABASE_URL": database_url})
        components = build(settings, run_migrations=False)
        try:
            return system_facts(components).privacy_notice
        finally:
            components.close()

    assert not notice_in_force()
    run("settings", "set", "privacy_notice_de", "Datenschutz: https://example.de/ds", *data_dir)
    assert notice_in_force()
