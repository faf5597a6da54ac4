"""Periodic contract checks in the background: maintenance reminders and end notices, and
availability thresholds crossed by outages still open."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Engine

from bot.db.engine import read_transaction, transaction
from bot.services import availability, maintenance_notices
from bot.services.availability_words import availability_text
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

#: How often the windows are looked at (notices go out within this of their instant).
CHECK_EVERY = timedelta(minutes=5)


class MaintenanceNotices:
    """Sends the maintenance notices that are due, every `CHECK_EVERY` of the worker's clock."""

    def __init__(self, *, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def send_due(self) -> int:
        """One pass at the clock's current instant; returns the notices and claims written.

        The open outages are measured in a read transaction (SQLite's write lock is not held
        meanwhile); only the periods found missed are measured again and recorded."""
        now = self.clock.now()
        with transaction(self.engine) as session:
            written = maintenance_notices.due_notices(session=session, now=now)
        with read_transaction(self.engine) as session:
            missed = availability.missed_by_open_outages(session=session, now=now)
        if missed:
            with transaction(self.engine) as session:
                written += availability.record_missed_periods(
                    session=session, missed=missed, now=now, text=availability_text
                )
        return written

    async def run(self, *, stop: asyncio.Event) -> None:
        """Pass now and then every `CHECK_EVERY` until `stop` is set."""
        while not stop.is_set():
            try:
                written = await asyncio.to_thread(self.send_due)
                if written:
                    log.info("maintenance: %d notice(s) written", written)
            except Exception:
                log.exception("maintenance notices failed; retrying later")
            await self.clock.sleep_until(self.clock.now() + CHECK_EVERY, wake=stop)
