"""Data-subject requests end to end on SQLite and PostgreSQL: the register with its deadlines,
the access report (everything of the person, nothing of anyone else), erasure that respects
retention duties (shred now, or restrict and shred on the day the duty ends), the legal hold
winning over both, and the objection to marketing as an opt-out."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chatproof.archive.keyfiles import load_signing_key
from chatproof.bootstrap import Components, build, system_facts
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.config import Settings
from chatproof.domain.consent import MARKETING, ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.dsr import DsrError, Urgency
from chatproof.domain.dsr_answer import answer_text
from chatproof.services import archive
from chatproof.services.consent import record
from chatproof.services.conversations import read_messages
from chatproof.services.dsr import (
    add_request,
    close_request,
    extend_request,
    list_requests,
    restrict,
)
from chatproof.services.dsr_erasure import erase
from chatproof.services.dsr_report import access_report
from chatproof.services.ingest import Received, ingest
from chatproof.services.retention import place_hold, shred_expired
from chatproof.services.sending import Outgoing, SendingSettings, submit
from tests.support.samples import webhook_samples

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANNA = "4917612398765"
BEN = "4915100000001"


def write(components: Components, wa_id: str, name: str, text: str, wamid: str) -> None:
    body = json.loads(json.dumps(webhook_samples()["message/text"]))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=wa_id, profile={"name": name})
    message = value["messages"][0]
    message.update(id=wamid, text={"body": text})
    message["from"] = wa_id
    raw = json.dumps(body).encode()
    ingest([Received(raw, parse_webhook(raw))], components.writer, NOW)


def opt_in(components: Components, wa_id: str, version: str) -> None:
    event = ConsentEvent(
        purpose=MARKETING,
        action=ConsentAction.GRANTED,
        source=ConsentSource.WEB_FORM,
        at=NOW,
        recorded_by="web form",
        text="Ja, ich möchte Angebote per WhatsApp erhalten.",
        text_version=version,
        proof=f"form-submission-{version}",
    )
    record(components.writer, wa_id, event, NOW)


def populate(components: Components) -> None:
    write(components, ANNA, "Anna Quellmalz", "Bestellung QX-1 bitte", "wamid.anna-1")
    write(components, ANNA, "Anna Quellmalz", "Und Lieferadresse QX-2", "wamid.anna-2")
    write(components, BEN, "Ben Bleibt", "Ben fragt BX-9", "wamid.ben-1")
    opt_in(components, ANNA, "anna-v1")
    opt_in(components, BEN, "ben-v1")
    for conversation_id in (1, 2):
        read_messages(components.writer, f"user:reader{conversation_id}", NOW, conversation_id)


@pytest.fixture
def filled(components: Components) -> Components:
    populate(components)
    return components


def contact_id(components: Components, wa_id: str) -> int:
    with components.reader() as uow:
        found = uow.sending.contact_by_number(wa_id)
        assert found is not None
        return found.id


def report_of(components: Components, wa_id: str, **kwargs: Any) -> dict[str, Any]:
    made = access_report(
        components.writer,
        components.blobs,
        wa_id,
        system_facts(components),
        components.retention_classes,
        components.timezone,
        by="user:dpo",
        now=NOW,
        language=kwargs.pop("language", "de"),
        **kwargs,
    )
    with zipfile.ZipFile(io.BytesIO(made.data)) as z:
        names = set(z.namelist())
        assert {"report.html", "report.pdf", "report.json"} <= names
        assert z.read("report.pdf").startswith(b"%PDF")
        return {
            "json": json.loads(z.read("report.json")),
            "html": z.read("report.html").decode(),
        }


def log_kinds(components: Components) -> list[str]:
    with components.reader() as uow:
        return [json.loads(leaf)["kind"] for _, leaf in uow.log.iter_leaves()]


def test_the_register_keeps_deadlines_and_logs_every_step(filled: Components) -> None:
    tz = filled.timezone
    request = add_request(
        filled.writer,
        ANNA,
        "access",
        date(2026, 10, 25),
        "replied from the registered number and confirmed the customer number",
        by="user:dpo",
        now=NOW,
        tz=tz,
    )
    assert request.due_on == date(2026, 11, 25)
    later = add_request(
        filled.writer, str(contact_id(filled, BEN)), "erasure", date(2026, 11, 20), "ID seen",
        by="user:dpo", now=NOW, tz=tz,
    )  # fmt: skip
    listed = list_requests(filled.reader, NOW.date())
    assert [(r.request.id, r.urgency) for r in listed] == [
        (request.id, Urgency.DUE_SOON),
        (later.id, Urgency.ON_TIME),
    ]
    assert list_requests(filled.reader, date(2026, 12, 1))[0].urgency is Urgency.OVERDUE

    extended = extend_request(
        filled.writer, request.id, 2, "many requests this month", by="user:dpo", now=NOW, tz=tz
    )
    assert extended.due_on == date(2027, 1, 25)
    with pytest.raises(DsrError, match="months"):
        extend_request(filled.writer, request.id, 1, "more", by="user:dpo", now=NOW, tz=tz)
    close_request(filled.writer, request.id, "report sent by post", by="user:dpo", now=NOW, tz=tz)
    assert [r.request.id for r in list_requests(filled.reader, NOW.date())] == [later.id]
    with pytest.raises(DsrError, match="identity_check"):
        add_request(filled.writer, ANNA, "access", NOW.date(), " ", by="user:dpo", now=NOW, tz=tz)
    with pytest.raises(DsrError, match="contact"):
        add_request(
            filled.writer, "+49 000 0000000", "access", NOW.date(), "ID", by="d", now=NOW, tz=tz
        )
    kinds = log_kinds(filled)
    assert kinds.count("dsr.received") == 2
    assert "dsr.extended" in kinds and "dsr.closed" in kinds


def test_an_objection_is_a_marketing_opt_out(filled: Components) -> None:
    add_request(
        filled.writer, ANNA, "objection", NOW.date(), "STOP from own number",
        by="user:dpo", now=NOW, tz=filled.timezone,
    )  # fmt: skip
    with filled.reader() as uow:
        contact = uow.sending.contact_by_number(ANNA)
        assert contact is not None
        assert [s.purpose for s in uow.sending.suppressions(contact.wa_id_hash)] == [MARKETING]
        last = uow.sending.consent_events(contact.id)[-1]
    assert (last.purpose, last.action) == (MARKETING, ConsentAction.WITHDRAWN)


def test_the_report_holds_everything_of_the_person_and_nothing_of_anyone_else(
    filled: Components,
) -> None:
    report = report_of(filled, ANNA)
    data, html = report["json"], report["html"]
    texts = [m["text"] for m in data["messages"]]
    assert texts == ["Bestellung QX-1 bitte", "Und Lieferadresse QX-2"]
    assert [c["text_version"] for c in data["consents"]] == ["anna-v1"]
    assert [a["purpose"] for a in data["accesses"]] == ["read_messages"]
    assert data["accesses"][0]["actor"] == "staff"
    assert data["number"] == ANNA and data["name"] == "Anna Quellmalz"
    assert [
        (r["retention_class"], r["start_year"], r["deleted_on"]) for r in data["retention"]
    ] == [
        ("business_letter", 2023, "2030-01-01"),  # the messages (sent in 2023)
        ("business_letter", 2026, "2033-01-01"),  # the consent recorded now
    ]
    headings = [s["heading"] for s in data["processing"]]
    assert any("Empfänger" in h for h in headings), headings
    assert "Meta Platforms Ireland" in html
    for other in ("Ben", "BX-9", "ben-v1", BEN, "reader2"):
        assert other not in json.dumps(data) and other not in html
    assert "QX-2" in html and "Auskunft" in html

    officer = report_of(filled, ANNA, staff_names=True, language="en")["json"]
    assert officer["accesses"][0]["actor"] == "user:reader1"
    assert log_kinds(filled).count("access.read") >= 3


def test_erasure_without_a_duty_shreds_now_and_the_log_still_verifies(
    settings_factory: Callable[..., Settings],
) -> None:
    components = build(settings_factory(CHATPROOF_ARCHIVE_DEFAULT_RETENTION_CLASS="no_duty"))
    try:
        populate(components)
        outcome = erase(
            components.writer, ANNA, components.retention_classes, by="user:dpo", now=NOW,
            tz=components.timezone, scrub=components.scrub,
        )  # fmt: skip
        assert outcome.erased and not outcome.kept and outcome.restriction_id is None
        assert "Gelöscht" in answer_text(outcome, "de")
        _, page = read_messages(components.writer, "user:dpo", NOW, 1)
        assert {m.text for m in page.items} == {""}
        _, page = read_messages(components.writer, "user:dpo", NOW, 2)
        assert page.items[0].text == "Ben fragt BX-9"
        with components.reader() as uow:
            contact = uow.sending.contact_by_number(ANNA)
            assert contact is not None
            versions = [c.text_version for c in uow.sending.consent_events(contact.id)]
            assert versions[0] == "anna-v1"
            assert uow.sending.suppressions(contact.wa_id_hash)
        key = load_signing_key(components.settings.signing_key_path)
        archive.sign_head(components.writer, key, NOW)
        assert archive.verify(components.reader, key).entries >= 8
    finally:
        components.close()


def test_erasure_during_a_duty_restricts_blocks_sending_and_shreds_on_the_day(
    filled: Components,
) -> None:
    tz = filled.timezone
    outcome = erase(
        filled.writer, ANNA, filled.retention_classes, by="user:dpo", now=NOW, tz=tz,
        scrub=filled.scrub,
    )  # fmt: skip
    assert not outcome.erased
    assert [(b.start_year, b.kept_until) for b in outcome.kept] == [
        (2023, date(2030, 1, 1)),
        (2026, date(2033, 1, 1)),
    ]
    answer = answer_text(outcome, "en")
    assert "erased on 2030-01-01" in answer and "§ 257" in answer

    accepted = submit(
        filled.writer, ANNA, Outgoing(text="Hallo"), SendingSettings(), NOW,
        idempotency_key="after-erasure", origin="test", actor="user:agent",
    )  # fmt: skip
    assert not accepted.decision.allowed
    assert accepted.decision.rule_id == "contact.restricted"
    _, page = read_messages(filled.writer, "user:dpo", NOW, 1)
    assert page.items[0].text == "Und Lieferadresse QX-2"

    classes = filled.retention_classes
    day_before = datetime(2029, 12, 31, 22, 59, tzinfo=UTC)
    assert outcome.subject_id not in {
        b.subject_id for b in shred_expired(filled.writer, classes, tz, day_before)
    }
    on_the_day = datetime(2029, 12, 31, 23, 0, tzinfo=UTC)  # 1 January 2030 in Berlin
    shredded = shred_expired(filled.writer, classes, tz, on_the_day)
    assert [b.start_year for b in shredded if b.subject_id == outcome.subject_id] == [2023]
    _, page = read_messages(filled.writer, "user:dpo", on_the_day, 1)
    assert {m.text for m in page.items} == {""}
    with filled.reader() as uow:
        left = [r for r in uow.keys.bucket_keys_of_subject(outcome.subject_id) if not r.shredded_at]
    assert [r.start_year for r in left] == [2026]
    later = shred_expired(filled.writer, classes, tz, datetime(2032, 12, 31, 23, 0, tzinfo=UTC))
    assert [b.start_year for b in later if b.subject_id == outcome.subject_id] == [2026]


def test_a_legal_hold_wins_over_erasure(filled: Components) -> None:
    tz = filled.timezone
    with filled.reader() as uow:
        found = uow.sending.contact_by_number(ANNA)
        assert found is not None
    place_hold(filled.writer, found.subject_id, "LG Berlin 4 O 17/26", "user:dpo", NOW, tz)
    outcome = erase(
        filled.writer, ANNA, filled.retention_classes, by="user:dpo", now=NOW, tz=tz,
        scrub=filled.scrub,
    )  # fmt: skip
    assert outcome.held and not outcome.erased and outcome.restriction_id
    assert "Legal Hold" in answer_text(outcome, "de")
    late = datetime(2040, 1, 1, tzinfo=UTC)
    shredded = shred_expired(filled.writer, filled.retention_classes, tz, late)
    assert found.subject_id not in {b.subject_id for b in shredded}


def test_a_restriction_blocks_sending(filled: Components) -> None:
    restrict(
        filled.writer, ANNA, "accuracy contested (Art. 18(1)(a))", by="user:dpo", now=NOW,
        tz=filled.timezone,
    )  # fmt: skip
    accepted = submit(
        filled.writer, ANNA, Outgoing(text="Hallo"), SendingSettings(), NOW,
        idempotency_key="restricted", origin="test", actor="user:agent",
    )  # fmt: skip
    assert accepted.decision.rule_id == "contact.restricted"
    assert "subject.restricted" in log_kinds(filled)


def test_a_restricted_person_is_hidden_from_agents_but_not_from_the_officer(
    filled: Components,
) -> None:
    from chatproof.domain.accounts import Principal, Role
    from chatproof.services import accounts
    from chatproof.services.inbox import NotAllowed, list_inbox, open_thread

    def principal(name: str, role: Role) -> Principal:
        user, _ = accounts.add_user(
            filled.writer, "test", NOW, username=name, role=role, password="a long password!"
        )
        return Principal(f"user:{name}", user)

    agent, lead, officer = (
        principal("maria", Role.AGENT),
        principal("lena", Role.SUPERVISOR),
        principal("dora", Role.DPO),
    )
    restrict(filled.writer, ANNA, "Art. 18(1)(a)", by="user:dora", now=NOW, tz=filled.timezone)
    for staff in (agent, lead):
        names = [r.conversation.name for r in list_inbox(filled.writer, staff, NOW).items]
        assert names == ["Ben Bleibt"]
        with pytest.raises(NotAllowed, match="restricted"):
            open_thread(filled.writer, staff, NOW, 1)
    names = {r.conversation.name for r in list_inbox(filled.writer, officer, NOW).items}
    assert names == {"Anna Quellmalz", "Ben Bleibt"}
    assert open_thread(filled.writer, officer, NOW, 1).messages.items


def test_lifting_a_restriction_lets_messages_through_the_gate_again(filled: Components) -> None:
    from chatproof.services.dsr import lift_restriction

    tz = filled.timezone
    restriction = restrict(filled.writer, ANNA, "Art. 18(1)(d)", by="user:dora", now=NOW, tz=tz)
    lift_restriction(filled.writer, restriction, by="user:dora", now=NOW, tz=tz)
    accepted = submit(
        filled.writer, ANNA, Outgoing(text="Hallo"), SendingSettings(), NOW,
        idempotency_key="lifted", origin="test", actor="user:agent",
    )  # fmt: skip
    assert accepted.decision.rule_id != "contact.restricted"
    assert "subject.restriction_lifted" in log_kinds(filled)


def test_erasing_twice_says_nothing_is_held_any_more(
    settings_factory: Callable[..., Settings],
) -> None:
    components = build(settings_factory(CHATPROOF_ARCHIVE_DEFAULT_RETENTION_CLASS="no_duty"))
    try:
        populate(components)
        for _ in range(2):
            outcome = erase(
                components.writer, ANNA, components.retention_classes, by="user:dpo", now=NOW,
                tz=components.timezone, scrub=components.scrub,
            )  # fmt: skip
        assert not outcome.buckets
        assert answer_text(outcome, "en").startswith("No content about you is held")
    finally:
        components.close()


def test_the_report_carries_the_persons_media_files(filled: Components) -> None:
    from sqlalchemy import update

    from chatproof.services.media import pack
    from chatproof.store import tables as t

    body = json.loads(json.dumps(webhook_samples()["message/image"]))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=ANNA, profile={"name": "Anna Quellmalz"})
    value["messages"][0].update({"from": ANNA, "id": "wamid.anna-photo"})
    raw = json.dumps(body).encode()
    ingest([Received(raw, parse_webhook(raw))], filled.writer, NOW)
    photo = b"\xff\xd8\xff\xe0 a photo of the broken bicycle"
    with filled.writer() as uow:
        contact = uow.sending.contact_by_number(ANNA)
        assert contact is not None
        sealed = uow.personal.sealer.seal_many(contact.subject_id, [pack(photo)], NOW)[0]
        blob = filled.blobs.put(sealed)
        uow.inbox.conn.execute(  # type: ignore[attr-defined]
            update(t.messages)
            .where(t.messages.c.type == "image")
            .values(media_blob=blob, media_state="stored")
        )
        uow.commit()

    made = access_report(
        filled.writer, filled.blobs, ANNA, system_facts(filled), filled.retention_classes,
        filled.timezone, by="user:dpo", now=NOW, language="en",
    )  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(made.data)) as z:
        data = json.loads(z.read("report.json"))
        (image,) = [m for m in data["messages"] if m["type"] == "image"]
        assert image["media"]["mime_type"] == "image/jpeg"
        assert image["media"]["path"].startswith("media/") and image["media"]["path"].endswith(
            ".jpg"
        )
        assert z.read(image["media"]["path"]) == photo


def test_the_report_holds_decisions_labels_and_notes_about_the_person_only(
    filled: Components,
) -> None:
    from chatproof.domain.accounts import Principal, Role
    from chatproof.services import accounts
    from chatproof.services.inbox import add_label, add_note

    user, _ = accounts.add_user(
        filled.writer, "test", NOW, username="lena", role=Role.SUPERVISOR,
        password="a long password!",
    )  # fmt: skip
    lead = Principal("user:lena", user)
    add_label(filled.writer, lead, NOW, 1, "Reklamation")
    add_note(filled.writer, lead, NOW, 1, "Kundin wartet auf Ersatzteil")
    add_label(filled.writer, lead, NOW, 2, "VIP-Ben")
    add_note(filled.writer, lead, NOW, 2, "Ben zahlt bar")
    for to, key in ((ANNA, "a"), (BEN, "b")):
        submit(
            filled.writer, to, Outgoing(text="Hallo"), SendingSettings(), NOW,
            idempotency_key=key, origin="test", actor="user:lena",
        )  # fmt: skip

    report = report_of(filled, ANNA, language="en")
    data, html = report["json"], report["html"]
    assert data["labels"] == {"1": ["Reklamation"]}
    assert [n["text"] for n in data["notes"]] == ["Kundin wartet auf Ersatzteil"]
    assert data["notes"][0]["author"] == "staff"
    assert len(data["decisions"]) == 1 and data["decisions"][0]["rule"]
    assert "Reklamation" in html and "Ersatzteil" in html
    for other in ("VIP-Ben", "zahlt bar", "Lena"):
        assert other not in json.dumps(data) and other not in html
