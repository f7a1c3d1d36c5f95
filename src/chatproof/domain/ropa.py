"""The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30 (1)
GDPR) for customer service over WhatsApp, built from ``SystemFacts`` in German or English.
A value the configuration lacks is named by its setting, so the gap is visible and fixable.
Pure."""

from __future__ import annotations

from datetime import date

from chatproof.domain.processing import Document, Section, SystemFacts


def _t(language: str, de: str, en: str) -> str:
    return de if language == "de" else en


def _or_missing(value: str, setting: str, language: str) -> str:
    return value or _t(language, f"nicht angegeben ({setting})", f"not given ({setting})")


def record_of_processing(facts: SystemFacts, today: date) -> Document:
    lang = facts.language
    return Document(
        title=_t(
            lang, "Verzeichnis von Verarbeitungstätigkeiten", "Record of processing activities"
        ),
        subtitle=_t(
            lang,
            f"Art. 30 Abs. 1 DSGVO · Kundenkommunikation über WhatsApp (chatproof "
            f"{facts.software_version}) · Stand {today:%d.%m.%Y}",
            f"Art. 30 (1) GDPR · customer communication over WhatsApp (chatproof "
            f"{facts.software_version}) · as of {today.isoformat()}",
        ),
        language=lang,
        sections=(
            _controller(facts, lang),
            _purposes(facts, lang),
            _people_and_data(lang),
            _recipients(facts, lang),
            _transfers(facts, lang),
            _retention(facts, lang),
            _measures(facts, lang),
        ),
    )


def _controller(facts: SystemFacts, lang: str) -> Section:
    org = facts.organisation
    return Section(
        _t(lang, "1. Verantwortlicher und Datenschutzbeauftragter", "1. Controller and DPO"),
        rows=(
            (
                _t(lang, "Verantwortlicher", "Controller"),
                _or_missing(org.name, "organisation.name", lang),
            ),
            (
                _t(lang, "Anschrift", "Address"),
                _or_missing(org.address, "organisation.address", lang),
            ),
            ("E-Mail", _or_missing(org.email, "organisation.email", lang)),
            (_t(lang, "Telefon", "Phone"), _or_missing(org.phone, "organisation.phone", lang)),
            (
                _t(lang, "Vertreter", "Representative"),
                _or_missing(org.representative, "organisation.representative", lang),
            ),
            (
                _t(lang, "Datenschutzbeauftragter", "Data protection officer"),
                _or_missing(org.dpo_name, "organisation.dpo_name", lang),
            ),
            (
                _t(lang, "Kontakt DSB", "DPO contact"),
                _or_missing(
                    " · ".join(v for v in (org.dpo_email, org.dpo_phone) if v),
                    "organisation.dpo_email",
                    lang,
                ),
            ),
        ),
    )


def _purposes(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(lang, "2. Zwecke und Rechtsgrundlagen", "2. Purposes and legal bases"),
        rows=(
            (
                _t(lang, "Kundenservice im Gespräch", "Customer service conversations"),
                _t(
                    lang,
                    "Art. 6 Abs. 1 lit. b DSGVO (Vertrag, vorvertragliche Maßnahmen); Antworten "
                    "nur im 24-Stunden-Fenster oder mit freigegebener Vorlage",
                    "Art. 6 (1)(b) GDPR (contract, steps before a contract); replies only in "
                    "the 24-hour window or with an approved template",
                ),
            ),
            (
                _t(
                    lang,
                    "Aufbewahrung von Geschäftsbriefen und Belegen",
                    "Keeping business letters and vouchers",
                ),
                _t(
                    lang,
                    "Art. 6 Abs. 1 lit. c DSGVO i. V. m. § 147 AO, § 257 HGB",
                    "Art. 6 (1)(c) GDPR with § 147 AO, § 257 HGB",
                ),
            ),
            (
                _t(lang, "Werbung über WhatsApp", "Marketing over WhatsApp"),
                _t(
                    lang,
                    "Art. 6 Abs. 1 lit. a DSGVO, § 7 Abs. 2 Nr. 2 UWG: ausdrückliche Einwilligung, "
                    f"Einwilligungstext Version {facts.opt_in_text_version}; Widerspruch (Art. 21) "
                    "und Widerruf jederzeit per STOP",
                    "Art. 6 (1)(a) GDPR, § 7 (2) Nr. 2 UWG: express consent, consent text "
                    f"version {facts.opt_in_text_version}; objection (Art. 21) and withdrawal "
                    "at any time by STOP",
                ),
            ),
            (
                _t(
                    lang,
                    "Nachweis der Einwilligung, Sperrliste",
                    "Proof of consent, suppression list",
                ),
                _t(
                    lang,
                    "Art. 6 Abs. 1 lit. c i. V. m. Art. 7 Abs. 1 DSGVO",
                    "Art. 6 (1)(c) with Art. 7 (1) GDPR",
                ),
            ),
            (
                _t(lang, "Protokollierung von Zugriffen, Sicherheit", "Access logging, security"),
                _t(
                    lang,
                    "Art. 6 Abs. 1 lit. c i. V. m. Art. 32 DSGVO",
                    "Art. 6 (1)(c) with Art. 32 GDPR",
                ),
            ),
        ),
    )


