"""The platform's error answers, worded and numbered like Meta's.

Clients are meant to branch on ``code`` and ``error_data.details`` (reference §2.3), so
those are what the emulator gets right; titles follow Meta's error-code table.

HTTP statuses, following Meta's error-code table and the OpenAPI description:

* 400 for invalid parameters (100), throughput (130429) and parameter-count (132000)
  errors. Meta answers throttling with 400, not 429: 429 appears only for the Graph app
  rate limit (code 4), which the emulator does not simulate.
* 401 for a wrong access token (190) and a missing one (104, as in the spec's
  ``Unauthorized`` examples), with a ``WWW-Authenticate`` header like Graph's.
* 404 for a template that does not exist in that language or is not approved (132001).
* 400 with ``GraphMethodException``, code 100, subcode 33 for an object id (phone number,
  media) that does not exist — Graph's "Unsupported get/post request" answer.

Plain Graph errors (190, 104, unknown object) carry no ``error_data``, like the real ones;
WhatsApp errors always do.
"""

from __future__ import annotations

from typing import Any

from chatproof.emulator.errors import GraphError

__all__ = [
    "ERROR_DOCS_URL",
    "TITLES",
    "error_body",
    "invalid_parameter",
    "missing_token",
    "pair_rate_limit_details",
    "status_error",
    "template_format_mismatch",
    "template_not_found",
    "template_param_mismatch",
    "throughput_exceeded",
    "unknown_object",
    "unknown_path",
    "wrong_token",
]

ERROR_DOCS_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

TITLES: dict[int, str] = {
    100: "Invalid parameter",
    130429: "Rate limit hit",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131050: "User has stopped marketing messages",
    131051: "Message type unknown",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132012: "Parameter format does not match format in the created template",
}

_DETAILS: dict[int, str] = {
    131026: "Message Undeliverable.",
    131047: (
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number."
    ),
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving "
        "marketing messages on WhatsApp from your business."
    ),
    131051: "Message type is currently not supported.",
    131052: "Unable to download the media sent by the business from its link.",
    131053: "Unable to upload the media used in the message.",
}


def _whatsapp_error(code: int, details: str, *, http_status: int = 400) -> GraphError:
    return GraphError(code, f"(#{code}) {TITLES[code]}", http_status=http_status, details=details)


def invalid_parameter(details: str) -> GraphError:
    """Code 100; ``details`` names the offending field, e.g. ``text['body']``."""
    return _whatsapp_error(100, details)


def throughput_exceeded(limit: int) -> GraphError:
    return _whatsapp_error(
        130429,
        "Message failed to send because there were too many messages sent from this phone "
        f"number in a short period of time (limit {limit} per second).",
    )


def template_not_found(name: str, language: str) -> GraphError:
    return _whatsapp_error(
        132001,
        f"template name ({name}) does not exist in {language}",
        http_status=404,
    )


def template_param_mismatch(component: str, given: int, expected: int) -> GraphError:
    return _whatsapp_error(
        132000,
        f"{component}: number of localizable_params ({given}) does not match the expected "
        f"number of params ({expected})",
    )


def template_format_mismatch(details: str) -> GraphError:
    return _whatsapp_error(132012, details)


def wrong_token() -> GraphError:
    return GraphError(
        190, "Invalid OAuth access token - Cannot parse access token", http_status=401
    )


def missing_token() -> GraphError:
    return GraphError(104, "An access token is required to request this resource.", http_status=401)


def unknown_object(object_id: str, method: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        error_type="GraphMethodException",
        subcode=33,
    )


def unknown_path(path: str) -> GraphError:
    return GraphError(2500, f"Unknown path components: {path}")


def pair_rate_limit_details() -> str:
    return (
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time."
    )


def error_body(error: GraphError, trace_id: str) -> dict[str, Any]:
    """The JSON body of a synchronous error answer."""
    inner: dict[str, Any] = {
        "message": error.message,
        "type": error.error_type,
        "code": error.code,
    }
    if error.details is not None:
        inner["error_data"] = {"messaging_product": "whatsapp", "details": error.details}
    if error.subcode is not None:
        inner["error_subcode"] = error.subcode
    inner["fbtrace_id"] = trace_id
    return {"error": inner}


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """An ``errors[]`` item of a ``failed`` status or an ``unsupported`` message."""
    title = TITLES[code]
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or _DETAILS.get(code, title)},
        "href": ERROR_DOCS_URL,
    }
