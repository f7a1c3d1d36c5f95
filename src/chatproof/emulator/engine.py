"""One emulated business number: the operations behind the Graph and control routes.

Routes stay thin (parse, call one method, render); everything that changes the emulator's
world happens here, in one place, on the event loop. Background work (status progression,
webhook delivery) starts and stops with ``start``/``stop``, which the app's lifespan calls.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
from typing import Any

import httpx

from chatproof.emulator import graph_errors
from chatproof.emulator._privacy import mask_phone
from chatproof.emulator.clock import EmulatorClock
from chatproof.emulator.envelopes import encode_payload, message_envelope, preferences_envelope
from chatproof.emulator.errors import ControlError, EmulatorError
from chatproof.emulator.ids import IdFactory
from chatproof.emulator.inbound import build_inbound_message
from chatproof.emulator.media import MediaObject, MediaStore
from chatproof.emulator.outbound import normalize_number, parse_send
from chatproof.emulator.rules import ThroughputLimiter, asynchronous_failure
from chatproof.emulator.settings import EmulatorSettings
from chatproof.emulator.state import Customer, EmulatorState, InboundMessage, SentMessage
from chatproof.emulator.statuses import StatusProgression, pricing_for
from chatproof.emulator.templates import TemplateRegistry
from chatproof.emulator.webhooks import Delivery, WebhookDispatcher

__all__ = ["Emulator"]

logger = logging.getLogger(__name__)

_PLAYABLE = frozenset({"audio", "video"})


class Emulator:
    """State, rules and background workers of one emulated WhatsApp Business number."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        clock: EmulatorClock | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock if clock is not None else EmulatorClock()
        rng = random.Random(settings.random_seed)
        self.ids = IdFactory(rng)
        self.state = EmulatorState()
        self.templates = TemplateRegistry()
        self.media = MediaStore(settings.media_url_ttl, key=rng.randbytes(32))
        self.throughput = ThroughputLimiter(settings.messages_per_second)
        self.webhooks = WebhookDispatcher(settings, rng=rng, transport=webhook_transport)
        self.statuses = StatusProgression(
            settings, clock=self.clock, state=self.state, ids=self.ids, webhooks=self.webhooks
        )

    async def start(self) -> None:
        await self.webhooks.start()
        self.statuses.start()

    async def stop(self) -> None:
        await self.statuses.stop()
        await self.webhooks.stop()

    # Graph API

    def check_token(self, token: str | None) -> None:
        """Raises: GraphError 104 (no token) or 190 (wrong token)."""
        if token is None:
            raise graph_errors.missing_token()
        if not hmac.compare_digest(token.encode(), self.settings.access_token.encode()):
            raise graph_errors.wrong_token()

    def send(self, payload: object) -> dict[str, Any]:
        """Answer ``POST …/messages``: a send or a mark-as-read request.

        Raises:
            GraphError: for every request the platform refuses synchronously.
            EmulatorError: if the app's lifespan has not started; nothing is recorded then.
        """
        if not self.statuses.running:
            raise EmulatorError("the emulator is not running: start the app's lifespan first")
        if isinstance(payload, dict) and "status" in payload:
            return self.mark_read(payload)
        message = parse_send(payload, media=self.media, templates=self.templates)
        now = self.clock.now()
        if not self.throughput.try_acquire(now):
            raise graph_errors.throughput_exceeded(self.settings.messages_per_second)
        customer = self.state.customers.get(message.wa_id)
        failure = asynchronous_failure(message, customer, now, self.settings.pair_limit_per_minute)
        window_open = customer is not None and customer.window_open(now)
        category, billable, pricing_type = pricing_for(message.template, window_open)
        sent = SentMessage(
            id=self.ids.wamid(message.wa_id, inbound=False),
            wa_id=message.wa_id,
            type=message.type,
            request=message.payload,
            accepted_at=now,
            category=category,
            billable=billable,
            pricing_type=pricing_type,
            biz_opaque_callback_data=message.biz_opaque_callback_data,
            failure_code=failure,
            media=message.media.summary() if message.media else None,
            failure_details=message.media_problem if failure == 131053 else None,
        )
        self.state.record_sent(sent)
        self.statuses.schedule(sent)
        logger.debug(
            "accepted %s message to %s (will fail: %s)",
            message.type,
            mask_phone(message.wa_id),
            failure,
        )
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": message.to, "wa_id": message.wa_id}],
            "messages": [{"id": sent.id, "message_status": "accepted"}],
        }

    def mark_read(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("messaging_product") != "whatsapp":
            raise graph_errors.invalid_parameter(
                "The parameter messaging_product is required and must be whatsapp."
            )
        if payload.get("status") != "read":
            raise graph_errors.invalid_parameter("Param status must be read.")
        message_id = payload.get("message_id")
        inbound = self.state.inbound.get(message_id) if isinstance(message_id, str) else None
        if inbound is None:
            raise graph_errors.invalid_parameter(
                "Param message_id is not the id of a message this number received."
            )
        indicator = payload.get("typing_indicator")
        if indicator is not None and indicator != {"type": "text"}:
            raise graph_errors.invalid_parameter("Param typing_indicator['type'] must be text.")
        inbound.read_by_business = True
        return {"success": True}

    def upload_media(self, content: bytes, mime_type: str, filename: str | None) -> dict[str, str]:
        return {"id": self.media.put(self.new_media(content, mime_type, filename)).id}

    def new_media(self, content: bytes, mime_type: str, filename: str | None) -> MediaObject:
        return MediaObject(self.ids.media_id(), content, mime_type, filename, self.clock.now())

    def media_info(self, media_id: str, base_url: str) -> dict[str, str]:
        """Raises: GraphError (unknown object) if there is no such media."""
        media = self.media.get(media_id)
        if media is None:
            raise graph_errors.unknown_object(media_id, "get")
        base = self.settings.public_base_url or base_url
        return media.info(self.media.download_url(media.id, base, self.clock.now()))

    def delete_media(self, media_id: str) -> dict[str, bool]:
        if not self.media.delete(media_id):
            raise graph_errors.unknown_object(media_id, "delete")
        return {"success": True}

    def download(self, mid: str, ext: str, signature: str) -> MediaObject | None:
        return self.media.resolve(mid, ext, signature, self.clock.now())

    # Simulated customers

    def upsert_customer(self, data: dict[str, Any]) -> tuple[Customer, bool]:
        """Create a customer, or update the one with that ``wa_id``; True if created.

        Raises:
            ControlError: naming the invalid field; nothing is changed then.
        """
        raw = data.get("wa_id")
        wa_id = normalize_number(raw) if isinstance(raw, str) else None
        if wa_id is None:
            raise ControlError(
                "wa_id must be a phone number in international format", field="wa_id"
            )
        changes = _customer_changes({k: v for k, v in data.items() if k != "wa_id"})
        customer = self.state.customers.get(wa_id)
        created = customer is None
        if customer is None:
            customer = Customer(wa_id=wa_id, name="Test Customer")
            self.state.customers[wa_id] = customer
        for key, value in changes.items():
            setattr(customer, key, value)
        return customer, created

    def customer(self, wa_id: str) -> Customer:
        customer = self.state.customers.get(wa_id)
        if customer is None:
            raise ControlError(f"no customer {wa_id}", field="wa_id", status=404)
        return customer

    def update_customer(self, wa_id: str, data: dict[str, Any]) -> Customer:
        customer = self.customer(wa_id)
        for key, value in _customer_changes(data).items():
            setattr(customer, key, value)
        return customer

    def customer_sends(self, wa_id: str, body: object) -> tuple[InboundMessage, Delivery]:
        """A simulated customer sends a message; its webhook is queued and the window opens.

        Raises:
            ControlError: unknown customer (404) or a body that is not a message.
        """
        customer = self.customer(wa_id)
        now = self.clock.now()
        wamid = self.ids.wamid(wa_id, inbound=True)
        message, media = build_inbound_message(
            body,
            wa_id=wa_id,
            wamid=wamid,
            timestamp=int(now),
            business_number=self.settings.display_phone_number,
            last_business_message=self.state.last_sent_to.get(wa_id),
            make_media=self.new_media,
        )
        for item in media:
            self.media.put(item)
        customer.last_inbound_at = now
        inbound = InboundMessage(wamid, wa_id, message)
        self.state.record_inbound(inbound)
        envelope = message_envelope(
            waba_id=self.settings.waba_id,
            display_phone_number=self.settings.display_phone_number,
            phone_number_id=self.settings.phone_number_id,
            wa_id=wa_id,
            profile_name=customer.name,
            message=message,
        )
        delivery = self.webhooks.enqueue(
            encode_payload(envelope), kind=f"message.{message['type']}", ref=wamid
        )
        logger.debug("customer %s sent a %s message", mask_phone(wa_id), message["type"])
        return inbound, delivery

    def set_marketing(self, wa_id: str, value: object) -> Delivery:
        """The customer stops or resumes marketing messages (a ``user_preferences`` webhook).

        Raises:
            ControlError: unknown customer or a value other than stop/resume.
        """
        if value not in ("stop", "resume"):
            raise ControlError("value must be stop or resume", field="value")
        customer = self.customer(wa_id)
        customer.marketing_stopped = value == "stop"
        envelope = preferences_envelope(
            waba_id=self.settings.waba_id,
            display_phone_number=self.settings.display_phone_number,
            phone_number_id=self.settings.phone_number_id,
            wa_id=wa_id,
            profile_name=customer.name,
            value=str(value),
            timestamp=int(self.clock.now()),
        )
        return self.webhooks.enqueue(
            encode_payload(envelope), kind=f"user_preferences.{value}", ref=wa_id
        )

    def play(self, wamid: str) -> Delivery:
        """The customer plays a voice message or video the business sent (``played`` status).

        Raises:
            ControlError: unknown message (404), not audio/video, or not delivered yet.
        """
        sent = self.state.sent.get(wamid)
        if sent is None:
            raise ControlError(f"no sent message {wamid}", field="id", status=404)
        if sent.type not in _PLAYABLE:
            raise ControlError(
                "only audio and video messages can be played", field="id", status=409
            )
        if sent.status not in ("delivered", "read", "played"):
            raise ControlError("the message has not been delivered yet", field="id", status=409)
        return self.statuses.emit(sent, "played")

    async def settle(self, timeout: float) -> bool:
        """Wait until every status is out and every webhook acknowledged (or given up).

        Deliveries waiting for a retry are retried at once. False if ``timeout`` passed.
        """
        deadline = _loop_time() + timeout
        while True:
            remaining = deadline - _loop_time()
            if remaining <= 0:
                return False
            if not await self.statuses.wait_idle(remaining):
                return False
            self.webhooks.retry_now()
            if not await self.webhooks.wait_idle(max(0.0, deadline - _loop_time())):
                return False
            if self.statuses.in_progress == 0 and self.webhooks.pending == 0:
                return True


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _customer_changes(data: dict[str, Any]) -> dict[str, str | bool]:
    changes: dict[str, str | bool] = {}
    for key, value in data.items():
        if key in ("name", "language"):
            if not isinstance(value, str) or not value:
                raise ControlError(f"{key} must be a non-empty string", field=key)
        elif key in ("read_receipts", "reachable"):
            if not isinstance(value, bool):
                raise ControlError(f"{key} must be true or false", field=key)
        else:
            raise ControlError(f"unknown field {key}", field=key)
        changes[key] = value
    return changes
