"""The worker inside `supportbot serve` (unless `run_worker_in_serve` is off).

It starts after every channel (it is the last plugin) and sends through the senders of the
app's running channels (``app.state.channels``, built from the channel registry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.channels.registry import Channels
from bot.settings import Settings
from bot.worker.runner import Worker, worker_for

log = logging.getLogger(__name__)


def worker_plugin(
    app: FastAPI, settings: Settings, engine: Engine
) -> Callable[[], AbstractAsyncContextManager[None]] | None:
    """Run the worker for the app's lifetime."""
    if not settings.run_worker_in_serve:
        log.info("worker not started in serve (run `supportbot worker` separately)")
        return None

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        channels: Channels = app.state.channels
        worker: Worker = worker_for(engine=engine, settings=settings, channels=channels)
        app.state.worker = worker
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            worker.stop()
            await task

    return lifespan
