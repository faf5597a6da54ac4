"""The HTTP application: health probes, the running channels' routes and lifespans, plugins."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from bot.channels.registry import Channels
from bot.settings import Settings

log = logging.getLogger(__name__)

# A plugin (the worker; one channel alone with `ChannelEntry.plugin`) may add routes and
# return an async context manager factory for its background work.
AppPlugin = Callable[[FastAPI, Settings, Engine], Callable[[], Any] | None]


def create_app(
    *,
    settings: Settings,
    engine: Engine,
    channels: Channels | None = None,
    plugins: list[AppPlugin] | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The FastAPI app serving probes, the channels' routes, and whatever the plugins mount.

    The running channels are on ``app.state.channels`` (the worker takes its senders there).
    With `freeze_heap` (a serve process), what start-up loaded is frozen once started: see
    `freeze_start_up_heap`.
    """
    running = channels if channels is not None else Channels()
    lifespans: list[Callable[[], Any]] = [running.lifespan]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for factory in lifespans:
                await stack.enter_async_context(factory())
            if freeze_heap:
                freeze_start_up_heap()
            yield

    docs = settings.api_docs
    app = FastAPI(
        title="supportbot",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.channels = running

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

    running.mount(app)
    for plugin in plugins or []:
        factory = plugin(app, settings, engine)
        if factory is not None:
            lifespans.append(factory)
    return app


def freeze_start_up_heap() -> None:
    """Move what start-up loaded (modules, packs, catalogs, translations: some 230,000
    objects) out of the garbage collector's reach.

    A full collection walked them all and took 135–250 ms, during which no event of the
    process moved: one landing in a burst of chats added that to every reply in flight. Frozen
    (`gc.freeze`, once the process has started), they are never walked again; everything
    allocated later is collected as usual.
    """
    gc.collect()
    gc.freeze()
    log.debug("start-up heap frozen: %d objects", gc.get_freeze_count())
