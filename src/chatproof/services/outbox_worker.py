"""The outbox worker: sends what the gate accepted, at most once, paced to the platform's
limits (DESIGN invariant 5; reference §3, §4.4).

Each due message meets the gate again (today's consent, not yesterday's), then is marked in
flight in a committed transaction before its request leaves, carrying its outbox id in
``biz_opaque_callback_data``. Only a refusal that says the platform did not take the message
(130429, 131056, connection refused) is retried, with backoff and jitter; a timeout or a
bare 5xx leaves the outcome unknown until a status webhook reconciles it. After a restart,
whatever was in flight becomes "outcome unknown"; it is never resent blindly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chatproof.archive.blobs import BlobStore
from chatproof.archive.log import EntryDraft, append
from chatproof.channels.whatsapp.client import SendResult
from chatproof.channels.whatsapp.errors import CloudApiError, MessageValidationError
from chatproof.domain.consent import MARKETING, ConsentAction, ConsentEvent, ConsentSource
from chatproof.domain.errors import ChatproofError
from chatproof.domain.pacing import (
    DEFAULT_MESSAGES_PER_SECOND,
    DEFAULT_WINDOW_GUARD,
    PLATFORM_WINDOW,
    CustomerPacer,
    SlidingWindow,
    TokenBucket,
)
from chatproof.domain.policy import MessageKind, OutboundRequest, TemplateCategory, decide
from chatproof.domain.retry import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_UNKNOWN_GRACE,
    Outcome,
    SendFailure,
    Transport,
    backoff,
    classify,
    reason_for,
)
from chatproof.domain.templates import TemplateProblem, TemplateSpec
from chatproof.services import consent, templates
from chatproof.services.attachments_upload import AttachmentUploader, Upload, UploadRules
from chatproof.services.sending import (
    SendingSettings,
    contact_state,
    decision_entry_in,
    limit_usage,
)
from chatproof.store import UnitOfWork
from chatproof.store.sending import ContactRef, OutboundMedia, OutboxRow

logger = logging.getLogger(__name__)

Send = Callable[[Mapping[str, Any]], Awaitable[SendResult]]
CALLBACK_PREFIX = "outbox:"
DRAIN_TIMEOUT = 10.0
MAX_RECORD_RETRIES = 5
DEFAULT_CUSTOMER_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND
    customer_interval: float = DEFAULT_CUSTOMER_INTERVAL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    unknown_grace: timedelta = DEFAULT_UNKNOWN_GRACE
    poll: float = 0.2
    batch: int = 0
    """Messages claimed per round; 0 means one second's worth."""


@dataclass(slots=True)
class _Claimed:
    row: OutboxRow
    payload: dict[str, Any]
    customer: str
    subject_id: str = ""
    preview: str = ""
    media: OutboundMedia | None = None
    size: int | None = None
    result: SendResult | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class WorkerStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    refused: int = 0
    throughput_refusals: int = 0
    codes: dict[int, int] = field(default_factory=dict)


def callback_data(outbox_id: int) -> str:
    return f"{CALLBACK_PREFIX}{outbox_id}"


def outbox_id_from(callback: str) -> int | None:
    if callback.startswith(CALLBACK_PREFIX) and callback[len(CALLBACK_PREFIX) :].isdigit():
        return int(callback[len(CALLBACK_PREFIX) :])
    return None


def failure_of(error: BaseException) -> SendFailure:
    """What kind of failure an exception from the client is."""
    if isinstance(error, CloudApiError):
        cause = error.__cause__
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return SendFailure(transport=Transport.REFUSED)
        if isinstance(cause, httpx.TransportError):
            return SendFailure(transport=Transport.TIMEOUT)
        return SendFailure(error.code, error.http_status)
    if isinstance(error, MessageValidationError):
        return SendFailure(code=100)
    return SendFailure(transport=Transport.TIMEOUT)


