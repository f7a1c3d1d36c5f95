"""Reacting to what came in, after it was committed: opt-outs and opt-ins, the Art. 13 notice,
greeting, away message, FAQ answers, and the outcome of what the business sent.

The processor follows committed inbound messages, statuses and platform events by durable
cursors (their primary keys) and handles each batch in its own transaction together with the
cursor, so a restart neither loses nor repeats a reaction; every message it sends passes the
gate and carries an idempotency key derived from what it answers (DESIGN invariants 2, 5).
The ingest path is not touched: webhooks are acknowledged before any of this happens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chatproof.archive.envelope import data_key_id
from chatproof.archive.errors import ArchiveError
from chatproof.archive.log import append
from chatproof.domain.business_hours import BusinessHours, away_message_due
from chatproof.domain.consent import (
    ALL_PURPOSES,
    MARKETING,
    ConsentAction,
    ConsentEvent,
    ConsentSource,
)
from chatproof.domain.delivery import DeliveryState, advance, parse_state
from chatproof.domain.errors import ChatproofError
from chatproof.domain.faq import FaqRule, answer_for
from chatproof.domain.language import language_for
from chatproof.domain.opt_out import Keyword, KeywordMatcher, is_unsubscribe_payload
from chatproof.domain.policy import WINDOW
from chatproof.domain.retry import reason_for
from chatproof.services import consent
from chatproof.services.outbox_worker import mark_failed_in, outbox_id_from
from chatproof.services.sending import Outgoing, SendingSettings, submit_in
from chatproof.store import NotFound, UnitOfWork
from chatproof.store.sending import ContactRef, InboundRow, OutboxRow, StatusRow

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_LAG = timedelta(seconds=0.5)
"""Rows younger than this wait a round. Ingest already commits in id order (it takes the log's
lock before its rows get ids); this is a margin beside it."""

Texts = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AutomationSettings:
    """What to answer, by language (``de``/``en``); an empty text switches a reaction off."""

    matcher: KeywordMatcher = field(default_factory=KeywordMatcher)
    unsubscribe_payloads: tuple[str, ...] = ()
    opt_out_confirmation: Texts = field(default_factory=dict)
    opt_in_text: Texts = field(default_factory=dict)
    opt_in_text_version: str = "1"
    opt_in_confirmation: Texts = field(default_factory=dict)
    privacy_notice: Texts = field(default_factory=dict)
    greeting: Texts = field(default_factory=dict)
    away: Texts = field(default_factory=dict)
    away_interval: timedelta = timedelta(hours=12)
    hours: BusinessHours | None = None
    faq_enabled: bool = False
    faq: tuple[FaqRule, ...] = ()


def _pick(texts: Texts, language: str) -> str:
    return texts.get(language) or texts.get("en") or texts.get("de") or ""


@dataclass(slots=True)
class ReactionReport:
    messages: int = 0
    statuses: int = 0
    events: int = 0
    queued: int = 0


class ReactionProcessor:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sending: SendingSettings,
        automations: AutomationSettings,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = DEFAULT_BATCH,
        lag: timedelta = DEFAULT_LAG,
        reader: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.reader = reader or uow_factory
        self.sending = sending
        self.now = now
        self.batch = batch
        self.lag = lag
        self.use(automations)

    def use(self, automations: AutomationSettings) -> None:
        """Answer with ``automations`` from the next pass on: an admin changed greeting,
        away text or business hours while this process runs (issue 5)."""
        a = automations
        answers = bool(
            a.privacy_notice
            or a.greeting
            or (a.away and a.hours is not None)
            or (a.faq_enabled and a.faq)
        )
        # A pass running in another thread meanwhile may answer one message with the old
        # texts and the next with the new: each answer is whole, and the change is recent.
        self.automations, self._answers_configured = a, answers

    def run_once(self) -> ReactionReport:
        """Handle what is new since the cursors, in one transaction with them."""
        now = self.now()
        settled = now - self.lag
        report = ReactionReport()
        if not self._anything_new():
            return report
        with self.uow_factory() as uow:
            repo = uow.sending
            position = repo.cursor("messages")
            rows = repo.inbound_after(position, self.batch)
            uow.personal.prefetch(row.text for row in rows if row.from_webhook)
            for row in rows:
                if row.received_at > settled:
                    break
                try:
                    if row.from_webhook:
                        self._inbound(uow, row, now, report)
                except ChatproofError as exc:
                    # One message that cannot be answered must not hold up all that follow.
                    logger.warning("no reaction to message %d: %s", row.id, exc)
                position = row.id
                report.messages += 1
            repo.set_cursor("messages", position)
            position = repo.cursor("statuses")
            for status in repo.statuses_after(position, self.batch):
                if status.received_at > settled:
                    break
                self._status(uow, status, now)
                position = status.id
                report.statuses += 1
            repo.set_cursor("statuses", position)
            position = repo.cursor("events")
            for event in repo.events_after(position, self.batch):
                if event.received_at > settled:
                    break
                if event.kind == "marketing_stop" and event.contact_id is not None:
                    contact = repo.contact(event.contact_id)
                    withdrawal = ConsentEvent(
                        MARKETING,
                        ConsentAction.WITHDRAWN,
                        ConsentSource.PLATFORM_PREFERENCE,
                        event.received_at,
                        "platform:user_preferences",
                    )
                    consent.record_in(uow, contact, withdrawal, now)
                position = event.id
                report.events += 1
            repo.set_cursor("events", position)
            uow.commit()
        return report

    def _anything_new(self) -> bool:
        """Asked without the writer's lock, so an idle processor costs the ingest nothing."""
        with self.reader() as uow:
            repo = uow.sending
            cursors = (repo.cursor("messages"), repo.cursor("statuses"), repo.cursor("events"))
            return any(
                latest > seen for latest, seen in zip(repo.latest_ids(), cursors, strict=True)
            )

    # inbound messages

    def _inbound(self, uow: UnitOfWork, row: InboundRow, now: datetime, report: Any) -> None:
        # Cheap first: the processor shares the server with ingest, and most messages need
        # nothing but a look at whether they are a keyword.
        text = _open_text(uow, row.subject_id, row.text) if row.type == "text" else ""
        keyword = self.automations.matcher.match(text) if text else None
        payload = _button_payload(uow, row) if row.type == "button" else ""
        answering = self._answers_configured and now - row.sent_at < WINDOW
        if keyword is None and not payload and not answering:
            return
        contact = uow.sending.contact(row.contact_id)
        if not contact.wa_id:
            return
        language = language_for(contact.wa_id)
        # Ordered by when chatproof received it: the platform's timestamps have whole
        # seconds only and would sort before an opt-in recorded in the same second.
        proof = f"message:{row.id} sent {row.sent_at.isoformat()}"
        if keyword is Keyword.STOP:
            stop = ConsentEvent(
                ALL_PURPOSES,
                ConsentAction.WITHDRAWN,
                ConsentSource.KEYWORD,
                row.received_at,
                "customer:keyword",
                text=text,
                proof=proof,
            )
            consent.record_in(uow, contact, stop, now)
            confirm = self._confirmation_due(uow, contact)
            if confirm and self._send(
                uow, contact, row, "opt_out_confirmation", language, now, report
            ):
                uow.sending.set_mark(contact.id, "opt_out_confirmed", now)
            return
        if payload and is_unsubscribe_payload(payload, self.automations.unsubscribe_payloads):
            withdrawal = ConsentEvent(
                MARKETING,
                ConsentAction.WITHDRAWN,
                ConsentSource.UNSUBSCRIBE_BUTTON,
                row.received_at,
                "customer:button",
                text=payload,
                proof=proof,
            )
            consent.record_in(uow, contact, withdrawal, now)
            return
        if keyword is Keyword.START:
            consent_text = _pick(self.automations.opt_in_text, language)
            if consent_text:
                grant = ConsentEvent(
                    MARKETING,
                    ConsentAction.GRANTED,
                    ConsentSource.KEYWORD,
                    row.received_at,
                    "customer:keyword",
                    text=consent_text,
                    text_version=self.automations.opt_in_text_version,
                    proof=proof,
                )
                consent.record_in(uow, contact, grant, now)
                self._send(uow, contact, row, "opt_in_confirmation", language, now, report)
                return
        if now - row.sent_at >= WINDOW:
            return  # nothing to answer any more: the window closed before it was seen
        self._automations(uow, contact, row, text, language, now, report)

    def _automations(
        self,
        uow: UnitOfWork,
        contact: ContactRef,
        row: InboundRow,
        text: str,
        language: str,
        now: datetime,
        report: ReactionReport,
    ) -> None:
        for kind in ("privacy_notice", "greeting"):
            if uow.sending.mark(contact.id, kind) is None and self._send(
                uow, contact, row, kind, language, now, report, once=True
            ):
                uow.sending.set_mark(contact.id, kind, now)
        hours = self.automations.hours
        if hours is not None and not hours.is_open(row.sent_at):
            last = uow.sending.mark(contact.id, "away")
            due = away_message_due(last, row.sent_at, self.automations.away_interval)
            if due and self._send(uow, contact, row, "away", language, now, report):
                uow.sending.set_mark(contact.id, "away", row.sent_at)
        if self.automations.faq_enabled and row.type == "text":
            rule = answer_for(self.automations.faq, text)
            if rule is not None:
                self._submit(uow, contact, row, f"faq:{rule.name}", rule.answer, now, report)

    @staticmethod
    def _confirmation_due(uow: UnitOfWork, contact: ContactRef) -> bool:
        """A keyword opt-out is confirmed once, and again only after a new opt-in."""
        marked = uow.sending.mark(contact.id, "opt_out_confirmed")
        return marked is None or any(
            e.action is ConsentAction.GRANTED and e.at > marked
            for e in uow.sending.consent_events(contact.id)
        )

    def _send(
        self,
        uow: UnitOfWork,
        contact: ContactRef,
        row: InboundRow,
        kind: str,
        language: str,
        now: datetime,
        report: ReactionReport,
        *,
        once: bool = False,
    ) -> bool:
        text = _pick(getattr(self.automations, kind), language)
        if not text:
            return False
        return self._submit(uow, contact, row, kind, text, now, report, once=once)

    def _submit(
        self,
        uow: UnitOfWork,
        contact: ContactRef,
        row: InboundRow,
        kind: str,
        text: str,
        now: datetime,
        report: ReactionReport,
        *,
        once: bool = False,
    ) -> bool:
        key = f"auto:{kind}:contact:{contact.id}" if once else f"auto:{kind}:message:{row.id}"
        accepted = submit_in(
            uow,
            contact,
            Outgoing(text=text),
            self.sending,
            now,
            idempotency_key=key,
            origin=f"automation:{kind.split(':')[0]}",
            actor="chatproof",
        )
        if accepted.decision.allowed and not accepted.duplicate:
            report.queued += 1
        return accepted.decision.allowed

    # statuses of what the business sent

    def _status(self, uow: UnitOfWork, status: StatusRow, now: datetime) -> None:
        row = uow.sending.outbox_by_platform_id(status.platform_id_hash)
        if row is None:
            row = _outbox_from_callback(uow, status)
        reported = parse_state(status.status)
        if row is None or reported is None:
            return
        if reported is DeliveryState.FAILED:
            if row.state != "failed":
                code = status.error_code
                mark_failed_in(uow, row, code, reason_for(code)[1], now)
            uow.sending.advance_message(status.platform_id_hash, "failed", status.at, code)
            return
        delivery = advance(DeliveryState(row.delivery) if row.delivery else None, reported)
        values: dict[str, Any] = {"updated_at": now}
        if delivery is not None:
            values["delivery"] = delivery.value
        if row.platform_id_hash is None:
            values["platform_id_hash"] = status.platform_id_hash
        was_unknown = row.state == "unknown"
        if row.state in ("in_flight", "unknown"):
            values["state"] = "sent"
            values["reason"] = None
        uow.sending.update_outbox(row.id, (row.state,), **values)
        uow.sending.advance_message(status.platform_id_hash, status.status, status.at, None)
        if was_unknown:
            contact = uow.sending.contact(row.contact_id)
            entry = uow.personal.entry(
                "outbox.reconciled",
                contact.subject_id,
                now,
                platform_id_hash=status.platform_id_hash,
                outbox=row.id,
                status=status.status,
            )
            append(uow.log, [entry], now)


def _open_text(uow: UnitOfWork, subject_id: str, sealed: bytes | None) -> str:
    return uow.personal.read_text(subject_id, sealed).text


def _button_payload(uow: UnitOfWork, row: InboundRow) -> str:
    raw = uow.personal.read_text(row.subject_id, row.raw).text
    try:
        button = json.loads(raw).get("button") or {}
    except (ValueError, AttributeError):
        return ""
    return str(button.get("payload") or button.get("text") or "")


def _outbox_from_callback(uow: UnitOfWork, status: StatusRow) -> OutboxRow | None:
    """The outbox row a status names in ``biz_opaque_callback_data`` (sends whose answer
    never came back have no platform id to match by)."""
    try:
        subject = uow.keystore.bucket_of(data_key_id(status.raw)).subject_id
        item = json.loads(uow.keystore.unseal(subject, status.raw))
    except (ArchiveError, ValueError):
        return None
    outbox_id = outbox_id_from(str(item.get("biz_opaque_callback_data", "")))
    if outbox_id is None:
        return None
    try:
        return uow.sending.outbox(outbox_id)
    except NotFound:
        return None
