"""Assembles the HTTP app: the registry's enabled channels, then the worker."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.app import create_app
from bot.channels import builtin, registry
from bot.channels.registry import ChannelRuntime
from bot.settings import Settings, get_settings
from bot.web.pages import dashboard_plugin
from bot.worker.plugin import worker_plugin


class UnsafeConfigurationError(RuntimeError):
    """The settings would expose an unauthenticated webhook; one line says which and how."""


def build_app(
    *,
    settings: Settings,
    engine: Engine,
    channels: registry.Registry | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The production app: probes, every enabled channel of the registry, and the worker
    (`freeze_heap`: a serve process, see `bot.app.freeze_start_up_heap`)."""
    chosen = channels or builtin.install()
    refused = chosen.refusals(settings)
    if refused:
        raise UnsafeConfigurationError(refused[0])
    running = chosen.build(ChannelRuntime(settings=settings, engine=engine))
    return create_app(
        settings=settings,
        engine=engine,
        channels=running,
        plugins=[worker_plugin, dashboard_plugin()],
        freeze_heap=freeze_heap,
    )


def app_from_settings() -> FastAPI:
    """The production app of a serve process, from the environment's settings (`supportbot
    serve --workers N` builds one in each process)."""
    from bot.db.engine import get_engine
    from bot.redact import configure_logging

    settings = get_settings()
    configure_logging(settings)
    return build_app(settings=settings, engine=get_engine(), freeze_heap=True)
