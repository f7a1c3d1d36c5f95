"""Storage: SQLAlchemy tables, repositories and the unit of work (SQLite or PostgreSQL)."""

from chatproof.store.backup import BackupManifest, RestoreReport, backup, read_manifest, restore
from chatproof.store.conversations import ConversationRepository, SqlAlchemyConversationRepository
from chatproof.store.database import make_engine, migrate, scrub
from chatproof.store.errors import BackupError, NotFound, StoreError
from chatproof.store.holds import HoldRepository, LegalHold, SqlAlchemyHoldRepository
from chatproof.store.media import MediaRepository, PendingMedia, SqlAlchemyMediaRepository
from chatproof.store.personal import (
    KeyStoreSealer,
    PersonalContent,
    Readable,
    Sealer,
    SealingPolicy,
)
from chatproof.store.quarantine import (
    QuarantinedBody,
    QuarantineRepository,
    SqlAlchemyQuarantineRepository,
)
from chatproof.store.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWork
from chatproof.store.versioned_sealing import VersionedSealingPolicy
from chatproof.store.webhooks import SaveCounts, SqlAlchemyWebhookRepository, WebhookRepository

__all__ = [
    "BackupError",
    "BackupManifest",
    "ConversationRepository",
    "HoldRepository",
    "KeyStoreSealer",
    "LegalHold",
    "MediaRepository",
    "NotFound",
    "PendingMedia",
    "PersonalContent",
    "QuarantineRepository",
    "QuarantinedBody",
    "Readable",
    "RestoreReport",
    "SaveCounts",
    "Sealer",
    "SealingPolicy",
    "SqlAlchemyConversationRepository",
    "SqlAlchemyHoldRepository",
    "SqlAlchemyMediaRepository",
    "SqlAlchemyQuarantineRepository",
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyWebhookRepository",
    "StoreError",
    "UnitOfWork",
    "VersionedSealingPolicy",
    "WebhookRepository",
    "backup",
    "make_engine",
    "migrate",
    "read_manifest",
    "restore",
    "scrub",
]
