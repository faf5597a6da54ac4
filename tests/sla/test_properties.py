"""Property tests: the engine against a naive minute-by-minute oracle.

The oracle walks UTC minute by minute, converts each minute to Brussels wall-clock time
with zoneinfo, and counts it when its local weekday has a window containing the wall time,
its local date is not a Belgian public holiday, and it is not paused. The due instant is
the end of the minute that brings the count to the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sla.calendar import BusinessCalendar
from bot.sla.clock import build_clock
from bot.sla.rules import Pause, due_business_days_24h, due_business_hours
from pricing.schema import BusinessHoursRule
from tests.sla.conftest import ALL_WEEK, BRUSSELS, BUSINESS_DAYS, OPENING, PRO

MINUTE = timedelta(minutes=1)
START = datetime(2025, 12, 1, tzinfo=UTC)
SPAN_MINUTES = int((datetime(2027, 12, 31, tzinfo=UTC) - START).total_seconds() // 60)
HOLIDAYS = set(holidays.country_holidays("BE", years=range(2025, 2029)))
#: Weekday -> list of (start, end) wall times; end None = midnight at the end of the day.
Windows = dict[int, list[tuple[time, time | None]]]

ORACLE_WINDOWS: dict[str, Windows] = {
    "opening": {d: [(time(8), time(19))] for d in range(5)},
    "business-days": {d: [(time(0), None)] for d in range(5)},
    "pro": {**{d: [(time(8), time(22))] for d in range(5)}, 5: [(time(8), time(16, 30))]},
    "all-week": {d: [(time(0), None)] for d in range(7)},
}
ENGINES: dict[str, BusinessCalendar] = {
    "opening": OPENING,
    "business-days": BUSINESS_DAYS,
    "pro": PRO,
    "all-week": ALL_WEEK,
}
#: Instants near the DST changes and the holidays, where mistakes hide.
HOTSPOTS = [
    datetime(2026, 3, 27, 16, tzinfo=UTC),
    datetime(2026, 3, 28, 22, tzinfo=UTC),
    datetime(2026, 10, 23, 16, tzinfo=UTC),
    datetime(2026, 10, 24, 23, tzinfo=UTC),
    datetime(2027, 3, 26, 16, tzinfo=UTC),
    datetime(2026, 5, 22, 16, tzinfo=UTC),
    datetime(2026, 12, 24, 16, tzinfo=UTC),
    datetime(2025, 12, 24, 16, tzinfo=UTC),
]


def is_open(windows: Windows, instant: datetime) -> bool:
    """Whether the minute starting at ``instant`` is window time (holidays excluded)."""
    local = instant.astimezone(BRUSSELS)
    day: date = local.date()
    if day in HOLIDAYS:
        return False
    wall = local.time()
    return any(
        start <= wall and (end is None or wall < end)
        for start, end in windows.get(day.weekday(), [])
    )


def oracle_due(
    windows: Windows, logged: datetime, minutes: int, pauses: Sequence[tuple[datetime, datetime]]
) -> datetime:
    """The due instant found by walking minute by minute."""
    instant, counted = logged, 0
    while True:
        paused = any(start <= instant < end for start, end in pauses)
        if not paused and is_open(windows, instant):
            counted += 1
            if counted == minutes:
                return instant + MINUTE
        instant += MINUTE


def oracle_counted(
    windows: Windows, start: datetime, end: datetime, pauses: Sequence[tuple[datetime, datetime]]
) -> int:
    """Counted minutes in [start, end)."""
    instant, counted = start, 0
    while instant < end:
        if not any(a <= instant < b for a, b in pauses) and is_open(windows, instant):
            counted += 1
        instant += MINUTE
    return counted


@st.composite
def logging_instants(draw: st.DrawFn) -> datetime:
    """A minute-resolution UTC instant, often near a DST change or a holiday."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(HOTSPOTS))
        return base + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    return START + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))


@st.composite
def pause_lists(draw: st.DrawFn, logged: datetime) -> list[tuple[datetime, datetime]]:
    """Zero to three closed pauses around the logging instant (minute resolution)."""
    result = []
    for _ in range(draw(st.integers(0, 3))):
        offset = draw(st.integers(-600, 4 * 1440))
        length = draw(st.integers(1, 2 * 1440))
        start = logged + timedelta(minutes=offset)
        result.append((start, start + timedelta(minutes=length)))
    return result


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)


@SETTINGS
@given(
    data=st.data(),
    calendar=st.sampled_from(["opening", "pro"]),
    logged=logging_instants(),
    minutes=st.integers(1, 24 * 60),
)
def test_business_hours_match_the_oracle(
    data: st.DataObject, calendar: str, logged: datetime, minutes: int
) -> None:
    pauses = data.draw(pause_lists(logged))
    expected = oracle_due(ORACLE_WINDOWS[calendar], logged, minutes, pauses)
    got = due_business_hours(
        calendar=ENGINES[calendar],
        logged_at=logged,
        hours=Decimal(minutes) / 60,
        pauses=[Pause(s, e) for s, e in pauses],
    )
    assert got == expected


@SETTINGS
@given(
    data=st.data(),
    calendar=st.sampled_from(["business-days", "all-week"]),
    logged=logging_instants(),
    days=st.integers(1, 3),
)
def test_business_days_24h_match_the_oracle(
    data: st.DataObject, calendar: str, logged: datetime, days: int
) -> None:
    pauses = data.draw(pause_lists(logged))
    expected = oracle_due(ORACLE_WINDOWS[calendar], logged, days * 1440, pauses)
    got = due_business_days_24h(
        calendar=ENGINES[calendar],
        logged_at=logged,
        days=days,
        pauses=[Pause(s, e) for s, e in pauses],
    )
    assert got == expected


@SETTINGS
@given(
    data=st.data(),
    calendar=st.sampled_from(["opening", "pro", "business-days"]),
    logged=logging_instants(),
    minutes=st.integers(1, 3 * 1440),
)
def test_elapsed_and_remaining_match_the_oracle(
    data: st.DataObject, calendar: str, logged: datetime, minutes: int
) -> None:
    pauses = data.draw(pause_lists(logged))
    now = logged + timedelta(minutes=minutes)
    rule = BusinessHoursRule(rule="business_hours", hours=Decimal(30), calendar=calendar)
    clock = build_clock(
        logged_at=logged,
        rule=rule,
        calendar=ENGINES[calendar],
        pauses=[Pause(s, e) for s, e in pauses],
        now=now,
    )
    counted = oracle_counted(ORACLE_WINDOWS[calendar], logged, now, pauses)
    assert clock.elapsed == timedelta(minutes=counted)
    assert clock.remaining == max(timedelta(hours=30) - timedelta(minutes=counted), timedelta(0))
