"""Turning the ``[sending]``, ``[automations]`` and ``[templates]`` settings into the sending
services' values, and running the outbox worker and the after-ingest processor beside the
server (issue 4). The CLI builds the same values from here.

Operational settings an admin changed in the browser or with ``chatproof settings set`` (issue
5) win over the file: they are applied on top of ``[automations]`` and checked by the same
rules, and a running processor follows them within seconds (``refresh_automations``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chatproof.archive.blobs import BlobStore
from chatproof.channels.whatsapp.client import CloudApiClient
from chatproof.config import ConfigError, Settings
from chatproof.domain import operational_settings
from chatproof.domain.business_hours import GERMAN_STATES, WEEKDAYS, BusinessHours
from chatproof.domain.errors import DomainError
from chatproof.domain.faq import FaqRule
from chatproof.domain.opt_out import (
    DEFAULT_START_KEYWORDS,
    DEFAULT_STOP_KEYWORDS,
    KeywordMatcher,
)
from chatproof.domain.policy import PolicySettings, check_messaging_limit
from chatproof.domain.snippets import placeholders
from chatproof.domain.templates import TemplateCatalogue, TemplateSpec
from chatproof.services import settings as operational
from chatproof.services import templates
from chatproof.services.outbox_worker import OutboxWorker, WorkerSettings
from chatproof.services.reactions import AutomationSettings, ReactionProcessor
from chatproof.services.sending import SendingSettings
from chatproof.store import UnitOfWork

logger = logging.getLogger(__name__)

REACTION_POLL = 0.25
TEMPLATE_REFRESH = 30.0
SETTINGS_REFRESH = 2.0
TEMPLATE_REVIEW_POLL = 2.0
REVIEW_ACTOR = "platform:template_review"
NO_PRIVACY_NOTICE_WARNING = (
    "no privacy notice is configured: new contacts get no Art. 13 GDPR notice; set "
    "[automations] privacy_notice_de and privacy_notice_en"
)

DEFAULT_OPT_OUT_CONFIRMATION = {
    "de": "Sie wurden abgemeldet und erhalten keine Werbung mehr von uns. Schreiben Sie START, "
    "um sich wieder anzumelden.",
    "en": "You have been unsubscribed and will receive no more marketing from us. Write START "
    "to subscribe again.",
}
DEFAULT_OPT_IN_TEXT = {
    "de": "Ja, ich möchte Neuigkeiten und Angebote per WhatsApp erhalten. Abmeldung jederzeit "
    "mit STOP.",
    "en": "Yes, I want to receive news and offers on WhatsApp. Unsubscribe any time with STOP.",
}
DEFAULT_OPT_IN_CONFIRMATION = {
    "de": "Danke! Sie erhalten nun unsere Neuigkeiten per WhatsApp. Abmeldung jederzeit mit STOP.",
    "en": "Thank you! You will now receive our news on WhatsApp. Unsubscribe any time with STOP.",
}


@dataclass(frozen=True)
class SendingSetup:
    sending: SendingSettings
    worker: WorkerSettings
    automations: AutomationSettings
    quick_replies: dict[str, str]
    settings: Settings | None = None
    """The file's settings the setup was built from, to build it again with stored ones."""


def _texts(de: str, en: str, default: dict[str, str] | None = None) -> dict[str, str]:
    texts = {k: v for k, v in (("de", de), ("en", en)) if v}
    return texts or dict(default or {})


def file_defaults(settings: Settings) -> dict[str, Any]:
    """The operational settings as chatproof.toml has them (what a stored value wins over)."""
    return {key: getattr(settings.automations, key) for key in operational_settings.KEYS}


def with_stored(settings: Settings, stored: Mapping[str, Any]) -> Settings:
    """``settings`` with the stored operational settings in place of the file's."""
    if not stored:
        return settings
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()}
    automations = dataclasses.replace(settings.automations, **values)
    return dataclasses.replace(settings, automations=automations)


