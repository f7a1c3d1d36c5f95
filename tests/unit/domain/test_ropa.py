"""The record of processing and the procedure documentation say what is configured: change a
setting and the document changes; a missing value names its setting; German and English."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from chatproof.domain.procedure_doc import procedure_documentation
from chatproof.domain.processing import (
    Organisation,
    RetentionFact,
    SystemFacts,
    tax_relevant,
    to_html,
    to_markdown,
)
from chatproof.domain.ropa import record_of_processing
from chatproof.services.documents_pdf import to_pdf

TODAY = date(2026, 11, 22)
FACTS = SystemFacts(
    organisation=Organisation(name="Muster GmbH", dpo_name="Dr. Datenschutz"),
    provider="meta",
    bsp_name="",
    database_backend="SQLite",
    timezone="Europe/Berlin",
    default_retention_class="business_letter",
    retention=(
        RetentionFact("business_letter", 6, 0, "end_of_calendar_year", "§ 257 HGB; § 147 AO"),
        RetentionFact("no_duty", 0, 6, "conversation_end", "Art. 5 (1)(e) GDPR"),
    ),
    head_every_entries=1000,
    head_every_seconds=60.0,
    witnesses=(),
    master_key_version=1,
    roles=("admin", "agent", "dpo", "auditor"),
    totp_roles=("admin", "dpo", "auditor"),
    backup="",
    privacy_notice=True,
    opt_in_text_version="1",
    media_max_bytes=100 * 1024 * 1024,
    software_version="0.1.0",
    language="en",
)


def ropa(facts: SystemFacts) -> str:
    return to_markdown(record_of_processing(facts, TODAY))


def test_it_names_controller_dpo_processor_transfers_and_measures() -> None:
    text = ropa(FACTS)
    assert "Muster GmbH" in text and "Dr. Datenschutz" in text
    assert "Meta Platforms Ireland Ltd." in text and "processor" in text
    assert "Data Privacy Framework" in text and "Art. 46 (2)(c)" in text
    assert "AES-256-GCM" in text and "every 1000 entries or 60 s" in text
    assert "two-factor sign-in (TOTP) required for admin, dpo, auditor" in text
    assert "business_letter (tax-relevant) · default" in text
    assert "6 months from the end of the conversation" in text


def test_a_missing_value_names_its_setting() -> None:
    text = ropa(FACTS)
    assert "not given (organisation.address)" in text
    assert "not given (organisation.backup)" in text
    assert "none configured (archive.witness)" in text


def test_changing_a_setting_changes_the_document() -> None:
    before = ropa(FACTS)
    after = ropa(
        replace(
            FACTS,
            bsp_name="360dialog GmbH, Berlin",
            witnesses=("file /mnt/witness/heads.jsonl",),
            backup="daily to the NAS",
            head_every_entries=500,
            master_key_version=2,
        )
    )
    assert after != before
    assert "360dialog GmbH, Berlin (processor, Business Solution Provider)" in after
    assert "file /mnt/witness/heads.jsonl" in after
    assert "daily to the NAS" in after
    assert "every 500 entries" in after and "(version 2)" in after


def test_a_provider_without_a_named_bsp_is_still_listed() -> None:
    assert "Business Solution Provider (360dialog), not named" in ropa(
        replace(FACTS, provider="360dialog")
    )


def test_german_and_english() -> None:
    german = ropa(replace(FACTS, language="de"))
    assert german.startswith("# Verzeichnis von Verarbeitungstätigkeiten")
    assert "Auftragsverarbeiter" in german
    assert ropa(FACTS).startswith("# Record of processing activities")


def test_html_is_self_contained_and_escaped() -> None:
    html = to_html(
        record_of_processing(replace(FACTS, organisation=Organisation(name="A & <B>")), TODAY)
    )
    assert html.startswith("<!DOCTYPE html>") and "A &amp; &lt;B&gt;" in html
    assert "<link" not in html and "<script" not in html


def test_pdf_in_both_languages() -> None:
    for language in ("de", "en"):
        data = to_pdf(record_of_processing(replace(FACTS, language=language), TODAY))
        assert data.startswith(b"%PDF-") and len(data) > 2000


def test_tax_relevance_follows_the_legal_basis() -> None:
    assert tax_relevant("§ 147 (1) Nr. 5 AO: other documents")
    assert tax_relevant("§ 257 HGB")
    assert tax_relevant("§ 14b UStG")
    assert not tax_relevant("Art. 5 (1)(e) GDPR (storage limitation)")
    assert FACTS.tax_relevant_classes() == ("business_letter",)


def test_the_procedure_documentation_follows_the_settings_and_has_no_date() -> None:
    text = to_markdown(procedure_documentation(FACTS))
    assert "Tax-relevant classes: business_letter." in text
    assert to_markdown(procedure_documentation(FACTS)) == text
    changed = to_markdown(procedure_documentation(replace(FACTS, head_every_seconds=30.0)))
    assert changed != text and "30 seconds" in changed
