"""``chatproof reclassify`` from the command line: a message becomes a booking voucher, the
log records it, and a wrong class or a missing message is one line on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.archive.envelope import data_key_id
from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.ingest import Received, ingest
from tests.support.samples import sample_body

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Path, Components]]:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    components = build(load_settings(data_dir, {}))
    body = sample_body("message/text")
    ingest([Received(body, parse_webhook(body))], components.writer, NOW)
    yield data_dir, components
    components.close()


def run(data_dir: Path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def class_of_message(components: Components, message_id: int) -> str:
    with components.reader() as uow:
        message = uow.sealed.message(message_id)
        return uow.keystore.bucket_of(data_key_id(message.raw)).retention_class


def test_a_message_becomes_a_booking_voucher(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    result = run(
        data_dir,
        "reclassify",
        "message",
        "1",
        "--to",
        "booking_voucher",
        "--reason",
        "invoice 2026-17 sent by chat",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Reclassified message:1 as booking_voucher: 2 keys moved")
    assert class_of_message(components, 1) == "booking_voucher"
    shown = run(data_dir, "messages", "1", "--json")
    assert json.loads(shown.output)[0]["text"] == "Body Text"
    assert run(data_dir, "verify").exit_code == 0

    again = run(
        data_dir,
        "reclassify",
        "conversation",
        "1",
        "--to",
        "booking_voucher",
        "--reason",
        "all of it",
        "--json",
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["entry"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("message", "1", "--to", "invoice", "--reason", "x"), "retention_class: 'invoice'"),
        (("message", "1", "--to", "booking_voucher", "--reason", ""), "reason:"),
        (("message", "99", "--to", "booking_voucher", "--reason", "x"), "99"),
        (("conversation", "99", "--to", "booking_voucher", "--reason", "x"), "99"),
    ],
)
def test_bad_requests_are_one_line(
    archive: tuple[Path, Components], args: tuple[str, ...], message: str
) -> None:
    data_dir, components = archive
    result = run(data_dir, "reclassify", *args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert class_of_message(components, 1) == "business_letter"