def sending_setup(settings: Settings, stored: Mapping[str, Any] | None = None) -> SendingSetup:
    """``stored``: operational settings from the database (``services.settings.overrides``).

    Raises: ConfigError naming the setting that is wrong."""
    file_settings = settings
    settings = with_stored(settings, stored or {})
    s, a = settings.sending, settings.automations
    try:
        limit = check_messaging_limit(s.messaging_limit)
    except ValueError as exc:
        raise ConfigError(f"sending.messaging_limit {exc}") from None
    if s.messages_per_second <= 0:
        raise ConfigError("sending.messages_per_second must be positive")
    try:
        configured = [
            TemplateSpec.from_mapping(item, f"templates.template[{i}]")
            for i, item in enumerate(settings.templates.template)
        ]
        faq = tuple(
            FaqRule.from_mapping(item, f"automations.faq[{i}]") for i, item in enumerate(a.faq)
        )
        week = {day: getattr(a, f"hours_{day}") for day in WEEKDAYS}
        if a.holiday_state and a.holiday_state.upper() not in GERMAN_STATES:
            raise ConfigError(
                f"automations.holiday_state: {a.holiday_state!r} is not a German state code"
            )
        hours = None
        if any(week.values()):
            hours = BusinessHours.from_settings(
                week, settings.archive.timezone, a.holiday_state, a.closed_days
            )
        quick = {}
        for i, item in enumerate(a.quick_reply):
            name, text = item.get("name"), item.get("text")
            if not isinstance(name, str) or not isinstance(text, str) or not name or not text:
                raise ConfigError(f"automations.quick_reply[{i}] needs a name and a text")
            placeholders(text)
            quick[name] = text
    except DomainError as exc:
        raise ConfigError(str(exc)) from None
    sending = SendingSettings(
        PolicySettings(s.service_case_days, limit),
        TemplateCatalogue(configured),
        settings.whatsapp.phone_number_id,
    )
    worker = WorkerSettings(
        messages_per_second=s.messages_per_second,
        customer_interval=s.customer_interval_seconds,
        max_attempts=s.max_attempts,
        unknown_grace=timedelta(minutes=s.unknown_grace_minutes),
    )
    automations = AutomationSettings(
        matcher=KeywordMatcher(
            s.stop_keywords or DEFAULT_STOP_KEYWORDS, s.start_keywords or DEFAULT_START_KEYWORDS
        ),
        unsubscribe_payloads=s.unsubscribe_payloads,
        opt_out_confirmation=_texts(
            s.opt_out_confirmation_de, s.opt_out_confirmation_en, DEFAULT_OPT_OUT_CONFIRMATION
        ),
        opt_in_text=_texts(s.opt_in_text_de, s.opt_in_text_en, DEFAULT_OPT_IN_TEXT),
        opt_in_text_version=s.opt_in_text_version,
        opt_in_confirmation=_texts(
            s.opt_in_confirmation_de, s.opt_in_confirmation_en, DEFAULT_OPT_IN_CONFIRMATION
        ),
        privacy_notice=_texts(a.privacy_notice_de, a.privacy_notice_en),
        greeting=_texts(a.greeting_de, a.greeting_en),
        away=_texts(a.away_de, a.away_en),
        away_interval=timedelta(hours=a.away_interval_hours),
        hours=hours,
        faq_enabled=a.faq_enabled,
        faq=faq,
    )
    return SendingSetup(sending, worker, automations, quick, file_settings)


def current_automations(
    setup: SendingSetup, reader: Callable[[], UnitOfWork]
) -> tuple[int, AutomationSettings]:
    """The automations in force now (file and stored settings), with the settings revision
    they were read at."""
    revision, stored = operational.overrides(reader)
    if setup.settings is None or not stored:
        return revision, setup.automations
    return revision, sending_setup(setup.settings, stored).automations


async def refresh_automations(
    processor: ReactionProcessor,
    setup: SendingSetup,
    reader: Callable[[], UnitOfWork],
    seen: int,
    poll: float = SETTINGS_REFRESH,
) -> None:
    """Give the processor the settings in force whenever their revision changed (an admin
    saved in the browser or on the command line, in this process or another)."""
    while True:
        await asyncio.sleep(poll)
        try:
            current = await asyncio.to_thread(operational.revision, reader)
            if current != seen:
                seen, automations = await asyncio.to_thread(current_automations, setup, reader)
                processor.use(automations)
                logger.info("operational settings changed (revision %d); now in force", seen)
        except Exception:
            logger.exception("reading the operational settings failed")


