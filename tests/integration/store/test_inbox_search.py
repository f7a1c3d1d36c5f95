"""The search index on both backends: words of new messages become findable, and what is
erased leaves it, whether the whole data subject is shredded or one retention bucket runs
out while a reclassified message lives on. Each test has a database of its own: the word
index is created on first use and is not part of the declared schema."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from chatproof.channels.whatsapp.webhook import parse_webhook
from chatproof.domain.team_inbox import InboxFilter, search_words
from chatproof.services.ingest import Received, ingest
from chatproof.store import SqlAlchemyUnitOfWork, UnitOfWork, make_engine, migrate
from tests.integration.conftest import PSEUDONYMS, SEALING
from tests.support.databases import BACKENDS, scratch_database
from tests.support.samples import sample_body

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], UnitOfWork]]:
    with scratch_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        yield partial(SqlAlchemyUnitOfWork, engine, SEALING, PSEUDONYMS)
        engine.dispose()


def deliver(uow_factory: Callable[[], UnitOfWork], *texts: str) -> None:
    for number, text in enumerate(texts):
        sample = json.loads(sample_body("openapi/Text Message"))
        message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
        message.update(id=f"wamid.search{number}", text={"body": text})
        body = json.dumps(sample).encode()
        ingest([Received(body, batch=parse_webhook(body))], uow_factory, NOW)


def found(uow_factory: Callable[[], UnitOfWork], query: str) -> int:
    with uow_factory() as uow:
        page = uow.inbox.list(InboxFilter(words=search_words(query)), limit=10, cursor=None)
    return len(page.items)


def index(uow_factory: Callable[[], UnitOfWork]) -> int:
    with uow_factory() as uow:
        added = uow.inbox.index_pending(100)
        uow.commit()
    return added


def test_words_become_findable_by_prefix_with_german_text(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    deliver(uow_factory, "Wo bleibt meine Bestellung?", "Die Rechnung fehlt noch")
    assert index(uow_factory) == 2 and index(uow_factory) == 0
    assert found(uow_factory, "bestellung") == 1
    assert found(uow_factory, "Rechn") == 1
    assert found(uow_factory, "rechnung bestellung") == 0, "every word must occur in a message"
    assert found(uow_factory, "zebra") == 0


def test_shredding_a_subject_removes_their_words(uow_factory: Callable[[], UnitOfWork]) -> None:
    deliver(uow_factory, "Wo bleibt meine Bestellung?")
    index(uow_factory)
    with uow_factory() as uow:
        subject = uow.conversations.get(1).subject_id
        assert uow.inbox.forget_subject(subject) == 1
        uow.commit()
    assert found(uow_factory, "bestellung") == 0


def test_a_bucket_whose_retention_ran_out_leaves_the_index_but_a_voucher_stays(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    from chatproof.archive.envelope import data_key_id
    from chatproof.archive.retention import Bucket

    deliver(uow_factory, "Hallo, kurze Frage", "Rechnung 2026-114 anbei")
    index(uow_factory)
    with uow_factory() as uow:
        messages = uow.sealed.messages(conversation_id=1)
        subject = messages[0].subject_id
        voucher = next(m for m in messages if m.id == 2)
        bucket = uow.keystore.bucket_of(data_key_id(voucher.raw))
        target = Bucket(subject, "booking_voucher", bucket.start_year)
        for sealed in voucher.fields:
            uow.keystore.reclassify(data_key_id(sealed), target)
        uow.keystore.shred(bucket.bucket_id, reason="retention ended", by="test", at=NOW)
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.forget_erased() == 1
        uow.commit()
    assert found(uow_factory, "frage") == 0
    assert found(uow_factory, "rechnung") == 1


def test_two_processes_indexing_the_same_messages_at_once_store_each_once(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    deliver(uow_factory, "Wo bleibt meine Bestellung?", "Die Rechnung fehlt noch")
    indexed, go_on = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with uow_factory() as uow:
            uow.inbox.index_pending(100)
            indexed.set()
            go_on.wait(10)
            uow.commit()

    def second() -> None:
        try:
            index(uow_factory)
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert indexed.wait(10)
    threads[1].start()
    threads[1].join(0.5)
    go_on.set()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert found(uow_factory, "bestellung") == 1 and found(uow_factory, "rechnung") == 1
