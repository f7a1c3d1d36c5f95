"""How one emulated WhatsApp Business number behaves, in one frozen value.

The defaults mirror the platform (80 messages per second, five-minute media URLs, the ids
of Meta's own sample payloads); the timing knobs exist so tests can run in milliseconds and
benchmarks can push the limits on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from chatproof.emulator.errors import EmulatorError

__all__ = [
    "DEFAULT_DISPLAY_PHONE_NUMBER",
    "DEFAULT_MEDIA_URL_TTL",
    "DEFAULT_MESSAGES_PER_SECOND",
    "DEFAULT_PAIR_LIMIT_PER_MINUTE",
    "DEFAULT_PHONE_NUMBER_ID",
    "DEFAULT_WABA_ID",
    "ENV_PREFIX",
    "EmulatorSettings",
]

DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550783881"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_MESSAGES_PER_SECOND = 80
# Reported platform behaviour: bursts of about 45 messages to one customer, then ~1 per 6 s.
DEFAULT_PAIR_LIMIT_PER_MINUTE = 45
DEFAULT_STATUS_DELAY = 0.05
DEFAULT_MEDIA_URL_TTL = 300.0
DEFAULT_WEBHOOK_RETRY_BASE_DELAY = 1.0
DEFAULT_WEBHOOK_RETRY_MAX_DELAY = 30.0
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 50
DEFAULT_WEBHOOK_CONCURRENCY = 8
DEFAULT_WEBHOOK_TIMEOUT = 10.0
DEFAULT_WEBHOOK_LOG_LIMIT = 10_000
ENV_PREFIX = "CHATPROOF_EMULATOR_"


@dataclass(frozen=True)
class EmulatorSettings:
    """Settings of one emulator instance.

    ``app_secret`` signs webhooks (``X-Hub-Signature-256``); leave it empty to send unsigned
    webhooks like a 360dialog number, usually together with ``webhook_secret_header``.
    ``d360_api_key`` additionally enables the 360dialog paths (``POST /messages`` …).
    ``public_base_url`` is where clients reach the emulator (media download URLs point there);
    when None it is taken from each request. Any Graph version ``vN.M`` is accepted.

    Raises:
        EmulatorError: naming the setting whose value cannot work.
    """

    app_secret: str
    access_token: str
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER
    waba_id: str = DEFAULT_WABA_ID
    webhook_url: str | None = None
    d360_api_key: str | None = None
    public_base_url: str | None = None
    messages_per_second: int = DEFAULT_MESSAGES_PER_SECOND
    pair_limit_per_minute: int = DEFAULT_PAIR_LIMIT_PER_MINUTE
    status_delay: float = DEFAULT_STATUS_DELAY
    media_url_ttl: float = DEFAULT_MEDIA_URL_TTL
    webhook_retry_base_delay: float = DEFAULT_WEBHOOK_RETRY_BASE_DELAY
    webhook_retry_max_delay: float = DEFAULT_WEBHOOK_RETRY_MAX_DELAY
    webhook_max_attempts: int = DEFAULT_WEBHOOK_MAX_ATTEMPTS
    webhook_concurrency: int = DEFAULT_WEBHOOK_CONCURRENCY
    webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT
    webhook_secret_header: tuple[str, str] | None = None
    webhook_log_limit: int = DEFAULT_WEBHOOK_LOG_LIMIT
    random_seed: int | None = None

    def __post_init__(self) -> None:
        if not self.access_token:
            raise EmulatorError("access_token must not be empty")
        for name in ("phone_number_id", "display_phone_number", "waba_id"):
            if not getattr(self, name).isdigit():
                raise EmulatorError(f"{name} must be digits")
        positive_ints = (
            "messages_per_second",
            "pair_limit_per_minute",
            "webhook_max_attempts",
            "webhook_concurrency",
            "webhook_log_limit",
        )
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise EmulatorError(f"{name} must be at least 1")
        for name in ("status_delay", "webhook_retry_base_delay", "webhook_retry_max_delay"):
            if getattr(self, name) < 0:
                raise EmulatorError(f"{name} must not be negative")
        for name in ("media_url_ttl", "webhook_timeout"):
            if getattr(self, name) <= 0:
                raise EmulatorError(f"{name} must be positive")
        header = self.webhook_secret_header
        if header is not None and (len(header) != 2 or not header[0]):
            raise EmulatorError("webhook_secret_header must be a (name, value) pair")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EmulatorSettings:
        """Read ``CHATPROOF_EMULATOR_<FIELD>`` variables, e.g. ``…_ACCESS_TOKEN``.

        ``…_WEBHOOK_SECRET_HEADER`` is written ``Name: value``.

        Raises:
            EmulatorError: naming the variable that is missing or malformed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            key = ENV_PREFIX + spec.name.upper()
            if key not in env:
                continue
            raw = env[key]
            try:
                values[spec.name] = _parse(spec.name, str(spec.type), raw)
            except ValueError as exc:
                raise EmulatorError(f"{key}: {exc}") from None
        for required in ("app_secret", "access_token"):
            if required not in values:
                raise EmulatorError(f"{ENV_PREFIX}{required.upper()} is required")
        return cls(**values)  # type: ignore[arg-type]


def _parse(name: str, type_name: str, raw: str) -> object:
    if name == "webhook_secret_header":
        header, sep, value = raw.partition(":")
        if not sep:
            raise ValueError("expected 'Name: value'")
        return (header.strip(), value.strip())
    if "None" in type_name and raw == "":
        return None
    if type_name.startswith("int"):
        return int(raw)
    if type_name.startswith("float"):
        return float(raw)
    return raw
