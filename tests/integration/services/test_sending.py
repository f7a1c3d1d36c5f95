"""Consent ledger, gate → archive → outbox, and the outbox worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from chatproof.channels.whatsapp.client import SendResult
from chatproof.channels.whatsapp.errors import CloudApiUnavailable, error_from_response
from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.consent import (
    ALL_PURPOSES,
    MARKETING,
    ConsentAction,
    ConsentError,
    ConsentEvent,
    ConsentSource,
)
from chatproof.domain.policy import PolicySettings, TemplateCategory
from chatproof.domain.templates import TemplateCatalogue, TemplateProblem, TemplateSpec
from chatproof.services import consent
from chatproof.services.ingest import Received, ingest
from chatproof.services.outbox_worker import OutboxWorker, WorkerSettings
from chatproof.services.sending import Outgoing, SendingError, SendingSettings, submit
from chatproof.store import SqlAlchemyUnitOfWork, UnitOfWork
from chatproof.store import tables as t
from tests.integration.conftest import PSEUDONYMS, SEALING
from tests.support import webhook_bodies as bodies

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
ANNA = "4915112344567"
BEN = "4917612345678"
NEWS = TemplateSpec("news", "de", TemplateCategory.MARKETING, body_params=1, text="Hi {{1}}")
ORDER = TemplateSpec("order_update", "de", TemplateCategory.UTILITY)
SETTINGS = SendingSettings(
    PolicySettings(messaging_limit=250), TemplateCatalogue([NEWS, ORDER]), bodies.NUMBER_ID
)

UowFactory = Callable[[], UnitOfWork]


def customer_wrote(uow_factory: UowFactory, wa_id: str, at: datetime, text: str = "Hallo") -> None:
    body = bodies.inbound(wa_id, f"wamid.{wa_id}.{at.timestamp()}", at, text)
    ingest([Received(body, parse_webhook(body))], uow_factory, at)


def opt_in(uow_factory: UowFactory, wa_id: str, at: datetime = NOW - timedelta(days=3)) -> None:
    event = ConsentEvent(
        MARKETING, ConsentAction.GRANTED, ConsentSource.WEB_FORM, at, "web", "Ja, Newsletter", "v2"
    )
    consent.record(uow_factory, wa_id, event, at)


def kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(t.log_entries.c.kind).order_by(t.log_entries.c.idx)).scalars()
        )


def outbox(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.outbox).order_by(t.outbox.c.id)))


def text(body: str, key: str, purpose: str = "service") -> dict[str, Any]:
    return {"message": Outgoing(text=body, purpose=purpose), "idempotency_key": key}


def send(uow_factory: UowFactory, to: str, message: Outgoing, key: str, at: datetime = NOW) -> Any:
    return submit(
        uow_factory, to, message, SETTINGS, at, idempotency_key=key, origin="agent", actor="a"
    )


# consent


def test_consent_is_recorded_with_proof_and_archived(
    uow_factory: UowFactory, engine: Engine
) -> None:
    opt_in(uow_factory, ANNA)
    history = consent.history(uow_factory, "dsb", NOW, wa_id=ANNA)
    assert history.states[MARKETING].granted
    (event,) = history.events
    assert (event.source, event.text, event.text_version) == (
        ConsentSource.WEB_FORM,
        "Ja, Newsletter",
        "v2",
    )
    assert kinds(engine) == ["consent.granted", "access.read"]


def test_unprovable_consent_changes_nothing(uow_factory: UowFactory, engine: Engine) -> None:
    typed_in = ConsentEvent(MARKETING, ConsentAction.GRANTED, ConsentSource.AGENT, NOW, "a", "x")
    with pytest.raises(ConsentError, match="source"):
        consent.record(uow_factory, ANNA, typed_in, NOW)
    assert kinds(engine) == []


def test_an_opt_out_outlives_the_contact_through_the_suppression_list(
    uow_factory: UowFactory, engine: Engine
) -> None:
    opt_in(uow_factory, ANNA)
    stop = ConsentEvent(ALL_PURPOSES, ConsentAction.WITHDRAWN, ConsentSource.KEYWORD, NOW, "k")
    consent.record(uow_factory, ANNA, stop, NOW)
    with engine.begin() as conn:  # as if the contact had been erased and written again
        conn.execute(t.consent_events.delete())
    news = Outgoing(template="news", language="de", body_params=("Anna",), purpose=MARKETING)
    refused = send(uow_factory, ANNA, news, "k1", NOW + timedelta(minutes=1))
    assert (refused.decision.allowed, refused.decision.rule_id) == (False, "marketing.opted_out")


# accepting


def test_reply_inside_the_window_is_queued_and_the_decision_archived(
    uow_factory: UowFactory, engine: Engine
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    accepted = send(uow_factory, ANNA, Outgoing(text="Ihr Paket kommt morgen."), "k1")
    assert accepted.decision.rule_id == "window.reply"
    (row,) = outbox(engine)
    assert (row.id, row.state, row.rule_id) == (accepted.outbox_id, "queued", "window.reply")
    assert kinds(engine)[-1] == "policy.decision"


def test_refusal_is_archived_and_queues_nothing(uow_factory: UowFactory, engine: Engine) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(days=2))
    refused = send(uow_factory, ANNA, Outgoing(text="Hallo?"), "k1")
    assert (refused.decision.allowed, refused.outbox_id) == (False, None)
    assert refused.decision.rule_id == "window.closed"
    assert outbox(engine) == []
    assert kinds(engine)[-1] == "policy.decision"


def test_idempotency_key_returns_the_first_answer(uow_factory: UowFactory, engine: Engine) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    first = send(uow_factory, ANNA, Outgoing(text="Eins"), "same")
    again = send(uow_factory, ANNA, Outgoing(text="Eins"), "same")
    assert (again.outbox_id, again.duplicate) == (first.outbox_id, True)
    assert len(outbox(engine)) == 1


@pytest.mark.parametrize(
    ("message", "error", "field"),
    [
        (Outgoing(), SendingError, "text"),
        (Outgoing(text="x", template="news", language="de"), SendingError, "text"),
        (Outgoing(template="news"), SendingError, "language"),
        (Outgoing(template="nope", language="de"), TemplateProblem, "template"),
        (Outgoing(template="news", language="de"), TemplateProblem, "body_params"),
    ],
)
def test_malformed_requests_name_the_field_and_write_nothing(
    uow_factory: UowFactory, engine: Engine, message: Outgoing, error: type, field: str
) -> None:
    with pytest.raises(error) as raised:
        send(uow_factory, ANNA, message, "k")
    assert raised.value.field == field
    assert outbox(engine) == [] and kinds(engine) == []


# the worker


class FakePlatform:
    """Answers sends from a script of outcomes; records what was sent."""

    def __init__(self, *script: BaseException | None) -> None:
        self.script = list(script)
        self.sent: list[Mapping[str, Any]] = []

    async def __call__(self, payload: Mapping[str, Any]) -> SendResult:
        self.sent.append(payload)
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        return SendResult(f"wamid.sent{len(self.sent)}", str(payload["to"]), "", "accepted")


def graph_error(code: int, status: int = 400) -> BaseException:
    return error_from_response(status, {"error": {"code": code, "message": f"error {code}"}})


def unavailable(cause: BaseException) -> BaseException:
    error = CloudApiUnavailable("send failed")
    error.__cause__ = cause
    return error


def worker(uow_factory: UowFactory, platform: FakePlatform, clock: list[datetime]) -> OutboxWorker:
    return OutboxWorker(
        uow_factory,
        platform,
        SETTINGS,
        WorkerSettings(messages_per_second=1000, customer_interval=0),
        now=lambda: clock[0],
        jitter=lambda: 0.0,
    )


def queue_reply(uow_factory: UowFactory, key: str = "k1") -> int:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    accepted = send(uow_factory, ANNA, Outgoing(text="Antwort"), key)
    assert accepted.outbox_id is not None
    return accepted.outbox_id


async def test_worker_sends_once_with_the_outbox_id_and_records_it(
    uow_factory: UowFactory, engine: Engine
) -> None:
    outbox_id = queue_reply(uow_factory)
    platform = FakePlatform()
    assert await worker(uow_factory, platform, [NOW]).run_once() == 1
    assert await worker(uow_factory, platform, [NOW]).run_once() == 0
    (payload,) = platform.sent
    assert payload["biz_opaque_callback_data"] == f"outbox:{outbox_id}"
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.platform_id_hash is not None) == ("sent", 1, True)
    assert kinds(engine)[-1] == "message.outbound"
    with engine.connect() as conn:
        directions = conn.execute(select(t.messages.c.direction)).scalars().all()
    assert sorted(directions) == ["inbound", "outbound"]
    with uow_factory() as uow:  # a proof of the sent message is found by its wamid
        found = uow.log.first_by_platform_id(row.platform_id_hash)
        assert found is not None and uow.log.entry(found).kind == "message.outbound"


async def test_a_template_synced_by_another_process_is_sent_not_refused(
    uow_factory: UowFactory, engine: Engine
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    accepted = send(uow_factory, ANNA, Outgoing(template="order_update", language="de"), "t1")
    assert accepted.outbox_id is not None
    with uow_factory() as uow:  # what the server synced a moment ago
        uow.sending.replace_templates([ORDER], NOW)
        uow.commit()
    unaware = SendingSettings(
        PolicySettings(messaging_limit=250), TemplateCatalogue([]), bodies.NUMBER_ID
    )
    platform = FakePlatform()
    sender = OutboxWorker(
        uow_factory,
        platform,
        unaware,
        WorkerSettings(messages_per_second=1000, customer_interval=0),
        now=lambda: NOW,
        jitter=lambda: 0.0,
        reader=partial(SqlAlchemyUnitOfWork, engine, SEALING, PSEUDONYMS, write=False),
    )
    assert await sender.run_once() == 1
    assert [p["template"]["name"] for p in platform.sent] == ["order_update"]
    assert outbox(engine)[0].state == "sent"


@pytest.mark.parametrize(
    "refusal",
    [graph_error(130429), graph_error(131056), unavailable(httpx.ConnectError("refused"))],
    ids=["130429", "131056", "connection refused"],
)
async def test_not_taken_is_retried_with_backoff(
    uow_factory: UowFactory, engine: Engine, refusal: BaseException
) -> None:
    queue_reply(uow_factory)
    platform, clock = FakePlatform(refusal), [NOW]
    run = worker(uow_factory, platform, clock)
    await run.run_once()
    (row,) = outbox(engine)
    assert (row.state, row.next_attempt_at) == ("queued", NOW + timedelta(seconds=0.5))
    assert await run.run_once() == 0, "not before the backoff is over"
    clock[0] = NOW + timedelta(seconds=1)
    assert await run.run_once() == 1
    assert [r.state for r in outbox(engine)] == ["sent"]
    assert len(platform.sent) == 2


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (graph_error(131047), 131047),
        (graph_error(131026), 131026),
        (graph_error(132000), 132000),
        (graph_error(368), 368),
        (graph_error(100), 100),
        (graph_error(190, 401), 190),
    ],
)
async def test_final_refusals_are_never_retried(
    uow_factory: UowFactory, engine: Engine, error: BaseException, code: int
) -> None:
    queue_reply(uow_factory)
    platform, clock = FakePlatform(error), [NOW]
    run = worker(uow_factory, platform, clock)
    await run.run_once()
    clock[0] = NOW + timedelta(hours=1)
    assert await run.run_once() == 0
    (row,) = outbox(engine)
    assert (row.state, row.error_code, len(platform.sent)) == ("failed", code, 1)
    assert row.reason
    assert kinds(engine)[-1] == "outbox.failed"


@pytest.mark.parametrize(
    "error",
    [unavailable(httpx.ReadTimeout("slow")), graph_error(0, 502), error_from_response(503, b"")],
    ids=["timeout", "5xx with code", "bare 5xx"],
)
async def test_timeout_or_5xx_leaves_the_outcome_unknown(
    uow_factory: UowFactory, engine: Engine, error: BaseException
) -> None:
    queue_reply(uow_factory)
    platform, clock = FakePlatform(error), [NOW]
    run = worker(uow_factory, platform, clock)
    await run.run_once()
    clock[0] = NOW + timedelta(hours=1)
    assert await run.run_once() == 0
    (row,) = outbox(engine)
    assert (row.state, len(platform.sent)) == ("unknown", 1)
    assert "status webhook" in row.reason


async def test_131050_is_an_opt_out(uow_factory: UowFactory, engine: Engine) -> None:
    opt_in(uow_factory, ANNA)
    news = Outgoing(template="news", language="de", body_params=("Anna",), purpose=MARKETING)
    send(uow_factory, ANNA, news, "k1")
    await worker(uow_factory, FakePlatform(graph_error(131050)), [NOW]).run_once()
    history = consent.history(uow_factory, "dsb", NOW, wa_id=ANNA)
    assert history.states[MARKETING].withdrawn
    assert history.events[-1].source is ConsentSource.PLATFORM_ERROR


async def test_in_flight_at_a_crash_becomes_unknown_and_is_not_resent(
    uow_factory: UowFactory, engine: Engine
) -> None:
    queue_reply(uow_factory)
    platform = FakePlatform()
    crashed = worker(uow_factory, platform, [NOW])
    crashed._claim()  # marked in flight; the process dies before the request
    restarted = worker(uow_factory, platform, [NOW])
    assert restarted.recover() == 1
    assert await restarted.run_once() == 0
    (row,) = outbox(engine)
    assert (row.state, platform.sent) == ("unknown", [])
    assert kinds(engine)[-1] == "outbox.unknown"


async def test_the_gate_decides_again_at_send_time(uow_factory: UowFactory, engine: Engine) -> None:
    opt_in(uow_factory, ANNA)
    news = Outgoing(template="news", language="de", body_params=("Anna",), purpose=MARKETING)
    assert send(uow_factory, ANNA, news, "k1").decision.allowed
    stop = ConsentEvent(MARKETING, ConsentAction.WITHDRAWN, ConsentSource.AGENT, NOW, "agent")
    consent.record(uow_factory, ANNA, stop, NOW)
    platform = FakePlatform()
    await worker(uow_factory, platform, [NOW + timedelta(seconds=1)]).run_once()
    (row,) = outbox(engine)
    assert (row.state, row.rule_id, platform.sent) == ("refused", "marketing.opted_out", [])
    decisions = [k for k in kinds(engine) if k == "policy.decision"]
    assert len(decisions) == 2


def test_stored_payload_is_sealed(uow_factory: UowFactory, engine: Engine) -> None:
    queue_reply(uow_factory)
    (row,) = outbox(engine)
    assert ANNA.encode() not in row.payload and b"Antwort" not in row.payload
    with uow_factory() as uow:
        contact = uow.sending.contact(row.contact_id)
        document = json.loads(uow.personal.unseal_bytes(contact.subject_id, row.payload))
    assert document["payload"]["text"]["body"] == "Antwort"


def test_imported_history_opens_no_window(uow_factory: UowFactory, engine: Engine) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    with engine.begin() as conn:  # as the chat-export import stores them: no webhook delivery
        conn.execute(t.messages.update().values(delivery_id=None))
    refused = send(uow_factory, ANNA, Outgoing(text="Hallo"), "k1")
    assert (refused.decision.allowed, refused.decision.rule_id) == (
        False,
        "window.imported_history",
    )


async def test_a_message_that_cannot_be_prepared_fails_alone(
    uow_factory: UowFactory, engine: Engine
) -> None:
    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    customer_wrote(uow_factory, BEN, NOW - timedelta(hours=1))
    broken = send(uow_factory, ANNA, Outgoing(text="Eins"), "k1").outbox_id
    send(uow_factory, BEN, Outgoing(text="Zwei"), "k2")
    with engine.begin() as conn:
        conn.execute(t.outbox.update().where(t.outbox.c.id == broken).values(payload=b"garbage"))
    platform = FakePlatform()
    await worker(uow_factory, platform, [NOW]).run_once()
    assert [p["to"] for p in platform.sent] == [BEN]
    states = {row.id: (row.state, row.reason) for row in outbox(engine)}
    assert states[broken][0] == "failed" and "could not be prepared" in states[broken][1]


async def test_a_message_claimed_by_another_worker_is_not_sent_again(
    uow_factory: UowFactory, engine: Engine
) -> None:
    queue_reply(uow_factory)
    with uow_factory() as uow:  # what a second server read before the first one claimed
        (stale,) = uow.sending.due_outbox(NOW, 10)
    first, second = FakePlatform(), FakePlatform()
    await worker(uow_factory, first, [NOW]).run_once()
    late = worker(uow_factory, second, [NOW])
    with uow_factory() as uow:
        assert late._claim_one(uow, stale, NOW, 0.0) is None
        uow.commit()
    assert (len(first.sent), second.sent) == (1, [])
    assert [row.attempts for row in outbox(engine)] == [1]


def test_a_shredded_contact_receives_nothing(uow_factory: UowFactory, engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    from chatproof.services.erasure import shred_subject

    customer_wrote(uow_factory, ANNA, NOW - timedelta(hours=1))
    with uow_factory() as uow:
        subject = uow.sending.contact_by_number(ANNA)
        assert subject is not None
    shred_subject(
        uow_factory,
        subject.subject_id,
        reason="Art. 17",
        by="dsb",
        now=NOW,
        tz=ZoneInfo("Europe/Berlin"),
        scrub=lambda: None,
    )
    refused = send(uow_factory, ANNA, Outgoing(text="Hallo"), "k1")
    assert (refused.decision.allowed, refused.decision.rule_id) == (False, "contact.shredded")


def test_a_paper_forms_scan_is_kept_sealed_and_read_back_logged(
    uow_factory: UowFactory, engine: Engine, tmp_path: Path
) -> None:
    from chatproof.archive.blobs import BlobStore
    from chatproof.store import NotFound

    blobs = BlobStore(tmp_path / "blobs")
    scan = b"%PDF-1.4 Unterschrift Anna Schmidt"
    form = ConsentEvent(
        MARKETING, ConsentAction.GRANTED, ConsentSource.PAPER_FORM, NOW, "agent:ben", "Ja"
    )
    consent.record(uow_factory, ANNA, form, NOW, document=scan, blobs=blobs)
    (event,) = consent.history(uow_factory, "dsb", NOW, wa_id=ANNA).events
    digest = next(p for p in event.proof.split() if p.startswith("document:"))[9:]
    assert f"sha256:{hashlib.sha256(scan).hexdigest()}" in event.proof
    assert scan not in blobs.get(digest)
    assert consent.read_document(uow_factory, blobs, digest, "dsb", NOW, wa_id=ANNA) == scan
    assert kinds(engine)[-1] == "access.read"
    with pytest.raises(NotFound):
        consent.read_document(uow_factory, blobs, "0" * 64, "dsb", NOW, wa_id=ANNA)
