"""The worker inside `supportbot serve` (unless `run_worker_in_serve` is off).

Channel plugins publish their outbox sender on the app's state as ``<channel>_sender``
(``app.state.slack_sender``) or append it to ``app.state.senders``; the worker starts after
every channel (it is the last plugin) and sends through them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.settings import Settings
from bot.worker.runner import Worker, default_senders
from bot.worker.senders import Sender

log = logging.getLogger(__name__)


def published_senders(app: FastAPI, settings: Settings) -> list[Sender]:
    """The senders the channel plugins published, plus the configured defaults (one each)."""
    state: dict[str, object] = getattr(app.state, "_state", {})
    published = state.get("senders")
    found: list[object] = list(published) if isinstance(published, list | tuple) else []
    found += [value for name, value in sorted(state.items()) if name.endswith("_sender")]
    chosen: dict[str, Sender] = {}
    for candidate in [*found, *default_senders(settings)]:
        if isinstance(candidate, Sender) and candidate.channel not in chosen:
            chosen[candidate.channel] = candidate
    return list(chosen.values())


def worker_plugin(
    app: FastAPI, settings: Settings, engine: Engine
) -> Callable[[], AbstractAsyncContextManager[None]] | None:
    """Run the worker for the app's lifetime."""
    if not settings.run_worker_in_serve:
        log.info("worker not started in serve (run `supportbot worker` separately)")
        return None

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        worker = Worker(engine=engine, settings=settings, senders=published_senders(app, settings))
        app.state.worker = worker
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            worker.stop()
            await task

    return lifespan
