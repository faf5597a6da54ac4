"""Report periods: parse `week`, `month`, `quarter`, `year`, `YYYY-MM`, `YYYY`, `Nd`.

A period is a half-open interval of aware UTC instants cut on local days of a zone. Parsing
errors are `InputError`s whose `reason` says which one-line explanation to give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.numbers import parse_int
from bot.services.errors import InputError

PeriodKind = Literal["month", "week", "quarter", "year", "days"]

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PERIOD_DAYS = 3660

WORDS: dict[str, PeriodKind] = {
    "": "month",
    "month": "month",
    "mois": "month",
    "maand": "month",
    "week": "week",
    "semaine": "week",
    "quarter": "quarter",
    "trimestre": "quarter",
    "kwartaal": "quarter",
    "year": "year",
    "année": "year",
    "annee": "year",
    "jaar": "year",
}


@dataclass(frozen=True)
class Period:
    """A half-open interval of instants, what kind of period it is, and its zone."""

    start: datetime
    end: datetime
    kind: PeriodKind
    days: int = 0
    zone: str = "UTC"

    @property
    def key(self) -> str:
        """A short stable name: `2026-11`, `2026`, `2026-Q4`, `2026-W47`, `30d-2026-12-01`."""
        local = self.start.astimezone(ZoneInfo(self.zone)).date()
        if self.kind == "month":
            return f"{local.year}-{local.month:02d}"
        if self.kind == "year":
            return str(local.year)
        if self.kind == "quarter":
            return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
        if self.kind == "week":
            iso = local.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        end = self.end.astimezone(ZoneInfo(self.zone)).date()
        return f"{self.days}d-{end.isoformat()}"

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        tz = ZoneInfo(self.zone)
        local = self.start.astimezone(tz).date()
        if self.kind == "month":
            return month_period(local.year - (local.month == 1), (local.month - 2) % 12 + 1, tz)
        if self.kind == "quarter":
            back = date(local.year - (local.month <= 3), (local.month - 4) % 12 + 1, 1)
            return _span(back, _add_months(back, 3), "quarter", tz)
        if self.kind == "year":
            return _span(date(local.year - 1, 1, 1), local, "year", tz)
        if self.kind == "week":
            return _span(local - timedelta(days=7), local, "week", tz)
        length = self.end - self.start
        return Period(self.start - length, self.start, "days", self.days, self.zone)


def _at(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _span(start: date, end: date, kind: PeriodKind, tz: ZoneInfo) -> Period:
    return Period(_at(start, tz), _at(end, tz), kind, zone=str(tz.key))


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    """The calendar month `year-month` in zone `tz`."""
    start = date(year, month, 1)
    return _span(start, _add_months(start, 1), "month", tz)


def last_months(*, now: datetime, zone: str, count: int = 12) -> list[Period]:
    """The `count` calendar months ending with the current one, oldest first."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date().replace(day=1)
    return [
        month_period(d.year, d.month, tz)
        for d in (_add_months(local, -k) for k in range(count - 1, -1, -1))
    ]


def parse_period(*, text: str, now: datetime, zone: str) -> Period:
    """A period from a manager's words; `InputError` (with a `reason`) when it is not one.

    Reasons: `unknown` (not a period), `year` / `month` / `days` (a number out of range),
    `future` (the period has not started yet).
    """
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date()
    word = text.strip().lower()
    period: Period
    if word in WORDS:
        kind = WORDS[word]
        if kind == "month":
            period = month_period(local.year, local.month, tz)
        elif kind == "week":
            start = local - timedelta(days=local.weekday())
            period = _span(start, start + timedelta(days=7), "week", tz)
        elif kind == "quarter":
            start = date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
            period = _span(start, _add_months(start, 3), "quarter", tz)
        else:
            period = _span(date(local.year, 1, 1), date(local.year + 1, 1, 1), "year", tz)
    elif match := re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", word, re.ASCII):
        year, number = _year(match[1]), parse_int(match[2], low=1, high=12)
        if number is None:
            raise InputError("month out of range", reason="month")
        period = month_period(year, number, tz)
    elif match := re.fullmatch(r"([0-9]{4})", word, re.ASCII):
        year = _year(match[1])
        period = _span(date(year, 1, 1), date(year + 1, 1, 1), "year", tz)
    elif match := re.fullmatch(r"([0-9]{1,4})\s*[dj]", word, re.ASCII):
        days = parse_int(match[1], low=1, high=MAX_PERIOD_DAYS)
        if days is None:
            raise InputError("number of days out of range", reason="days")
        period = Period(now - timedelta(days=days), now, "days", days=days, zone=zone)
    else:
        raise InputError("unknown period", reason="unknown")
    if period.start > now:
        raise InputError("the period has not started yet", reason="future")
    return period


def _year(text: str) -> int:
    year = parse_int(text, low=MIN_YEAR, high=MAX_YEAR)
    if year is None:
        raise InputError("year out of range", reason="year")
    return year
