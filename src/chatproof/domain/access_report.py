"""The access report (GDPR Art. 15) and the portable copy (Art. 20): everything chatproof holds
about one person, as a printable document in German or English and as machine-readable JSON.

Names of staff appear only in the DPO's own view (``staff_names``); the copy the person gets
says what was read and why, not by whom (Art. 15(4): others' rights). Pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from chatproof.domain.dsr_answer import class_name
from chatproof.domain.processing import Document, Section

STAFF = "staff"


@dataclass(frozen=True, slots=True)
class MediaItem:
    mime_type: str
    filename: str
    sha256: str
    path: str
    """Where the file lies in the report's zip, or "" if it is not held (erased, missing)."""


@dataclass(frozen=True, slots=True)
class MessageItem:
    conversation_id: int
    id: int
    direction: str
    type: str
    sent_at: datetime
    status: str
    status_at: datetime | None
    text: str
    erased: bool
    media: MediaItem | None = None


@dataclass(frozen=True, slots=True)
class ConsentItem:
    at: datetime
    purpose: str
    action: str
    source: str
    text: str
    text_version: str
    proof: str
    recorded_by: str


@dataclass(frozen=True, slots=True)
class DecisionItem:
    at: datetime
    allowed: bool
    rule: str
    reason: str
    purpose: str
    actor: str


@dataclass(frozen=True, slots=True)
class NoteItem:
    conversation_id: int
    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class RetentionItem:
    retention_class: str
    start_year: int
    legal_basis: str
    deleted_on: date | None
    """The day the content is (or was) erased; None while a legal hold keeps it."""
    erased: bool


@dataclass(frozen=True, slots=True)
class AccessItem:
    at: datetime
    purpose: str
    actor: str


@dataclass(frozen=True)
class AccessReport:
    generated_at: datetime
    contact_id: int
    subject_id: str
    number: str
    name: str
    first_seen_at: datetime
    restricted: bool
    held: bool
    messages: tuple[MessageItem, ...]
    consents: tuple[ConsentItem, ...]
    decisions: tuple[DecisionItem, ...]
    labels: dict[int, tuple[str, ...]]
    notes: tuple[NoteItem, ...]
    retention: tuple[RetentionItem, ...]
    accesses: tuple[AccessItem, ...]
    processing: tuple[Section, ...] = field(default_factory=tuple)


def _t(language: str, de: str, en: str) -> str:
    return de if language == "de" else en


def _when(moment: datetime | None, language: str) -> str:
    if moment is None:
        return ""
    return f"{moment:%d.%m.%Y %H:%M} UTC" if language == "de" else f"{moment:%Y-%m-%d %H:%M} UTC"


def _day(day: date | None, language: str) -> str:
    if day is None:
        return ""
    return f"{day:%d.%m.%Y}" if language == "de" else day.isoformat()


def redacted(report: AccessReport) -> AccessReport:
    """The person's own copy: staff are named by role-free placeholder."""
    return replace(
        report,
        consents=tuple(_anon(c, "recorded_by") for c in report.consents),
        decisions=tuple(_anon(d, "actor") for d in report.decisions),
        notes=tuple(_anon(n, "author") for n in report.notes),
        accesses=tuple(_anon(a, "actor") for a in report.accesses),
    )


def _anon(item: Any, name: str) -> Any:
    return replace(item, **{name: STAFF})


def to_json(report: AccessReport) -> dict[str, Any]:
    """Structured, commonly used, machine-readable (Art. 20(1))."""
    data = asdict(report)
    data["labels"] = {str(k): list(v) for k, v in report.labels.items()}
    data["processing"] = [
        {"heading": s.heading, "rows": [list(r) for r in s.rows], "paragraphs": list(s.paragraphs)}
        for s in report.processing
    ]
    return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_document(report: AccessReport, language: str) -> Document:
    lang = language
    return Document(
        title=_t(lang, "Auskunft nach Art. 15 DSGVO", "Access report (Art. 15 GDPR)"),
        subtitle=_t(
            lang,
            f"Erstellt am {_when(report.generated_at, lang)} · Kontakt {report.contact_id}",
            f"Generated {_when(report.generated_at, lang)} · contact {report.contact_id}",
        ),
        language=lang,
        sections=(
            _person(report, lang),
            *report.processing,
            _retention(report, lang),
            _consents(report, lang),
            _decisions(report, lang),
            _labels_and_notes(report, lang),
            _accesses(report, lang),
            _messages(report, lang),
        ),
    )


