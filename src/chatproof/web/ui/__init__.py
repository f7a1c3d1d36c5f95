"""The inbox in the browser: server-rendered pages and a little JavaScript, no build step."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from chatproof.web.ui import admin, audit, dpo, home, inbox, login, statistics
from chatproof.web.ui.pages import HERE


def install(app: FastAPI) -> None:
    """Add the pages and their static files (the search index is kept current by the
    background work, ``web.background``)."""
    for module in (login, home, inbox, statistics, dpo, audit, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


__all__ = ["install"]
