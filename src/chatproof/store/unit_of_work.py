"""One transaction around a use case: everything it wrote is committed together or not at all
(DESIGN invariant 6), and nothing is acknowledged before the commit (invariant 1)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from chatproof.archive.keystore import KeyRepository, KeyStore
from chatproof.archive.log import LogRepository
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.store.activity import ActivityRepository, SqlAlchemyActivityRepository
from chatproof.store.audit import AuditRepository, SqlAlchemyAuditRepository
from chatproof.store.conversations import ConversationRepository, SqlAlchemyConversationRepository
from chatproof.store.database import WRITE
from chatproof.store.dsr import DsrRepository, SqlAlchemyDsrRepository
from chatproof.store.holds import HoldRepository, SqlAlchemyHoldRepository
from chatproof.store.inbox import InboxRepository, SqlAlchemyInboxRepository
from chatproof.store.keys import SqlAlchemyKeyRepository
from chatproof.store.log import SqlAlchemyLogRepository
from chatproof.store.media import MediaRepository, SqlAlchemyMediaRepository
from chatproof.store.personal import PersonalContent, SealingPolicy
from chatproof.store.quarantine import QuarantineRepository, SqlAlchemyQuarantineRepository
from chatproof.store.quick_replies import QuickReplyRepository, SqlAlchemyQuickReplyRepository
from chatproof.store.sealed_records import (
    SealedRecordRepository,
    SqlAlchemySealedRecordRepository,
)
from chatproof.store.sending import SendingRepository, SqlAlchemySendingRepository
from chatproof.store.settings import SettingsRepository, SqlAlchemySettingsRepository
from chatproof.store.statistics import SqlAlchemyStatisticsRepository, StatisticsRepository
from chatproof.store.users import SqlAlchemyUserRepository, UserRepository
from chatproof.store.webhooks import SqlAlchemyWebhookRepository, WebhookRepository


class UnitOfWork(ABC):
    """Contract: leaving the ``with`` block without ``commit()`` MUST roll back."""

    webhooks: WebhookRepository
    conversations: ConversationRepository
    media: MediaRepository
    quarantine: QuarantineRepository
    log: LogRepository
    keys: KeyRepository
    keystore: KeyStore
    personal: PersonalContent
    holds: HoldRepository
    sending: SendingRepository
    activity: ActivityRepository
    sealed: SealedRecordRepository
    users: UserRepository
    inbox: InboxRepository
    statistics: StatisticsRepository
    quick_replies: QuickReplyRepository
    dsr: DsrRepository
    audit: AuditRepository
    settings: SettingsRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...


class SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(
        self,
        engine: Engine,
        sealing: SealingPolicy,
        pseudonyms: Pseudonymizer,
        *,
        write: bool = True,
    ) -> None:
        self.engine = engine
        self.sealing = sealing
        self.pseudonyms = pseudonyms
        self.write = write
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self.engine.connect().execution_options(**{WRITE: self.write})
        conn.begin()
        self._conn = conn
        self.keys = SqlAlchemyKeyRepository(conn)
        self.keystore = self.sealing.keystore(self.keys)
        self.personal = self.sealing.personal(self.keystore)
        self.webhooks = SqlAlchemyWebhookRepository(conn, self.personal, self.pseudonyms)
        self.conversations = SqlAlchemyConversationRepository(conn, self.personal)
        self.media = SqlAlchemyMediaRepository(conn)
        self.quarantine = SqlAlchemyQuarantineRepository(conn)
        self.log = SqlAlchemyLogRepository(conn)
        self.holds = SqlAlchemyHoldRepository(conn)
        self.sending = SqlAlchemySendingRepository(conn, self.personal, self.pseudonyms)
        self.activity = SqlAlchemyActivityRepository(conn)
        self.sealed = SqlAlchemySealedRecordRepository(conn)
        self.users = SqlAlchemyUserRepository(conn)
        self.inbox = SqlAlchemyInboxRepository(conn, self.personal, self.keys)
        self.statistics = SqlAlchemyStatisticsRepository(conn)
        self.quick_replies = SqlAlchemyQuickReplyRepository(conn)
        self.dsr = SqlAlchemyDsrRepository(conn, self.personal, self.keys)
        self.audit = SqlAlchemyAuditRepository(conn)
        self.settings = SqlAlchemySettingsRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def commit(self) -> None:
        assert self._conn is not None, "commit outside of a with block"
        self.personal.sealer.flush()
        self._conn.commit()

    def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()