def _people_and_data(lang: str) -> Section:
    return Section(
        _t(
            lang,
            "3. Betroffene Personen und Datenkategorien",
            "3. Data subjects and categories of data",
        ),
        rows=(
            (
                _t(lang, "Betroffene", "Data subjects"),
                _t(
                    lang,
                    "Kunden und Interessenten, die dem Unternehmen über WhatsApp schreiben oder "
                    "eingewilligt haben; Gesprächspartner importierter Chat-Exporte; "
                    "Beschäftigte, die das Postfach nutzen",
                    "Customers and prospects who write to the business on WhatsApp or gave "
                    "consent; people in imported chat exports; staff using the inbox",
                ),
            ),
            (
                _t(lang, "Datenkategorien", "Categories of data"),
                _t(
                    lang,
                    "WhatsApp-Nummer, Profilname, Nachrichteninhalte (Text, Medien, Standorte, "
                    "Kontakte), Zeitpunkte und Zustellstatus, Einwilligungen mit Nachweis, "
                    "Notizen und Labels; bei Beschäftigten Benutzername, Rolle, Anmeldungen, "
                    "Zugriffe",
                    "WhatsApp number, profile name, message content (text, media, locations, "
                    "contacts), times and delivery statuses, consents with proof, notes and "
                    "labels; for staff username, role, sign-ins, accesses",
                ),
            ),
            (
                _t(lang, "Besondere Kategorien", "Special categories"),
                _t(
                    lang,
                    "nicht bezweckt; können in Freitext enthalten sein und werden wie alle "
                    "Inhalte verschlüsselt",
                    "not intended; may occur in free text and are encrypted like all content",
                ),
            ),
        ),
    )


def _recipients(facts: SystemFacts, lang: str) -> Section:
    bullets = [
        _t(
            lang,
            "Meta Platforms Ireland Ltd., Dublin (Auftragsverarbeiter, WhatsApp Business "
            "Platform / Cloud API)",
            "Meta Platforms Ireland Ltd., Dublin (processor, WhatsApp Business Platform / "
            "Cloud API)",
        )
    ]
    if facts.bsp_name:
        bullets.append(
            _t(
                lang,
                f"{facts.bsp_name} (Auftragsverarbeiter, Business Solution Provider)",
                f"{facts.bsp_name} (processor, Business Solution Provider)",
            )
        )
    elif facts.provider != "meta":
        bullets.append(
            _t(
                lang,
                f"Business Solution Provider ({facts.provider}), nicht benannt "
                "(organisation.bsp_name)",
                f"Business Solution Provider ({facts.provider}), not named (organisation.bsp_name)",
            )
        )
    bullets.append(
        _t(
            lang,
            "Finanzbehörden auf Anforderung (§ 147 Abs. 6 AO), nur steuerrelevante Daten",
            "Tax authorities on request (§ 147 (6) AO), tax-relevant data only",
        )
    )
    return Section(
        _t(lang, "4. Empfänger und Auftragsverarbeiter", "4. Recipients and processors"),
        paragraphs=(
            _t(
                lang,
                "chatproof selbst wird vom Verantwortlichen betrieben (kein Empfänger).",
                "chatproof itself is run by the controller (not a recipient).",
            ),
        ),
        bullets=tuple(bullets),
    )


