"""Delivering webhooks the way the platform does: signed, retried, at least once.

Each event is one POST. Only HTTP 200 acknowledges it (reference §1.6); anything else, a
timeout or a refused connection schedules a retry with capped exponential backoff and
jitter, until acknowledged or ``webhook_max_attempts`` is used up. Several deliveries run
at once, so events can arrive out of order, as they do from Meta. A receiver that is down
for a while gets everything it missed once it is back (DESIGN invariant 1 is tested against
this). The body bytes are fixed when the event is created, so retries and replays are
byte-identical and carry the same signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatproof.emulator.settings import EmulatorSettings
from chatproof.emulator.signing import SIGNATURE_HEADER, signature_header

__all__ = ["Attempt", "Delivery", "WebhookDispatcher", "WebhookTarget", "backoff_delay"]

logger = logging.getLogger(__name__)

USER_AGENT = "facebookexternalua"
_TERMINAL = frozenset({"acknowledged", "failed"})


def backoff_delay(retry: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first retry).

    The nominal delay doubles from ``base`` up to ``cap``; "equal jitter" then picks a point
    in its upper half, so retries of many deliveries spread out without collapsing to zero.
    """
    nominal: float = min(cap, base * 2.0 ** min(retry - 1, 64))
    return nominal / 2 + rng.uniform(0, nominal / 2)


@dataclass(frozen=True)
class Attempt:
    at: float
    status_code: int | None
    error: str | None
    duration: float

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status_code": self.status_code,
            "error": self.error,
            "duration": round(self.duration, 6),
        }


@dataclass
class Delivery:
    """One webhook event and the history of getting it acknowledged."""

    id: int
    kind: str
    ref: str | None
    body: bytes
    created_at: float
    replay_of: int | None = None
    state: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        return self.state == "acknowledged"

    @property
    def last_error(self) -> str | None:
        return self.attempts[-1].error if self.attempts else None

    def to_json(self, *, include_body: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "ref": self.ref,
            "state": self.state,
            "acknowledged": self.acknowledged,
            "attempts": len(self.attempts),
            "last_error": self.last_error,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "replay_of": self.replay_of,
        }
        if include_body:
            data["body"] = self.body.decode("ascii")
            data["history"] = [attempt.to_json() for attempt in self.attempts]
        return data


@dataclass(frozen=True)
class WebhookTarget:
    """Where webhooks go, with extra headers (360dialog lets the business set some)."""

    url: str | None
    headers: tuple[tuple[str, str], ...] = ()


