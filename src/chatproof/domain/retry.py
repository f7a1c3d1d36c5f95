"""What a failed send means: try again, give up with a reason, or "outcome unknown".

The platform has no idempotency key, so a send is retried only when the platform said it did
not take the message (throughput 130429, pair rate 131056) or the connection was refused
before anything was sent. After a timeout or a bare 5xx the message may have gone out: it is
"outcome unknown" until a status webhook says what happened, never blindly resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

RETRY_CODES = frozenset({130429, 131056})
NEVER_RETRY_CODES = frozenset({131047, 131026, 131049, 131050, 368, 100, 190})
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF_BASE = 1.0
DEFAULT_BACKOFF_CAP = 300.0
DEFAULT_UNKNOWN_GRACE = timedelta(minutes=15)


class Outcome(StrEnum):
    RETRY = "retry"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Transport(StrEnum):
    """How the request ended when no HTTP answer came back."""

    REFUSED = "refused"
    """The connection was never made: nothing reached the platform."""
    TIMEOUT = "timeout"
    """The request may have reached the platform."""


@dataclass(frozen=True, slots=True)
class SendFailure:
    code: int | None = None
    http_status: int | None = None
    transport: Transport | None = None


def classify(failure: SendFailure) -> Outcome:
    if failure.transport is Transport.REFUSED:
        return Outcome.RETRY
    if failure.transport is Transport.TIMEOUT:
        return Outcome.UNKNOWN
    if failure.code in RETRY_CODES:
        return Outcome.RETRY
    if failure.code is not None and (
        failure.code in NEVER_RETRY_CODES or 132000 <= failure.code < 133000
    ):
        return Outcome.FAILED
    if failure.http_status is not None and failure.http_status >= 500:
        return Outcome.UNKNOWN
    return Outcome.FAILED


def backoff(
    attempt: int,
    jitter: float,
    *,
    base: float = DEFAULT_BACKOFF_BASE,
    cap: float = DEFAULT_BACKOFF_CAP,
) -> timedelta:
    """Exponential backoff with full jitter: ``jitter`` in [0, 1) picks a point in
    ``[delay/2, delay]`` so retries of many messages spread out. ``attempt`` counts from 1."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=delay * (0.5 + 0.5 * jitter))


REASONS: dict[int, tuple[str, str]] = {
    130429: ("Durchsatzgrenze der Nummer überschritten.", "The number's throughput was exceeded."),
    131056: (
        "Zu viele Nachrichten an diesen Kunden in kurzer Zeit.",
        "Too many messages to this customer in a short time.",
    ),
    131047: (
        "Mehr als 24 Stunden seit der letzten Kundennachricht: nur Vorlagen erlaubt.",
        "More than 24 hours since the customer last wrote: only templates are allowed.",
    ),
    131026: (
        "Nachricht nicht zustellbar (Nummer nicht bei WhatsApp oder App veraltet).",
        "Message undeliverable (number not on WhatsApp or app outdated).",
    ),
    131049: (
        "Von der Plattform zurückgehalten (Werbegrenze pro Nutzer); frühestens in 24 Stunden "
        "erneut senden.",
        "Held back by the platform (per-user marketing cap); resend no sooner than 24 hours.",
    ),
    131050: (
        "Der Kunde hat Werbenachrichten auf WhatsApp abbestellt.",
        "The customer stopped marketing messages on WhatsApp.",
    ),
    368: (
        "Konto wegen Richtlinienverstößen vorübergehend gesperrt.",
        "Account temporarily blocked for policy violations.",
    ),
    100: ("Ungültiger Parameter in der Anfrage.", "Invalid parameter in the request."),
    190: ("Zugangstoken abgelaufen oder ungültig.", "Access token expired or invalid."),
    132000: (
        "Anzahl der Vorlagenparameter stimmt nicht.",
        "Template parameter count mismatch.",
    ),
    132001: (
        "Vorlage existiert nicht in dieser Sprache oder ist nicht freigegeben.",
        "Template does not exist in this language or is not approved.",
    ),
    132015: ("Vorlage pausiert (geringe Qualität).", "Template paused (low quality)."),
    132016: ("Vorlage dauerhaft deaktiviert.", "Template permanently disabled."),
}


def reason_for(code: int | None, fallback: str = "") -> tuple[str, str]:
    """A human-readable reason (German, English) for a platform error code."""
    if code in REASONS:
        return REASONS[code]
    if code is not None and 132000 <= code < 133000:
        return ("Vorlage abgelehnt.", "Template rejected.")
    text = fallback or (f"Plattformfehler {code}" if code is not None else "Unbekannter Fehler")
    return (text, fallback or (f"Platform error {code}" if code is not None else "Unknown error"))
