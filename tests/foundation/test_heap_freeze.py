"""A serve process freezes its start-up heap once started (the collector never walks it
again); other apps (tests, tools) leave the collector as it is."""

from __future__ import annotations

import gc

from sqlalchemy import Engine

from bot.app import create_app
from bot.settings import Settings


async def test_a_serve_app_freezes_what_start_up_loaded(engine: Engine) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    gc.unfreeze()
    try:
        plain = create_app(settings=settings, engine=engine)
        async with plain.router.lifespan_context(plain):
            assert gc.get_freeze_count() == 0
        serving = create_app(settings=settings, engine=engine, freeze_heap=True)
        async with serving.router.lifespan_context(serving):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
