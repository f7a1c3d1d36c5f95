"""The JSON API for sending: a message in a conversation or to a number, consent with proof,
a contact's consent history, and broadcasts (issue 4).

A refusal by the policy gate is a 403 carrying the rule id and the reason in German and
English (DESIGN invariant 5); a malformed request is a 422 naming the field (invariant 6).
Authentication is the API's own dependency (``api_caller`` through ``allowed``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from chatproof.archive.errors import ContentErased
from chatproof.channels.errors import ChannelError
from chatproof.channels.whatsapp.errors import MessageValidationError
from chatproof.domain.accounts import Permission, Principal
from chatproof.domain.attachments import Attachment, AttachmentError, check
from chatproof.domain.consent import ConsentAction, ConsentError, ConsentEvent, ConsentSource
from chatproof.domain.snippets import SnippetError, render
from chatproof.domain.templates import TemplateProblem, TemplateSpec
from chatproof.services import broadcasts, consent, inbox, sending, templates
from chatproof.store import NotFound
from chatproof.web.api import allowed

router = APIRouter(prefix="/api")

Replier = Annotated[Principal, Depends(allowed(Permission.REPLY))]
ConsentKeeper = Annotated[Principal, Depends(allowed(Permission.REPLY))]
ConsentReader = Annotated[Principal, Depends(allowed(Permission.READ_OWN))]


class AttachmentIn(BaseModel):
    """A file to send, base64-encoded; its type is read from its bytes (``mime_type`` is only
    a hint, for the few types whose bytes cannot tell)."""

    content_base64: str
    filename: str = Field(default="", max_length=1000)
    mime_type: str = Field(default="", max_length=255)
    caption: str = ""


class MessageIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=sending.MAX_KEY)
    text: str = ""
    quick_reply: str = ""
    """A configured quick reply, filled with ``values`` (``{agent}`` is the sender's name)."""
    values: dict[str, str] = {}
    template: str = ""
    language: str = ""
    body_params: list[str] = []
    purpose: str = "service"
    attachment: AttachmentIn | None = None
    """An image, video, audio or document instead of text (free-form, like text)."""


class MessageToIn(MessageIn):
    to: str = Field(min_length=7, max_length=20, pattern=r"^\+?[0-9]+$")


class ConsentIn(BaseModel):
    wa_id: str = Field(min_length=7, max_length=20, pattern=r"^\+?[0-9]+$")
    purpose: str
    action: Literal["granted", "withdrawn"]
    source: ConsentSource
    text: str = ""
    text_version: str = ""
    proof: str = ""
    document_base64: str | None = None
    """The signed form's scan, say: kept sealed under the customer's key; the proof names it."""
    at: datetime | None = None


class BroadcastIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    template: str
    language: str
    body_params: list[str] = []
    purpose: str = "marketing"
    label: str | None = None


def _settings(request: Request) -> Any:
    return request.app.state.sending


def _writer(request: Request) -> Any:
    return request.app.state.components.writer


def _field_error(exc: Exception) -> HTTPException:
    field = getattr(exc, "field", "body")
    return HTTPException(422, {"field": field, "message": str(exc)})


def _accepted(result: sending.Accepted) -> JSONResponse:
    decision = result.decision
    body = {
        "outbox_id": result.outbox_id,
        "allowed": decision.allowed,
        "rule_id": decision.rule_id,
        "reason_de": decision.reason_de,
        "reason_en": decision.reason_en,
        "duplicate": result.duplicate,
    }
    if not decision.allowed:
        return JSONResponse({"detail": body}, status_code=403)
    return JSONResponse(body, status_code=200 if result.duplicate else 202)


def _outgoing(
    body: MessageIn, request: Request, principal: Principal, customer: str = ""
) -> sending.Outgoing:
    """``customer`` fills ``{name}`` unless the request gives it.

    Raises: SnippetError naming the quick reply or the placeholder without a value."""
    text = body.text
    if body.quick_reply:
        if text:
            raise sending.SendingError("quick_reply", "give either text or a quick reply")
        agent = principal.user.display_name if principal.user else ""
        values = {"agent": agent, **({"name": customer} if customer else {}), **body.values}
        text = render(_settings(request).quick_replies, body.quick_reply, values)
    return sending.Outgoing(
        text=text,
        template=body.template,
        language=body.language,
        body_params=tuple(body.body_params),
        purpose=body.purpose,
        attachment=_attachment(body.attachment),
    )


def _attachment(given: AttachmentIn | None) -> Attachment | None:
    """Raises: AttachmentError naming the field."""
    if given is None:
        return None
    try:
        data = base64.b64decode(given.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError("content_base64 is not base64") from None
    return check(data, given.filename, given.mime_type, given.caption)


_BAD_INPUT = (
    AttachmentError,
    sending.SendingError,
    TemplateProblem,
    MessageValidationError,
    ConsentError,
    SnippetError,
)


@router.post("/conversations/{conversation_id}/send")
def send_in_conversation(
    request: Request, principal: Replier, conversation_id: int, body: MessageIn
) -> JSONResponse:
    """Send free text or a template to the customer of a conversation: 202 when queued, 403
    with the rule and reason when the gate refuses."""
    writer = _writer(request)
    try:
        inbox.check_reach(writer, principal, conversation_id)
        contact_id = sending.contact_of_conversation(writer, conversation_id)
        customer = ""
        if body.quick_reply:
            customer = sending.customer_name_of_conversation(writer, conversation_id)
        result = sending.submit_to_contact(
            writer,
            contact_id,
            _outgoing(body, request, principal, customer),
            _settings(request).sending,
            datetime.now(UTC),
            idempotency_key=body.idempotency_key,
            origin="agent",
            actor=principal.actor,
            blobs=request.app.state.components.blobs,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except inbox.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except _BAD_INPUT as exc:
        raise _field_error(exc) from None
    return _accepted(result)


@router.post("/messages")
def send_to_number(request: Request, principal: Replier, body: MessageToIn) -> JSONResponse:
    """Send to a number: a template to a customer with documented consent, say. A number typed
    in is not consent; without one the gate refuses."""
    try:
        result = sending.submit(
            _writer(request),
            body.to.lstrip("+"),
            _outgoing(body, request, principal),
            _settings(request).sending,
            datetime.now(UTC),
            idempotency_key=body.idempotency_key,
            origin="agent",
            actor=principal.actor,
            blobs=request.app.state.components.blobs,
        )
    except _BAD_INPUT as exc:
        raise _field_error(exc) from None
    return _accepted(result)


@router.get("/outbox/{outbox_id}")
def outbox_message(request: Request, principal: Replier, outbox_id: int) -> dict[str, Any]:
    """Where a message stands: queued, uploading (its attachment), in_flight, sent (with
    delivery), failed with code and reason, refused, or unknown (``may_resend`` once the
    grace period passed)."""
    try:
        found = sending.outbox_view(
            _writer(request),
            outbox_id,
            datetime.now(UTC),
            _settings(request).worker.unknown_grace,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {
        "id": found.id,
        "state": found.state,
        "delivery": found.delivery,
        "attempts": found.attempts,
        "rule_id": found.rule_id,
        "error_code": found.error_code,
        "reason": found.reason,
        "created_at": found.created_at.isoformat(),
        "updated_at": found.updated_at.isoformat(),
        "may_resend": found.may_resend,
    }


@router.post("/consents", status_code=201)
def record_consent(request: Request, principal: ConsentKeeper, body: ConsentIn) -> dict[str, int]:
    """Record an opt-in with its proof, or a withdrawal; 422 names what the proof lacks."""
    now = datetime.now(UTC)
    at = body.at or now
    if at.tzinfo is None:
        raise HTTPException(422, {"field": "at", "message": "at: must carry a time zone"})
    event = ConsentEvent(
        body.purpose,
        ConsentAction(body.action),
        body.source,
        at,
        principal.actor,
        body.text,
        body.text_version,
        body.proof,
    )
    document = None
    if body.document_base64 is not None:
        try:
            document = base64.b64decode(body.document_base64, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(
                422, {"field": "document_base64", "message": "document_base64: not base64"}
            ) from None
    try:
        recorded = consent.record(
            _writer(request),
            body.wa_id.lstrip("+"),
            event,
            now,
            document=document,
            blobs=request.app.state.components.blobs,
        )
    except _BAD_INPUT as exc:
        raise _field_error(exc) from None
    return {"contact_id": recorded.contact_id, "log_index": recorded.log_index}


@router.get("/contacts/{contact_id}/consent-documents/{digest}")
def consent_document(
    request: Request, principal: ConsentReader, contact_id: int, digest: str
) -> Response:
    """The evidence a consent event names (``document:<digest>`` in its proof); logged."""
    components = request.app.state.components
    try:
        data = consent.read_document(
            components.writer,
            components.blobs,
            digest,
            principal.actor,
            datetime.now(UTC),
            contact_id=contact_id,
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ContentErased as exc:
        raise HTTPException(410, str(exc)) from None
    return Response(data, media_type="application/octet-stream")


@router.get("/contacts/{contact_id}/consents")
def consent_history(request: Request, principal: ConsentReader, contact_id: int) -> dict[str, Any]:
    """Every consent event of a contact, and the state per purpose derived from them."""
    try:
        found = consent.history(
            _writer(request), principal.actor, datetime.now(UTC), contact_id=contact_id
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {
        "contact_id": found.contact_id,
        "states": {
            purpose: {
                "granted": state.granted,
                "withdrawn": state.withdrawn,
                "since": state.since.isoformat() if state.since else None,
            }
            for purpose, state in found.states.items()
        },
        "events": [
            {
                "purpose": e.purpose,
                "action": e.action.value,
                "source": e.source.value,
                "at": e.at.isoformat(),
                "recorded_by": e.recorded_by,
                "text": e.text,
                "text_version": e.text_version,
                "proof": e.proof,
            }
            for e in found.events
        ],
    }


@router.post("/broadcasts", status_code=201)
def create_broadcast(request: Request, principal: Replier, body: BroadcastIn) -> dict[str, int]:
    try:
        broadcast_id = broadcasts.create(
            _writer(request),
            _settings(request).sending,
            datetime.now(UTC),
            name=body.name,
            template=body.template,
            language=body.language,
            body_params=body.body_params,
            purpose=body.purpose,
            label=body.label,
            actor=principal.actor,
        )
    except _BAD_INPUT as exc:
        raise _field_error(exc) from None
    return {"id": broadcast_id}


@router.get("/quick-replies")
def quick_replies(request: Request, principal: Replier) -> dict[str, str]:
    """The configured quick replies by name, with their placeholders."""
    return dict(_settings(request).quick_replies)


def _set_state(request: Request, principal: Principal, broadcast_id: int, state: str) -> None:
    try:
        broadcasts.set_state(
            _writer(request), broadcast_id, state, principal.actor, datetime.now(UTC)
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/broadcasts/{broadcast_id}/pause", status_code=204)
def pause_broadcast(request: Request, principal: Replier, broadcast_id: int) -> None:
    _set_state(request, principal, broadcast_id, broadcasts.PAUSED)


@router.post("/broadcasts/{broadcast_id}/resume", status_code=204)
def resume_broadcast(request: Request, principal: Replier, broadcast_id: int) -> None:
    _set_state(request, principal, broadcast_id, broadcasts.RUNNING)


@router.get("/broadcasts/{broadcast_id}")
def broadcast_report(request: Request, principal: Replier, broadcast_id: int) -> dict[str, Any]:
    """Per contact (masked number): sent, delivered, read, failed or refused, with reason."""
    try:
        found = broadcasts.report(
            _writer(request), broadcast_id, principal.actor, datetime.now(UTC)
        )
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    b = found.broadcast
    return {
        "id": b.id,
        "name": b.name,
        "template": b.template_name,
        "language": b.template_language,
        "state": b.state,
        "counts": found.counts,
        "recipients": [
            {
                "contact_id": r.contact_id,
                "number": r.number,
                "outcome": r.outcome,
                "rule_id": r.rule_id,
                "error_code": r.error_code,
                "reason": r.reason,
            }
            for r in found.recipients
        ],
    }


Administrator = Annotated[Principal, Depends(allowed(Permission.SETTINGS))]


def _template_json(spec: TemplateSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "language": spec.language,
        "category": spec.category.value,
        "approved": spec.approved,
        "body_params": spec.body_params,
        "header_params": spec.header_params,
        "text": spec.text,
    }


@router.get("/templates")
def list_templates(request: Request, principal: Replier) -> list[dict[str, Any]]:
    """The catalogue agents choose from: configured templates overlaid by synced ones."""
    return [_template_json(t) for t in _settings(request).sending.catalogue.all()]


@router.post("/templates/sync")
async def sync_templates(request: Request, principal: Administrator) -> dict[str, Any]:
    """Read the business account's templates from the platform into the catalogue; 502 when
    the platform cannot be asked."""
    settings = request.app.state.settings
    if not settings.templates.waba_id:
        raise HTTPException(422, {"field": "templates.waba_id", "message": "is not configured"})
    client = request.app.state.client
    try:
        report = await templates.fetch(client.list_templates, settings.templates.waba_id)
    except ChannelError as exc:
        raise HTTPException(502, f"the platform did not list the templates: {exc}") from None
    writer = request.app.state.components.writer
    await asyncio.to_thread(templates.store, writer, report, principal.actor, datetime.now(UTC))
    _settings(request).sending.catalogue.replace_synced(report.templates)
    return {
        "synced": [_template_json(t) for t in report.templates],
        "skipped": report.skipped,
    }
