"""Crypto-shredding a data subject: their content becomes unreadable, the destroyed keys are
gone from every file, the log still verifies, and a legal hold blocks it (invariants 3, 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from chatproof.archive.keyfiles import load_signing_key
from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.config import load_settings
from chatproof.datadir import initialise
from chatproof.services import archive
from chatproof.services.conversations import list_conversations, read_messages
from chatproof.services.erasure import shred_subject
from chatproof.services.errors import LegalHoldActive
from chatproof.services.ingest import Received, ingest
from chatproof.services.retention import place_hold
from chatproof.store import tables as t
from tests.support.samples import sample_body, webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PHONE = "4917612398765"
NAME = "Zacharias Quellmalz"
MARKER = "Kundennummer QX-77123-Z bitte loeschen"


def write(components: Components, wa_id: str, name: str, text: str, wamid: str) -> None:
    body = json.loads(json.dumps(webhook_samples()["message/text"]))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=wa_id, profile={"name": name})
    message = value["messages"][0]
    message.update(id=wamid, text={"body": text})
    message["from"] = wa_id
    raw = json.dumps(body).encode()
    ingest([Received(raw, parse_webhook(raw))], components.writer, NOW)


@pytest.fixture
def components(tmp_path: Path) -> Components:
    initialise(tmp_path / "data")
    built = build(load_settings(tmp_path / "data", {}))
    write(built, PHONE, NAME, MARKER, "wamid.shred-me-1")
    write(built, PHONE, NAME, MARKER + " (2)", "wamid.shred-me-2")
    write(built, "4915100000001", "Bleibt Hier", "Ich bleibe", "wamid.keep-me")
    archive.sign_head(built.writer, load_signing_key(built.settings.signing_key_path), NOW)
    return built


def subject_of(components: Components, name: str) -> tuple[int, str]:
    for c in list_conversations(components.writer, "test", NOW).items:
        if c.name == name:
            return c.id, c.subject_id
    raise AssertionError(name)


def files_of(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()]


def test_personal_content_never_reaches_the_disk_in_clear(components: Components) -> None:
    components.scrub()
    for path in files_of(components.settings.data_dir):
        data = path.read_bytes()
        for secret in (PHONE, NAME, MARKER, "wamid.shred-me-1"):
            assert secret.encode() not in data, (secret, path)


def test_shredding_makes_content_unreadable_keeps_the_log_verifiable_and_leaves_no_key(
    components: Components,
) -> None:
    conversation_id, subject = subject_of(components, NAME)
    with components.reader() as uow:
        wrapped = [r.wrapped_key for r in uow.keys.bucket_keys_of_subject(subject)]
    assert wrapped and all(wrapped)

    shredded = shred_subject(
        components.writer,
        subject,
        reason="Art. 17 request 2026-0042",
        by="dpo",
        now=NOW,
        tz=components.timezone,
        scrub=components.scrub,
    )
    assert shredded == len(wrapped)

    _, page = read_messages(components.writer, "dpo", NOW, conversation_id)
    assert {m.text for m in page.items} == {""}
    assert {m.erased_at for m in page.items} == {NOW}
    erased = next(
        c for c in list_conversations(components.writer, "t", NOW).items if c.id == conversation_id
    )
    assert (erased.name, erased.wa_id, erased.erased_at) == ("", "", NOW)
    kept = subject_of(components, "Bleibt Hier")
    assert read_messages(components.writer, "t", NOW, kept[0])[1].items[0].text == "Ich bleibe"

    key = load_signing_key(components.settings.signing_key_path)
    report = archive.verify(components.reader, key)
    assert report.entries >= 4
    with components.reader() as uow:
        kinds = [json.loads(leaf)["kind"] for _, leaf in uow.log.iter_leaves()]
    assert "subject.shredded" in kinds
    assert kinds.index("subject.shredded") > kinds.index("message.inbound")

    for path in files_of(components.settings.data_dir):
        data = path.read_bytes()
        for key_bytes in wrapped:
            assert key_bytes not in data, path
    with components.engine.connect() as conn:
        digests = conn.execute(
            select(t.contacts.c.name_digest).where(t.contacts.c.subject_id == subject)
        ).scalars()
        assert list(digests) == [None]


def test_a_legal_hold_blocks_shredding(components: Components) -> None:
    _, subject = subject_of(components, NAME)
    place_hold(components.writer, subject, "LG Berlin 4 O 17/26", "dpo", NOW, components.timezone)
    with pytest.raises(LegalHoldActive, match="legal hold"):
        shred_subject(
            components.writer,
            subject,
            reason="Art. 17",
            by="dpo",
            now=NOW,
            tz=components.timezone,
            scrub=components.scrub,
        )
    assert read_messages(components.writer, "t", NOW, subject_of(components, NAME)[0])[1].items


def test_leaves_never_hold_a_number_a_wamid_or_text_in_clear(components: Components) -> None:
    for name in webhook_samples():
        body = sample_body(name)
        ingest([Received(body, parse_webhook(body))], components.writer, NOW)
    secrets = {v for doc in webhook_samples().values() for v in _values(doc) if _looks_personal(v)}
    assert len(secrets) > 10
    with components.reader() as uow:
        leaves = [leaf for _, leaf in uow.log.iter_leaves()]
    assert len(leaves) > 50
    for leaf in leaves:
        assert b"wamid." not in leaf
        for secret in secrets:
            assert secret.encode() not in leaf, secret


def _values(value: object) -> list[str]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    return [value] if isinstance(value, str) else []


def _looks_personal(value: str) -> bool:
    digits = value.lstrip("+")
    return (digits.isdigit() and len(digits) >= 9) or value.startswith("wamid.")
