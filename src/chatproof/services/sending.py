"""Accepting a message for sending: gate → archive → outbox (DESIGN invariant 5).

An agent's or an automation's message is accepted only after the policy gate allowed it;
the decision, allowed or refused, becomes a log entry in the same transaction as the outbox
row, so the business can prove years later why each message was allowed. An idempotency key
makes a retried request return the first answer instead of queueing the message twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import append
from chatproof.channels.whatsapp import outbound
from chatproof.domain.attachments import Attachment
from chatproof.domain.consent import SERVICE, current_states
from chatproof.domain.errors import DomainError
from chatproof.domain.policy import (
    WINDOW,
    ContactState,
    Decision,
    LimitUsage,
    MessageKind,
    OutboundRequest,
    PolicySettings,
    decide,
)
from chatproof.domain.templates import (
    TemplateCatalogue,
    TemplateSpec,
    check_parameters,
    render_preview,
)
from chatproof.services import attachments
from chatproof.services.consent import effective_events
from chatproof.store import UnitOfWork
from chatproof.store.personal import SYSTEM_SUBJECT
from chatproof.store.sending import ContactRef, OutboxRow

MAX_KEY = 200
PENDING_MEDIA_ID = "pending-upload"
"""Stands for the media id in an accepted attachment's request until the worker uploaded it."""


class SendingError(DomainError):
    """A send request is malformed; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class SendingSettings:
    policy: PolicySettings = field(default_factory=PolicySettings)
    catalogue: TemplateCatalogue = field(default_factory=TemplateCatalogue)
    business_number_id: str = ""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Free text, a template from the catalogue with its body parameters, or a checked file
    with its caption (free-form to the gate, like text)."""

    text: str = ""
    template: str = ""
    language: str = ""
    body_params: tuple[str, ...] = ()
    purpose: str = SERVICE
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    decision: Decision
    outbox_id: int | None
    duplicate: bool = False


def contact_state(uow: UnitOfWork, contact: ContactRef) -> ContactState:
    """What the gate needs to know about ``contact``, read inside ``uow``."""
    last = uow.sending.last_inbound_at(contact.id)
    return ContactState(
        last_inbound_at=last,
        consents=current_states(effective_events(uow, contact)),
        shredded=uow.sending.is_shredded(contact.subject_id),
        restricted=uow.dsr.is_restricted(contact.subject_id),
        imported_inbound_at=None if last else uow.sending.last_imported_at(contact.id),
    )


def limit_usage(uow: UnitOfWork, contact: ContactRef, now: datetime) -> LimitUsage:
    reached, counted = uow.sending.reached_since(now - WINDOW, contact.id)
    return LimitUsage(reached, counted)


def request_for(message: Outgoing, spec: TemplateSpec | None, broadcast: bool) -> OutboundRequest:
    if spec is None:
        return OutboundRequest(message.purpose, MessageKind.FREE_TEXT, broadcast=broadcast)
    return OutboundRequest(
        message.purpose, MessageKind.TEMPLATE, spec.category, spec.approved, broadcast
    )


def decision_entry_in(
    uow: UnitOfWork,
    contact: ContactRef,
    decision: Decision,
    request: OutboundRequest,
    now: datetime,
    *,
    origin: str,
    actor: str,
    outbox_id: int | None,
    template: str | None = None,
    stage: str = "accept",
) -> None:
    """Archive a gate decision, allowed or refused, with its rule and reason."""
    entry = uow.personal.entry(
        "policy.decision",
        contact.subject_id,
        now,
        allowed=decision.allowed,
        rule=decision.rule_id,
        reason=decision.reason_en,
        purpose=request.purpose,
        message_kind=request.kind.value,
        category=request.template_category.value if request.template_category else None,
        template=template,
        origin=origin,
        actor=actor,
        outbox=outbox_id,
        stage=stage,
    )
    append(uow.log, [entry], now)


def build_payload(contact: ContactRef, message: Outgoing, spec: TemplateSpec | None) -> dict:
    """The request body without ``biz_opaque_callback_data`` (the worker adds the outbox id).

    Raises:
        SendingError / TemplateProblem / MessageValidationError naming the field.
    """
    if not contact.wa_id:
        raise SendingError("to", "the contact's number was erased")
    if message.attachment is not None:
        return attachment_payload(contact.wa_id, message.attachment, PENDING_MEDIA_ID)
    if spec is None:
        return outbound.text_message(contact.wa_id, message.text)
    check_parameters(spec, message.body_params)
    components = (
        [outbound.body_component(*(outbound.text_param(p) for p in message.body_params))]
        if message.body_params
        else []
    )
    return outbound.template_message(contact.wa_id, spec.name, spec.language, components)


