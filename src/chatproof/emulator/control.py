"""The ``/_emulator`` control API: play the customers, inspect and steer the platform.

A local test tool, so no auth. Every route parses JSON, calls one ``Emulator`` method and
renders JSON; a ``ControlError`` becomes ``{"error": {"message", "field"}}`` with its status.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chatproof.emulator.engine import Emulator
from chatproof.emulator.errors import ControlError
from chatproof.emulator.templates import Template, TemplateStatus, decide

__all__ = ["control_error_response", "control_routes"]

DEFAULT_FLUSH_TIMEOUT = 10.0


def control_error_response(error: ControlError) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": error.message, "field": error.field}}, status_code=error.status
    )


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw and optional:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError("the body must be JSON", field="body") from None
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object", field="body")
    return data


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{key} must be a non-negative number", field=key)
    return float(value)


async def customers(request: Request) -> Response:
    emulator = _emulator(request)
    now = emulator.clock.now()
    if request.method == "GET":
        return JSONResponse({"data": [c.to_json(now) for c in emulator.state.customers.values()]})
    customer, created = emulator.upsert_customer(await _body(request))
    return JSONResponse(customer.to_json(now), status_code=201 if created else 200)


async def customer(request: Request) -> Response:
    emulator = _emulator(request)
    wa_id = request.path_params["wa_id"]
    if request.method == "PATCH":
        found = emulator.update_customer(wa_id, await _body(request))
    else:
        found = emulator.customer(wa_id)
    return JSONResponse(found.to_json(emulator.clock.now()))


async def customer_messages(request: Request) -> Response:
    emulator = _emulator(request)
    inbound, delivery = emulator.customer_sends(request.path_params["wa_id"], await _body(request))
    return JSONResponse(
        {"id": inbound.id, "message": inbound.message, "delivery_id": delivery.id}, status_code=201
    )


async def customer_marketing(request: Request) -> Response:
    emulator = _emulator(request)
    body = await _body(request)
    delivery = emulator.set_marketing(request.path_params["wa_id"], body.get("value"))
    return JSONResponse({"delivery_id": delivery.id})


async def inbound(request: Request) -> Response:
    emulator = _emulator(request)
    return JSONResponse({"data": [m.to_json() for m in emulator.state.inbound.values()]})


async def sent(request: Request) -> Response:
    emulator = _emulator(request)
    to = request.query_params.get("to")
    status = request.query_params.get("status")
    data = [
        m.to_json()
        for m in emulator.state.sent.values()
        if (to is None or m.wa_id == to) and (status is None or m.status == status)
    ]
    return JSONResponse({"data": data})


async def sent_message(request: Request) -> Response:
    emulator = _emulator(request)
    message = emulator.state.sent.get(request.path_params["wamid"])
    if message is None:
        raise ControlError("no such sent message", field="wamid", status=404)
    return JSONResponse(message.to_json())


async def sent_play(request: Request) -> Response:
    delivery = _emulator(request).play(request.path_params["wamid"])
    return JSONResponse({"delivery_id": delivery.id})


async def clock(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "POST":
        seconds = _number(await _body(request), "seconds", 0.0)
        emulator.clock.advance(seconds)
    return JSONResponse({"now": emulator.clock.now(), "offset": emulator.clock.offset})


async def templates(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "GET":
        return JSONResponse({"data": [t.to_json() for t in emulator.templates.all()]})
    template = emulator.templates.add(Template.from_json(await _body(request)))
    return JSONResponse(template.to_json(), status_code=201)


async def template_review(request: Request) -> Response:
    """Decide the review of a submitted template now: ``{"status": "APPROVED"|"REJECTED",
    "reason": …}``; the business gets the status webhook."""
    body = await _body(request)
    try:
        status = TemplateStatus(str(body.get("status", "")).upper())
    except ValueError:
        raise ControlError(
            "status must be APPROVED, PENDING, REJECTED or PAUSED", field="status"
        ) from None
    reason = body.get("reason", "NONE")
    if not isinstance(reason, str):
        raise ControlError("reason must be a string", field="reason")
    params = request.path_params
    decided = decide(_emulator(request), params["name"], params["language"], status, reason)
    return JSONResponse(decided.to_json())


async def template_reviews(request: Request) -> Response:
    """How long the emulated review of a submitted template takes: ``{"seconds": n}``, or
    ``null`` to leave every submission PENDING until ``…/review`` decides."""
    registry = _emulator(request).templates
    if request.method == "PUT":
        body = await _body(request)
        seconds = body.get("seconds")
        if seconds is not None:
            seconds = _number(body, "seconds", 0.0)
        registry.review_seconds = seconds
    return JSONResponse({"seconds": registry.review_seconds})


async def webhooks(request: Request) -> Response:
    emulator = _emulator(request)
    pending_only = request.query_params.get("pending") in ("1", "true", "yes")
    deliveries = emulator.webhooks.deliveries(pending_only=pending_only)
    return JSONResponse(
        {"data": [d.to_json() for d in deliveries], "pending": emulator.webhooks.pending}
    )


async def webhook(request: Request) -> Response:
    emulator = _emulator(request)
    delivery = emulator.webhooks.get(request.path_params["delivery_id"])
    if delivery is None:
        raise ControlError("no such delivery", field="delivery_id", status=404)
    return JSONResponse(delivery.to_json(include_body=True))


async def webhook_replay(request: Request) -> Response:
    emulator = _emulator(request)
    copy = emulator.webhooks.replay(request.path_params["delivery_id"])
    if copy is None:
        raise ControlError("no such delivery", field="delivery_id", status=404)
    return JSONResponse(copy.to_json(), status_code=201)


async def webhooks_flush(request: Request) -> Response:
    """Retry waiting deliveries now and wait until everything is out (504 on timeout)."""
    emulator = _emulator(request)
    timeout = _number(await _body(request, optional=True), "timeout", DEFAULT_FLUSH_TIMEOUT)
    settled = await emulator.settle(timeout)
    failed = sum(1 for d in emulator.webhooks.deliveries() if d.state == "failed")
    body = {
        "settled": settled,
        "pending": emulator.webhooks.pending,
        "statuses_in_progress": emulator.statuses.in_progress,
        "failed": failed,
    }
    return JSONResponse(body, status_code=200 if settled else 504)


async def webhooks_config(request: Request) -> Response:
    emulator = _emulator(request)
    if request.method == "PUT":
        body = await _body(request)
        url = body.get("url")
        headers = body.get("headers", {})
        if url is not None and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            raise ControlError("url must be an http(s) URL or null", field="url")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ControlError("headers must map header names to strings", field="headers")
        emulator.webhooks.configure(url, headers)
    target = emulator.webhooks.target
    return JSONResponse({"url": target.url, "headers": dict(target.headers)})


async def webhooks_verify(request: Request) -> Response:
    """Run Meta's subscription handshake (``hub.challenge``) against the webhook URL."""
    emulator = _emulator(request)
    body = await _body(request)
    token = body.get("verify_token")
    if not isinstance(token, str):
        raise ControlError("verify_token is required", field="verify_token")
    url = emulator.webhooks.target.url
    if url is None:
        raise ControlError("no webhook URL is configured", field="url", status=409)
    challenge = str(emulator.ids.rng.randrange(10**9, 10**10))
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
    async with httpx.AsyncClient(transport=emulator.webhooks.transport) as client:
        try:
            response = await client.get(
                url, params=params, timeout=emulator.settings.webhook_timeout
            )
        except httpx.HTTPError as exc:
            raise ControlError(
                f"the webhook URL did not answer: {type(exc).__name__}", field="url", status=502
            ) from None
    verified = response.status_code == 200 and response.text == challenge
    return JSONResponse({"verified": verified, "status_code": response.status_code})


