"""``chatproof keys rotate-master``: every bucket key is re-wrapped under a new master key,
everything still opens, the old key file is no longer needed, a crash midway leaves a data
directory that opens and that a second run completes, and the log records the rotation
without key material."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chatproof.archive.keystore import KeyStore
from chatproof.archive.master_keys import begin_rotation, load_master_keys
from chatproof.archive.retention import Bucket
from chatproof.bootstrap import build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.ingest import Received, ingest
from tests.support.samples import sample_body

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUBJECTS = [f"subject-{i}" for i in range(7)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "data"
    initialise(target)
    components = build(load_settings(target, {}))
    body = sample_body("message/text")
    ingest([Received(body, parse_webhook(body))], components.writer, NOW)
    with components.writer() as uow:
        for subject in SUBJECTS:
            uow.keystore.seal(subject, Bucket(subject, "business_letter", 2026), b"Hallo")
        uow.commit()
    components.close()
    yield target


def run(data_dir: Path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def everything_opens(data_dir: Path) -> tuple[str, dict[int, int], list[str]]:
    """The first message's text (via the CLI), bucket keys per master version, and what a
    seal-then-unseal round trip gives for every subject, with a fresh start."""
    shown = run(data_dir, "messages", "1", "--json")
    assert shown.exit_code == 0, shown.output
    components = build(load_settings(data_dir, {}))
    try:
        with components.writer() as uow:
            opened = []
            for subject in SUBJECTS:
                bucket = Bucket(subject, "business_letter", 2026)
                opened.append(
                    uow.keystore.unseal(subject, uow.keystore.seal(subject, bucket, b"x"))
                )
            versions = uow.keys.master_versions_in_use()
            uow.commit()
    finally:
        components.close()
    return json.loads(shown.output)[0]["text"], versions, [o.decode() for o in opened]


def leaves(data_dir: Path) -> list[bytes]:
    components = build(load_settings(data_dir, {}))
    try:
        with components.reader() as uow:
            return [leaf for _, leaf in uow.log.iter_leaves()]
    finally:
        components.close()


def derived_keys(data_dir: Path) -> tuple[bytes, str]:
    """What keys derived for other purposes (sessions, TOTP, pseudonyms) start from."""
    components = build(load_settings(data_dir, {}))
    components.close()
    return components.derivation_key, components.pseudonyms.hash("wamid", "wamid.xyzxyz")


def rotations(data_dir: Path) -> list[dict]:
    found = [json.loads(leaf) for leaf in leaves(data_dir)]
    return [e for e in found if e["kind"] == "keys.master_rotated"]


def test_after_rotation_everything_unseals_and_the_old_key_file_is_not_needed(
    data_dir: Path,
) -> None:
    keys_dir = data_dir / "keys"
    old = load_master_keys(keys_dir)
    before = leaves(data_dir)
    proof_before = run(data_dir, "proof", "wamid.xyzxyz", "--json")

    derived_before = derived_keys(data_dir)

    result = run(data_dir, "keys", "rotate-master", "--remove-old")

    assert result.exit_code == 0, result.output
    assert derived_keys(data_dir) == derived_before
    assert "Rotated to master key version 2" in result.output
    assert f"Removed {keys_dir / 'master.v1.key'}." in result.output
    assert not (keys_dir / "master.v1.key").exists()
    assert load_master_keys(keys_dir).current != old.current
    text, versions, opened = everything_opens(data_dir)
    assert text == "Body Text"
    assert set(versions) == {2}
    assert opened == ["x"] * len(SUBJECTS)
    after = leaves(data_dir)
    assert after[: len(before)] == before
    entry = json.loads(after[len(before)])
    assert entry["kind"] == "keys.master_rotated"
    assert entry["attributes"]["to_version"] == 2
    assert entry["attributes"]["rewrapped"] == sum(versions.values()) > len(SUBJECTS)
    for key in (old.current, load_master_keys(keys_dir).current):
        assert key.hex().encode() not in after[len(before)]
    proof_after = run(data_dir, "proof", "wamid.xyzxyz", "--json")
    assert (
        json.loads(proof_after.output)["leaf_index"]
        == json.loads(proof_before.output)["leaf_index"]
    )
    assert run(data_dir, "verify").exit_code == 0
    status = run(data_dir, "keys", "status", "--json")
    assert [(r["version"], r["current"]) for r in json.loads(status.output)] == [(2, "current")]


def test_a_crash_midway_still_opens_and_a_second_run_completes(data_dir: Path) -> None:
    keys_dir = data_dir / "keys"
    keys = begin_rotation(keys_dir)  # the key files switched, then the process died ...
    components = build(load_settings(data_dir, {}))
    try:
        with components.writer() as uow:  # ... after re-wrapping two bucket keys
            KeyStore(
                uow.keys, keys.current, master_version=2, older_master_keys=keys.older
            ).rotate_master(keys.current, 2, batch_size=2, limit=2)
            uow.commit()
    finally:
        components.close()
    text, versions, opened = everything_opens(data_dir)
    assert text == "Body Text" and opened == ["x"] * len(SUBJECTS)
    assert versions[1] > 0 and versions[2] >= 2

    result = run(data_dir, "keys", "rotate-master")

    assert result.exit_code == 0, result.output
    assert "Finished the rotation to master key version 2" in result.output
    assert "no longer needed" in result.output
    text, versions, _ = everything_opens(data_dir)
    assert set(versions) == {2}
    (entry,) = rotations(data_dir)
    assert entry["attributes"]["resumed"] is True
    assert entry["attributes"]["from_versions"] == [1]

    again = run(data_dir, "keys", "rotate-master", "--remove-old")
    assert "Rotated to master key version 3" in again.output
    assert sorted(p.name for p in keys_dir.glob("master*.key")) == [
        "master.derivation.key",
        "master.key",
    ]
    assert everything_opens(data_dir)[0] == "Body Text"


def test_a_missing_old_key_file_is_named(data_dir: Path) -> None:
    keys_dir = data_dir / "keys"
    begin_rotation(keys_dir)
    (keys_dir / "master.v1.key").unlink()
    result = run(data_dir, "keys", "rotate-master")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: ")
    assert "master key version 1, but" in result.output and "master.v1.key" in result.output


def test_a_backup_without_the_master_key_leaves_out_every_version(data_dir: Path) -> None:
    assert run(data_dir, "keys", "rotate-master").exit_code == 0
    target = data_dir.parent / "backup"
    result = run(data_dir, "backup", str(target), "--without-master-key")
    assert result.exit_code == 0, result.output
    assert not list((target / "keys").glob("master*"))


def test_a_rotated_data_directory_restores_from_its_backup(data_dir: Path) -> None:
    assert run(data_dir, "keys", "rotate-master").exit_code == 0
    target = data_dir.parent / "backup"
    assert run(data_dir, "backup", str(target)).exit_code == 0
    restored = data_dir.parent / "restored"
    result = run(restored, "restore", str(target))
    assert result.exit_code == 0, result.output
    text, versions, opened = everything_opens(restored)
    assert (text, set(versions)) == ("Body Text", {2})
    assert opened == ["x"] * len(SUBJECTS)
