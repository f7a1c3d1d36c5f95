"""``chatproof import whatsapp-export`` from the command line: a zip export with media becomes
an imported conversation, a second run adds nothing, ``--dry-run --jsonl`` previews without
storing, and bad input is one line on stderr with exit code 1."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.cli import app
from chatproof.commands import imports
from chatproof.datadir import initialise

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "chat_export"
CHAT = "WhatsApp Chat mit +49 151 23456789"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    initialise(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / f"{CHAT}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{CHAT}.txt", (SAMPLES / "android-de-24h.txt").read_bytes())
        archive.writestr("IMG-20240313-WA0001.jpg", b"\xff\xd8 photo")
    return path


def run(data_dir: Path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_an_export_is_imported_once_and_shows_in_the_inbox(data_dir: Path, export: Path) -> None:
    first = run(
        data_dir, "import", "whatsapp-export", str(export), "--business-name", "Fahrradladen Weber"
    )
    assert first.exit_code == 0, first.output
    assert "android DD.MM.YY 24h (confidence 1.00; a day above 12 in first place)" in first.stdout
    assert "10 messages read, 10 added, 0 already imported, 0 unreadable lines" in first.stdout
    assert "media: 1 stored, 1 missing" in first.stdout

    again = run(
        data_dir,
        "import",
        "whatsapp-export",
        str(export),
        "--business-name",
        "Fahrradladen Weber",
        "--json",
    )
    assert again.exit_code == 0, again.output
    (summary,) = json.loads(again.stdout)
    assert (summary["added"], summary["already_imported"], summary["import_id"]) == (0, 10, None)

    listing = run(data_dir, "conversations", "--json")
    (conversation,) = json.loads(listing.stdout)
    assert (conversation["phone"], conversation["messages"]) == ("+49 151 ••• 6789", 10)
    shown = json.loads(run(data_dir, "messages", str(conversation["id"]), "--json").stdout)
    assert [m["type"] for m in shown][:3] == ["import.system", "import.message", "import.message"]
    assert shown[1]["text"] == "Guten Tag, mein Rad quietscht."


def test_dry_run_prints_one_json_line_per_message_and_stores_nothing(
    data_dir: Path, export: Path
) -> None:
    result = run(data_dir, "import", "whatsapp-export", str(export), "--dry-run", "--jsonl")

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 10
    assert rows[5] == {
        "at": "2024-03-13T09:02:00",
        "author": "Max Mustermann",
        "text": "So sieht es aus",
        "kind": "attachment",
        "attachment": "IMG-20240313-WA0001.jpg",
        "line": 9,
    }
    assert rows[0]["author"] is None and rows[0]["kind"] == "system"
    assert "confidence 1.00" in result.stderr
    assert json.loads(run(data_dir, "conversations", "--json").stdout) == []


def test_unreadable_lines_are_reported_with_their_numbers(data_dir: Path) -> None:
    path = SAMPLES / "broken-lines.txt"
    result = run(
        data_dir,
        "import",
        "whatsapp-export",
        str(path),
        "--business-name",
        "Weber",
        "--contact",
        "+49 151 23456789",
    )
    assert result.exit_code == 0, result.output
    assert "broken-lines.txt: line 2: no such date '32.03.24' in dmy order" in result.stderr
    assert "line 4: no such time 25:00" in result.stderr
    assert "2 added, 0 already imported, 3 unreadable lines" in result.stdout


def test_a_file_that_is_no_export_shows_its_first_lines(data_dir: Path) -> None:
    result = run(
        data_dir, "import", "whatsapp-export", str(SAMPLES / "not-an-export.txt"), "--dry-run"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: not-an-export.txt: not a WhatsApp chat export")
    assert "  Dear customer," in result.stderr
    assert "Traceback" not in result.output


def test_without_a_terminal_the_business_name_is_required(data_dir: Path, export: Path) -> None:
    result = run(data_dir, "import", "whatsapp-export", str(export))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --business-name:")
    assert json.loads(run(data_dir, "conversations", "--json").stdout) == []


def test_a_bad_file_among_several_stops_before_anything_is_imported(
    data_dir: Path, export: Path
) -> None:
    result = run(
        data_dir,
        "import",
        "whatsapp-export",
        str(export),
        str(SAMPLES / "not-an-export.txt"),
        "--business-name",
        "Weber",
    )
    assert result.exit_code == 1
    assert json.loads(run(data_dir, "conversations", "--json").stdout) == []


@pytest.mark.parametrize(("option", "value"), [("--date-order", "dym"), ("--time-format", "13")])
def test_overrides_are_checked(data_dir: Path, export: Path, option: str, value: str) -> None:
    result = run(data_dir, "import", "whatsapp-export", str(export), option, value, "--dry-run")
    assert result.exit_code == 2
    assert option in result.output


def test_a_missing_file_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    result = run(data_dir, "import", "whatsapp-export", str(tmp_path / "nope.txt"), "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: nope.txt: no such file"


def test_on_a_terminal_the_business_name_is_asked_for(
    data_dir: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "_interactive", lambda: True)
    result = runner.invoke(
        app,
        ["import", "whatsapp-export", str(export), "--data-dir", str(data_dir), "--json"],
        input="Fahrradladen Weber\n",
    )
    assert result.exit_code == 0, result.output
    assert "Business name as it appears in the chat" in result.stderr
    typed, _, printed = result.stdout.partition("\n")  # the runner echoes what was typed
    assert typed.strip() == "Fahrradladen Weber"
    (summary,) = json.loads(printed)
    assert summary["added"] == 10 and summary["warnings"] == []


def test_large_files_are_imported_under_a_progress_bar(
    data_dir: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "PROGRESS_FROM_BYTES", 0)
    result = run(data_dir, "import", "whatsapp-export", str(export), "--business-name", "Weber")
    assert result.exit_code == 0, result.output
    assert "10 messages read, 10 added" in result.stdout


def test_several_files_are_imported_together_under_one_progress_bar(
    data_dir: Path, export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = tmp_path / f"{CHAT} (2).txt"
    later.write_bytes(
        (SAMPLES / "android-de-24h.txt").read_bytes() + b"20.03.24, 10:00 - Weber: Neu\n"
    )
    monkeypatch.setattr(imports, "PROGRESS_FROM_BYTES", 0)
    result = run(
        data_dir,
        "import",
        "whatsapp-export",
        str(export),
        str(later),
        "--business-name",
        "Weber",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summaries = json.loads(result.stdout)
    assert [(s["file"], s["added"]) for s in summaries] == [(export.name, 10), (later.name, 1)]
