"""Status webhooks for what the business sent: sent → delivered → read, or failed.

The sequence, its pacing (``status_delay``) and the ``conversation``/``pricing`` objects
follow Meta's per-message pricing (reference §1.5, §4.2): service replies inside the window
are free, utility templates are free inside it, marketing and authentication are billed.
``read`` only comes from customers with read receipts on. Each status is its own webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from chatproof.emulator import graph_errors
from chatproof.emulator.clock import EmulatorClock
from chatproof.emulator.envelopes import encode_payload, status_envelope
from chatproof.emulator.errors import EmulatorError
from chatproof.emulator.ids import IdFactory
from chatproof.emulator.settings import EmulatorSettings
from chatproof.emulator.state import WINDOW_SECONDS, Conversation, EmulatorState, SentMessage
from chatproof.emulator.templates import Template, TemplateCategory
from chatproof.emulator.webhooks import Delivery, WebhookDispatcher

__all__ = ["StatusProgression", "pricing_for"]

_FAILURE_DETAILS = {131056: graph_errors.pair_rate_limit_details()}


def pricing_for(template: Template | None, window_open: bool) -> tuple[str, bool, str]:
    """``(category, billable, pricing type)`` of a message under per-message pricing."""
    if template is None:
        return "service", False, "free_customer_service"
    if template.category is TemplateCategory.UTILITY and window_open:
        return "utility", False, "free_customer_service"
    return template.category.value, True, "regular"


class StatusProgression:
    """Runs one background task per accepted message until its last status is out."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        clock: EmulatorClock,
        state: EmulatorState,
        ids: IdFactory,
        webhooks: WebhookDispatcher,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._state = state
        self._ids = ids
        self._webhooks = webhooks
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False

    def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._running

    @property
    def in_progress(self) -> int:
        return len(self._tasks)

    def schedule(self, message: SentMessage) -> None:
        """Start reporting statuses for ``message``.

        Raises:
            EmulatorError: if the app's lifespan has not started (no event loop work allowed).
        """
        if not self._running:
            raise EmulatorError("the emulator is not running: start the app's lifespan first")
        task = asyncio.create_task(self._run(message), name=f"emulator-status-{message.id[-8:]}")
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def emit(self, message: SentMessage, status: str) -> Delivery:
        """Record ``status`` on the message and queue its webhook."""
        now = int(self._clock.now())
        message.status = status
        message.statuses.append({"status": status, "timestamp": str(now)})
        body = status_envelope(
            waba_id=self._settings.waba_id,
            display_phone_number=self._settings.display_phone_number,
            phone_number_id=self._settings.phone_number_id,
            status=self._status_object(message, status, now),
        )
        return self._webhooks.enqueue(encode_payload(body), kind=f"status.{status}", ref=message.id)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def _run(self, message: SentMessage) -> None:
        delay = self._settings.status_delay
        await asyncio.sleep(delay)
        if message.failure_code is not None:
            code = message.failure_code
            details = message.failure_details or _FAILURE_DETAILS.get(code)
            message.errors = [graph_errors.status_error(code, details)]
            self.emit(message, "failed")
            return
        self.emit(message, "sent")
        await asyncio.sleep(delay)
        self.emit(message, "delivered")
        customer = self._state.customers.get(message.wa_id)
        if customer is not None and customer.read_receipts:
            await asyncio.sleep(delay)
            self.emit(message, "read")

    def _conversation(self, message: SentMessage, now: int) -> Conversation:
        key = (message.wa_id, message.category)
        conversation = self._state.conversations.get(key)
        if conversation is None or conversation.expires_at <= now:
            conversation = Conversation(
                self._ids.conversation_id(), message.category, now + WINDOW_SECONDS
            )
            self._state.conversations[key] = conversation
        return conversation

    def _status_object(self, message: SentMessage, status: str, now: int) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": message.id,
            "status": status,
            "timestamp": str(now),
            "recipient_id": message.wa_id,
        }
        if message.biz_opaque_callback_data is not None:
            obj["biz_opaque_callback_data"] = message.biz_opaque_callback_data
        if status == "failed":
            obj["errors"] = message.errors
            return obj
        if message.conversation is None:
            message.conversation = self._conversation(message, now)
        conversation: dict[str, Any] = {"id": message.conversation.id}
        if status == "sent":
            conversation["expiration_timestamp"] = str(message.conversation.expires_at)
        conversation["origin"] = {"type": message.category}
        obj["conversation"] = conversation
        obj["pricing"] = {
            "billable": message.billable,
            "pricing_model": "PMP",
            "type": message.pricing_type,
            "category": message.category,
        }
        return obj