def _transfers(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(lang, "5. Übermittlung in Drittländer", "5. Transfers to third countries"),
        paragraphs=(
            _t(
                lang,
                "Meta Platforms Ireland kann Daten an Meta Platforms, Inc. (USA) übermitteln. "
                "Grundlage: Angemessenheitsbeschluss zum EU-U.S. Data Privacy Framework "
                "(Art. 45 DSGVO) und ergänzend Standardvertragsklauseln (Art. 46 Abs. 2 lit. c "
                "DSGVO) in Metas Auftragsverarbeitungsbedingungen.",
                "Meta Platforms Ireland may transfer data to Meta Platforms, Inc. (USA). "
                "Basis: the EU-U.S. Data Privacy Framework adequacy decision (Art. 45 GDPR) and "
                "in addition standard contractual clauses (Art. 46 (2)(c) GDPR) in Meta's data "
                "processing terms.",
            ),
        ),
    )


def _retention(facts: SystemFacts, lang: str) -> Section:
    rows = []
    for r in facts.retention:
        tag = _t(lang, " (steuerrelevant)", " (tax-relevant)") if r.tax_relevant else ""
        default = (
            _t(lang, " · Standard", " · default") if r.name == facts.default_retention_class else ""
        )
        rows.append((f"{r.name}{tag}{default}", f"{r.period(lang)}: {r.legal_basis}"))
    return Section(
        _t(lang, "6. Löschfristen", "6. Retention periods"),
        paragraphs=(
            _t(
                lang,
                "Jeder Inhalt gehört zu einer Aufbewahrungsklasse; nach Ablauf der Frist wird er "
                "durch Vernichtung seines Schlüssels gelöscht (Crypto-Shredding), außer bei "
                f"einer Aufbewahrungssperre (Legal Hold). Zeitzone: {facts.timezone}.",
                "Every piece of content belongs to a retention class; when its period ends it "
                "is erased by destroying its key (crypto-shredding), unless a legal hold "
                f"applies. Time zone: {facts.timezone}.",
            ),
        ),
        rows=tuple(rows),
    )


def _measures(facts: SystemFacts, lang: str) -> Section:
    witnesses = (
        ", ".join(facts.witnesses)
        if facts.witnesses
        else _t(lang, "keine konfiguriert (archive.witness)", "none configured (archive.witness)")
    )
    return Section(
        _t(
            lang,
            "7. Technische und organisatorische Maßnahmen (Art. 32)",
            "7. Technical and organisational measures (Art. 32)",
        ),
        rows=(
            (
                _t(lang, "Verschlüsselung", "Encryption"),
                _t(
                    lang,
                    "AES-256-GCM je Eintrag mit eigenem Datenschlüssel, umhüllt je Person, Klasse "
                    f"und Jahr, unter dem Hauptschlüssel (Version {facts.master_key_version})",
                    "AES-256-GCM per entry under its own data key, wrapped per person, class and "
                    f"year, under the master key (version {facts.master_key_version})",
                ),
            ),
            (
                _t(lang, "Unveränderbarkeit", "Integrity"),
                _t(
                    lang,
                    "Merkle-Log nach RFC 9162; mit Ed25519 signierte Baumköpfe mindestens alle "
                    f"{facts.head_every_entries} Einträge oder {facts.head_every_seconds:g} s",
                    "Merkle log per RFC 9162; Ed25519-signed tree heads at least every "
                    f"{facts.head_every_entries} entries or {facts.head_every_seconds:g} s",
                ),
            ),
            (_t(lang, "Zeugen der Baumköpfe", "Witnesses of tree heads"), witnesses),
            (
                _t(lang, "Zugriffskontrolle", "Access control"),
                _t(
                    lang,
                    f"Rollen {', '.join(facts.roles)}; Zwei-Faktor-Anmeldung (TOTP) Pflicht für "
                    f"{', '.join(facts.totp_roles)}",
                    f"Roles {', '.join(facts.roles)}; two-factor sign-in (TOTP) required for "
                    f"{', '.join(facts.totp_roles)}",
                ),
            ),
            (
                _t(lang, "Protokollierung", "Logging"),
                _t(
                    lang,
                    "jeder Lesezugriff auf archivierte Inhalte im Zugriffsprotokoll und im "
                    "manipulationssicheren Log",
                    "every read of archived content in the access log and in the "
                    "tamper-evident log",
                ),
            ),
            (
                _t(lang, "Eingang", "Intake"),
                _t(
                    lang,
                    "Webhooks nur mit gültiger Signatur; Bestätigung erst nach dem Speichern",
                    "webhooks only with a valid signature; acknowledged only once stored",
                ),
            ),
            (_t(lang, "Datenbank", "Database"), facts.database_backend),
            (
                _t(lang, "Datensicherung", "Backups"),
                _or_missing(facts.backup, "organisation.backup", lang),
            ),
        ),
    )
