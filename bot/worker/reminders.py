"""Customers' reminders in the worker: claim deadlines and certificate expiries, hourly.

Each pass is idempotent (outbox keys per claim or certificate, step and person), so several
workers, or a restart, send each reminder once; a worker that was down catches up on its
first pass (the step reached is sent, the ones it covers are not repeated).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.services import reminders
from bot.settings import Settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

REMIND_EVERY = timedelta(hours=1)


class Reminders:
    """Sends due claim and certificate reminders every `REMIND_EVERY` of the worker's clock."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def send_now(self) -> int:
        """One pass at the clock's current instant; returns the messages written."""
        now = self.clock.now()
        with transaction(self.engine) as session:
            written = reminders.send_claim_reminders(
                session=session, now=now, settings=self.settings
            )
        with transaction(self.engine) as session:
            written += reminders.send_certificate_reminders(
                session=session, now=now, settings=self.settings
            )
        if written:
            log.info("reminders: %d message(s) written", written)
        return written

    async def run(self, *, stop: asyncio.Event) -> None:
        """Send now and then every `REMIND_EVERY` until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.send_now)
            except Exception:
                log.exception("reminder pass failed; retrying later")
            await self.clock.sleep_until(self.clock.now() + REMIND_EVERY, wake=stop)
