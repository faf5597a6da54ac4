"""The business-hours hold: customer messages wait for the contract's window to open."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.sla.calendar import calendar_for
from pricing.schema import ContractPack

#: How far ahead the next opening is looked for.
HORIZON_DAYS = 21


def next_opening(pack: ContractPack, now: datetime) -> datetime | None:
    """When the pack's default window next opens, or None when `now` is inside it."""
    source = next(c for c in pack.calendars if c.id == pack.default_calendar)
    calendar = calendar_for(source)
    day = calendar.local_date(now)
    for offset in range(0, HORIZON_DAYS):
        current = day + timedelta(days=offset)
        for start, end in calendar.windows_on(current):
            if start <= now < end:
                return None
            if start > now:
                return start
    return None
