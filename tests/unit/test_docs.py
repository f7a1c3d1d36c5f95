"""Every command is documented in docs/cli.md, with a heading of its own."""

from __future__ import annotations

from pathlib import Path

from chatproof.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def command_names() -> list[str]:
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


def test_every_command_has_a_section_in_the_docs() -> None:
    text = DOCS.read_text()
    missing = [n for n in command_names() if f"### chatproof {n}\n" not in text]
    assert missing == []
    assert len(command_names()) >= 8
