"""``chatproof send --attach``: a file queued from the command line, sealed like one from the
composer; bad files are one line naming the option or field, exit code 1."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from chatproof.bootstrap import build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.services.ingest import Received, ingest
from chatproof.store import tables as t
from tests.support.samples import sample_body

runner = CliRunner()
PDF = b"%PDF-1.4\nRechnung\n%%EOF"


def a_customer_wrote(data_dir: Path) -> str:
    """The sample customer wrote a minute ago; returns the number."""
    from datetime import UTC, datetime

    sample = json.loads(sample_body("openapi/Text Message"))
    value = sample["entry"][0]["changes"][0]["value"]
    value["messages"][0]["timestamp"] = str(int(time.time() - 60))
    body = json.dumps(sample).encode()
    components = build(load_settings(data_dir, {}))
    ingest([Received(body, parse_webhook(body))], components.writer, datetime.now(UTC))
    components.close()
    return str(value["messages"][0]["from"])


def test_send_attach_queues_the_file_and_bad_files_fail_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    assert runner.invoke(app, ["init", "--data-dir", str(data_dir)]).exit_code == 0
    number = a_customer_wrote(data_dir)
    env = {"CHATPROOF_DATA_DIR": str(data_dir)}
    invoice = tmp_path / "Rechnung 4711.pdf"
    invoice.write_bytes(PDF)
    done = runner.invoke(
        app,
        ["send", "--to", number, "--attach", str(invoice), "--caption", "Bitte", "--key", "r1"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Queued as outbox message 1 (window.reply)")
    components = build(load_settings(data_dir, {}))
    with components.engine.connect() as conn:
        row = conn.execute(select(t.outbox)).one()
    assert row.attachment_blob and components.blobs.path_for(row.attachment_blob).is_file()
    components.close()

    empty = tmp_path / "leer.pdf"
    empty.write_bytes(b"")
    for args, message in (
        (["--attach", str(empty)], "Error: attachment: the file is empty"),
        (["--attach", str(tmp_path / "missing.pdf")], "Error: --attach: cannot read"),
        (["--text", "Hallo", "--caption", "x"], "Error: --caption: only with --attach"),
        (["--attach", str(invoice), "--text", "Hallo"], "Error: attachment: a file goes alone"),
    ):
        failed = runner.invoke(app, ["send", "--to", number, "--key", "x", *args], env=env)
        assert failed.exit_code == 1, failed.output
        assert failed.output.startswith(message), failed.output
        assert "Traceback" not in failed.output