class WebhookDispatcher:
    """Queues, sends, retries and records webhook deliveries."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        rng: random.Random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._rng = rng
        self._transport = transport
        headers: tuple[tuple[str, str], ...] = ()
        if settings.webhook_secret_header is not None:
            headers = (settings.webhook_secret_header,)
        self._target = WebhookTarget(settings.webhook_url, headers)
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._deliveries: dict[int, Delivery] = {}
        self._finished: deque[int] = deque()
        self._active: set[int] = set()
        self._parked: set[int] = set()
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._client: httpx.AsyncClient | None = None
        self._next_id = 1

    @property
    def target(self) -> WebhookTarget:
        return self._target

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        return self._transport

    async def start(self) -> None:
        self._client = httpx.AsyncClient(transport=self._transport)
        self._workers = [
            asyncio.create_task(self._work(), name=f"emulator-webhook-{n}")
            for n in range(self._settings.webhook_concurrency)
        ]

    async def stop(self) -> None:
        tasks = [*self._workers, *self._timers.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        self._timers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def configure(self, url: str | None, headers: dict[str, str] | None = None) -> None:
        """Point deliveries elsewhere; parked and waiting deliveries are retried at once."""
        extra = tuple((headers or {}).items())
        if self._settings.webhook_secret_header is not None:
            extra = (self._settings.webhook_secret_header, *extra)
        self._target = WebhookTarget(url, extra)
        self.retry_now()

    def enqueue(self, body: bytes, *, kind: str, ref: str | None = None) -> Delivery:
        delivery = Delivery(self._next_id, kind, ref, body, time.time())
        self._next_id += 1
        self._deliveries[delivery.id] = delivery
        self._activate(delivery)
        return delivery

    def replay(self, delivery_id: int) -> Delivery | None:
        """Send an earlier event again, byte for byte, as a new delivery."""
        original = self._deliveries.get(delivery_id)
        if original is None:
            return None
        copy = self.enqueue(original.body, kind=original.kind, ref=original.ref)
        copy.replay_of = original.id
        return copy

    def retry_now(self) -> int:
        """Skip the backoff of every delivery waiting for a retry; return how many."""
        waiting = list(self._timers.items())
        for _, timer in waiting:
            timer.cancel()
        self._timers.clear()
        ids = [delivery_id for delivery_id, _ in waiting] + sorted(self._parked)
        self._parked.clear()
        for delivery_id in ids:
            delivery = self._deliveries[delivery_id]
            delivery.state, delivery.next_attempt_at = "pending", None
            self._queue.put_nowait(delivery)
        return len(ids)

    def get(self, delivery_id: int) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def deliveries(self, *, pending_only: bool = False) -> list[Delivery]:
        if pending_only:
            return [self._deliveries[i] for i in sorted(self._active)]
        return list(self._deliveries.values())

    @property
    def pending(self) -> int:
        return len(self._active)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _activate(self, delivery: Delivery) -> None:
        self._active.add(delivery.id)
        self._idle.clear()
        self._queue.put_nowait(delivery)

    def _finish(self, delivery: Delivery, state: str) -> None:
        delivery.state, delivery.next_attempt_at = state, None
        self._active.discard(delivery.id)
        if not self._active:
            self._idle.set()
        self._finished.append(delivery.id)
        while len(self._finished) > self._settings.webhook_log_limit:
            self._deliveries.pop(self._finished.popleft(), None)

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            if delivery.state in _TERMINAL or delivery.state == "in_flight":
                continue
            await self._attempt(delivery)

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self._settings.app_secret:
            headers[SIGNATURE_HEADER] = signature_header(body, self._settings.app_secret)
        headers.update(dict(self._target.headers))
        return headers

    async def _attempt(self, delivery: Delivery) -> None:
        url = self._target.url
        if url is None or self._client is None:
            delivery.state = "parked"
            self._parked.add(delivery.id)
            return
        delivery.state = "in_flight"
        started, at = time.monotonic(), time.time()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                url,
                content=delivery.body,
                headers=self._headers(delivery.body),
                timeout=self._settings.webhook_timeout,
            )
            status_code = response.status_code
            if status_code != 200:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        except Exception as exc:
            # A receiver mounted in-process raises instead of answering 500; the platform
            # would only ever see the 500, so the delivery is retried like one.
            error = f"receiver raised {type(exc).__name__}"
        delivery.attempts.append(Attempt(at, status_code, error, time.monotonic() - started))
        if error is None:
            logger.debug(
                "webhook %d acknowledged after %d attempt(s)", delivery.id, len(delivery.attempts)
            )
            self._finish(delivery, "acknowledged")
            return
        if len(delivery.attempts) >= self._settings.webhook_max_attempts:
            logger.warning(
                "webhook %d given up after %d attempts: %s",
                delivery.id,
                len(delivery.attempts),
                error,
            )
            self._finish(delivery, "failed")
            return
        delay = backoff_delay(
            len(delivery.attempts),
            self._settings.webhook_retry_base_delay,
            self._settings.webhook_retry_max_delay,
            self._rng,
        )
        logger.info(
            "webhook %d attempt %d failed (%s); retry in %.2fs",
            delivery.id,
            len(delivery.attempts),
            error,
            delay,
        )
        delivery.state, delivery.next_attempt_at = "retry_wait", time.time() + delay
        self._timers[delivery.id] = asyncio.create_task(self._retry_later(delivery, delay))

    async def _retry_later(self, delivery: Delivery, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timers.pop(delivery.id, None)
        delivery.state, delivery.next_attempt_at = "pending", None
        self._queue.put_nowait(delivery)
