"""The tables of a GoBD export as ``index.xml`` describes them: one ``TableSpec`` per CSV file,
shared by the writer and the description so they cannot disagree."""

from __future__ import annotations

from chatproof.domain.gdpdu import Column, ForeignKey, TableSpec
from chatproof.domain.gdpdu import ColumnType as T

LOG_INDEX = Column("log_index", T.NUMERIC, "Nummer des Eintrags im Archiv-Log (log_entries)")
LEAF_HASH = Column(
    "leaf_hash", T.ALPHANUMERIC, "SHA-256(0x00 ‖ Eintrag) des Log-Eintrags, hex (RFC 9162)"
)
DATE = Column("date", T.DATE, "Datum in der Zeitzone des Unternehmens (TT.MM.JJJJ)")
TIME = Column("time", T.ALPHANUMERIC, "Uhrzeit in der Zeitzone des Unternehmens (hh:mm:ss)")

CONTACTS = TableSpec(
    url="contacts.csv",
    name="contacts",
    description="Kontakte (Stammdaten) mit Nachrichten oder Einwilligungen im Zeitraum",
    primary_key=(Column("contact_id", T.NUMERIC, "Kennung des Kontakts"),),
    columns=(
        Column("subject_id", T.ALPHANUMERIC, "Pseudonyme Kennung der Person"),
        Column("phone", T.ALPHANUMERIC, "WhatsApp-Nummer"),
        Column("name", T.ALPHANUMERIC, "Profilname"),
        Column("first_seen_date", T.DATE, "Erster Kontakt, Datum"),
        Column("first_seen_utc", T.ALPHANUMERIC, "Erster Kontakt, ISO 8601 UTC"),
    ),
)

MESSAGES = TableSpec(
    url="messages.csv",
    name="messages",
    description=(
        "Nachrichten (Handels- und Geschäftsbriefe, Belege) steuerrelevanter Aufbewahrungsklassen;"
        " Zeilenumbrüche im Text als \\n, \\r, Backslash als \\\\"
    ),
    primary_key=(Column("message_id", T.NUMERIC, "Kennung der Nachricht"),),
    columns=(
        Column("conversation_id", T.NUMERIC, "Kennung des Gesprächs"),
        Column("contact_id", T.NUMERIC, "Kontakt (contacts)"),
        Column("direction", T.ALPHANUMERIC, "inbound: vom Kunden, outbound: an den Kunden"),
        Column("type", T.ALPHANUMERIC, "Nachrichtentyp (text, image, document, …)"),
        Column("origin", T.ALPHANUMERIC, "webhook, import (Chat-Export) oder outbox"),
        DATE,
        TIME,
        Column("sent_at_utc", T.ALPHANUMERIC, "Sendezeitpunkt, ISO 8601 UTC"),
        Column("received_at_utc", T.ALPHANUMERIC, "Eingang bei chatproof, ISO 8601 UTC"),
        Column("text", T.ALPHANUMERIC, "Nachrichtentext bzw. Bildunterschrift"),
        Column("state", T.ALPHANUMERIC, "Zustellstatus ausgehender Nachrichten"),
        Column("error_code", T.NUMERIC, "Fehlercode der Plattform"),
        Column("retention_class", T.ALPHANUMERIC, "Aufbewahrungsklasse"),
        Column("retention_start_year", T.NUMERIC, "Jahr, mit dessen Ende die Frist beginnt"),
        Column("erased_on", T.ALPHANUMERIC, "Datum der Löschung nach Fristende, sonst leer"),
        LOG_INDEX,
        LEAF_HASH,
    ),
    foreign_keys=(ForeignKey("contact_id", "contacts"),),
)

STATUSES = TableSpec(
    url="statuses.csv",
    name="statuses",
    description="Zustellstatus ausgehender Nachrichten (sent, delivered, read, failed)",
    primary_key=(Column("status_id", T.NUMERIC, "Kennung des Status"),),
    columns=(
        Column("message_id", T.NUMERIC, "Nachricht (messages)"),
        Column("status", T.ALPHANUMERIC, "Status"),
        DATE,
        TIME,
        Column("at_utc", T.ALPHANUMERIC, "Zeitpunkt laut Plattform, ISO 8601 UTC"),
        Column("error_code", T.NUMERIC, "Fehlercode der Plattform"),
        LOG_INDEX,
        LEAF_HASH,
    ),
    foreign_keys=(ForeignKey("message_id", "messages"),),
)

CONSENT_EVENTS = TableSpec(
    url="consent_events.csv",
    name="consent_events",
    description="Einwilligungen und Widerrufe (Art. 7 DSGVO, § 7 UWG) mit Nachweis",
    primary_key=(Column("consent_id", T.NUMERIC, "Kennung des Ereignisses"),),
    columns=(
        Column("contact_id", T.NUMERIC, "Kontakt (contacts)"),
        Column("purpose", T.ALPHANUMERIC, "Zweck (z. B. marketing)"),
        Column("action", T.ALPHANUMERIC, "granted, withdrawn oder objected"),
        Column("source", T.ALPHANUMERIC, "Quelle (Schlüsselwort, Formular, …)"),
        DATE,
        TIME,
        Column("at_utc", T.ALPHANUMERIC, "Zeitpunkt, ISO 8601 UTC"),
        Column("recorded_by", T.ALPHANUMERIC, "Erfasst von"),
        Column("text", T.ALPHANUMERIC, "Gezeigter Einwilligungstext"),
        Column("text_version", T.ALPHANUMERIC, "Version des Textes"),
        Column("proof", T.ALPHANUMERIC, "Nachweis"),
        LOG_INDEX,
        LEAF_HASH,
    ),
    foreign_keys=(ForeignKey("contact_id", "contacts"),),
)

MEDIA = TableSpec(
    url="media.csv",
    name="media",
    description="Medien der exportierten Nachrichten; die Dateien liegen im Ordner media/",
    primary_key=(Column("message_id", T.NUMERIC, "Nachricht (messages)"),),
    columns=(
        Column("mime_type", T.ALPHANUMERIC, "Medientyp"),
        Column("file_name", T.ALPHANUMERIC, "Ursprünglicher Dateiname"),
        Column("sha256", T.ALPHANUMERIC, "SHA-256 der Datei, hex"),
        Column("size_bytes", T.NUMERIC, "Größe in Bytes"),
        Column("file", T.ALPHANUMERIC, "Relativer Pfad der Datei im Export, leer wenn fehlend"),
        Column("state", T.ALPHANUMERIC, "stored, pending, failed oder missing"),
    ),
    foreign_keys=(ForeignKey("message_id", "messages"),),
)

LOG_ENTRIES = TableSpec(
    url="log_entries.csv",
    name="log_entries",
    description=(
        "Alle Einträge des Archiv-Logs im Nummernbereich des Exports (nur Art und Hash), für "
        "die Neuberechnung der Wurzel des signierten Baumkopfs (proof/range_proof.json)"
    ),
    primary_key=(LOG_INDEX,),
    columns=(Column("kind", T.ALPHANUMERIC, "Art des Eintrags"), LEAF_HASH),
)

ALL = (CONTACTS, MESSAGES, STATUSES, CONSENT_EVENTS, MEDIA, LOG_ENTRIES)
