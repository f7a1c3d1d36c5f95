"""Witnesses hold signed heads where the operator cannot rewrite them: even someone with the
database and the signing key cannot quietly re-sign a different history (invariant 3)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import delete, update
from typer.testing import CliRunner

from chatproof.archive import merkle
from chatproof.archive.keyfiles import load_signing_key
from chatproof.archive.log import EntryDraft, append
from chatproof.bootstrap import build
from chatproof.channels.whatsapp.signature import SIGNATURE_HEADER, sign
from chatproof.cli import app
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services.archive import sign_head
from chatproof.store import tables as t
from chatproof.web.app import create_app
from tests.support.samples import sample_body

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_rewritten_and_re_signed_history_is_caught_by_the_file_witness(tmp_path: Path) -> None:
    data_dir, other_mount = tmp_path / "data", tmp_path / "other-mount"
    other_mount.mkdir()
    initialise(data_dir)
    with (data_dir / "chatproof.toml").open("a") as config:
        config.write(f'\n[[archive.witness]]\nkind = "file"\npath = "{other_mount}/heads.jsonl"\n')
    components = build(load_settings(data_dir, {}))
    drafts = [
        EntryDraft("status", NOW, "business_letter", 2026, "s", attributes={"n": i})
        for i in range(20)
    ]
    with components.writer() as uow:
        append(uow.log, drafts, NOW)
        uow.commit()

    signed = runner.invoke(app, ["sign-head", "--data-dir", str(data_dir)])
    assert signed.exit_code == 0, signed.output
    assert "Handed to 1 of 1 witnesses." in signed.output
    (line,) = (other_mount / "heads.jsonl").read_text().splitlines()
    assert json.loads(line)["sth"]["tree_size"] == 20
    verified = runner.invoke(app, ["verify", "--data-dir", str(data_dir)])
    assert verified.exit_code == 0, verified.output
    assert "2 witnessed heads verified" in verified.output  # the receipt and the file's line

    # Whoever holds database and key rewrites entry 5 consistently and signs a new history.
    with components.engine.begin() as conn:
        leaf = conn.execute(t.log_entries.select().where(t.log_entries.c.idx == 5)).one().leaf
        forged = bytes(leaf).replace(b'"n":5', b'"n":6')
        forged_hash = hashlib.sha256(b"\x00" + forged).digest()
        conn.execute(
            update(t.log_entries)
            .where(t.log_entries.c.idx == 5)
            .values(leaf=forged, leaf_hash=forged_hash)
        )
        conn.execute(delete(t.merkle_nodes))
        conn.execute(delete(t.tree_heads))
        conn.execute(delete(t.log_state))
    with components.writer() as uow:
        hashes = []
        for _, stored in uow.log.iter_leaves():
            hashes.append(hashlib.sha256(b"\x00" + stored).digest())
        uow.log.lock_size()
        uow.log.add_nodes([n for n in merkle.batch_append(0, hashes, uow.log.node) if n[0]])
        uow.log.set_size(len(hashes))
        uow.commit()
    sign_head(components.writer, load_signing_key(components.settings.signing_key_path), NOW)
    components.close()

    caught = runner.invoke(app, ["verify", "--data-dir", str(data_dir)])
    assert caught.exit_code == 1
    assert "held by" in caught.output and "at size 20 does not match" in caught.output


def test_verify_warns_while_no_witness_is_configured(tmp_path: Path) -> None:
    initialise(tmp_path)
    result = runner.invoke(app, ["verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "no witness is configured" in result.output


async def test_the_server_signs_heads_when_due_and_hands_them_to_witnesses(
    tmp_path: Path,
) -> None:
    data_dir, other_mount = tmp_path / "data", tmp_path / "mount"
    other_mount.mkdir()
    initialise(data_dir)
    with (data_dir / "chatproof.toml").open("a") as config:
        config.write(f'\n[[archive.witness]]\nkind = "file"\npath = "{other_mount}/h.jsonl"\n')
    settings = load_settings(data_dir, {"CHATPROOF_ARCHIVE_HEAD_EVERY_SECONDS": "0.1"})
    components = build(settings)
    app = create_app(components)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://chatproof"
        ) as client,
    ):
        body = sample_body("message/text")
        headers = {SIGNATURE_HEADER: sign(body, settings.whatsapp.app_secret)}
        assert (await client.post("/webhooks/whatsapp", content=body, headers=headers)).is_success
        for _ in range(50):
            if (other_mount / "h.jsonl").exists():
                break
            await asyncio.sleep(0.05)
    with components.reader() as uow:
        latest = uow.log.latest_head()
        receipts = uow.log.receipts()
    components.close()
    assert latest is not None and latest.head.tree_size >= 1
    assert receipts and receipts[0].tree_size == latest.head.tree_size
