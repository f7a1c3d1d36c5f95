"""Broadcasts (newsletters): one approved marketing template to every contact of a segment
who holds a valid opt-in (UWG §7(2); DESIGN invariant 5).

Creating a broadcast asks the gate for every contact of the segment (everyone with a
consent history for the purpose) and queues one outbox row each; refusals are kept with
their reason so the report names every contact. The worker asks the gate again at send
time, paces to the throughput and counts against the messaging limit; pausing holds the
rest back and resuming lets them meet today's consent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from chatproof.archive.log import EntryDraft, append
from chatproof.archive.retention import start_year_for
from chatproof.domain.consent import MARKETING
from chatproof.domain.phone import mask_phone
from chatproof.domain.policy import TemplateCategory
from chatproof.services.access import record_read
from chatproof.services.sending import Outgoing, SendingError, SendingSettings, submit_in
from chatproof.store import UnitOfWork
from chatproof.store.sending import BroadcastRow, OutboxRow

BROADCAST_CLASS = "books_and_records"
RUNNING, PAUSED = "running", "paused"


@dataclass(frozen=True, slots=True)
class Recipient:
    contact_id: int
    number: str
    """Masked (``+49 151 ••• 4567``): enough to tell customers apart."""
    outcome: str
    """queued, sending, sent, delivered, read, failed, unknown or refused."""
    rule_id: str | None
    error_code: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class BroadcastReport:
    broadcast: BroadcastRow
    recipients: list[Recipient]

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.outcome for r in self.recipients).items()))


def _entry(kind: str, now: datetime, uow: UnitOfWork, **attributes: object) -> EntryDraft:
    return EntryDraft(
        kind=kind,
        at=now,
        retention_class=BROADCAST_CLASS,
        start_year=start_year_for(now, uow.personal.sealer.tz),
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def create(
    uow_factory: Callable[[], UnitOfWork],
    settings: SendingSettings,
    now: datetime,
    *,
    name: str,
    template: str,
    language: str,
    body_params: Sequence[str] = (),
    purpose: str = MARKETING,
    label: str | None = None,
    actor: str,
) -> int:
    """Create a running broadcast to the segment (everyone with a consent history for
    ``purpose``, and with ``label`` only those whose conversation carries it); return its id.

    Raises:
        SendingError / TemplateProblem naming the field; nothing is written then.
    """
    if not name.strip():
        raise SendingError("name", "a broadcast needs a name")
    spec = settings.catalogue.get(template, language)
    if spec.category is not TemplateCategory.MARKETING:
        raise SendingError("template", f"{template!r} is not a marketing template")
    if not spec.approved:
        raise SendingError("template", f"{template!r} is not approved")
    message = Outgoing(
        template=template, language=language, body_params=tuple(body_params), purpose=purpose
    )
    with uow_factory() as uow:
        broadcast_id = uow.sending.add_broadcast(
            name=name[:200],
            template_name=template,
            template_language=language,
            purpose=purpose,
            body_params=json.dumps(list(body_params)),
            state=RUNNING,
            created_by=actor[:200],
            created_at=now,
            updated_at=now,
        )
        allowed = 0
        candidates = uow.sending.contacts_with_consent_events(purpose, label)
        for contact_id in candidates:
            contact = uow.sending.contact(contact_id)
            if not contact.wa_id:
                continue  # erased: the number is gone, and so is any reason to write
            accepted = submit_in(
                uow,
                contact,
                message,
                settings,
                now,
                idempotency_key=f"broadcast:{broadcast_id}:contact:{contact_id}",
                origin="broadcast",
                actor=actor,
                broadcast_id=broadcast_id,
            )
            allowed += accepted.decision.allowed
        entry = _entry(
            "broadcast.created",
            now,
            uow,
            broadcast=broadcast_id,
            template=template,
            language=language,
            purpose=purpose,
            label=label,
            actor=actor,
            segment=len(candidates),
            queued=allowed,
        )
        append(uow.log, [entry], now)
        uow.commit()
    return broadcast_id


def set_state(
    uow_factory: Callable[[], UnitOfWork], broadcast_id: int, state: str, actor: str, now: datetime
) -> None:
    """Pause or resume. Raises: NotFound."""
    with uow_factory() as uow:
        uow.sending.broadcast(broadcast_id)
        uow.sending.set_broadcast_state(broadcast_id, state, now)
        kind = "broadcast.paused" if state == PAUSED else "broadcast.resumed"
        append(uow.log, [_entry(kind, now, uow, broadcast=broadcast_id, actor=actor)], now)
        uow.commit()


def _outcome(row: OutboxRow) -> str:
    if row.state == "sent":
        return row.delivery if row.delivery in ("delivered", "read") else "sent"
    return {"in_flight": "sending"}.get(row.state, row.state)


def report(
    uow_factory: Callable[[], UnitOfWork], broadcast_id: int, actor: str, now: datetime
) -> BroadcastReport:
    """Per contact: sent, delivered, read, failed or refused, with the reason. The read of
    the (masked) numbers is logged. Raises: NotFound."""
    with uow_factory() as uow:
        broadcast = uow.sending.broadcast(broadcast_id)
        recipients = []
        for row in uow.sending.broadcast_outbox(broadcast_id):
            contact = uow.sending.contact(row.contact_id)
            recipients.append(
                Recipient(
                    row.contact_id,
                    mask_phone(contact.wa_id) if contact.wa_id else "(erased)",
                    _outcome(row),
                    row.rule_id,
                    row.error_code,
                    row.reason,
                )
            )
        record_read(
            uow, now, actor, "broadcast_report", f"broadcast:{broadcast_id}", None,
            broadcast=broadcast_id,
        )  # fmt: skip
        uow.commit()
    return BroadcastReport(broadcast, recipients)
