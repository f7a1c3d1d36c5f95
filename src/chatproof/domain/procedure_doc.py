"""The procedure documentation (Verfahrensdokumentation, GoBD Rz. 151 ff.) of the WhatsApp
archive: how messages enter, how they are stored, protected, kept and deleted, and how an
auditor gets them, written from ``SystemFacts`` so it describes the procedure as configured.
Each generated text is kept as a version for ten years (§ 147 (1) Nr. 1 AO). Pure."""

from __future__ import annotations

from datetime import datetime

from chatproof.domain.processing import Document, Section, SystemFacts


def _t(language: str, de: str, en: str) -> str:
    return de if language == "de" else en


def procedure_documentation(facts: SystemFacts) -> Document:
    """The document; deliberately without a generation date, so that an unchanged procedure
    gives the same text and no new version."""
    lang = facts.language
    org = facts.organisation.name or _t(
        lang, "(organisation.name fehlt)", "(organisation.name missing)"
    )
    return Document(
        title=_t(
            lang,
            "Verfahrensdokumentation WhatsApp-Archiv",
            "Procedure documentation: WhatsApp archive",
        ),
        subtitle=_t(
            lang,
            f"{org} · chatproof {facts.software_version} · GoBD Rz. 151 ff., § 145 Abs. 1 AO",
            f"{org} · chatproof {facts.software_version} · GoBD Rz. 151 ff., § 145 (1) AO",
        ),
        language=lang,
        sections=(
            _general(facts, lang),
            _intake(facts, lang),
            _storage(facts, lang),
            _protection(facts, lang),
            _retention(facts, lang),
            _access(facts, lang),
            _operations(facts, lang),
        ),
    )


def _general(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(lang, "1. Allgemeine Beschreibung", "1. General description"),
        paragraphs=(
            _t(
                lang,
                "chatproof empfängt und sendet die geschäftliche WhatsApp-Kommunikation des "
                "Unternehmens über die WhatsApp Business Platform und archiviert jede Nachricht, "
                "jeden Zustellstatus und jede Einwilligung vollständig, unveränderbar und "
                "maschinell auswertbar.",
                "chatproof receives and sends the business's WhatsApp communication through the "
                "WhatsApp Business Platform and archives every message, delivery status and "
                "consent completely, unalterably and machine-readably.",
            ),
        ),
        rows=(
            (
                _t(lang, "Anbieter der Schnittstelle", "Platform access"),
                facts.provider + (f" ({facts.bsp_name})" if facts.bsp_name else ""),
            ),
            (_t(lang, "Datenbank", "Database"), facts.database_backend),
            (_t(lang, "Zeitzone", "Time zone"), facts.timezone),
        ),
    )


def _intake(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(
            lang,
            "2. Erfassung (Zeitgerechtheit, Vollständigkeit)",
            "2. Capture (timeliness, completeness)",
        ),
        bullets=(
            _t(
                lang,
                "Eingehende Nachrichten und Status kommen als signierte Webhooks; ungültige "
                "Signaturen werden abgewiesen, unverständliche Inhalte unverändert in Quarantäne "
                "gelegt. Eine Lieferung wird erst nach dem Speichern bestätigt, die Plattform "
                "wiederholt unbestätigte Lieferungen; Dubletten werden an der Nachrichten-ID "
                "erkannt.",
                "Inbound messages and statuses arrive as signed webhooks; bad signatures are "
                "refused, bodies that cannot be understood are quarantined verbatim. A delivery "
                "is acknowledged only once stored, the platform redelivers anything "
                "unacknowledged; duplicates are recognised by message id.",
            ),
            _t(
                lang,
                "Ausgehende Nachrichten durchlaufen eine Regelprüfung (Einwilligung, 24-Stunden-"
                "Fenster, Vorlagen); Entscheidung und Nachricht werden archiviert.",
                "Outbound messages pass a policy gate (consent, 24-hour window, templates); the "
                "decision and the message are archived.",
            ),
            _t(
                lang,
                "Importierte WhatsApp-Chat-Exporte werden mit Datei-Hash, Format, Zeitzone und "
                "jeder nicht lesbaren Zeile protokolliert.",
                "Imported WhatsApp chat exports are logged with file hash, format, time zone and "
                "every unreadable line.",
            ),
            _t(
                lang,
                f"Medien bis {facts.media_max_bytes // (1024 * 1024)} MiB werden geladen, "
                "inhaltsadressiert (SHA-256) gespeichert und fehlgeschlagene Downloads je "
                "Nachricht sichtbar gemacht.",
                f"Media up to {facts.media_max_bytes // (1024 * 1024)} MiB are downloaded, stored "
                "content-addressed (SHA-256), and failed downloads shown per message.",
            ),
        ),
    )


def _storage(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(lang, "3. Speicherung und Ordnung", "3. Storage and order"),
        paragraphs=(
            _t(
                lang,
                "Jedes Ereignis wird ein nummerierter Eintrag eines Merkle-Logs (RFC 9162). "
                "Einträge werden nur angehängt, nie geändert. Nachrichten, Kontakte, Status und "
                "Einwilligungen haben fortlaufende Kennungen und verweisen auf ihren Eintrag.",
                "Every event becomes a numbered entry of a Merkle log (RFC 9162). Entries are "
                "only appended, never changed. Messages, contacts, statuses and consents have "
                "sequential ids and refer to their entry.",
            ),
        ),
    )


