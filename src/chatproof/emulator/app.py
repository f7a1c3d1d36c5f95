"""The emulator as an ASGI app: Graph routes, 360dialog routes, the control API.

``create_app`` wires one ``Emulator`` to Starlette; the lifespan starts and stops its
background work, so anything driving the app in-process must run the lifespan too. Under
uvicorn: ``uvicorn --factory chatproof.emulator.app:app_from_env`` with
``CHATPROOF_EMULATOR_APP_SECRET`` and ``CHATPROOF_EMULATOR_ACCESS_TOKEN`` set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from chatproof.emulator import graph_errors
from chatproof.emulator.clock import EmulatorClock
from chatproof.emulator.control import control_error_response, control_routes
from chatproof.emulator.engine import Emulator
from chatproof.emulator.errors import ControlError, GraphError
from chatproof.emulator.graph import d360_routes, graph_error_response, graph_routes
from chatproof.emulator.settings import EmulatorSettings

__all__ = ["CONTROL_PREFIX", "app_from_env", "create_app"]

CONTROL_PREFIX = "/_emulator"


def create_app(
    settings: EmulatorSettings,
    *,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    clock: EmulatorClock | None = None,
) -> Starlette:
    """An emulated Cloud API for one business number.

    With ``webhook_transport``, webhooks are posted through it (e.g. ``httpx.ASGITransport``
    to deliver into an app in the same process). The ``Emulator`` is at ``app.state.emulator``.
    """
    emulator = Emulator(settings, clock=clock, webhook_transport=webhook_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    async def on_graph_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GraphError)
        return graph_error_response(exc, emulator)

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        return control_error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(CONTROL_PREFIX):
            return JSONResponse({"error": {"message": exc.detail, "field": ""}}, exc.status_code)
        if exc.status_code == 405:
            error = graph_errors.unknown_object(request.url.path.strip("/"), request.method)
        else:
            error = graph_errors.unknown_path(request.url.path)
        return graph_error_response(error, emulator)

    routes = [Mount(CONTROL_PREFIX, routes=control_routes()), *graph_routes()]
    if settings.d360_api_key is not None:
        routes.extend(d360_routes())
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            GraphError: on_graph_error,
            ControlError: on_control_error,
            HTTPException: on_http_error,
        },
    )
    app.state.emulator = emulator
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory``: settings from ``CHATPROOF_EMULATOR_*``.

    Raises:
        EmulatorError: naming a missing or malformed variable.
    """
    return create_app(EmulatorSettings.from_env())
