"""Assembles the HTTP app with the channels that are configured."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from bot.app import AppPlugin, create_app
from bot.settings import Settings


def build_app(*, settings: Settings, engine: Engine) -> FastAPI:
    """The production app: probes plus every configured channel and the worker."""
    plugins: list[AppPlugin] = []
    return create_app(settings=settings, engine=engine, plugins=plugins)