def _person(report: AccessReport, lang: str) -> Section:
    state = _t(lang, "uneingeschränkt", "not restricted")
    if report.restricted:
        state = _t(lang, "eingeschränkt (Art. 18 DSGVO)", "restricted (Art. 18 GDPR)")
    return Section(
        _t(lang, "Ihre Kontaktdaten", "Your contact data"),
        paragraphs=(
            _t(
                lang,
                "Diese Auskunft enthält alle Daten, die wir in chatproof über Sie speichern, und "
                "eine maschinenlesbare Kopie (report.json, Art. 20 DSGVO).",
                "This report holds everything we keep about you in chatproof, with a "
                "machine-readable copy (report.json, Art. 20 GDPR).",
            ),
        ),
        rows=(
            (_t(lang, "Telefonnummer", "Phone number"), report.number or "–"),
            (_t(lang, "Profilname", "Profile name"), report.name or "–"),
            (_t(lang, "Erster Kontakt", "First contact"), _when(report.first_seen_at, lang)),
            (_t(lang, "Nachrichten", "Messages"), str(len(report.messages))),
            (_t(lang, "Verarbeitung", "Processing"), state),
        ),
    )


def _retention(report: AccessReport, lang: str) -> Section:
    rows = []
    for r in report.retention:
        name = f"{class_name(r.retention_class, lang)} {r.start_year}"
        if r.erased:
            value = _t(lang, "gelöscht am ", "erased on ") + _day(r.deleted_on, lang)
        elif r.deleted_on is None:
            value = _t(lang, "gesperrt (Legal Hold)", "kept under a legal hold")
        else:
            value = _t(lang, "Löschung am ", "to be erased on ") + _day(r.deleted_on, lang)
        rows.append((name, f"{value} · {r.legal_basis}"))
    return Section(_t(lang, "Aufbewahrung und Löschung", "Retention and erasure"), rows=tuple(rows))


def _consents(report: AccessReport, lang: str) -> Section:
    bullets = tuple(
        f"{_when(c.at, lang)} · {c.purpose} · {c.action} · {c.source}"
        + (f" · {_t(lang, 'Text', 'text')} {c.text_version}: {c.text}" if c.text else "")
        + (f" · {_t(lang, 'Nachweis', 'proof')}: {c.proof}" if c.proof else "")
        + (f" · {c.recorded_by}" if c.recorded_by != STAFF else "")
        for c in report.consents
    )
    return Section(_t(lang, "Einwilligungen und Widerrufe", "Consent history"), bullets=bullets)


def _decisions(report: AccessReport, lang: str) -> Section:
    bullets = tuple(
        f"{_when(d.at, lang)} · {d.purpose} · "
        + (_t(lang, "erlaubt", "allowed") if d.allowed else _t(lang, "abgelehnt", "refused"))
        + f" ({d.rule}): {d.reason}"
        + (f" · {d.actor}" if d.actor != STAFF else "")
        for d in report.decisions
    )
    return Section(
        _t(lang, "Prüfungen vor dem Senden", "Checks before sending to you"), bullets=bullets
    )


def _labels_and_notes(report: AccessReport, lang: str) -> Section:
    bullets = [
        f"{_t(lang, 'Gespräch', 'Conversation')} {cid}: {', '.join(names)}"
        for cid, names in sorted(report.labels.items())
        if names
    ]
    bullets += [
        f"{_when(n.at, lang)} · {_t(lang, 'Notiz', 'note')}: {n.text}"
        + (f" · {n.author}" if n.author != STAFF else "")
        for n in report.notes
    ]
    return Section(
        _t(lang, "Markierungen und interne Notizen", "Labels and internal notes"),
        bullets=tuple(bullets),
    )


def _accesses(report: AccessReport, lang: str) -> Section:
    bullets = tuple(
        f"{_when(a.at, lang)} · {a.purpose}" + (f" · {a.actor}" if a.actor != STAFF else "")
        for a in report.accesses
    )
    return Section(
        _t(lang, "Zugriffe auf Ihre Daten", "When your data were accessed, and why"),
        bullets=bullets,
    )


def _messages(report: AccessReport, lang: str) -> Section:
    arrow = {"inbound": "→", "outbound": "←"}
    bullets = []
    for m in report.messages:
        text = _t(lang, "[gelöscht]", "[erased]") if m.erased else m.text
        line = f"{_when(m.sent_at, lang)} {arrow.get(m.direction, m.direction)} {m.type}"
        line += f" [{m.status}]" if m.status else ""
        line += f": {text}" if text else ""
        if m.media is not None:
            line += f" ({m.media.mime_type} {m.media.filename} {m.media.path})".replace("  ", " ")
        bullets.append(line)
    return Section(
        _t(lang, "Nachrichten (→ von Ihnen, ← an Sie)", "Messages (→ from you, ← to you)"),
        bullets=tuple(bullets),
    )
