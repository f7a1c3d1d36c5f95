"""Errors of the WhatsApp Cloud API client, one class per platform error code that changes
what a sender must do.

ChannelError (chatproof.channels.errors)
├── ConnectionConfigError        a Connection is missing a field or has a bad one
├── MessageValidationError       a payload breaks a documented limit; nothing was sent
├── MediaError
│   ├── MediaIntegrityError      downloaded bytes do not match the announced SHA-256
│   └── MediaTooLarge            download exceeds the configured cap
└── CloudApiError                the Cloud API (or 360dialog) answered with an error
    ├── CloudApiUnavailable      network failure, timeout, 5xx, 131016, 131057, 2
    ├── RateLimited              130429 ThroughputExceeded, 131056 PairRateLimited,
    │                            4 AppRateLimited, 80007 AccountRateLimited
    ├── ReEngagementRequired     131047 (24-hour window closed)
    ├── Undeliverable            131026
    ├── SpamRateLimited          131048
    ├── EcosystemLimited         131049
    ├── MarketingStopped         131050
    ├── MarketingExperiment      130472
    ├── TemplateError            1320xx: TemplateParamMismatch 132000, TemplateNotFound 132001,
    │                            TemplatePaused 132015, TemplateDisabled 132016
    ├── InvalidToken             190, or a rejected 360dialog API key
    ├── InvalidParameter         100
    ├── TemporarilyBlocked       368
    └── AccountLocked            131031

The same classes come out of a synchronous HTTP error (``error_from_response``) and out of the
``errors[]`` objects in status webhooks (``error_from_platform``), so services handle a refusal
the same way whenever it arrives. Whether to retry is ``CloudApiError.retryable``; it follows the
reference's policy and never retries a refusal the policy gate must decide about (invariant 5).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from chatproof.channels.errors import ChannelError

__all__ = [
    "AccountLocked",
    "AccountRateLimited",
    "AppRateLimited",
    "CloudApiError",
    "CloudApiUnavailable",
    "ConnectionConfigError",
    "EcosystemLimited",
    "InvalidParameter",
    "InvalidToken",
    "MarketingExperiment",
    "MarketingStopped",
    "MediaError",
    "MediaIntegrityError",
    "MediaTooLarge",
    "MessageValidationError",
    "PairRateLimited",
    "RateLimited",
    "ReEngagementRequired",
    "SpamRateLimited",
    "TemplateDisabled",
    "TemplateError",
    "TemplateNotFound",
    "TemplateParamMismatch",
    "TemplatePaused",
    "TemporarilyBlocked",
    "ThroughputExceeded",
    "Undeliverable",
    "error_from_platform",
    "error_from_response",
]

RETRYABLE_CODES = frozenset({130429, 131056, 4, 80007, 131016, 131000, 131057, 1, 2})
NEVER_RETRY_CODES = frozenset({131047, 131026, 131049, 131050, 368, 100, 190})


class ConnectionConfigError(ChannelError):
    """The WhatsApp connection settings are incomplete or invalid; ``field`` names the key."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field} {reason}")


class MessageValidationError(ChannelError):
    """An outbound payload breaks a documented limit; ``field`` is its path in the JSON body."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class MediaError(ChannelError):
    """Downloaded media cannot be accepted."""


class MediaIntegrityError(MediaError):
    """The downloaded bytes do not hash to the SHA-256 the platform announced."""

    def __init__(self, expected: str, computed: str) -> None:
        self.expected = expected
        self.computed = computed
        super().__init__(f"media SHA-256 mismatch: expected {expected}, computed {computed}")


class MediaTooLarge(MediaError):
    """The media is larger than the client's download cap."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        self.limit = limit
        self.size = size
        seen = f"{size} bytes" if size is not None else "more"
        super().__init__(f"media is {seen}, over the {limit}-byte limit")


class CloudApiError(ChannelError):
    """The Cloud API or the provider's gateway refused or failed a request.

    ``code`` is the platform error code (``None`` for gateway and network errors) and
    ``http_status`` the HTTP status (``None`` for errors that arrived in a webhook).
    """

    default_retryable: ClassVar[bool | None] = None

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        error_type: str | None = None,
        details: str | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.error_type = error_type
        self.details = details
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = self.message or "Cloud API error"
        if self.code is not None and not text.startswith(f"(#{self.code})"):
            text = f"(#{self.code}) {text}"
        if self.details and self.details != self.message:
            text = f"{text}: {self.details}"
        if self.http_status is not None:
            text = f"{text} [HTTP {self.http_status}]"
        return text

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again later may succeed."""
        if self.code in NEVER_RETRY_CODES or (
            self.code is not None and 132000 <= self.code < 133000
        ):
            return False
        if self.code in RETRYABLE_CODES:
            return True
        if self.default_retryable is not None:
            return self.default_retryable
        return self.http_status is not None and (self.http_status >= 500 or self.http_status == 429)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"message={self.message!r})"
        )


class CloudApiUnavailable(CloudApiError):
    """The platform could not be reached or is temporarily unable to serve the request.

    A timeout on a send leaves its outcome unknown: the message may have gone out.
    """

    default_retryable = True


class RateLimited(CloudApiError):
    """A rate limit was hit; back off and retry."""

    default_retryable = True


class ThroughputExceeded(RateLimited):
    """130429: the number's messages-per-second throughput was exceeded."""


class PairRateLimited(RateLimited):
    """131056: too many messages to the same recipient in a short time."""


class AppRateLimited(RateLimited):
    """4: the app's Graph API call rate limit was reached."""


class AccountRateLimited(RateLimited):
    """80007: the WhatsApp Business Account's rate limit was reached."""