def attachment_payload(to: str, attachment: Attachment, media_id: str) -> dict:
    """The media message that sends an uploaded attachment."""
    kind = attachment.kind.value
    return outbound.media_message(
        to,
        kind,  # type: ignore[arg-type]
        media_id=media_id,
        caption=attachment.caption or None,
        filename=attachment.filename if kind == "document" else None,
    )


def resolve(message: Outgoing, catalogue: TemplateCatalogue) -> TemplateSpec | None:
    """Raises: SendingError or TemplateProblem naming the field."""
    if message.attachment is not None:
        if message.template or message.text.strip():
            raise SendingError(
                "attachment", "a file goes alone, with its caption; not with text or a template"
            )
        return None
    if bool(message.text.strip()) == bool(message.template):
        raise SendingError("text", "give either text or a template, not both or neither")
    if not message.template:
        return None
    if not message.language:
        raise SendingError("language", "a template needs its language")
    return catalogue.get(message.template, message.language)


def submit_in(
    uow: UnitOfWork,
    contact: ContactRef,
    message: Outgoing,
    settings: SendingSettings,
    now: datetime,
    *,
    idempotency_key: str,
    origin: str,
    actor: str,
    broadcast_id: int | None = None,
    blobs: BlobStore | None = None,
) -> Accepted:
    """Gate, archive and queue one message inside ``uow``'s transaction; an attachment goes
    into ``blobs`` only once the gate allowed it.

    Raises:
        SendingError, TemplateProblem, MessageValidationError: naming the field; nothing
        is written then.
    """
    if not idempotency_key or len(idempotency_key) > MAX_KEY:
        raise SendingError("idempotency_key", f"must be 1 to {MAX_KEY} characters")
    existing = uow.sending.outbox_by_key(idempotency_key)
    if existing is not None:
        return _replayed(existing)
    spec = resolve(message, settings.catalogue)
    if spec is not None:
        check_parameters(spec, message.body_params)
    attachment = message.attachment
    if attachment is not None and (blobs is None or broadcast_id is not None):
        raise SendingError("attachment", "files are sent one reply at a time, not here")
    request = request_for(message, spec, broadcast_id is not None)
    decision = decide(
        contact_state(uow, contact), request, limit_usage(uow, contact, now), now, settings.policy
    )
    outbox_id = None
    # A broadcast keeps its refusals too, so its report names every contact and the reason
    # (an erased contact's number is gone, so there is nothing to keep for it).
    keep = decision.allowed or (broadcast_id is not None and bool(contact.wa_id))
    if keep:
        payload = build_payload(contact, message, spec)
        preview = render_preview(spec, message.body_params) if spec else message.text
        document: dict[str, object] = {"payload": payload, "preview": preview}
        stored = None
        if attachment is not None and blobs is not None:
            stored = attachments.store_in(
                uow, blobs, contact, attachment, settings.business_number_id, now
            )
            document["preview"] = attachment.caption
            document["attachment"] = attachments.describe(attachment, stored.blob)
        sealed = uow.personal.seal_bytes(contact.subject_id, json.dumps(document).encode(), now)
        outbox_id = uow.sending.add_outbox(
            idempotency_key=idempotency_key,
            contact_id=contact.id,
            broadcast_id=broadcast_id,
            purpose=message.purpose,
            kind=request.kind.value,
            template_name=spec.name if spec else None,
            template_language=spec.language if spec else None,
            template_category=spec.category.value if spec else None,
            payload=sealed,
            origin=origin[:64],
            actor=actor[:200],
            state="queued" if decision.allowed else "refused",
            business_initiated=1 if decision.business_initiated else 0,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
            rule_id=decision.rule_id,
            reason=None if decision.allowed else decision.reason_en,
            attachment_blob=stored.blob if stored else None,
        )
        if attachment is not None and stored is not None:
            attachments.archive_in(uow, contact, attachment, stored, now, outbox_id=outbox_id)
    decision_entry_in(
        uow,
        contact,
        decision,
        request,
        now,
        origin=origin,
        actor=actor,
        outbox_id=outbox_id,
        template=spec.name if spec else None,
    )
    return Accepted(decision, outbox_id)