def control_routes() -> list[BaseRoute]:
    return [
        Route("/customers", customers, methods=["GET", "POST"]),
        Route("/customers/{wa_id}", customer, methods=["GET", "PATCH"]),
        Route("/customers/{wa_id}/messages", customer_messages, methods=["POST"]),
        Route("/customers/{wa_id}/marketing", customer_marketing, methods=["POST"]),
        Route("/inbound", inbound, methods=["GET"]),
        Route("/sent", sent, methods=["GET"]),
        Route("/sent/{wamid}", sent_message, methods=["GET"]),
        Route("/sent/{wamid}/play", sent_play, methods=["POST"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/templates", templates, methods=["GET", "POST"]),
        Route("/templates/review", template_reviews, methods=["GET", "PUT"]),
        Route("/templates/{name}/{language}/review", template_review, methods=["POST"]),
        Route("/webhooks", webhooks, methods=["GET"]),
        Route("/webhooks/flush", webhooks_flush, methods=["POST"]),
        Route("/webhooks/config", webhooks_config, methods=["GET", "PUT"]),
        Route("/webhooks/verify", webhooks_verify, methods=["POST"]),
        Route("/webhooks/{delivery_id:int}", webhook, methods=["GET"]),
        Route("/webhooks/{delivery_id:int}/replay", webhook_replay, methods=["POST"]),
    ]
