"""What an erasure request did, bucket by bucket, and the answer the person is given (GDPR
Art. 17, 17(3)(b), 18, 12(1)): what was erased, what is kept under which duty and until when,
and that consent proofs and the suppression entry are kept. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class BucketOutcome:
    retention_class: str
    start_year: int
    legal_basis: str
    erased: bool
    kept_until: date | None = None
    """The day the bucket is shredded, when it is kept (its duty's end)."""
    held: bool = False


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    subject_id: str
    buckets: tuple[BucketOutcome, ...]
    held: bool
    restriction_id: int | None

    @property
    def erased(self) -> tuple[BucketOutcome, ...]:
        return tuple(b for b in self.buckets if b.erased)

    @property
    def kept(self) -> tuple[BucketOutcome, ...]:
        return tuple(b for b in self.buckets if not b.erased)


_CLASS_NAMES = {
    ("de", "business_letter"): "Geschäftsbriefe",
    ("de", "booking_voucher"): "Buchungsbelege",
    ("de", "books_and_records"): "Bücher und Aufzeichnungen",
    ("de", "no_duty"): "Nachrichten ohne Aufbewahrungspflicht",
    ("en", "business_letter"): "business letters",
    ("en", "booking_voucher"): "booking vouchers",
    ("en", "books_and_records"): "books and records",
    ("en", "no_duty"): "messages without a retention duty",
}


def class_name(retention_class: str, language: str) -> str:
    return _CLASS_NAMES.get((language, retention_class), retention_class)


def answer_text(outcome: ErasureOutcome, language: str = "de") -> str:
    """The answer to the person, in German or English."""
    de = language == "de"
    lines: list[str] = []
    if not outcome.buckets:
        lines.append(
            "Es sind keine Inhalte zu Ihrer Person (mehr) gespeichert."
            if de
            else "No content about you is held (any more)."
        )
    elif outcome.erased:
        lines.append("Gelöscht wurden:" if de else "Erased:")
        lines += [
            f"- {class_name(b.retention_class, language)} {b.start_year}" for b in outcome.erased
        ]
    else:
        lines.append(
            "Es konnten derzeit keine Daten gelöscht werden."
            if de
            else "No data could be erased at this time."
        )
    if outcome.kept:
        lines.append(
            "Aufbewahrt werden, nur noch gespeichert und für Mitarbeiter gesperrt "
            "(Art. 17 Abs. 3 lit. b, Art. 18 DSGVO):"
            if de
            else "Kept, only stored and blocked for staff (Art. 17(3)(b), 18 GDPR):"
        )
        for b in outcome.kept:
            name = f"{class_name(b.retention_class, language)} {b.start_year}"
            if b.held:
                why = (
                    "gesetzliche Aufbewahrungssperre (Legal Hold)" if de else "legal hold in place"
                )
                until = "bis zu ihrer Aufhebung" if de else "until it is lifted"
                lines.append(f"- {name}: {why}, {until}")
            else:
                until = f"{b.kept_until:%d.%m.%Y}" if de else f"{b.kept_until:%Y-%m-%d}"
                lines.append(
                    f"- {name}: {b.legal_basis}; "
                    + (f"Löschung am {until}" if de else f"erased on {until}")
                )
    lines.append(
        "Ihre Einwilligungsnachweise und ein Sperrvermerk für Ihre Nummer (als Schlüssel-Hash) "
        "bleiben gespeichert, um rechtmäßige Verarbeitung nachzuweisen und Sie nie wieder "
        "ungewollt zu kontaktieren."
        if de
        else "Your consent records and a suppression entry for your number (as a keyed hash) "
        "are kept, to prove lawful processing and never to contact you unasked again."
    )
    return "\n".join(lines)