def _replayed(row: OutboxRow) -> Accepted:
    allowed = row.state != "refused"
    decision = Decision(allowed, row.rule_id or "", "", row.reason or "", row.business_initiated)
    return Accepted(decision, row.id, duplicate=True)


def submit(
    uow_factory: Callable[[], UnitOfWork],
    to: str,
    message: Outgoing,
    settings: SendingSettings,
    now: datetime,
    *,
    idempotency_key: str,
    origin: str,
    actor: str,
    blobs: BlobStore | None = None,
) -> Accepted:
    """Accept a message to the customer with number ``to``. A refusal is returned, not
    raised, and is archived too.

    Raises:
        SendingError, TemplateProblem, MessageValidationError: naming the field.
    """
    with uow_factory() as uow:
        contact = uow.sending.contact_by_number(to)
        if contact is None:
            return _unknown_number(uow, message, settings, now, origin=origin, actor=actor)
        accepted = submit_in(
            uow,
            contact,
            message,
            settings,
            now,
            idempotency_key=idempotency_key,
            origin=origin,
            actor=actor,
            blobs=blobs,
        )
        uow.commit()
    return accepted


def _unknown_number(
    uow: UnitOfWork, message: Outgoing, settings: SendingSettings, now: datetime, **who: str
) -> Accepted:
    """A number chatproof has never seen: it never wrote and never consented, so the gate
    refuses, and the number typed in is not stored (only the decision is archived)."""
    spec = resolve(message, settings.catalogue)
    if spec is not None:
        check_parameters(spec, message.body_params)
    request = request_for(message, spec, False)
    decision = decide(ContactState(), request, LimitUsage(), now, settings.policy)
    assert not decision.allowed, "the gate starts no conversation without a basis"
    entry = uow.personal.entry(
        "policy.decision",
        SYSTEM_SUBJECT,
        now,
        allowed=False,
        rule=decision.rule_id,
        reason=decision.reason_en,
        purpose=request.purpose,
        message_kind=request.kind.value,
        template=spec.name if spec else None,
        contact="unknown number",
        **who,
    )
    append(uow.log, [entry], now)
    uow.commit()
    return Accepted(decision, None)


def submit_to_contact(
    uow_factory: Callable[[], UnitOfWork],
    contact_id: int,
    message: Outgoing,
    settings: SendingSettings,
    now: datetime,
    *,
    idempotency_key: str,
    origin: str,
    actor: str,
    blobs: BlobStore | None = None,
) -> Accepted:
    """Like ``submit``, for a known contact (a conversation's customer).

    Raises:
        NotFound: no such contact.
    """
    with uow_factory() as uow:
        contact = uow.sending.contact(contact_id)
        accepted = submit_in(
            uow,
            contact,
            message,
            settings,
            now,
            idempotency_key=idempotency_key,
            origin=origin,
            actor=actor,
            blobs=blobs,
        )
        uow.commit()
    return accepted


@dataclass(frozen=True, slots=True)
class OutboxView:
    """One outbox message as an agent sees it."""

    id: int
    state: str
    delivery: str | None
    attempts: int
    rule_id: str | None
    error_code: int | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    may_resend: bool


def view(row: OutboxRow, now: datetime, unknown_grace: timedelta) -> OutboxView:
    """``may_resend`` once an unknown outcome has stayed unknown for the grace period."""
    return OutboxView(
        row.id,
        row.state,
        row.delivery,
        row.attempts,
        row.rule_id,
        row.error_code,
        row.reason,
        row.created_at,
        row.updated_at,
        row.state == "unknown" and now - row.updated_at >= unknown_grace,
    )


def contact_of_conversation(uow_factory: Callable[[], UnitOfWork], conversation_id: int) -> int:
    """Raises: NotFound."""
    with uow_factory() as uow:
        return uow.conversations.get(conversation_id).contact_id


def customer_name_of_conversation(
    uow_factory: Callable[[], UnitOfWork], conversation_id: int
) -> str:
    """The customer's profile name, to fill a quick reply's ``{name}`` ("" once erased).

    Raises: NotFound."""
    with uow_factory() as uow:
        return uow.conversations.get(conversation_id).name


def outbox_view(
    uow_factory: Callable[[], UnitOfWork], outbox_id: int, now: datetime, grace: timedelta
) -> OutboxView:
    """Raises: NotFound."""
    with uow_factory() as uow:
        return view(uow.sending.outbox(outbox_id), now, grace)
