"""``chatproof ropa`` and ``chatproof procedure`` from the command line: the documents follow
the configuration in force, in German and English, as Markdown, HTML and PDF; bad input is one
line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.cli import app
from chatproof.datadir import initialise

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    initialise(tmp_path / "data")
    return tmp_path / "data"


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env or {})


def test_the_record_changes_with_the_configuration(data_dir: Path) -> None:
    before = run(data_dir, "ropa", "--lang", "en")
    assert before.exit_code == 0, before.output
    assert "not given (organisation.name)" in before.stdout
    assert "none configured (archive.witness)" in before.stdout
    env = {
        "CHATPROOF_ORGANISATION_NAME": "Fahrradladen Weber GmbH",
        "CHATPROOF_ORGANISATION_BSP_NAME": "360dialog GmbH, Berlin",
        "CHATPROOF_ARCHIVE_HEAD_EVERY_ENTRIES": "250",
    }
    after = run(data_dir, "ropa", "--lang", "en", env=env)
    assert after.exit_code == 0, after.output
    assert "| Controller | Fahrradladen Weber GmbH |" in after.stdout
    assert "360dialog GmbH, Berlin (processor, Business Solution Provider)" in after.stdout
    assert "every 250 entries" in after.stdout


def test_a_retention_class_from_the_configuration_is_listed(data_dir: Path) -> None:
    config = data_dir / "chatproof.toml"
    config.write_text(
        config.read_text()
        + '\n[archive.retention.contract]\nyears = 10\ncounted_from = "end_of_calendar_year"\n'
        'legal_basis = "§ 147 (1) Nr. 5 AO: other documents relevant to taxation"\n'
    )
    text = run(data_dir, "ropa").stdout
    assert "| contract (steuerrelevant) | 10 Jahre ab Ende des Kalenderjahres" in text


def test_html_and_pdf_in_both_languages(data_dir: Path, tmp_path: Path) -> None:
    html = run(data_dir, "ropa", "--format", "html", "--out", str(tmp_path / "r.html"))
    assert html.exit_code == 0, html.output
    assert "<h1>Verzeichnis von Verarbeitungstätigkeiten</h1>" in (tmp_path / "r.html").read_text()
    for language in ("de", "en"):
        target = tmp_path / f"r-{language}.pdf"
        pdf = run(data_dir, "ropa", "--format", "pdf", "--lang", language, "--out", str(target))
        assert pdf.exit_code == 0, pdf.output
        assert target.read_bytes().startswith(b"%PDF-")


def test_bad_input_is_one_line(data_dir: Path) -> None:
    wrong = run(data_dir, "ropa", "--lang", "fr")
    assert wrong.exit_code == 1
    assert "Error: organisation.language must be one of de, en, not 'fr'" in wrong.output
    assert run(data_dir, "ropa", "--format", "pdf").exit_code == 2


def test_the_procedure_in_force_is_shown_for_a_date(data_dir: Path) -> None:
    assert "Error: no procedure documentation" in run(data_dir, "procedure", "show").output
    first = run(data_dir, "procedure", "record")
    assert first.exit_code == 0 and first.stdout.startswith("New version 1")
    assert run(data_dir, "procedure", "record").stdout.startswith("Unchanged: version 1")
    changed = run(
        data_dir, "procedure", "record", env={"CHATPROOF_ORGANISATION_BACKUP": "daily to NAS"}
    )
    assert changed.stdout.startswith("New version 2")
    shown = run(data_dir, "procedure", "show")
    assert "version 2" in shown.stdout and "daily to NAS" in shown.stdout
    assert run(data_dir, "procedure", "show", "--at", "2020-01-01").exit_code == 1
    assert run(data_dir, "procedure", "show", "--at", "soon").exit_code == 2
    listing = run(data_dir, "procedure", "list", "--json")
    assert listing.exit_code == 0 and listing.stdout.count('"version"') == 2
