"""Admins hear of every parked inbound event once (the worker's pass, every half minute)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.db.engine import transaction
from bot.db.models import Role, User
from bot.i18n import Translator
from bot.inbox import store
from bot.services import notify
from bot.settings import Settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

PERIOD_SECONDS = 30.0


def report_parked(*, engine: Engine, settings: Settings, now: datetime) -> int:
    """Tell every admin about the parked events nobody was told about; events reported."""
    with transaction(engine) as session:
        rows = store.unreported(session=session)
        if not rows:
            return 0
        admins = session.exec(select(User).where(User.role == Role.ADMIN).order_by(col(User.id)))
        admin_list = list(admins.all())
        for row in rows:
            stamp = row.parked_at.isoformat() if row.parked_at else ""

            def text(
                t: Translator,
                row_id: int | None = row.id,
                attempts: int = row.attempts,
                channel: str = row.channel,
                error: str = row.last_error or "",
            ) -> str:
                return t.gettext(
                    "An inbound %(channel)s event (inbox row %(id)s) was set aside after "
                    "%(attempts)s attempts: %(error)s. Retry it with: supportbot inbox retry "
                    "%(id)s"
                ) % {"channel": channel, "id": row_id, "attempts": attempts, "error": error}

            for admin in admin_list:
                notify.emit_to_user(
                    session=session,
                    user=admin,
                    audience="admin",
                    event="inbox_parked",
                    now=now,
                    key=f"inbox-parked:{row.id}:{stamp}",
                    text=text,
                    channels=("console",),
                    settings=settings,
                )
            row.reported_at = now
            session.add(row)
            log.error(
                "inbox: %s row %s parked after %d attempts: %s",
                row.channel,
                row.id,
                row.attempts,
                row.last_error,
            )
        return len(rows)


class ParkedReport:
    """The worker's periodic report of parked inbound events."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def report_now(self) -> int:
        """One pass."""
        return report_parked(engine=self.engine, settings=self.settings, now=self.clock.now())

    async def run(self, *, stop: asyncio.Event) -> None:
        """Report every half minute until `stop`."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.report_now)
            except Exception:
                log.exception("inbox: parked events not reported; trying again")
            try:
                await asyncio.wait_for(stop.wait(), timeout=PERIOD_SECONDS)
            except TimeoutError:
                continue
