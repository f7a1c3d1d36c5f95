"""The command line: init, reading conversations, and errors as one line with exit code 1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from chatproof.bootstrap import build
from chatproof.channels.errors import PayloadError
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.services.ingest import Received, ingest
from tests.support.samples import sample_body

runner = CliRunner()


def test_init_creates_a_working_data_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "chatproof.toml" in result.output
    assert (tmp_path / "d" / "chatproof.sqlite3").exists()


def test_init_twice_fails_cleanly(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    result = runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "already exists" in result.output
    assert "Traceback" not in result.output


def test_commands_without_init_say_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["conversations"], env={"CHATPROOF_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "chatproof init" in result.output


def test_conversations_and_messages_from_the_command_line(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    components = build(load_settings(tmp_path, {}))
    for name in ("openapi/Text Message", "openapi/Location Message"):
        body = sample_body(name)
        ingest([Received(body, parse_webhook(body))], components.writer, datetime.now(UTC))
    components.close()

    listing = runner.invoke(
        app, ["conversations", "--json"], env={"CHATPROOF_DATA_DIR": str(tmp_path)}
    )
    assert listing.exit_code == 0, listing.output
    (row,) = json.loads(listing.output)
    assert (row["name"], row["phone"], row["messages"]) == ("Sheena Nelson", "+1 650 ••• 1234", 2)

    shown = runner.invoke(app, ["messages", str(row["id"]), "--data-dir", str(tmp_path), "--json"])
    assert [m["type"] for m in json.loads(shown.output)] == ["text", "location"]

    table = runner.invoke(
        app, ["conversations", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert "Sheena Nelson" in table.output and "16505551234" not in table.output


def test_unknown_conversation_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    result = runner.invoke(app, ["messages", "77", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: conversation 77 not found"


def test_quarantine_from_the_command_line(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    components = build(load_settings(tmp_path, {}))
    ingest(
        [Received(b"garbage", error=PayloadError("not valid JSON"))],
        components.writer,
        datetime.now(UTC),
    )
    components.close()
    env = {"CHATPROOF_DATA_DIR": str(tmp_path)}
    (entry,) = json.loads(runner.invoke(app, ["quarantine", "list", "--json"], env=env).output)
    assert (entry["reason"], entry["bytes"]) == ("not valid JSON", 7)
    done = runner.invoke(app, ["quarantine", "resolve", str(entry["id"])], env=env)
    assert done.exit_code == 0 and "Resolved" in done.output
    again = runner.invoke(app, ["quarantine", "resolve", str(entry["id"])], env=env)
    assert again.exit_code == 1 and again.output.startswith("Error: unresolved quarantine entry")


def test_every_command_has_help_with_an_example() -> None:
    commands = list(app.registered_commands)
    for group in app.registered_groups:
        assert group.typer_instance is not None
        commands += group.typer_instance.registered_commands
    for command in commands:
        assert command.callback is not None
        doc = command.callback.__doc__ or ""
        assert "Example:" in doc, command.name or command.callback.__name__


def test_shred_from_the_command_line(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    components = build(load_settings(tmp_path, {}))
    body = sample_body("openapi/Text Message")
    ingest([Received(body, parse_webhook(body))], components.writer, datetime.now(UTC))
    components.close()
    env = {"CHATPROOF_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    refused = runner.invoke(app, ["shred", "1", "--reason", "Art. 17"], env=env, input="n\n")
    assert refused.exit_code == 1
    done = runner.invoke(app, ["shred", "1", "--reason", "Art. 17", "--yes"], env=env)
    assert done.exit_code == 0, done.output
    assert "Shredded 2 key buckets" in done.output  # the 2025 message and the 2026 profile
    shown = runner.invoke(app, ["messages", "1", "--json"], env=env)
    assert [m["text"] for m in json.loads(shown.output)] == [""]
    assert runner.invoke(app, ["verify"], env=env).exit_code == 0