class ReEngagementRequired(CloudApiError):
    """131047: the 24-hour customer service window is closed; only templates may be sent."""


class Undeliverable(CloudApiError):
    """131026: the recipient cannot receive the message (not on WhatsApp, old client, ToS)."""


class SpamRateLimited(CloudApiError):
    """131048: the number is restricted because earlier messages were blocked or reported."""


class EcosystemLimited(CloudApiError):
    """131049: the per-user marketing cap held the message back; do not resend within 24 hours."""


class MarketingStopped(CloudApiError):
    """131050: the user stopped marketing messages from this business (an opt-out)."""


class MarketingExperiment(CloudApiError):
    """130472: the user is in Meta's marketing-message experiment group."""


class TemplateError(CloudApiError):
    """1320xx: the template or its parameters were rejected."""


class TemplateParamMismatch(TemplateError):
    """132000: the number of parameters does not match the template."""


class TemplateNotFound(TemplateError):
    """132001: the template does not exist in that language or is not approved."""


class TemplatePaused(TemplateError):
    """132015: the template is paused for low quality."""


class TemplateDisabled(TemplateError):
    """132016: the template was paused too often and is disabled for good."""


class InvalidToken(CloudApiError):
    """190: the access token expired or is invalid (or 360dialog rejected the API key)."""


class InvalidParameter(CloudApiError):
    """100: a field of the request is unsupported, misspelled or has a bad value."""


class TemporarilyBlocked(CloudApiError):
    """368: the account is temporarily blocked for policy violations."""


class AccountLocked(CloudApiError):
    """131031: the business account is locked or restricted."""


_CLASS_BY_CODE: dict[int, type[CloudApiError]] = {
    2: CloudApiUnavailable,
    4: AppRateLimited,
    100: InvalidParameter,
    190: InvalidToken,
    368: TemporarilyBlocked,
    80007: AccountRateLimited,
    130429: ThroughputExceeded,
    130472: MarketingExperiment,
    131016: CloudApiUnavailable,
    131026: Undeliverable,
    131031: AccountLocked,
    131047: ReEngagementRequired,
    131048: SpamRateLimited,
    131049: EcosystemLimited,
    131050: MarketingStopped,
    131056: PairRateLimited,
    131057: CloudApiUnavailable,
    132000: TemplateParamMismatch,
    132001: TemplateNotFound,
    132015: TemplatePaused,
    132016: TemplateDisabled,
}


def _class_for(code: int | None, http_status: int | None) -> type[CloudApiError]:
    if code is not None:
        if code in _CLASS_BY_CODE:
            return _CLASS_BY_CODE[code]
        if 132000 <= code < 133000:
            return TemplateError
        return CloudApiError
    if http_status == 401:
        return InvalidToken
    if http_status is not None and http_status >= 500:
        return CloudApiUnavailable
    return CloudApiError


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _details(error_data: object) -> str | None:
    if isinstance(error_data, Mapping):
        return _as_str(error_data.get("details"))
    return _as_str(error_data)


def error_from_platform(obj: Mapping[str, Any], *, http_status: int | None = None) -> CloudApiError:
    """Build the error for a ``{code, title, message, error_data{details}, href}`` object.

    These arrive in ``statuses[].errors``, ``value.errors`` and ``messages[].errors`` of
    webhooks, where the outcome of a send is decided after the HTTP call returned.
    """
    code = _as_int(obj.get("code"))
    message = _as_str(obj.get("message")) or _as_str(obj.get("title")) or "Cloud API error"
    cls = _class_for(code, http_status)
    return cls(
        message,
        code=code,
        details=_details(obj.get("error_data")) or _as_str(obj.get("details")),
        http_status=http_status,
    )


def _from_graph_error(status_code: int, error: Mapping[str, Any]) -> CloudApiError:
    code = _as_int(error.get("code"))
    cls = _class_for(code, status_code)
    return cls(
        _as_str(error.get("message")) or _as_str(error.get("error_user_msg")) or "Cloud API error",
        code=code,
        error_type=_as_str(error.get("type")),
        details=_details(error.get("error_data")),
        subcode=_as_int(error.get("error_subcode")),
        fbtrace_id=_as_str(error.get("fbtrace_id")),
        http_status=status_code,
    )


def _from_gateway(status_code: int, meta: Mapping[str, Any]) -> CloudApiError:
    http_code = _as_int(meta.get("httpCode", meta.get("http_code"))) or status_code
    message = (
        _as_str(meta.get("developerMessage"))
        or _as_str(meta.get("developer_message"))
        or _as_str(meta.get("message"))
        or "provider gateway error"
    )
    return _class_for(None, http_code)(message, error_type="gateway", http_status=http_code)


def _parse_json(body: bytes | str | Mapping[str, Any] | None) -> object:
    if body is None or isinstance(body, Mapping):
        return body
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def error_from_response(
    status_code: int, body: bytes | str | Mapping[str, Any] | None
) -> CloudApiError:
    """Build the error for an unsuccessful HTTP response of the Cloud API or 360dialog.

    Understands Meta's ``{"error": {...}}``, 360dialog's gateway
    ``{"meta": {"httpCode", "developerMessage", "success": false}}`` and the older
    ``{"errors": [{code, title, details}]}``; anything else (an HTML 502 page, an empty body)
    becomes a generic error carrying the status, retryable when the status is 5xx or 429.
    """
    data = _parse_json(body)
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):
            return _from_graph_error(status_code, error)
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            return error_from_platform(errors[0], http_status=status_code)
        meta = data.get("meta")
        if isinstance(meta, Mapping) and meta.get("success") is not True:
            return _from_gateway(status_code, meta)
    cls = _class_for(None, status_code)
    return cls(f"unexpected HTTP {status_code} response", http_status=status_code)
