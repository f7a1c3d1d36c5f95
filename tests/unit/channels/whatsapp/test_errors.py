"""Error mapping: Graph error bodies, 360dialog gateway bodies, anything else, and the error
objects of status webhooks all land on the same classes with the same retry policy."""

from __future__ import annotations

import json

import pytest

from chatproof.channels.errors import ChannelError
from chatproof.channels.whatsapp.errors import (
    AccountLocked,
    AccountRateLimited,
    AppRateLimited,
    CloudApiError,
    CloudApiUnavailable,
    EcosystemLimited,
    InvalidParameter,
    InvalidToken,
    MarketingExperiment,
    MarketingStopped,
    PairRateLimited,
    RateLimited,
    ReEngagementRequired,
    SpamRateLimited,
    TemplateDisabled,
    TemplateError,
    TemplateNotFound,
    TemplateParamMismatch,
    TemplatePaused,
    TemporarilyBlocked,
    ThroughputExceeded,
    Undeliverable,
    error_from_platform,
    error_from_response,
)


def graph_body(code: int, **extra: object) -> bytes:
    error: dict[str, object] = {
        "message": f"(#{code}) Some title",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": "What went wrong"},
        "fbtrace_id": "AbCdEf",
    }
    error.update(extra)
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        (130429, ThroughputExceeded, True),
        (131056, PairRateLimited, True),
        (4, AppRateLimited, True),
        (80007, AccountRateLimited, True),
        (131016, CloudApiUnavailable, True),
        (131057, CloudApiUnavailable, True),
        (2, CloudApiUnavailable, True),
        (131000, CloudApiError, True),
        (1, CloudApiError, True),
        (131047, ReEngagementRequired, False),
        (131026, Undeliverable, False),
        (131048, SpamRateLimited, False),
        (131049, EcosystemLimited, False),
        (131050, MarketingStopped, False),
        (130472, MarketingExperiment, False),
        (132000, TemplateParamMismatch, False),
        (132001, TemplateNotFound, False),
        (132005, TemplateError, False),
        (132015, TemplatePaused, False),
        (132016, TemplateDisabled, False),
        (190, InvalidToken, False),
        (100, InvalidParameter, False),
        (368, TemporarilyBlocked, False),
        (131031, AccountLocked, False),
        (131030, CloudApiError, False),
    ],
)
def test_graph_error_codes_map_to_classes(
    code: int, cls: type[CloudApiError], retryable: bool
) -> None:
    error = error_from_response(400, graph_body(code))
    assert type(error) is cls
    assert error.code == code
    assert error.retryable is retryable
    assert isinstance(error, ChannelError)


def test_graph_error_carries_every_field() -> None:
    error = error_from_response(400, graph_body(131047, error_subcode=2494010))
    assert error.message == "(#131047) Some title"
    assert error.error_type == "OAuthException"
    assert error.details == "What went wrong"
    assert error.subcode == 2494010
    assert error.fbtrace_id == "AbCdEf"
    assert error.http_status == 400
    assert str(error) == "(#131047) Some title: What went wrong [HTTP 400]"
    assert str(error_from_platform({"code": 4, "message": "Slow"})) == "(#4) Slow"
    assert "ReEngagementRequired(code=131047" in repr(error)


def test_graph_error_accepts_a_mapping_and_string_codes() -> None:
    body = {"error": {"message": "Rate limit", "code": "130429", "error_data": "slow down"}}
    error = error_from_response(400, body)
    assert isinstance(error, ThroughputExceeded)
    assert isinstance(error, RateLimited)
    assert error.details == "slow down"


def test_never_retry_codes_win_over_a_5xx_status() -> None:
    assert error_from_response(500, graph_body(131047)).retryable is False
    assert error_from_response(503, graph_body(132001)).retryable is False
    assert error_from_response(500, graph_body(131030)).retryable is True


@pytest.mark.parametrize(
    ("status", "meta", "cls", "retryable"),
    [
        (401, {"httpCode": 401, "developerMessage": "Invalid api key"}, InvalidToken, False),
        (403, {"httpCode": 403, "developerMessage": "Blocked path"}, CloudApiError, False),
        (400, {"httpCode": 400, "developerMessage": "Usage limit"}, CloudApiError, False),
        (502, {"http_code": 502, "developer_message": "Bad gateway"}, CloudApiUnavailable, True),
        (429, {"httpCode": 429, "developerMessage": "Too many"}, CloudApiError, True),
    ],
)
def test_360dialog_gateway_errors(
    status: int, meta: dict[str, object], cls: type[CloudApiError], retryable: bool
) -> None:
    body = json.dumps({"meta": {**meta, "success": False}}).encode()
    error = error_from_response(status, body)
    assert type(error) is cls
    assert error.code is None
    assert error.http_status == status
    assert error.error_type == "gateway"
    assert error.message == (meta.get("developerMessage") or meta.get("developer_message"))
    assert error.retryable is retryable


def test_360dialog_passes_graph_errors_through() -> None:
    error = error_from_response(400, graph_body(131050))
    assert isinstance(error, MarketingStopped)


@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (502, b"<html><body>502 Bad Gateway</body></html>", CloudApiUnavailable, True),
        (504, b"", CloudApiUnavailable, True),
        (500, None, CloudApiUnavailable, True),
        (404, b"not found", CloudApiError, False),
        (400, b"[1, 2]", CloudApiError, False),
        (401, b"\xff\xfe", InvalidToken, False),
    ],
)
def test_anything_else_becomes_a_generic_error_with_the_status(
    status: int, body: bytes | None, cls: type[CloudApiError], retryable: bool
) -> None:
    error = error_from_response(status, body)
    assert type(error) is cls
    assert error.http_status == status
    assert error.code is None
    assert error.retryable is retryable
    assert f"HTTP {status}" in str(error)


def test_legacy_errors_list_shape() -> None:
    body = {"errors": [{"code": 131026, "title": "Message undeliverable", "details": "no"}]}
    error = error_from_response(400, body)
    assert isinstance(error, Undeliverable)
    assert error.details == "no"
    assert error.http_status == 400


def test_error_from_platform_for_status_webhooks() -> None:
    # Shape of statuses[].errors[] (SPEC StatusError, META-STATUS).
    obj = {
        "code": 131026,
        "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Unable to deliver the message."},
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    }
    error = error_from_platform(obj)
    assert isinstance(error, Undeliverable)
    assert error.code == 131026
    assert error.details == "Unable to deliver the message."
    assert error.http_status is None
    assert error.retryable is False


def test_error_from_platform_uses_title_without_message() -> None:
    error = error_from_platform({"code": 130429, "title": "Rate limit hit"})
    assert isinstance(error, ThroughputExceeded)
    assert error.message == "Rate limit hit"
    assert error.retryable is True
    assert isinstance(error_from_platform({"title": "x"}), CloudApiError)
    assert error_from_platform({}).retryable is False


def test_unavailable_is_retryable_without_status() -> None:
    error = CloudApiUnavailable("send timed out")
    assert error.retryable is True
    assert str(error) == "send timed out"
