"""The access report's shapes and the answer to an erasure request: staff are named only in the
DPO's own view, the JSON is plain data, and the answer says what is kept, why and until when."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from chatproof.domain.access_report import (
    STAFF,
    AccessItem,
    AccessReport,
    ConsentItem,
    MessageItem,
    RetentionItem,
    redacted,
    to_document,
    to_json,
)
from chatproof.domain.dsr_answer import BucketOutcome, ErasureOutcome, answer_text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def report() -> AccessReport:
    return AccessReport(
        generated_at=AT,
        contact_id=3,
        subject_id="s-3",
        number="4917612398765",
        name="Anna",
        first_seen_at=AT,
        restricted=True,
        held=False,
        messages=(
            MessageItem(1, 10, "inbound", "text", AT, "", None, "Wo ist mein Paket?", False),
            MessageItem(1, 11, "outbound", "text", AT, "read", AT, "", True),
        ),
        consents=(
            ConsentItem(AT, "marketing", "granted", "web_form", "Ja", "v2", "form-7", "user:lena"),
        ),
        decisions=(),
        labels={1: ("Reklamation",)},
        notes=(),
        retention=(RetentionItem("business_letter", 2026, "§ 257 HGB", date(2033, 1, 1), False),),
        accesses=(AccessItem(AT, "read_messages", "user:maria"),),
    )


def test_the_persons_copy_names_no_staff() -> None:
    copy = redacted(report())
    assert [a.actor for a in copy.accesses] == [STAFF]
    assert [c.recorded_by for c in copy.consents] == [STAFF]
    assert "user:maria" not in json.dumps(to_json(copy))
    assert "user:maria" in json.dumps(to_json(report()))


def test_the_document_shows_messages_both_ways_and_the_deletion_date() -> None:
    doc = to_document(report(), "de")
    text = json.dumps([s.__dict__ for s in doc.sections], ensure_ascii=False, default=str)
    assert "→ text: Wo ist mein Paket?" in text
    assert "← text [read]: [gelöscht]" in text
    assert "Löschung am 01.01.2033" in text
    assert "eingeschränkt (Art. 18 DSGVO)" in text
    english = to_document(report(), "en")
    assert english.title == "Access report (Art. 15 GDPR)"


def test_the_answer_says_what_is_kept_under_which_duty_until_when() -> None:
    outcome = ErasureOutcome(
        "s-3",
        (
            BucketOutcome("no_duty", 2026, "Art. 5 (1)(e) GDPR", True),
            BucketOutcome("booking_voucher", 2025, "§ 147 AO", False, date(2034, 1, 1)),
        ),
        held=False,
        restriction_id=4,
    )
    german = answer_text(outcome, "de")
    assert "- Nachrichten ohne Aufbewahrungspflicht 2026" in german
    assert "- Buchungsbelege 2025: § 147 AO; Löschung am 01.01.2034" in german
    assert "Einwilligungsnachweise" in german
    held = ErasureOutcome(
        "s-3", (BucketOutcome("business_letter", 2025, "§ 257 HGB", False, None, True),), True, 4
    )
    assert "legal hold in place, until it is lifted" in answer_text(held, "en")
