"""The settings in force, read from the configuration and the running system, as the facts the
record of processing and the procedure documentation state."""

from __future__ import annotations

from typing import Any

from chatproof import __version__
from chatproof.config import ConfigError
from chatproof.domain.accounts import TOTP_REQUIRED, Role
from chatproof.domain.processing import (
    LANGUAGES,
    Organisation,
    RetentionFact,
    SystemFacts,
)


def system_facts(components: Any, language: str | None = None) -> SystemFacts:
    """Raises:
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
        privacy_notice=bool(
            settings.automations.privacy_notice_de or settings.automations.privacy_notice_en
        ),
        opt_in_text_version=settings.sending.opt_in_text_version,
        media_max_bytes=settings.media.max_bytes,
        software_version=__version__,
        language=chosen,
    )


def _witness(config: dict[str, Any]) -> str:
    kind = str(config.get("kind", "?"))
    where = config.get("url") or config.get("path") or ""
    return f"{kind} {where}".strip()