def _protection(facts: SystemFacts, lang: str) -> Section:
    witnesses = ", ".join(facts.witnesses) or _t(lang, "keine", "none")
    return Section(
        _t(lang, "4. Unveränderbarkeit und Datensicherheit", "4. Immutability and data security"),
        bullets=(
            _t(
                lang,
                f"Signierte Baumköpfe (Ed25519) mindestens alle {facts.head_every_entries} "
                f"Einträge oder {facts.head_every_seconds:g} Sekunden; Zeugen: {witnesses}.",
                f"Signed tree heads (Ed25519) at least every {facts.head_every_entries} entries "
                f"or {facts.head_every_seconds:g} seconds; witnesses: {witnesses}.",
            ),
            _t(
                lang,
                "`chatproof verify` prüft das ganze Log; jede Änderung, Einfügung oder Löschung "
                "wird mit ihrer Eintragsnummer benannt.",
                "`chatproof verify` checks the whole log; any change, insertion or deletion is "
                "named by its entry number.",
            ),
            _t(
                lang,
                "Personenbezogene Inhalte sind mit AES-256-GCM verschlüsselt (Hauptschlüssel "
                f"Version {facts.master_key_version}); das Log enthält nur Chiffrate.",
                "Personal content is encrypted with AES-256-GCM (master key version "
                f"{facts.master_key_version}); the log holds only ciphertext.",
            ),
            _t(
                lang,
                f"Rollen: {', '.join(facts.roles)}; Zwei-Faktor-Pflicht: "
                f"{', '.join(facts.totp_roles)}. Jeder Lesezugriff wird protokolliert.",
                f"Roles: {', '.join(facts.roles)}; two factors required: "
                f"{', '.join(facts.totp_roles)}. Every read is logged.",
            ),
        ),
    )


def _retention(facts: SystemFacts, lang: str) -> Section:
    rows = tuple(
        (
            r.name + (_t(lang, " (steuerrelevant)", " (tax-relevant)") if r.tax_relevant else ""),
            f"{r.period(lang)}: {r.legal_basis}",
        )
        for r in facts.retention
    )
    return Section(
        _t(lang, "5. Aufbewahrung und Löschung", "5. Retention and deletion"),
        paragraphs=(
            _t(
                lang,
                f"Neue Inhalte erhalten die Klasse {facts.default_retention_class}; eine "
                "Umklassifizierung (z. B. Rechnung → booking_voucher) wird protokolliert. Die "
                "Frist beginnt mit Ablauf des Kalenderjahres (§ 147 Abs. 4 AO). Nach Fristende "
                "wird der Schlüssel des Inhalts vernichtet; das Log bleibt prüfbar. Eine "
                "Aufbewahrungssperre verhindert das Löschen; ein Löschantrag während laufender "
                "Frist führt zur Einschränkung der Verarbeitung bis Fristende.",
                f"New content gets the class {facts.default_retention_class}; reclassification "
                "(e.g. invoice → booking_voucher) is logged. The period starts at the end of the "
                "calendar year (§ 147 (4) AO). When it ends, the content's key is destroyed; the "
                "log stays verifiable. A legal hold prevents deletion; an erasure request "
                "during a running period restricts processing until the period ends.",
            ),
        ),
        rows=rows,
    )


def _access(facts: SystemFacts, lang: str) -> Section:
    classes = ", ".join(facts.tax_relevant_classes())
    return Section(
        _t(lang, "6. Datenzugriff der Finanzverwaltung", "6. Data access for tax auditors"),
        paragraphs=(
            _t(
                lang,
                "Z1/Z2: lesender Zugang mit der Rolle auditor, begrenzt auf den Prüfungszeitraum. "
                "Z3: `chatproof export gobd` schreibt CSV-Dateien mit index.xml nach dem "
                "Beschreibungsstandard (gdpdu-01-09-2004.dtd), die Medien, je Zeile den Hash "
                "ihres Log-Eintrags, den signierten Baumkopf und einen Bereichsbeweis. "
                f"Steuerrelevante Klassen: {classes}.",
                "Z1/Z2: read-only access with the auditor role, limited to the audit period. Z3: "
                "`chatproof export gobd` writes CSV files with an index.xml in the description "
                "standard (gdpdu-01-09-2004.dtd), the media, per row the hash of its log entry, "
                "the signed tree head and a range proof. "
                f"Tax-relevant classes: {classes}.",
            ),
        ),
    )


def _operations(facts: SystemFacts, lang: str) -> Section:
    return Section(
        _t(lang, "7. Betrieb", "7. Operations"),
        rows=(
            (
                _t(lang, "Datensicherung", "Backups"),
                facts.backup
                or _t(
                    lang,
                    "nicht beschrieben (organisation.backup)",
                    "not described (organisation.backup)",
                ),
            ),
            (
                _t(lang, "Wiederherstellung", "Restore"),
                _t(
                    lang,
                    "`chatproof restore` prüft jede Datei gegen das Manifest und danach das Log",
                    "`chatproof restore` checks every file against its manifest, then the log",
                ),
            ),
            (
                _t(lang, "Schlüsselwechsel", "Key rotation"),
                _t(
                    lang,
                    "`chatproof keys rotate-master`; alte Inhalte bleiben lesbar",
                    "`chatproof keys rotate-master`; older content stays readable",
                ),
            ),
        ),
    )


def version_label(valid_from: datetime, sha256: str) -> str:
    return f"{valid_from:%Y-%m-%d %H:%M} UTC · {sha256[:12]}"
