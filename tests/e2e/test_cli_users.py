"""``chatproof users`` and the first admin that ``init`` creates: one-time passwords printed
once, changes archived, bad input as one line with exit code 1."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from chatproof.bootstrap import build
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.services.accounts import AccountKeys, sign_in

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def password_in(output: str) -> str:
    found = re.search(r"password(?: for \S+)?:? (\S+)$", output.strip(), re.MULTILINE)
    assert found, output
    return found.group(1)


def can_sign_in(data_dir: Path, username: str, password: str) -> bool:
    components = build(load_settings(data_dir, {}))
    try:
        keys = AccountKeys.from_master(components.sealing.master_key)
        return (
            sign_in(components.writer, keys, datetime.now(UTC), username, password).token
            is not None
        )
    finally:
        components.close()


def test_init_creates_the_first_admin_with_a_one_time_password(tmp_path: Path) -> None:
    output = run("init", "--data-dir", str(tmp_path))
    password = password_in(output)
    assert can_sign_in(tmp_path, "admin", password)
    (admin,) = json.loads(run("users", "list", "--json", "--data-dir", str(tmp_path)))
    assert (admin["username"], admin["role"], admin["state"]) == ("admin", "admin", "active")


def test_add_disable_and_reset_a_user(tmp_path: Path) -> None:
    run("init", "--data-dir", str(tmp_path))
    d = ("--data-dir", str(tmp_path))
    added = run("users", "add", "maria", "--role", "supervisor", "--name", "Maria Schulz", *d)
    assert "User maria (supervisor) created." in added
    first = password_in(added)
    assert can_sign_in(tmp_path, "maria", first)
    assert "User maria disabled." in run("users", "disable", "maria", *d)
    assert not can_sign_in(tmp_path, "maria", first)
    listed = {u["username"]: u for u in json.loads(run("users", "list", "--json", *d))}
    assert listed["maria"]["state"] == "disabled"
    run("users", "disable", "maria", "--enable", *d)
    fresh = password_in(run("users", "reset-password", "maria", *d))
    assert fresh != first and can_sign_in(tmp_path, "maria", fresh)
    assert "is now agent" in run("users", "role", "maria", "agent", *d)
    token = run("users", "token", "maria", "--name", "crm", *d).strip().split()[-1]
    assert token.startswith("cpt_")


def test_bad_input_is_one_line_naming_the_field(tmp_path: Path) -> None:
    run("init", "--data-dir", str(tmp_path))
    d = ("--data-dir", str(tmp_path))
    for args, expected in (
        (("users", "add", "x y", *d), "Error: username:"),
        (("users", "add", "maria", "--role", "boss", *d), "Error: role:"),
        (("users", "add", "admin", *d), "Error: username: 'admin' is already taken"),
        (("users", "disable", "nobody", *d), "Error: user 'nobody' does not exist"),
    ):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines()[-1].startswith(expected), result.output
        assert "Traceback" not in result.output