async def run_reactions(
    processor: ReactionProcessor,
    poll: float = REACTION_POLL,
    give_way: Callable[[float], Awaitable[None]] | None = None,
) -> None:
    """Follow what ingest committed; a failed round is logged and tried again. ``give_way``
    lets ingest go first while webhooks are arriving."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            report = await asyncio.to_thread(processor.run_once)
            busy = report.messages or report.statuses or report.events
        except Exception:
            logger.exception("reacting to received messages failed")
            busy = False
        if not busy:
            await asyncio.sleep(poll)
        elif give_way is not None:
            await give_way(loop.time() - started)


async def refresh_templates(
    catalogue: TemplateCatalogue,
    reader: Callable[[], UnitOfWork],
    poll: float = TEMPLATE_REFRESH,
) -> None:
    """Keep the catalogue at what was last synced (by the API or ``chatproof templates
    sync`` in another process)."""
    while True:
        try:
            read_at = catalogue.version
            stored = await asyncio.to_thread(templates.load, reader)
            catalogue.replace_synced(stored, unless_since=read_at)
        except Exception:
            logger.exception("reading the synced templates failed")
        await asyncio.sleep(poll)


async def follow_template_reviews(
    catalogue: TemplateCatalogue,
    client: CloudApiClient,
    writer: Callable[[], UnitOfWork],
    reader: Callable[[], UnitOfWork],
    waba_id: str,
    poll: float = TEMPLATE_REVIEW_POLL,
) -> None:
    """Sync the templates when the platform reports a review (a submitted template approved
    or rejected, one paused), so agents can use an approved one without anyone pressing
    "sync now". The sync is a log entry like any other."""
    seen, _ = await asyncio.to_thread(templates.reviews_after, reader, None)
    while True:
        await asyncio.sleep(poll)
        try:
            latest, reviewed = await asyncio.to_thread(templates.reviews_after, reader, seen)
            if reviewed:
                report = await templates.fetch(client.list_templates, waba_id)
                now = datetime.now(UTC)
                await asyncio.to_thread(templates.store, writer, report, REVIEW_ACTOR, now)
                catalogue.replace_synced(report.templates)
                logger.info("synced %d templates after a review", len(report.templates))
            seen = latest
        except Exception:
            logger.exception("syncing the templates after a review failed")


def background_tasks(
    setup: SendingSetup,
    writer: Callable[[], UnitOfWork],
    reader: Callable[[], UnitOfWork],
    client: CloudApiClient,
    give_way: Callable[[float], Awaitable[None]] | None = None,
    blobs: BlobStore | None = None,
) -> list[asyncio.Task[None]]:
    """The outbox worker and the after-ingest processor, as tasks of the running loop. The
    processor starts with the operational settings in force and follows their changes; with
    ``blobs`` the worker uploads and sends attachments."""
    revision, automations = current_automations(setup, reader)
    if not automations.privacy_notice:
        logger.warning("%s", NO_PRIVACY_NOTICE_WARNING)
    worker = OutboxWorker(
        writer,
        client.send_payload,
        setup.sending,
        setup.worker,
        reader=reader,
        upload=client.upload_media,
        blobs=blobs,
    )
    processor = ReactionProcessor(writer, setup.sending, automations, reader=reader)
    tasks = [
        asyncio.create_task(refresh_templates(setup.sending.catalogue, reader), name="templates"),
        asyncio.create_task(worker.run(), name="outbox"),
        asyncio.create_task(run_reactions(processor, give_way=give_way), name="reactions"),
        asyncio.create_task(
            refresh_automations(processor, setup, reader, revision), name="settings"
        ),
    ]
    waba_id = setup.settings.templates.waba_id if setup.settings is not None else ""
    if waba_id:
        reviews = follow_template_reviews(setup.sending.catalogue, client, writer, reader, waba_id)
        tasks.append(asyncio.create_task(reviews, name="template reviews"))
    return tasks