class OutboxWorker:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        send: Send,
        sending: SendingSettings,
        settings: WorkerSettings | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        reader: Callable[[], UnitOfWork] | None = None,
        upload: Upload | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        """``upload`` and ``blobs`` let the worker send attachments; without them an
        attachment waits in the queue."""
        self.uow_factory = uow_factory
        self.reader = reader or uow_factory
        self.send = send
        self.sending = sending
        self.settings = settings or WorkerSettings()
        self.now = now
        self.monotonic = monotonic
        self.jitter = jitter
        rate = self.settings.messages_per_second
        # The bucket may save up a tenth of a second, so a late wake-up is caught up; the
        # window keeps every second at or under the rate all the same.
        self.bucket = TokenBucket(rate, max(1.0, rate / 10), now=monotonic())
        self.window = SlidingWindow(max(1, int(rate)), PLATFORM_WINDOW + DEFAULT_WINDOW_GUARD)
        self.pacer = CustomerPacer(self.settings.customer_interval)
        self.stats = WorkerStats()
        self.uploader: AttachmentUploader | None = None
        if upload is not None and blobs is not None:
            rules = UploadRules(self.settings.max_attempts, self._backoff)
            self.uploader = AttachmentUploader(
                uow_factory,
                self.reader,
                upload,
                blobs,
                rules,
                now=now,
                failure_of=failure_of,
                mark_failed=mark_failed_in,
            )

    def _backoff(self, attempts: int) -> timedelta:
        settings = self.settings
        return backoff(
            attempts, self.jitter(), base=settings.backoff_base, cap=settings.backoff_cap
        )

    # restart

    def recover(self) -> int:
        """Turn what was in flight when the worker stopped into "outcome unknown"."""
        now = self.now()
        with self.uow_factory() as uow:
            rows = uow.sending.outbox_in_state("in_flight")
            reason = "in flight when the worker stopped; waiting for a status webhook"
            for row in rows:
                uow.sending.update_outbox(
                    row.id, ("in_flight",), state="unknown", reason=reason, updated_at=now
                )
                self._outcome_entry(uow, row, "outbox.unknown", now, reason=reason)
            if self.uploader is not None:
                self.uploader.recover(uow, now)
            uow.commit()
        if rows:
            logger.warning(
                "%d messages were in flight at the last stop: outcome unknown", len(rows)
            )
        return len(rows)

    async def run(self) -> None:
        """Recover, then send what is due until cancelled.

        Three stages overlap so that database work never holds back the paced sends: a
        claimer keeps a short queue of messages marked in flight (``lookahead``, an eighth
        of a second's worth: what a crash can leave "unknown"), the sender takes them at the
        bucket's pace, and a recorder writes outcomes in batches. On a clean stop, claimed
        messages whose request never left go back to the queue and sends under way finish.
        """
        while True:
            try:
                await asyncio.to_thread(self.recover)
                break
            except Exception:
                logger.exception("recovering the outbox failed")
                await asyncio.sleep(self.settings.poll)
        pipeline = _Pipeline(self)
        await pipeline.run()

    # one round

    async def run_once(self) -> int:
        """Upload due attachments, claim due messages, send them paced, record the outcomes;
        return how many were sent or tried."""
        if self.uploader is not None:
            await self.uploader.run_once()
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        tasks = []
        for item in claimed:
            await self.pace()
            tasks.append(asyncio.create_task(self._send_one(item)))
        await asyncio.gather(*tasks)
        await asyncio.to_thread(self._record, claimed)
        return len(claimed)

    async def pace(self) -> None:
        """Wait until the bucket has a token and the trailing second has room; take both."""
        while True:
            now = self.monotonic()
            wait = max(self.bucket.wait_time(now), self.window.wait_time(now))
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        now = self.monotonic()
        self.bucket.try_take(now)
        self.window.record(now)

    async def _send_one(self, item: _Claimed) -> None:
        try:
            item.result = await self.send(item.payload)
        except Exception as exc:  # every failure is classified and recorded, none lost
            item.error = exc

    def _batch_size(self) -> int:
        return self.settings.batch or max(1, int(self.settings.messages_per_second))

    def lookahead(self) -> int:
        return self.settings.batch or max(1, int(self.settings.messages_per_second / 8))

    def _claim(self, limit: int | None = None) -> list[_Claimed]:
        now = self.now()
        clock = self.monotonic()
        claimed: list[_Claimed] = []
        with self.reader() as peek:
            if not peek.sending.due_outbox(now, 1):
                return claimed  # asked without the writer's lock: idle costs ingest nothing
        with self.uow_factory() as uow:
            for row in uow.sending.due_outbox(now, limit or self._batch_size()):
                try:
                    item = self._claim_one(uow, row, now, clock)
                except ChatproofError as exc:
                    # Content erased meanwhile, say: this one fails, the others go on.
                    mark_failed_in(uow, row, None, f"could not be prepared: {exc}", now)
                    self.stats.failed += 1
                    continue
                if item is not None:
                    claimed.append(item)
            uow.commit()
        return claimed

    def _claim_one(
        self, uow: UnitOfWork, row: OutboxRow, now: datetime, clock: float
    ) -> _Claimed | None:
        """Gate one due message again and mark it in flight; None when it waits or is
        refused."""
        contact = uow.sending.contact(row.contact_id)
        wait = self.pacer.wait_time(contact.wa_id_hash, clock)
        if wait > 0:
            uow.sending.update_outbox(
                row.id, ("queued",), next_attempt_at=now + timedelta(seconds=wait)
            )
            return None
        request = self._request(row)
        decision = decide(
            contact_state(uow, contact),
            request,
            limit_usage(uow, contact, now),
            now,
            self.sending.policy,
        )
        if not decision.allowed:
            uow.sending.update_outbox(
                row.id,
                ("queued",),
                state="refused",
                rule_id=decision.rule_id,
                reason=decision.reason_en,
                updated_at=now,
            )
            decision_entry_in(
                uow,
                contact,
                decision,
                request,
                now,
                origin=row.origin,
                actor=row.actor,
                outbox_id=row.id,
                template=row.template_name,
                stage="send",
            )
            self.stats.refused += 1
            return None
        document = json.loads(uow.personal.unseal_bytes(contact.subject_id, row.payload))
        payload = dict(document["payload"])
        payload["biz_opaque_callback_data"] = callback_data(row.id)
        media, size = _uploaded(row, document, payload)
        taken = uow.sending.update_outbox(
            row.id,
            ("queued",),
            state="in_flight",
            attempts=row.attempts + 1,
            business_initiated=1 if decision.business_initiated else 0,
            updated_at=now,
        )
        if not taken:
            return None  # another worker (a second server on PostgreSQL) claimed it first
        self.pacer.record(contact.wa_id_hash, clock)
        return _Claimed(
            row,
            payload,
            contact.wa_id_hash,
            contact.subject_id,
            str(document.get("preview", "")),
            media,
            size,
        )

    def _request(self, row: OutboxRow) -> OutboundRequest:
        if row.kind != MessageKind.TEMPLATE.value:
            return OutboundRequest(row.purpose, MessageKind.FREE_TEXT, broadcast=False)
        approved = True
        try:
            spec = self._template(row)
            approved = spec.approved
            category = spec.category
        except TemplateProblem:
            approved = False
            category = TemplateCategory(row.template_category or "utility")
        return OutboundRequest(
            row.purpose, MessageKind.TEMPLATE, category, approved, row.broadcast_id is not None
        )

    def _template(self, row: OutboxRow) -> TemplateSpec:
        """The row's template; one this process has not seen yet was perhaps synced by
        another (the server, ``chatproof templates sync``) a moment ago, so the synced
        templates are read again before it counts as unknown."""
        name, language = row.template_name or "", row.template_language or ""
        try:
            return self.sending.catalogue.get(name, language)
        except TemplateProblem:
            catalogue = self.sending.catalogue
            read_at = catalogue.version
            catalogue.replace_synced(templates.load(self.reader), unless_since=read_at)
            return catalogue.get(name, language)

    def give_back(self, items: list[_Claimed]) -> None:
        """Claimed messages whose request never left: queued again, as if never claimed."""
        if not items:
            return
        with self.uow_factory() as uow:
            for item in items:
                uow.sending.update_outbox(
                    item.row.id, ("in_flight",), state="queued", attempts=item.row.attempts
                )
            uow.commit()

    # outcomes

    def _record(self, claimed: list[_Claimed]) -> None:
        now = self.now()
        with self.uow_factory() as uow:
            uow.log.lock_size()  # before the sent messages get their ids, as ingest does
            uow.personal.prepare((item.subject_id, now) for item in claimed if item.result)
            entries: list[EntryDraft] = []
            for item in claimed:
                if item.result is not None:
                    entries.append(self._sent(uow, item, item.result, now))
                else:
                    assert item.error is not None
                    self._failed(uow, item, item.error, now)
            uow.conversations.link_entries(entries, append(uow.log, entries, now))
            uow.commit()

    def _sent(
        self, uow: UnitOfWork, item: _Claimed, result: SendResult, now: datetime
    ) -> EntryDraft:
        """Show the sent message in its conversation and mark the row sent; returns the log
        entry to append (all of a round's go in at once)."""
        row = item.row
        current = uow.sending.outbox(row.id)
        contact = ContactRef(row.contact_id, item.subject_id, item.customer, "")
        raw = json.dumps(item.payload).encode()
        platform_hash, sealed = uow.sending.add_outbound_message(
            contact,
            self.sending.business_number_id,
            result.message_id,
            str(item.payload.get("type", "text")),
            item.preview,
            raw,
            now,
            current.delivery or "accepted",
            item.media,
        )
        moved = uow.sending.update_outbox(
            row.id,
            ("in_flight",),
            state="sent",
            platform_id_hash=platform_hash,
            sent_at=now,
            updated_at=now,
        )
        if not moved:  # a status webhook was faster and reconciled (or failed) it already
            uow.sending.update_outbox(
                row.id,
                ("sent", "failed", "unknown"),
                platform_id_hash=platform_hash,
                sent_at=now,
            )
        self.stats.sent += 1
        entry = uow.personal.entry(
            "message.outbound",
            item.subject_id,
            now,
            platform_id_hash=platform_hash,
            content=sealed,
            type=str(item.payload.get("type", "")),
            outbox=row.id,
            origin=row.origin,
            blob=item.media.blob if item.media else None,
            mime_type=item.media.mime_type if item.media else None,
            size=item.size,
        )
        return entry

    def _failed(self, uow: UnitOfWork, item: _Claimed, error: BaseException, now: datetime) -> None:
        row = item.row
        failure = failure_of(error)
        outcome = classify(failure)
        code = failure.code
        if code is not None:
            self.stats.codes[code] = self.stats.codes.get(code, 0) + 1
        if code == 130429:
            self.stats.throughput_refusals += 1
            self.bucket.drain(self.monotonic())
        detail = str(error)
        attempts = row.attempts + 1
        if outcome is Outcome.RETRY and attempts < self.settings.max_attempts:
            delay = self._backoff(attempts)
            uow.sending.update_outbox(
                row.id,
                ("in_flight",),
                state="queued",
                next_attempt_at=now + delay,
                error_code=code,
                reason=f"not taken, retrying: {detail}",
                updated_at=now,
            )
            self.stats.retried += 1
            return
        if outcome is Outcome.UNKNOWN:
            reason = f"no answer from the platform ({detail}); waiting for a status webhook"
            uow.sending.update_outbox(
                row.id,
                ("in_flight",),
                state="unknown",
                error_code=code,
                reason=reason,
                updated_at=now,
            )
            self._outcome_entry(uow, row, "outbox.unknown", now, code=code, reason=reason)
            self.stats.unknown += 1
            return
        reason = reason_for(code, detail)[1]
        if outcome is Outcome.RETRY:
            reason = f"gave up after {attempts} attempts: {reason}"
        mark_failed_in(uow, row, code, reason, now)
        self.stats.failed += 1

    @staticmethod
    def _outcome_entry(
        uow: UnitOfWork, row: OutboxRow, kind: str, now: datetime, **attributes: object
    ) -> None:
        contact = uow.sending.contact(row.contact_id)
        entry = uow.personal.entry(
            kind,
            contact.subject_id,
            now,
            outbox=row.id,
            **{k: v for k, v in attributes.items() if v is not None},
        )
        append(uow.log, [entry], now)


