"""Composition: the one place that turns settings into real collaborators. The web app and
the CLI both start here (STYLE 3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from chatproof import __version__
from chatproof.archive.blobs import BlobStore
from chatproof.archive.keyfiles import derive_key
from chatproof.archive.master_keys import load_master_keys
from chatproof.archive.pseudonyms import Pseudonymizer
from chatproof.archive.retention import (
    DEFAULT_RETENTION_CLASSES,
    RetentionClass,
    retention_classes,
)
from chatproof.archive.witness import Witness
from chatproof.archive.witness_config import witnesses_from_config
from chatproof.config import ConfigError, Settings
from chatproof.domain.accounts import TOTP_REQUIRED, Role
from chatproof.domain.processing import LANGUAGES, Organisation, RetentionFact, SystemFacts
from chatproof.store import (
    SealingPolicy,
    SqlAlchemyUnitOfWork,
    UnitOfWork,
    VersionedSealingPolicy,
    make_engine,
    migrate,
    scrub,
)

if TYPE_CHECKING:
    from chatproof.archive.keystore import KeyStore
    from chatproof.services.gobd import ExportContext


@dataclass
class Components:
    settings: Settings
    engine: Engine
    sealing: SealingPolicy
    pseudonyms: Pseudonymizer
    blobs: BlobStore
    retention_classes: Mapping[str, RetentionClass] = field(
        default_factory=lambda: dict(DEFAULT_RETENTION_CLASSES)
    )
    derivation_key: bytes = field(default=b"", repr=False)
    """Root of keys derived for a purpose (``derive_key``); unlike the master key it never
    changes, so what was derived from it stays valid across master key rotations."""

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.archive.timezone)

    def uow(self, *, write: bool = True) -> UnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.sealing, self.pseudonyms, write=write)

    @property
    def writer(self) -> Callable[[], UnitOfWork]:
        return partial(self.uow, write=True)

    @property
    def reader(self) -> Callable[[], UnitOfWork]:
        return partial(self.uow, write=False)

    def witnesses(self) -> list[Witness]:
        """The configured witnesses (``[[archive.witness]]``). Callers warn when there is none."""
        configured = list(self.settings.archive.witness)
        return witnesses_from_config({"witness": configured}) if configured else []

    def scrub(self) -> None:
        scrub(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, *, run_migrations: bool = True) -> Components:
    """Raises:
    ArchiveError: the data directory has no keys (``chatproof init`` was not run).
    StoreError: the database URL is not usable.
    RetentionConfigError: an ``[archive.retention]`` class is invalid, or the default class
        is not one of them.
    """
    classes = retention_classes(
        settings.archive.retention, settings.archive.default_retention_class
    )
    master = load_master_keys(settings.keys_dir)
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    return Components(
        settings=settings,
        engine=engine,
        sealing=VersionedSealingPolicy(
            master_key=master.current,
            master_version=master.version,
            older_master_keys=master.older,
            retention_class=settings.archive.default_retention_class,
            timezone=ZoneInfo(settings.archive.timezone),
        ),
        pseudonyms=Pseudonymizer(derive_key(master.derivation, "pseudonyms")),
        blobs=BlobStore(settings.media_dir),
        retention_classes=classes,
        derivation_key=master.derivation,
    )


def system_facts(components: Components, language: str | None = None) -> SystemFacts:
    """The settings in force, as the record of processing, the procedure documentation and
    the access report state them.

    Raises:
        ConfigError: ``organisation.language`` (or ``language``) is not de or en.
    """
    settings = components.settings
    org = settings.organisation
    chosen = (language or org.language).lower()
    if chosen not in LANGUAGES:
        raise ConfigError(
            f"organisation.language must be one of {', '.join(LANGUAGES)}, not {chosen!r}"
        )
    return SystemFacts(
        organisation=Organisation(
            name=org.name,
            address=org.address,
            email=org.email,
            phone=org.phone,
            representative=org.representative,
            dpo_name=org.dpo_name,
            dpo_email=org.dpo_email,
            dpo_phone=org.dpo_phone,
        ),
        provider=settings.whatsapp.provider,
        bsp_name=org.bsp_name,
        database_backend="PostgreSQL"
        if components.engine.dialect.name == "postgresql"
        else "SQLite",
        timezone=settings.archive.timezone,
        default_retention_class=settings.archive.default_retention_class,
        retention=tuple(
            RetentionFact(c.name, c.years, c.months, c.counted_from.value, c.legal_basis)
            for c in sorted(components.retention_classes.values(), key=lambda c: c.name)
        ),
        head_every_entries=settings.archive.head_every_entries,
        head_every_seconds=settings.archive.head_every_seconds,
        witnesses=tuple(_witness(w) for w in settings.archive.witness),
        master_key_version=getattr(components.sealing, "master_version", 1),
        roles=tuple(r.value for r in Role),
        totp_roles=tuple(r.value for r in Role if r in TOTP_REQUIRED),
        backup=org.backup,
        privacy_notice=_privacy_notice_in_force(components),
        opt_in_text_version=settings.sending.opt_in_text_version,
        media_max_bytes=settings.media.max_bytes,
        software_version=__version__,
        language=chosen,
    )


def _privacy_notice_in_force(components: Components) -> bool:
    """Whether new contacts get an Art. 13 notice: the file's texts, unless an admin changed
    them since (``chatproof settings``, the settings page)."""
    from chatproof.services import settings as operational

    a = components.settings.automations
    defaults = {"privacy_notice_de": a.privacy_notice_de, "privacy_notice_en": a.privacy_notice_en}
    found = operational.effective(components.reader, defaults)
    return bool(found["privacy_notice_de"].value or found["privacy_notice_en"].value)


def _witness(config: dict[str, Any]) -> str:
    kind = str(config.get("kind", "?"))
    where = config.get("url") or config.get("path") or ""
    return f"{kind} {where}".strip()


def gobd_context(components: Components, actor: str) -> ExportContext:
    """What a GoBD export needs from the running system, for the command and the auditor's
    workspace alike; ``actor`` is who the export's read of archived content is logged for."""
    from sqlalchemy import Connection

    from chatproof.archive.keyfiles import load_signing_key
    from chatproof.services.gobd import ExportContext, WorkerSetup
    from chatproof.store.keys import SqlAlchemyKeyRepository

    def keystore(conn: Connection) -> KeyStore:
        return components.sealing.keystore(SqlAlchemyKeyRepository(conn))

    return ExportContext(
        engine=components.engine,
        keystore=keystore,
        uow_factory=components.writer,
        blobs=components.blobs,
        signing_key=load_signing_key(components.settings.signing_key_path),
        facts=system_facts(components),
        tz=components.timezone,
        actor=actor,
        worker=WorkerSetup(
            components.engine.url.render_as_string(hide_password=False), components.sealing
        ),
    )
