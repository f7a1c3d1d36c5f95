"""End-to-end fixtures: a real data directory, the real app, driven over HTTP in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatproof.bootstrap import Components, build
from chatproof.channels.whatsapp.signature import SIGNATURE_HEADER, sign
from chatproof.config import Settings, load_settings
from chatproof.datadir import initialise
from chatproof.web.app import create_app
from tests.support.databases import BACKENDS, scratch_database


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings_factory(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    data_dir = tmp_path / "data"
    initialise(data_dir)

    def make(**overrides: str) -> Settings:
        environ = {"CHATPROOF_DATABASE_URL": database_url, **overrides}
        return load_settings(data_dir, environ)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def components(settings: Settings) -> Iterator[Components]:
    built = build(settings)
    yield built
    built.close()


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., Any]]:
    """Open an HTTP client on a fresh app (lifespan running) for the given components."""
    stack: list[Any] = []

    async def open_client(components: Components, **kwargs: Any) -> httpx.AsyncClient:
        app = create_app(components, media_poll=0.05, **kwargs)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://chatproof")
        stack.append((lifespan, client))
        return client

    yield open_client
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def client(client_for: Callable[..., Any], components: Components) -> httpx.AsyncClient:
    return await client_for(components)


def signed(body: bytes, settings: Settings) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: sign(body, settings.whatsapp.app_secret),
        "Content-Type": "application/json",
    }
