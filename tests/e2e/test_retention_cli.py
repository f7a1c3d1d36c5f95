"""Retention classes come from the configuration file: a changed period reaches the daily job,
and a wrong one is named before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.bootstrap import build
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    initialise(target)
    return target


def configure(data_dir: Path, text: str) -> None:
    with (data_dir / "chatproof.toml").open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_the_generated_configuration_names_the_built_in_classes(data_dir: Path) -> None:
    components = build(load_settings(data_dir, {}))
    try:
        assert set(components.retention_classes) == {
            "business_letter",
            "booking_voucher",
            "books_and_records",
            "no_duty",
        }
    finally:
        components.close()
    assert "[archive.retention.no_duty]" in (data_dir / "chatproof.toml").read_text()


def test_a_configured_period_and_a_new_class_are_used(data_dir: Path) -> None:
    configure(
        data_dir,
        "\n[archive.retention.no_duty]\nmonths = 2\n"
        '[archive.retention.contract]\nyears = 10\ncounted_from = "end_of_calendar_year"\n'
        'legal_basis = "§ 147 (1) Nr. 5 AO"\n',
    )
    components = build(load_settings(data_dir, {}))
    try:
        assert components.retention_classes["no_duty"].months == 2
        assert components.retention_classes["contract"].years == 10
    finally:
        components.close()
    result = runner.invoke(app, ["retention", "--dry-run", "--json", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("\n[archive.retention.no_duty]\nmonths = -1\n", "archive.retention.no_duty.months"),
        ("\n[archive.retention.contract]\nyears = 10\n", "archive.retention.contract."),
        ("\n[archive.retention.no_duty]\nweeks = 3\n", "archive.retention.no_duty.weeks"),
    ],
)
def test_a_wrong_class_is_named_and_nothing_runs(data_dir: Path, text: str, named: str) -> None:
    configure(data_dir, text)
    result = runner.invoke(app, ["retention", "--dry-run", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and named in result.output
    assert "Traceback" not in result.output
