"""The policy gate: may this message go to this customer now? (DESIGN invariant 5)

A pure function of the contact's state, its consent history, the time of the last message
the customer wrote, what is to be sent and why, the usage of the messaging limit, and the
clock. It never raises for a refusal: every answer is a ``Decision`` with a rule id and a
reason in German and English, which the caller archives and shows to the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chatproof.domain.consent import MARKETING, SERVICE, ConsentState

WINDOW = timedelta(hours=24)
DEFAULT_SERVICE_CASE_DAYS = 30
MESSAGING_TIERS = (250, 2_000, 10_000, 100_000)
"""Unique customers reached outside a window per rolling 24 hours; 0 means unlimited."""
DEFAULT_MESSAGING_LIMIT = 250


class MessageKind(StrEnum):
    FREE_TEXT = "free_text"
    """Anything that is not a template: text, media, interactive, location."""
    TEMPLATE = "template"


class TemplateCategory(StrEnum):
    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"


@dataclass(frozen=True, slots=True)
class ContactState:
    """What the gate needs to know about the recipient.

    ``last_inbound_at`` counts only messages the customer sent on WhatsApp to this business;
    ``imported_inbound_at`` is the newest message from imported chat history, which opens no
    window (it is given only so a refusal can say why).
    """

    last_inbound_at: datetime | None = None
    consents: Mapping[str, ConsentState] | None = None
    restricted: bool = False
    shredded: bool = False
    imported_inbound_at: datetime | None = None

    def consent(self, purpose: str) -> ConsentState:
        found = (self.consents or {}).get(purpose)
        return found if found is not None else ConsentState(purpose, False)


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """What is to be sent, and for which purpose."""

    purpose: str = SERVICE
    kind: MessageKind = MessageKind.FREE_TEXT
    template_category: TemplateCategory | None = None
    template_approved: bool = True
    broadcast: bool = False

    @property
    def is_marketing(self) -> bool:
        return (
            self.purpose == MARKETING
            or self.broadcast
            or self.template_category is TemplateCategory.MARKETING
        )


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """Unique customers reached outside a window in the last 24 hours, and whether this
    recipient is already one of them (then another message costs nothing)."""

    reached: int = 0
    recipient_counted: bool = False


@dataclass(frozen=True, slots=True)
class PolicySettings:
    service_case_days: int = DEFAULT_SERVICE_CASE_DAYS
    messaging_limit: int = DEFAULT_MESSAGING_LIMIT
    """One of ``MESSAGING_TIERS``, or 0 for unlimited."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule_id: str
    reason_de: str
    reason_en: str
    business_initiated: bool = False
    """The message goes out while no window is open, so it counts against the limit."""

    def reason(self, language: str) -> str:
        return self.reason_de if language.lower().startswith("de") else self.reason_en


def _allow(rule: str, de: str, en: str, *, business_initiated: bool = False) -> Decision:
    return Decision(True, rule, de, en, business_initiated)


def _refuse(rule: str, de: str, en: str) -> Decision:
    return Decision(False, rule, de, en)


def window_open(contact: ContactState, now: datetime) -> bool:
    """Whether the customer wrote on WhatsApp within the last 24 hours. A timestamp ahead of
    our clock (the platform's clock runs ahead) counts as just now."""
    last = contact.last_inbound_at
    return last is not None and now - last < WINDOW


def decide(
    contact: ContactState,
    request: OutboundRequest,
    usage: LimitUsage,
    now: datetime,
    settings: PolicySettings | None = None,
) -> Decision:
    """Decide whether ``request`` may go to ``contact`` at ``now``."""
    settings = settings or PolicySettings()
    if contact.shredded:
        return _refuse(
            "contact.shredded",
            "Die Daten dieses Kontakts wurden gelöscht; er erhält keine Nachrichten mehr.",
            "This contact's data was erased; they receive no more messages.",
        )
    if contact.restricted:
        return _refuse(
            "contact.restricted",
            "Die Verarbeitung ist eingeschränkt (Art. 18 DSGVO); keine Nachrichten.",
            "Processing is restricted (GDPR Art. 18); no messages may be sent.",
        )
    is_template = request.kind is MessageKind.TEMPLATE
    if is_template and not request.template_approved:
        return _refuse(
            "template.not_approved",
            "Die Vorlage ist nicht freigegeben.",
            "The template is not approved.",
        )
    if request.is_marketing:
        refusal = _marketing_refusal(contact.consent(MARKETING))
        if refusal is not None:
            return refusal
    is_open = window_open(contact, now)
    if not is_template:
        if is_open:
            return _allow(
                "window.reply",
                "Antwort im 24-Stunden-Kundenservicefenster.",
                "Reply inside the 24-hour customer service window.",
            )
        return _closed_window(contact)
    if is_open:
        return _allow(
            "window.template",
            "Vorlage im offenen 24-Stunden-Fenster.",
            "Template inside the open 24-hour window.",
        )
    basis = _legal_basis(contact, request, now, settings)
    if not basis.allowed:
        return basis
    return _within_limit(basis, usage, settings)


