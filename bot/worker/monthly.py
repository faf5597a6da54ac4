"""Sends the monthly report (`monthly_report`) on the first business day of each month."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.db.engine import read_transaction, transaction
from bot.reports.monthly import (
    manager_ids,
    monthly_report_rows,
    previous_month,
    scheduled_at,
)
from bot.services import notify
from bot.settings import Settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

#: A worker that was down on the day still sends the report within this long.
CATCH_UP = timedelta(days=5)


def next_report_at(*, settings: Settings, now: datetime) -> datetime:
    """The first report instant after `now`."""
    local = now.astimezone(ZoneInfo(settings.zone))
    this = scheduled_at(settings=settings, year=local.year, month=local.month)
    if this > now:
        return this
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return scheduled_at(settings=settings, year=year, month=month)


class MonthlyReportScheduler:
    """Queues last month's reports once this month's report instant has come."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def send_if_due(self) -> int:
        """Queue the reports when their time has come (idempotent); returns messages written."""
        now = self.clock.now()
        local = now.astimezone(ZoneInfo(self.settings.zone))
        at = scheduled_at(settings=self.settings, year=local.year, month=local.month)
        if not at <= now < at + CATCH_UP:
            return 0
        period = previous_month(now=now, zone=self.settings.zone)
        with transaction(self.engine) as session:
            managers = manager_ids(session=session)
        written = 0
        for manager in managers:
            # Built in a read transaction (the figures, the CSV and the chart take time: no
            # writer waits for them), written in a short one; a report written is not rebuilt.
            with read_transaction(self.engine) as session:
                rows = monthly_report_rows(
                    session=session, settings=self.settings, now=now, period=period, only=[manager]
                )
            if rows:
                with transaction(self.engine) as session:
                    written += notify.write_with_files(session=session, rows=rows, now=now)
        return written

    async def run(self, *, stop: asyncio.Event) -> None:
        """Send each month's reports until `stop` is set."""
        while not stop.is_set():
            try:
                written = await asyncio.to_thread(self.send_if_due)
                if written:
                    log.info("monthly report: %s messages", written)
            except Exception:
                log.exception("monthly report failed")
            deadline = next_report_at(settings=self.settings, now=self.clock.now())
            await self.clock.sleep_until(deadline, wake=stop, at_most=3600)
