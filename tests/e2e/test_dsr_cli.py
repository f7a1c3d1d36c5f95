"""``chatproof dsr`` from the command line: a request goes through the register, the report is
written as a zip, erasure answers the person, a restriction is listed and lifted, and bad input
is one line with exit code 1."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from chatproof.bootstrap import build
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from tests.e2e.test_dsr import ANNA, populate

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    initialise(tmp_path / "data")
    components = build(load_settings(tmp_path / "data", {}))
    populate(components)
    components.close()
    return tmp_path / "data"


def run(data_dir: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], env={"USER": "dpo"})


def test_a_request_from_receipt_to_answer(data_dir: Path, tmp_path: Path) -> None:
    added = run(data_dir, "dsr", "add", f"+{ANNA}", "--kind", "access", "--identity", "call-back")
    assert added.exit_code == 0, added.output
    assert "Request 1 (access) recorded, due" in added.stdout
    listed = json.loads(run(data_dir, "dsr", "list", "--json").stdout)
    assert [(r["id"], r["kind"], r["state"]) for r in listed] == [(1, "access", "on_time")]

    out = tmp_path / "anna.zip"
    made = run(data_dir, "dsr", "report", ANNA, "--out", str(out), "--request", "1")
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as z:
        report = json.loads(z.read("report.json"))
    assert len(report["messages"]) == 2

    closed = run(data_dir, "dsr", "close", "1", "--outcome", "report sent")
    assert closed.stdout == "Request 1 closed.\n"
    assert json.loads(run(data_dir, "dsr", "list", "--json").stdout) == []

    erased = run(data_dir, "dsr", "erase", ANNA, "--yes", "--lang", "en")
    assert erased.exit_code == 0, erased.output
    assert "Kept, only stored and blocked for staff" in erased.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "99", "--kind", "access", "--identity", "x"), "Error: contact: no contact '99'"),
        (("add", "1", "--kind", "forget", "--identity", "x"), "Error: kind: must be one of"),
        (("add", "1", "--kind", "access", "--identity", " "), "Error: identity_check:"),
        (("extend", "7", "--reason", "x"), "Error: data-subject request 7"),
        (("report", "1", "--lang", "fr"), "Error: organisation.language must be one of"),
        (("lift", "7", "--yes"), "Error: restriction in place 7 not found"),
    ],
)
def test_bad_input_is_one_line(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = run(data_dir, "dsr", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_auditors_period_is_set_from_the_command_line(data_dir: Path) -> None:
    from chatproof.domain.accounts import Role
    from chatproof.services import accounts

    components = build(load_settings(data_dir, {}))
    try:
        accounts.add_user(
            components.writer, "test", datetime.now(UTC), username="otto",
            role=Role.AUDITOR, password="a long password!",
        )  # fmt: skip
    finally:
        components.close()
    done = run(data_dir, "audit", "period", "otto", "--from", "2025-01-01", "--to", "2025-12-31")
    assert done.stdout == "Audit period of otto: 2025-01-01 to 2025-12-31.\n"
    backwards = run(
        data_dir, "audit", "period", "otto", "--from", "2025-02-01", "--to", "2025-01-01"
    )
    assert backwards.exit_code == 1 and "Error: to:" in backwards.output


def test_a_restriction_is_listed_with_its_contact_and_lifted_once_confirmed(
    data_dir: Path,
) -> None:
    placed = run(data_dir, "dsr", "restrict", f"+{ANNA}", "--reason", "Art. 18(1)(a)")
    assert placed.stdout == f"Restriction 1 in place for contact +{ANNA}.\n"
    listed = json.loads(run(data_dir, "dsr", "restrictions", "--json").stdout)
    assert [(r["id"], r["contact"], r["reason"], r["placed_by"]) for r in listed] == [
        (1, 1, "Art. 18(1)(a)", "cli:dpo")
    ]

    declined = runner.invoke(
        app, ["dsr", "lift", "1", "--data-dir", str(data_dir)], input="n\n", env={"USER": "dpo"}
    )
    assert declined.exit_code == 1
    assert "The person must have been told (Art. 18(3))" in declined.output
    assert len(json.loads(run(data_dir, "dsr", "restrictions", "--json").stdout)) == 1

    lifted = run(data_dir, "dsr", "lift", "1", "--yes")
    assert lifted.stdout == "Restriction 1 lifted.\n"
    assert json.loads(run(data_dir, "dsr", "restrictions", "--json").stdout) == []
    assert run(data_dir, "dsr", "lift", "1", "--yes").exit_code == 1
