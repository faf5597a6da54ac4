"""The HTTP application: health probes, and the channels' webhooks as they are enabled."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from bot.settings import Settings

log = logging.getLogger(__name__)

# A channel plugs into the app with a function that may add routes and return an async
# context manager factory for its background work (senders, polling).
AppPlugin = Callable[[FastAPI, Settings, Engine], Callable[[], Any] | None]


def create_app(
    *,
    settings: Settings,
    engine: Engine,
    plugins: list[AppPlugin] | None = None,
    background: list[Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    """The FastAPI app serving probes and whatever the plugins mount."""
    lifespans: list[Callable[[], Any]] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for factory in lifespans:
                await stack.enter_async_context(factory())
            yield

    app = FastAPI(title="supportbot", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """The database answers."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not ready"
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "error"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    for plugin in plugins or []:
        factory = plugin(app, settings, engine)
        if factory is not None:
            lifespans.append(factory)
    return app
