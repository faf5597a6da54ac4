"""Business calendars: wall-clock windows in a contract's zone, turned into UTC intervals.

A :class:`BusinessCalendar` is built once from a pack :class:`pricing.schema.Calendar`. For
every *local* date it computes (and caches) the list of UTC intervals during which business
time runs: the weekday's windows, unless the date is a public holiday (``holidays`` package,
looked up by the local date) or an extra closure. Each window is converted from local wall
time to UTC on its own date, so days of 23 or 25 hours (DST changes) are exact; no
``timedelta`` is ever added to a local aware datetime across days.

Internally instants are integers (microseconds since the Unix epoch, UTC): that keeps the
day-by-day walk cheap. The public methods take and return timezone-aware datetimes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from pricing.schema import WEEKDAYS, Calendar

__all__ = [
    "FOREVER",
    "BusinessCalendar",
    "DayInfo",
    "Span",
    "calendar_for",
    "from_us",
    "to_us",
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_SECOND: Final = 1_000_000
US_PER_HOUR: Final = 3_600 * US_PER_SECOND
#: An instant later than any real one: the end of an open-ended pause.
FOREVER: Final = 1 << 62
#: Longest walk before concluding that a calendar never reaches a target.
MAX_DAYS: Final = 366 * 30

#: A half-open interval [start, end) in microseconds since the epoch, UTC.
Span = tuple[int, int]


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} (an offset or zone is required)")
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_us(value: int) -> datetime:
    """The UTC instant ``value`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What a local date looks like in a calendar (used to explain a deadline)."""

    day: date
    spans: tuple[Span, ...]
    holiday: str | None
    closure: bool
    business_day: bool

    @property
    def windows(self) -> list[tuple[datetime, datetime]]:
        """The day's open intervals as UTC datetimes."""
        return [(from_us(s), from_us(e)) for s, e in self.spans]


class BusinessCalendar:
    """Windows, holidays and closures of one contract calendar, with cached per-day spans."""

    __slots__ = (
        "_business_weekdays",
        "_closures",
        "_day_cache",
        "_holiday_categories",
        "_holiday_country",
        "_holiday_names",
        "_holiday_subdivision",
        "_weekly",
        "id",
        "zone",
    )

    def __init__(self, source: Calendar) -> None:
        self.id: str = source.id
        self.zone: ZoneInfo = ZoneInfo(source.zone)
        weekly: list[tuple[tuple[time, time | None], ...]] = []
        for name in WEEKDAYS:
            windows = sorted(
                ((w.start, w.end_time) for w in source.windows.get(name, [])),
                key=lambda pair: pair[0],
            )
            weekly.append(tuple(windows))
        if not any(weekly):
            raise ValueError(f"calendar {source.id!r} has no window on any weekday")
        self._weekly: tuple[tuple[tuple[time, time | None], ...], ...] = tuple(weekly)
        self._business_weekdays: frozenset[int] = frozenset(
            WEEKDAYS.index(d) for d in source.business_days
        )
        self._closures: frozenset[date] = frozenset(source.closures)
        self._holiday_country: str | None = source.holidays.country if source.holidays else None
        self._holiday_subdivision: str | None = (
            source.holidays.subdivision if source.holidays else None
        )
        self._holiday_categories: tuple[str, ...] = (
            tuple(source.holidays.categories) if source.holidays else ()
        )
        self._holiday_names: dict[tuple[int, str], dict[date, str]] = {}
        self._day_cache: dict[int, tuple[Span, ...]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.id!r}, zone={self.zone.key!r})"

    # ------------------------------------------------------------------ days

    def holidays_in(self, year: int, *, language: str | None = None) -> dict[date, str]:
        """The public holidays of ``year`` (local dates) with their names."""
        key = (year, language or "")
        cached = self._holiday_names.get(key)
        if cached is not None:
            return cached
        found: dict[date, str] = {}
        if self._holiday_country is not None:
            table = holidays_lib.country_holidays(
                self._holiday_country,
                subdiv=self._holiday_subdivision,
                years=year,
                categories=self._holiday_categories,
                language=language,
            )
            found = {d: str(n) for d, n in table.items()}
        self._holiday_names[key] = found
        return found

    def holiday(self, day: date, *, language: str | None = None) -> str | None:
        """The name of the public holiday on local date ``day``, if any."""
        return self.holidays_in(day.year, language=language).get(day)

    def closed(self, day: date) -> bool:
        """Whether local date ``day`` is a public holiday or an extra closure."""
        return day in self._closures or day in self.holidays_in(day.year)

    def business_day(self, day: date) -> bool:
        """Whether local date ``day`` is a business day (business weekday, not closed)."""
        return day.weekday() in self._business_weekdays and not self.closed(day)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The UTC spans (microseconds) during which business time runs on local ``day``."""
        return self._spans(day.toordinal())

    def windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date ``day`` as UTC datetimes."""
        return [(from_us(s), from_us(e)) for s, e in self._spans(day.toordinal())]

    def close_of(self, day: date) -> datetime:
        """The close of the last window of local ``day`` (local midnight after it if none)."""
        spans = self._spans(day.toordinal())
        if spans:
            return from_us(spans[-1][1])
        return from_us(self._midnight(day + timedelta(days=1)))

    def day_info(self, day: date, *, language: str | None = None) -> DayInfo:
        """Everything about local ``day``: spans, holiday name, closure, business day."""
        return DayInfo(
            day=day,
            spans=self._spans(day.toordinal()),
            holiday=self.holiday(day, language=language),
            closure=day in self._closures,
            business_day=self.business_day(day),
        )

    def local_date(self, instant: datetime) -> date:
        """The local date of an aware instant in the calendar's zone."""
        return instant.astimezone(self.zone).date()

    def local_ordinal(self, value: int) -> int:
        """The proleptic ordinal of the local date of a microsecond instant."""
        return (EPOCH + timedelta(microseconds=value)).astimezone(self.zone).toordinal()

    def _midnight(self, day: date) -> int:
        return self._wall(day, time(0), last=False)

    def _wall(self, day: date, wall: time, *, last: bool) -> int:
        """The instant a local wall-clock time is reached on ``day``."""
        # A time skipped by a DST change (spring forward) is reached at the change itself; a
        # time that occurs twice (fall back) is its first occurrence for a window start and its
        # second occurrence for a window end (``last``).
        naive = datetime.combine(day, wall)
        first = to_us(naive.replace(tzinfo=self.zone, fold=0))
        second = to_us(naive.replace(tzinfo=self.zone, fold=1))
        if first == second:
            return first
        low, high = min(first, second), max(first, second)
        if from_us(low).astimezone(self.zone).replace(tzinfo=None) == naive:
            return high if last else low  # ambiguous: both instants show this wall time
        # Skipped: the earliest instant whose wall-clock time is at or after ``wall``.
        while high - low > US_PER_SECOND:
            middle = (low + high) // 2 // US_PER_SECOND * US_PER_SECOND
            if middle <= low:
                break
            if from_us(middle).astimezone(self.zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        return high

    def _spans(self, ordinal: int) -> tuple[Span, ...]:
        cached = self._day_cache.get(ordinal)
        if cached is not None:
            return cached
        day = date.fromordinal(ordinal)
        windows = self._weekly[day.weekday()]
        spans: list[Span] = []
        if windows and not self.closed(day):
            next_day = day + timedelta(days=1)
            for start, end in windows:
                s = self._wall(day, start, last=False)
                e = self._midnight(next_day) if end is None else self._wall(day, end, last=True)
                if e <= s:  # a window inside a skipped DST hour
                    continue
                if spans and s <= spans[-1][1]:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], e))
                else:
                    spans.append((s, e))
        result = tuple(spans)
        self._day_cache[ordinal] = result
        return result

    # ------------------------------------------------------------------ arithmetic

    def advance_us(self, start: int, amount: int, pauses: Sequence[Span] = ()) -> int | None:
        """First instant counting ``amount`` after ``start``; None if an open pause holds it."""
        # ``pauses`` are sorted, disjoint spans (rules.normalise_pauses); an open-ended pause
        # ends at FOREVER.
        if amount <= 0:
            raise ValueError("the amount of business time must be positive")
        if not pauses:
            return self._advance_plain(start, amount)
        return self._advance_paused(start, amount, pauses)

    def _advance_plain(self, start: int, amount: int) -> int:
        remaining = amount
        ordinal = self.local_ordinal(start)
        cache = self._day_cache
        spans_of = self._spans
        last = ordinal + MAX_DAYS
        while ordinal < last:
            spans = cache.get(ordinal)
            if spans is None:
                spans = spans_of(ordinal)
            for s, e in spans:
                if e <= start:
                    continue
                if s < start:
                    s = start
                length = e - s
                if length >= remaining:
                    return s + remaining
                remaining -= length
            ordinal += 1
        raise ValueError(f"calendar {self.id!r} does not reach the target within {MAX_DAYS} days")

    def _advance_paused(self, start: int, amount: int, pauses: Sequence[Span]) -> int | None:
        remaining = amount
        ordinal = self.local_ordinal(start)
        count = len(pauses)
        index = 0
        open_ordinal: int | None = None
        if pauses[-1][1] >= FOREVER:
            open_ordinal = self.local_ordinal(max(pauses[-1][0], start))
        last = ordinal + MAX_DAYS
        while ordinal < last:
            if open_ordinal is not None and ordinal > open_ordinal:
                return None
            for s0, e in self._spans(ordinal):
                if e <= start:
                    continue
                s = max(s0, start)
                while s < e:
                    while index < count and pauses[index][1] <= s:
                        index += 1
                    if index < count and pauses[index][0] <= s:
                        s = pauses[index][1]
                        continue
                    segment_end = e if index >= count else min(e, pauses[index][0])
                    length = segment_end - s
                    if length >= remaining:
                        return s + remaining
                    remaining -= length
                    s = segment_end
            ordinal += 1
        raise ValueError(f"calendar {self.id!r} does not reach the target within {MAX_DAYS} days")

    def measure_us(self, start: int, end: int, pauses: Sequence[Span] = ()) -> int:
        """Counted time in [start, end), paused spans excluded (microseconds)."""
        if end <= start:
            return 0
        total = self._window_time(start, end)
        for ps, pe in pauses:
            a, b = max(ps, start), min(pe, end)
            if a < b:
                total -= self._window_time(a, b)
        return total

    def _window_time(self, start: int, end: int) -> int:
        total = 0
        ordinal = self.local_ordinal(start)
        last = self.local_ordinal(end)
        while ordinal <= last:
            for s, e in self._spans(ordinal):
                a = s if s > start else start
                b = e if e < end else end
                if a < b:
                    total += b - a
            ordinal += 1
        return total

    def add_business_time(
        self, *, start: datetime, amount: timedelta, pauses: Sequence[Span] = ()
    ) -> datetime | None:
        """The earliest instant at which business time since ``start`` reaches ``amount``."""
        result = self.advance_us(to_us(start), amount // timedelta(microseconds=1), pauses)
        return None if result is None else from_us(result)

    def business_time(
        self, *, start: datetime, end: datetime, pauses: Sequence[Span] = ()
    ) -> timedelta:
        """The business time between two instants (zero if ``end`` is not after ``start``)."""
        return timedelta(microseconds=self.measure_us(to_us(start), to_us(end), pauses))


_CACHE: OrderedDict[int, tuple[Calendar, BusinessCalendar]] = OrderedDict()
_CACHE_SIZE: Final = 128


def calendar_for(source: Calendar) -> BusinessCalendar:
    """The (cached) business calendar for a pack calendar."""
    key = id(source)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is source:
        _CACHE.move_to_end(key)
        return hit[1]
    built = BusinessCalendar(source)
    _CACHE[key] = (source, built)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return built
