"""Assembles the HTTP app with the channels that are configured."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.app import AppPlugin, create_app
from bot.channels.slack.plugin import slack_plugin
from bot.channels.telegram.plugin import telegram_plugin
from bot.settings import Settings
from bot.worker.plugin import worker_plugin


def build_app(*, settings: Settings, engine: Engine) -> FastAPI:
    """The production app: probes plus every configured channel and the worker."""
    plugins: list[AppPlugin] = [telegram_plugin, slack_plugin, worker_plugin]
    return create_app(settings=settings, engine=engine, plugins=plugins)
