"""The Cloud API's HTTP surface: Meta's Graph paths and 360dialog's variants.

Handlers check auth and the path, hand the body to the ``Emulator`` and render its answer;
every refusal is a ``GraphError`` rendered by ``graph_error_response`` exactly like Graph's,
headers included, because clients branch on them.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chatproof.emulator import graph_errors
from chatproof.emulator.engine import Emulator
from chatproof.emulator.errors import GraphError
from chatproof.emulator.media import ATTACHMENTS_PATH
from chatproof.emulator.outbound import UPLOAD_MIME_TYPES
from chatproof.emulator.templates import parse_submission, review_later

__all__ = ["d360_routes", "graph_error_response", "graph_routes"]

_VERSION = re.compile(r"v\d+\.\d+")
D360_KEY_HEADER = "D360-API-KEY"


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def graph_error_response(error: GraphError, emulator: Emulator) -> JSONResponse:
    trace_id = emulator.ids.trace_id()
    headers = {"x-fb-trace-id": trace_id, "x-fb-request-id": trace_id}
    if error.http_status == 401:
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{error.message}"'
    return JSONResponse(
        graph_errors.error_body(error, trace_id), status_code=error.http_status, headers=headers
    )


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    return request.query_params.get("access_token")


def _authorize(request: Request, emulator: Emulator) -> None:
    """Check the Graph path version and Bearer token. Raises: GraphError."""
    version = request.path_params.get("version", "")
    if not _VERSION.fullmatch(version):
        raise graph_errors.unknown_path(request.url.path)
    emulator.check_token(_bearer_token(request))


def _check_phone(request: Request, emulator: Emulator) -> None:
    phone_number_id = request.path_params["phone_number_id"]
    if phone_number_id != emulator.settings.phone_number_id:
        raise graph_errors.unknown_object(phone_number_id, request.method)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise graph_errors.invalid_parameter("Invalid JSON in request body") from None


async def _upload(request: Request, emulator: Emulator) -> dict[str, str]:
    async with request.form() as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise graph_errors.invalid_parameter("The parameter file is required.")
        if form.get("messaging_product") != "whatsapp":
            raise graph_errors.invalid_parameter(
                "The parameter messaging_product is required and must be whatsapp."
            )
        declared = form.get("type")
        mime_type = declared if isinstance(declared, str) and declared else file.content_type
        if not mime_type or "/" not in mime_type:
            raise graph_errors.invalid_parameter("Param type must be the MIME type of the file.")
        if mime_type not in UPLOAD_MIME_TYPES:
            raise graph_errors.invalid_parameter(
                "Param file must be a file with one of the following types: "
                f"{', '.join(UPLOAD_MIME_TYPES)}. Received file of type '{mime_type}'."
            )
        content = await file.read()
        if not content:
            raise graph_errors.invalid_parameter("Param file must not be empty.")
        return emulator.upload_media(content, mime_type, file.filename)


async def send_message(request: Request) -> Response:
    emulator = _emulator(request)
    _authorize(request, emulator)
    _check_phone(request, emulator)
    return JSONResponse(emulator.send(await _json_body(request)))


async def upload_media(request: Request) -> Response:
    emulator = _emulator(request)
    _authorize(request, emulator)
    _check_phone(request, emulator)
    return JSONResponse(await _upload(request, emulator))


async def message_templates(request: Request) -> Response:
    """``GET /{version}/{waba-id}/message_templates``: the account's templates, one page,
    optionally filtered by ``name`` (as WhatsApp Manager holds them). ``POST``: submit a new
    template for review; it is PENDING until the emulated review decides."""
    emulator = _emulator(request)
    _authorize(request, emulator)
    waba_id = request.path_params["waba_id"]
    if waba_id != emulator.settings.waba_id:
        raise graph_errors.unknown_object(waba_id, request.method)
    registry = emulator.templates
    if request.method == "POST":
        template = parse_submission(await _json_body(request))
        if registry.get(template.name, template.language) is not None:
            raise graph_errors.invalid_parameter(
                f"Content in this language already exists for template {template.name}."
            )
        registry.add(template)
        if registry.review_seconds is not None:
            review_later(emulator, template, registry.review_seconds)
        answer = {
            "id": registry.id_of(template),
            "status": template.status.value,
            "category": template.category.value.upper(),
        }
        return JSONResponse(answer)
    name = request.query_params.get("name")
    found = [t for t in registry.all() if name is None or t.name == name]
    data = [t.to_graph(registry.id_of(t)) for t in found]
    cursors = {"before": "MAZDZD", "after": "MjQZD"}
    return JSONResponse({"data": data, "paging": {"cursors": cursors}})


def _phone_number_info(emulator: Emulator) -> dict[str, Any]:
    settings = emulator.settings
    return {
        "verified_name": "chatproof emulator",
        "display_phone_number": f"+{settings.display_phone_number}",
        "id": settings.phone_number_id,
        "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
    }


async def graph_object(request: Request) -> Response:
    """``GET``/``DELETE /{version}/{id}``: a media object, or the phone number itself."""
    emulator = _emulator(request)
    _authorize(request, emulator)
    object_id = request.path_params["object_id"]
    if object_id == emulator.settings.phone_number_id and request.method == "GET":
        return JSONResponse(_phone_number_info(emulator))
    return _media_object(request, emulator, object_id)


def _media_object(request: Request, emulator: Emulator, media_id: str) -> Response:
    owner = request.query_params.get("phone_number_id")
    if owner is not None and owner != emulator.settings.phone_number_id:
        raise graph_errors.invalid_parameter("Param phone_number_id does not own this media.")
    if request.method == "DELETE":
        return JSONResponse(emulator.delete_media(media_id))
    return JSONResponse(emulator.media_info(media_id, str(request.base_url)))


def _d360_key_valid(request: Request, emulator: Emulator) -> bool:
    expected = emulator.settings.d360_api_key
    given = request.headers.get(D360_KEY_HEADER)
    return (
        expected is not None
        and given is not None
        and hmac.compare_digest(given.encode(), expected.encode())
    )


async def download_media(request: Request) -> Response:
    """The media bytes behind a URL from ``GET /{media-id}``; auth as for the API itself."""
    emulator = _emulator(request)
    if not _d360_key_valid(request, emulator):
        emulator.check_token(_bearer_token(request))
    query = request.query_params
    media = emulator.download(query.get("mid", ""), query.get("ext", ""), query.get("hash", ""))
    if media is None:
        return Response(status_code=404)
    headers = {}
    if media.filename:
        headers["Content-Disposition"] = f'attachment; filename="{media.filename}"'
    return Response(media.content, media_type=media.mime_type, headers=headers)


def _d360_denied() -> JSONResponse:
    body = {"meta": {"success": False, "httpCode": 401, "developerMessage": "Invalid api key"}}
    return JSONResponse(body, status_code=401)


async def d360_send(request: Request) -> Response:
    emulator = _emulator(request)
    if not _d360_key_valid(request, emulator):
        return _d360_denied()
    return JSONResponse(emulator.send(await _json_body(request)))


async def d360_upload(request: Request) -> Response:
    emulator = _emulator(request)
    if not _d360_key_valid(request, emulator):
        return _d360_denied()
    return JSONResponse(await _upload(request, emulator))


async def d360_media(request: Request) -> Response:
    emulator = _emulator(request)
    if not _d360_key_valid(request, emulator):
        return _d360_denied()
    return _media_object(request, emulator, request.path_params["media_id"])


async def d360_webhook_config(request: Request) -> Response:
    """360dialog's ``/v1/configs/webhook``: ``{"url": …, "headers": {…}}``."""
    emulator = _emulator(request)
    if not _d360_key_valid(request, emulator):
        return _d360_denied()
    if request.method == "POST":
        body = await _json_body(request)
        url = body.get("url") if isinstance(body, dict) else None
        headers = body.get("headers", {}) if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise graph_errors.invalid_parameter("Param url must be an http(s) URL.")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise graph_errors.invalid_parameter("Param headers must map names to strings.")
        emulator.webhooks.configure(url, headers)
    return JSONResponse({"url": emulator.webhooks.target.url})


def graph_routes() -> list[BaseRoute]:
    return [
        Route(ATTACHMENTS_PATH, download_media, methods=["GET"]),
        Route("/{version}/{phone_number_id}/messages", send_message, methods=["POST"]),
        Route("/{version}/{phone_number_id}/media", upload_media, methods=["POST"]),
        Route("/{version}/{waba_id}/message_templates", message_templates, methods=["GET", "POST"]),
        Route("/{version}/{object_id}", graph_object, methods=["GET", "DELETE"]),
    ]


def d360_routes() -> list[BaseRoute]:
    return [
        Route("/messages", d360_send, methods=["POST"]),
        Route("/media", d360_upload, methods=["POST"]),
        Route("/v1/configs/webhook", d360_webhook_config, methods=["GET", "POST"]),
        Route("/{media_id}", d360_media, methods=["GET", "DELETE"]),
    ]
