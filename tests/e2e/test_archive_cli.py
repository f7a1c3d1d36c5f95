"""Proofs and verification from the command line: a third party can check a proof with the
public key alone, and every kind of tampering is detected and named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from chatproof.archive import merkle
from chatproof.archive.log import EntryDraft, append
from chatproof.bootstrap import Components, build
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.store import tables as t

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Path, Components]]:
    data_dir = tmp_path / "data"
    initialise(data_dir)
    components = build(load_settings(data_dir, {}))
    drafts = [
        EntryDraft(
            kind="status",
            at=NOW,
            retention_class="business_letter",
            start_year=2026,
            subject_id="s",
            platform_id_hash=components.pseudonyms.hash("wamid", f"wamid.{i}"),
            attributes={"n": i},
        )
        for i in range(40)
    ]
    for chunk in (drafts[:10], drafts[10:25], drafts[25:]):
        with components.writer() as uow:
            append(uow.log, chunk, NOW)
            uow.commit()
        assert run(data_dir, "sign-head").exit_code == 0
    yield data_dir, components
    components.close()


def run(data_dir: Path, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)])


def test_an_inclusion_proof_checks_out_offline(
    archive: tuple[Path, Components], tmp_path: Path
) -> None:
    data_dir, _ = archive
    result = run(data_dir, "proof", "17", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["leaf_index"], document["tree_size"]) == (17, 40)
    assert set(document["signed_tree_head"]) == {
        "tree_size",
        "root_hash",
        "timestamp",
        "signature",
        "public_key",
    }
    path = tmp_path / "proof.json"
    path.write_text(result.output)
    checked = runner.invoke(app, ["verify-proof", str(path)])
    assert checked.exit_code == 0, checked.output
    document["leaf"] = document["leaf"][:-4] + "AAA="
    path.write_text(json.dumps(document))
    refused = runner.invoke(app, ["verify-proof", str(path)])
    assert refused.exit_code == 1 and refused.output.startswith("Error:")


def test_a_wamid_finds_its_entry(archive: tuple[Path, Components]) -> None:
    data_dir, _ = archive
    document = json.loads(run(data_dir, "proof", "wamid.33", "--json").output)
    assert document["leaf_index"] == 33
    unknown = run(data_dir, "proof", "wamid.nope")
    assert unknown.exit_code == 1 and "no log entry" in unknown.output


def test_a_consistency_proof_between_two_signed_heads(
    archive: tuple[Path, Components], tmp_path: Path
) -> None:
    data_dir, _ = archive
    result = run(data_dir, "consistency", "10", "40", "--json")
    assert result.exit_code == 0, result.output
    path = tmp_path / "consistency.json"
    path.write_text(result.output)
    assert runner.invoke(app, ["verify-proof", str(path)]).exit_code == 0
    missing = run(data_dir, "consistency", "11", "40")
    assert missing.exit_code == 1 and "no signed tree head of size 11" in missing.output


def test_an_untouched_log_verifies(archive: tuple[Path, Components]) -> None:
    data_dir, _ = archive
    result = run(data_dir, "verify")
    assert result.exit_code == 0, result.output
    assert "OK: 40 entries, 3 signed tree heads" in result.output


def tamper(components: Components, statement) -> None:
    with components.engine.begin() as conn:
        conn.execute(statement)


def leaf(components: Components, index: int) -> bytes:
    with components.engine.connect() as conn:
        return conn.execute(
            select(t.log_entries.c.leaf).where(t.log_entries.c.idx == index)
        ).scalar_one()


def test_changing_one_byte_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    original = leaf(components, 12)
    changed = original.replace(b'"n":12', b'"n":13')
    tamper(components, update(t.log_entries).where(t.log_entries.c.idx == 12).values(leaf=changed))
    result = run(data_dir, "verify")
    assert result.exit_code == 1
    assert "entry 12: changed" in result.output


def test_changing_a_leaf_and_its_recorded_hash_is_caught_by_the_signed_head(
    archive: tuple[Path, Components],
) -> None:
    import hashlib

    data_dir, components = archive
    changed = leaf(components, 12).replace(b'"n":12', b'"n":13')
    tamper(
        components,
        update(t.log_entries)
        .where(t.log_entries.c.idx == 12)
        .values(leaf=changed, leaf_hash=hashlib.sha256(b"\x00" + changed).digest()),
    )
    result = run(data_dir, "verify")
    assert result.exit_code == 1
    assert "signed tree head at size 25 does not match" in result.output
    assert "between 10 and 24" in result.output


def test_deleting_an_entry_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    tamper(components, delete(t.log_entries).where(t.log_entries.c.idx == 7))
    result = run(data_dir, "verify")
    assert result.exit_code == 1 and "entry 7: missing" in result.output


def test_swapping_two_entries_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    a, b = leaf(components, 3), leaf(components, 4)
    tamper(components, update(t.log_entries).where(t.log_entries.c.idx == 3).values(leaf=b))
    tamper(components, update(t.log_entries).where(t.log_entries.c.idx == 4).values(leaf=a))
    result = run(data_dir, "verify")
    assert result.exit_code == 1 and "entry 3: reordered" in result.output


def test_a_leaf_that_is_no_envelope_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    tamper(components, update(t.log_entries).where(t.log_entries.c.idx == 5).values(leaf=b"{}"))
    result = run(data_dir, "verify")
    assert (
        result.exit_code == 1 and "entry 5: changed (leaf is not a log envelope)" in result.output
    )


def test_inserting_an_entry_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    forged = leaf(components, 39).replace(b'"index":39', b'"index":40')
    tamper(
        components,
        insert(t.log_entries).values(
            idx=40,
            leaf=forged,
            leaf_hash=merkle.leaf_hash(forged),
            kind="status",
            subject_id="s",
            appended_at=NOW,
        ),
    )
    result = run(data_dir, "verify")
    assert result.exit_code == 1 and "entry 40: inserted" in result.output


def test_altering_a_signed_head_is_named(archive: tuple[Path, Components]) -> None:
    data_dir, components = archive
    h = t.tree_heads.c
    tamper(
        components,
        update(t.tree_heads).where(h.tree_size == 25).values(timestamp_ms=h.timestamp_ms + 1),
    )
    result = run(data_dir, "verify")
    assert result.exit_code == 1
    assert "signed tree head at size 25 does not verify" in result.output


def test_backup_restore_verify(archive: tuple[Path, Components], tmp_path: Path) -> None:
    data_dir, _ = archive
    copy = tmp_path / "backup"
    made = run(data_dir, "backup", str(copy))
    assert made.exit_code == 0, made.output
    restored_dir = tmp_path / "restored"
    restored = runner.invoke(app, ["restore", str(copy), "--data-dir", str(restored_dir)])
    assert restored.exit_code == 0, restored.output
    assert "OK: 40 entries, 3 signed tree heads" in restored.output
    again = runner.invoke(app, ["restore", str(copy), "--data-dir", str(restored_dir)])
    assert again.exit_code == 1 and "already holds data" in again.output