def mark_failed_in(
    uow: UnitOfWork, row: OutboxRow, code: int | None, reason: str, now: datetime
) -> None:
    """Record a final failure with the platform's code and a readable reason; 131050 is the
    customer's opt-out from marketing and is recorded as one (not confirmed: unsolicited)."""
    uow.sending.update_outbox(
        row.id,
        ("in_flight", "unknown", "sent", "queued", "uploading"),
        state="failed",
        delivery="failed",
        error_code=code,
        reason=reason,
        updated_at=now,
    )
    contact = uow.sending.contact(row.contact_id)
    entry = uow.personal.entry(
        "outbox.failed", contact.subject_id, now, outbox=row.id, code=code, reason=reason
    )
    append(uow.log, [entry], now)
    if code == 131050:
        withdrawal = ConsentEvent(
            MARKETING,
            ConsentAction.WITHDRAWN,
            ConsentSource.PLATFORM_ERROR,
            now,
            "platform:131050",
        )
        consent.record_in(uow, contact, withdrawal, now)


def _uploaded(
    row: OutboxRow, document: dict[str, Any], payload: dict[str, Any]
) -> tuple[OutboundMedia | None, int | None]:
    """Put an uploaded attachment's media id into its request; what the thread shows of it."""
    described = document.get("attachment")
    if not row.attachment_blob or not row.media_id or not isinstance(described, dict):
        return None, None
    kind = str(payload.get("type", ""))
    payload[kind] = {**payload[kind], "id": row.media_id}
    media = OutboundMedia(
        row.media_id, row.attachment_blob, str(described["mime_type"]), str(described["filename"])
    )
    return media, int(described.get("size", 0))


