"""The managers' daily digest (`manager_daily_digest`): open tickets, missed targets, due soon.

Sent once a day at `manager_digest_time` in `zone`, one message per manager identity, with
the idempotency key ``digest:{local date}:u{user}``: several workers, or a restart, never
send a second one the same day. A worker that starts later the same day (within
`CATCH_UP`) still sends it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import Engine, and_, case, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from bot.db.engine import read_transaction, transaction
from bot.db.models import Role, Ticket, TicketStatus, User
from bot.i18n import Translator
from bot.services import figures as report_figures
from bot.services import notify, tickets
from bot.services.actors import actor_for, ticket_visibility
from bot.settings import Settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=12)
MAX_REFERENCES = 10


def scheduled_at(*, settings: Settings, day: date) -> datetime:
    """The digest instant of a local day."""
    local = datetime.combine(day, settings.manager_digest_time, tzinfo=ZoneInfo(settings.zone))
    return local.astimezone(UTC)


def next_digest_at(*, settings: Settings, now: datetime) -> datetime:
    """The first digest instant after `now`."""
    day = now.astimezone(ZoneInfo(settings.zone)).date()
    for offset in range(3):
        candidate = scheduled_at(settings=settings, day=day + timedelta(days=offset))
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a digest is due within three days")


@dataclass
class DigestFigures:
    """What one manager reads."""

    open: int = 0
    breached: list[str] = field(default_factory=list)  # the first references, at most 11
    due_soon: int = 0
    breached_count: int = 0


def _figures(*, session: Session, visible: Any, now: datetime) -> DigestFigures:
    """One manager's figures: two statements (counts, then a few breached references)."""
    horizon = now + timedelta(hours=24)
    pending = tickets.pending_due()
    breached = report_figures.breached_now(now)
    base = (
        col(Ticket.status).in_(TicketStatus.open_statuses()),
        visible,
    )
    counts = session.execute(
        sql_select(
            func.count(col(Ticket.id)),
            func.sum(case((breached, 1), else_=0)),
            func.sum(case((and_(pending >= now, pending < horizon), 1), else_=0)),
        ).where(*base)
    ).one()
    references = session.execute(
        sql_select(col(Ticket.reference))
        .where(*base, breached)
        .order_by(col(Ticket.id))
        .limit(MAX_REFERENCES + 1)
    ).scalars()
    result = DigestFigures(open=int(counts[0] or 0), due_soon=int(counts[2] or 0))
    result.breached_count = int(counts[1] or 0)
    result.breached = list(references)
    return result


def _text(t: Translator, figures: DigestFigures, day: date) -> str:
    text = t.gettext(
        "Daily SLA digest, %(date)s: %(open)s open tickets, %(breached)s with a missed "
        "target, %(due)s due within 24 hours."
    ) % {
        "date": format_date(day, "long", locale=t.babel_locale),
        "open": figures.open,
        "breached": figures.breached_count,
        "due": figures.due_soon,
    }
    if figures.breached:
        shown = ", ".join(figures.breached[:MAX_REFERENCES])
        if figures.breached_count > MAX_REFERENCES:
            shown += ", …"
        text += " " + t.gettext("Missed targets: %(refs)s.") % {"refs": shown}
    return text


def _key(day: date, manager_id: int | None) -> str:
    return f"digest:{day.isoformat()}:u{manager_id}"


def digest_figures(
    *, session: Session, settings: Settings, now: datetime, day: date
) -> list[tuple[int, DigestFigures]]:
    """Each manager's figures for the digest of `day`, those whose digest is written left out
    (reads only: the counts run over the open tickets, no writer waits for them)."""
    found: list[tuple[int, DigestFigures]] = []
    managers = session.exec(select(User).where(User.role == Role.MANAGER).order_by(col(User.id)))
    for manager in managers.all():
        assert manager.id is not None
        key = _key(day, manager.id)
        if not notify.unwritten_destinations(
            session=session, user=manager, audience="manager", key=key, settings=settings
        ):
            continue
        # What a manager may see is the one visibility rule: their tenant, or their providers.
        visible = ticket_visibility(actor_for(session=session, user=manager))
        found.append((manager.id, _figures(session=session, visible=visible, now=now)))
    return found


def send_digest(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    day: date,
    found: list[tuple[int, DigestFigures]] | None = None,
) -> int:
    """Queue the digest of `day` for every manager (`found`: `digest_figures`' answer, when
    read in an earlier transaction); returns the messages written."""
    if found is None:
        found = digest_figures(session=session, settings=settings, now=now, day=day)
    written = 0
    for manager_id, figures in found:
        manager = session.get(User, manager_id)
        assert manager is not None

        def text(t: Translator, figures: DigestFigures = figures) -> str:
            return _text(t, figures, day)

        written += notify.emit_to_user(
            session=session,
            user=manager,
            audience="manager",
            event="digest",
            now=now,
            key=_key(day, manager_id),
            text=text,
            settings=settings,
        )
    return written


class DigestScheduler:
    """Sends the daily digest at its local time."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def send_if_due(self) -> int:
        """Send today's digest when its time has come (idempotent); returns messages written."""
        now = self.clock.now()
        day = now.astimezone(ZoneInfo(self.settings.zone)).date()
        at = scheduled_at(settings=self.settings, day=day)
        if not at <= now < at + CATCH_UP:
            return 0
        with read_transaction(self.engine) as session:
            found = digest_figures(session=session, settings=self.settings, now=now, day=day)
        if not found:
            return 0
        with transaction(self.engine) as session:
            return send_digest(
                session=session, settings=self.settings, now=now, day=day, found=found
            )

    async def run(self, *, stop: asyncio.Event) -> None:
        """Send each day's digest until `stop` is set."""
        while not stop.is_set():
            try:
                written = await asyncio.to_thread(self.send_if_due)
                if written:
                    log.info("daily digest: %s messages", written)
            except Exception:
                log.exception("daily digest failed")
            deadline = next_digest_at(settings=self.settings, now=self.clock.now())
            await self.clock.sleep_until(deadline, wake=stop, at_most=3600)