def _marketing_refusal(consent: ConsentState) -> Decision | None:
    if consent.granted:
        return None
    if consent.withdrawn:
        return _refuse(
            "marketing.opted_out",
            "Der Kunde hat Werbung abbestellt (Widerspruch, Art. 21 DSGVO).",
            "The customer opted out of marketing (objection, GDPR Art. 21).",
        )
    return _refuse(
        "marketing.no_opt_in",
        "Werbung nur mit ausdrücklicher Einwilligung (§ 7 Abs. 2 UWG); keine vorhanden.",
        "Marketing needs explicit prior consent (UWG §7(2)); there is none.",
    )


def _closed_window(contact: ContactState) -> Decision:
    if contact.last_inbound_at is None and contact.imported_inbound_at is not None:
        return _refuse(
            "window.imported_history",
            "Importierte Chatverläufe öffnen kein Kundenservicefenster; nur Vorlagen.",
            "Imported chat history opens no customer service window; only templates.",
        )
    return _refuse(
        "window.closed",
        "Das 24-Stunden-Fenster ist geschlossen: nur freigegebene Vorlagen sind erlaubt.",
        "The 24-hour window is closed: only approved templates may be sent.",
    )


def _legal_basis(
    contact: ContactState, request: OutboundRequest, now: datetime, settings: PolicySettings
) -> Decision:
    consent = contact.consent(request.purpose)
    if consent.granted:
        return _allow(
            "consent.documented",
            f"Dokumentierte Einwilligung für den Zweck „{request.purpose}“.",
            f"Documented consent for the purpose '{request.purpose}'.",
            business_initiated=True,
        )
    case_opened = contact.last_inbound_at
    withdrawn_at = consent.since if consent.withdrawn else None
    follow_up = (
        request.purpose == SERVICE
        and request.template_category is TemplateCategory.UTILITY
        and case_opened is not None
        and now - case_opened <= timedelta(days=settings.service_case_days)
        and (withdrawn_at is None or case_opened > withdrawn_at)
    )
    if follow_up:
        return _allow(
            "service_case.follow_up",
            f"Servicevorlage zu einem Anliegen, das der Kunde vor höchstens "
            f"{settings.service_case_days} Tagen eröffnet hat.",
            f"Utility template about a case the customer opened within "
            f"{settings.service_case_days} days.",
            business_initiated=True,
        )
    if consent.withdrawn:
        return _refuse(
            "consent.withdrawn",
            f"Der Kunde hat die Einwilligung für „{request.purpose}“ widerrufen.",
            f"The customer withdrew consent for '{request.purpose}'.",
        )
    if case_opened is None:
        return _refuse(
            "initiation.no_basis",
            "Der Kunde hat nie geschrieben und nicht eingewilligt: chatproof beginnt kein "
            "Gespräch (eine eingetippte Nummer ist keine Einwilligung).",
            "The customer never wrote and never consented: chatproof starts no conversation "
            "(a number typed in is not consent).",
        )
    return _refuse(
        "template.no_basis",
        f"Keine Rechtsgrundlage außerhalb des Fensters: keine Einwilligung für "
        f"„{request.purpose}“ und kein offenes Serviceanliegen (Servicevorlage, "
        f"{settings.service_case_days} Tage).",
        f"No legal basis outside the window: no consent for '{request.purpose}' and no "
        f"open service case (utility template, {settings.service_case_days} days).",
    )


def _within_limit(basis: Decision, usage: LimitUsage, settings: PolicySettings) -> Decision:
    limit = settings.messaging_limit
    if limit and not usage.recipient_counted and usage.reached >= limit:
        return _refuse(
            "limit.messaging_tier",
            f"Das Messaging-Limit ({limit} Kunden außerhalb eines Fensters in 24 Stunden) "
            f"ist erreicht.",
            f"The messaging limit ({limit} customers outside a window per 24 hours) is reached.",
        )
    return basis


def check_messaging_limit(value: int) -> int:
    """Raises ValueError unless ``value`` is a platform tier or 0 (unlimited)."""
    if value != 0 and value not in MESSAGING_TIERS:
        tiers = ", ".join(str(t) for t in MESSAGING_TIERS)
        raise ValueError(f"must be one of {tiers} or 0 (unlimited), got {value}")
    return value