class _Pipeline:
    """Upload, claim, send and record of ``OutboxWorker.run``, overlapping."""

    def __init__(self, worker: OutboxWorker) -> None:
        self.worker = worker
        self.pending: asyncio.Queue[_Claimed] = asyncio.Queue()
        self.done: list[_Claimed] = []
        self.sending: set[asyncio.Task[None]] = set()
        self.claiming: asyncio.Future[list[_Claimed]] | None = None
        self.current: _Claimed | None = None
        self.record_failures = 0

    async def run(self) -> None:
        helpers = [asyncio.create_task(self._claimer()), asyncio.create_task(self._recorder())]
        if self.worker.uploader is not None:
            helpers.append(asyncio.create_task(self._uploader(self.worker.uploader)))
        try:
            await self._sender()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._drain()

    async def _claimer(self) -> None:
        worker = self.worker
        lookahead = worker.lookahead()
        while True:
            room = lookahead - self.pending.qsize()
            items: list[_Claimed] = []
            if room > 0:
                self.claiming = asyncio.ensure_future(asyncio.to_thread(worker._claim, room))
                try:
                    items = await asyncio.shield(self.claiming)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("claiming due messages failed")
                self.claiming = None
                for item in items:
                    self.pending.put_nowait(item)
            if not items:
                await asyncio.sleep(
                    worker.settings.poll if room > 0 else 1 / worker.settings.messages_per_second
                )

    async def _uploader(self, uploader: AttachmentUploader) -> None:
        """Uploads run beside the claims: a large file must not hold back other messages."""
        while True:
            tried = 0
            try:
                tried = await uploader.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("uploading attachments failed")
            if not tried:
                await asyncio.sleep(self.worker.settings.poll)

    async def _sender(self) -> None:
        worker = self.worker
        while True:
            item = self.current = await self.pending.get()
            await worker.pace()
            task = asyncio.create_task(worker._send_one(item))
            self.current = None
            self.sending.add(task)
            task.add_done_callback(lambda t, item=item: self._finished(t, item))

    def _finished(self, task: asyncio.Task[None], item: _Claimed) -> None:
        self.sending.discard(task)
        if item.result is None and item.error is None:
            item.error = asyncio.CancelledError("stopped while sending")
        self.done.append(item)

    async def _recorder(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            await self._record_done()

    async def _record_done(self) -> None:
        if not self.done:
            return
        batch, self.done = self.done, []
        try:
            await asyncio.to_thread(self.worker._record, batch)
        except Exception:
            # A lost race with another writer (a deadlock on PostgreSQL, say): try again in
            # the next round. Should it keep failing, they stay in flight, and the next
            # start shows them as "outcome unknown".
            self.record_failures += 1
            logger.exception("recording %d send outcomes failed", len(batch))
            if self.record_failures <= MAX_RECORD_RETRIES:
                self.done = batch + self.done
            return
        self.record_failures = 0

    async def _drain(self) -> None:
        """On a stop: what was claimed but not sent goes back, sends under way finish."""
        unsent = []
        if self.claiming is not None:
            try:
                unsent.extend(await self.claiming)
            except Exception:
                logger.exception("claiming due messages failed")
        if self.current is not None:
            unsent.append(self.current)
        while not self.pending.empty():
            unsent.append(self.pending.get_nowait())
        try:
            await asyncio.to_thread(self.worker.give_back, unsent)
        except Exception:
            logger.exception("giving %d unsent messages back failed", len(unsent))
        if self.sending:
            await asyncio.wait(set(self.sending), timeout=DRAIN_TIMEOUT)
        await self._record_done()
