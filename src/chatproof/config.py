"""Settings: one commented TOML file in the data directory, every value overridable by an
environment variable ``CHATPROOF_<SECTION>_<KEY>`` (secrets belong in the file or the
environment, never in code).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatproof.domain.errors import ChatproofError

CONFIG_FILE = "chatproof.toml"
DEFAULT_DATA_DIR = "./chatproof-data"
DEFAULT_PORT = 8025
DEFAULT_EMULATOR_PORT = 8026
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ConfigError(ChatproofError):
    """A setting is missing, of the wrong type, or the data directory is unusable."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    api_token: str = field(default="", repr=False)
    background: Literal["process", "inline"] = "process"

    def __post_init__(self) -> None:
        if self.background not in ("process", "inline"):
            raise ConfigError(
                f'server.background must be "process" or "inline", got {self.background!r}'
            )


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""


@dataclass(frozen=True)
class WhatsAppSettings:
    provider: Literal["meta", "360dialog"] = "meta"
    base_url: str = f"http://127.0.0.1:{DEFAULT_EMULATOR_PORT}"
    api_version: str = "v23.0"
    phone_number_id: str = ""
    access_token: str = field(default="", repr=False)
    api_key: str = field(default="", repr=False)
    verify_token: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    secret_header_name: str = ""
    secret_header_value: str = field(default="", repr=False)


@dataclass(frozen=True)
class MediaSettings:
    max_attempts: int = 8
    retry_base_seconds: float = 2.0
    max_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class ArchiveSettings:
    signing_key_path: str = ""
    head_every_entries: int = 1000
    head_every_seconds: float = 60.0
    timezone: str = "Europe/Berlin"
    default_retention_class: str = "business_letter"
    witness: tuple[dict[str, Any], ...] = ()
    retention: dict[str, Any] = field(default_factory=dict)
    """``[archive.retention.<class>]`` tables: periods and legal bases beside the defaults."""


@dataclass(frozen=True)
class SendingSettingsSection:
    """Outbox pacing, the messaging limit, and the keyword opt-out/opt-in (issue 4)."""

    messages_per_second: float = 80.0
    customer_interval_seconds: float = 1.0
    messaging_limit: int = 250
    service_case_days: int = 30
    max_attempts: int = 8
    unknown_grace_minutes: float = 15.0
    stop_keywords: tuple[str, ...] = ()
    start_keywords: tuple[str, ...] = ()
    unsubscribe_payloads: tuple[str, ...] = ()
    opt_out_confirmation_de: str = ""
    opt_out_confirmation_en: str = ""
    opt_in_text_de: str = ""
    opt_in_text_en: str = ""
    opt_in_text_version: str = "1"
    opt_in_confirmation_de: str = ""
    opt_in_confirmation_en: str = ""


@dataclass(frozen=True)
class AutomationSettingsSection:
    """Art. 13 notice, greeting, away message with business hours, FAQ, quick replies."""

    privacy_notice_de: str = ""
    privacy_notice_en: str = ""
    greeting_de: str = ""
    greeting_en: str = ""
    away_de: str = ""
    away_en: str = ""
    away_interval_hours: float = 12.0
    hours_mon: str = ""
    hours_tue: str = ""
    hours_wed: str = ""
    hours_thu: str = ""
    hours_fri: str = ""
    hours_sat: str = ""
    hours_sun: str = ""
    holiday_state: str = ""
    closed_days: tuple[str, ...] = ()
    faq_enabled: bool = False
    faq: tuple[dict[str, Any], ...] = ()
    quick_reply: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TemplateSettingsSection:
    """The business's approved templates (``[[templates.template]]``), and the business
    account whose templates ``chatproof templates sync`` reads from the platform."""

    waba_id: str = ""
    template: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class OrganisationSettings:
    """Who is responsible (Art. 30 (1)(a) GDPR), and what the record of processing and the
    procedure documentation cannot read from the system itself."""

    name: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    representative: str = ""
    dpo_name: str = ""
    dpo_email: str = ""
    dpo_phone: str = ""
    bsp_name: str = ""
    backup: str = ""
    language: str = "de"


@dataclass(frozen=True)
class EmulatorSettingsSection:
    port: int = DEFAULT_EMULATOR_PORT
    webhook_url: str = ""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    media: MediaSettings = MediaSettings()
    archive: ArchiveSettings = ArchiveSettings()
    emulator: EmulatorSettingsSection = EmulatorSettingsSection()
    sending: SendingSettingsSection = SendingSettingsSection()
    automations: AutomationSettingsSection = AutomationSettingsSection()
    templates: TemplateSettingsSection = TemplateSettingsSection()
    organisation: OrganisationSettings = OrganisationSettings()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'chatproof.sqlite3'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def signing_key_path(self) -> Path:
        return (
            Path(self.archive.signing_key_path)
            if self.archive.signing_key_path
            else (self.keys_dir / "signing.key")
        )

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


_SECTION_TYPES: dict[str, type] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "whatsapp": WhatsAppSettings,
    "media": MediaSettings,
    "archive": ArchiveSettings,
    "emulator": EmulatorSettingsSection,
    "sending": SendingSettingsSection,
    "automations": AutomationSettingsSection,
    "templates": TemplateSettingsSection,
    "organisation": OrganisationSettings,
}


def resolve_data_dir(option: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """``--data-dir``, else ``CHATPROOF_DATA_DIR``, else ``./chatproof-data``."""
    return Path(option or environ.get("CHATPROOF_DATA_DIR") or DEFAULT_DATA_DIR)


def load_settings(data_dir: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``data_dir/chatproof.toml`` with ``CHATPROOF_*`` overrides.

    Raises:
        ConfigError: the file is not valid TOML, names an unknown setting, or a value has the
            wrong type; the message names the setting.
    """
    environ = os.environ if environ is None else environ
    path = data_dir / CONFIG_FILE
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = set(document) - set(_SECTION_TYPES)
    if unknown:
        raise ConfigError(f"{path}: unknown section [{sorted(unknown)[0]}]")
    sections = {
        name: _section(name, cls, document.get(name, {}), environ)
        for name, cls in _SECTION_TYPES.items()
    }
    return Settings(data_dir=data_dir, **sections)


def _section(name: str, cls: type, values: Any, environ: Mapping[str, str]) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"unknown setting {name}.{key}")
    merged: dict[str, Any] = {}
    for key, f in known.items():
        env_name = f"CHATPROOF_{name}_{key}".upper()
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        if env_name in environ:
            merged[key] = _coerce(environ[env_name], default, env_name)
        elif key in values:
            merged[key] = _check_type(values[key], default, f"{name}.{key}")
    return cls(**merged)


def _coerce(raw: str, default: Any, name: str) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = type(default).__name__
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    return raw


def _check_type(value: Any, default: Any, name: str) -> Any:
    expected = type(default)
    if expected is tuple and isinstance(value, list):
        return tuple(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be {expected.__name__}, got {value!r}")
    return value
