"""Auto-close: resolved tickets the customer did not answer close after N business days.

Every `CHECK_EVERY` of the worker's clock, one transaction closes what is due
(`conversation.close_unanswered`: a conditional UPDATE per ticket, so several workers close
and notify each ticket once) and tells the customer, with the rating question.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.services.conversation import close_unanswered
from bot.settings import Settings, using_settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

#: How often the worker looks for resolved tickets to close (on its own clock).
CHECK_EVERY = timedelta(minutes=15)


class AutoClose:
    """Closes unanswered resolved tickets every `CHECK_EVERY` of the worker's clock."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def close_now(self) -> int:
        """One pass at the clock's current instant; tickets closed."""
        with transaction(self.engine) as session, using_settings(self.settings):
            closed = close_unanswered(session=session, now=self.clock.now(), settings=self.settings)
        if closed:
            log.info("auto-close: %d resolved ticket(s) closed without an answer", closed)
        return closed

    async def run(self, *, stop: asyncio.Event) -> None:
        """Close now and then every `CHECK_EVERY` until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.close_now)
            except Exception:
                log.exception("auto-close pass failed; retrying later")
            await self.clock.sleep_until(self.clock.now() + CHECK_EVERY, wake=stop)
