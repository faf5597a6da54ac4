"""Benchmark: business-hours deadlines with bot.sla against the businesstimedelta library.

Both engines get the same inputs: an 08:00-19:00 Monday-Friday window in Europe/Brussels,
Belgian public holidays, random logging instants (minute resolution) over several years and
random targets (whole and half hours). The script prints the throughput of each engine, the
ratio, and the mismatches with a few examples. Where the library is wrong (closed days that
are DST-change days), see ``tests/sla/test_businesstimedelta_defects.py``.

Run: ``python bench/sla.py [--count N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import businesstimedelta  # noqa: E402
import holidays  # noqa: E402
import pytz  # noqa: E402

from bot.sla.calendar import BusinessCalendar  # noqa: E402
from bot.sla.rules import due_for  # noqa: E402
from pricing.schema import BusinessHoursRule, Calendar  # noqa: E402

ZONE = "Europe/Brussels"
FIRST_YEAR, LAST_YEAR = 2025, 2027


def make_inputs(count: int, seed: int) -> list[tuple[datetime, Decimal]]:
    """Random (logging instant, target hours) pairs."""
    rng = random.Random(seed)
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    minutes = int((datetime(LAST_YEAR, 12, 1, tzinfo=UTC) - start).total_seconds() // 60)
    return [
        (
            start + timedelta(minutes=rng.randrange(minutes)),
            Decimal(rng.randrange(1, 97)) / 2,
        )
        for _ in range(count)
    ]


def our_calendar() -> BusinessCalendar:
    """The benchmark calendar as a bot.sla business calendar (holidays loaded, like theirs)."""
    calendar = BusinessCalendar(
        Calendar.model_validate(
            {
                "id": "opening-hours",
                "zone": ZONE,
                "windows": {
                    day: [{"start": "08:00", "end": "19:00"}]
                    for day in ("mon", "tue", "wed", "thu", "fri")
                },
                "holidays": {"country": "BE"},
            }
        )
    )
    for year in range(FIRST_YEAR, LAST_YEAR + 2):
        calendar.holidays_in(year)
    return calendar


def ours(inputs: list[tuple[datetime, Decimal]]) -> tuple[list[datetime | None], float]:
    """Deadlines from bot.sla's calendar arithmetic, with the elapsed seconds."""
    calendar = our_calendar()
    began = time.perf_counter()
    add = calendar.add_business_time
    result = [add(start=logged, amount=timedelta(hours=float(hours))) for logged, hours in inputs]
    return result, time.perf_counter() - began


def ours_rules(inputs: list[tuple[datetime, Decimal]]) -> tuple[list[datetime | None], float]:
    """Deadlines from bot.sla's rule entry point (pack rule objects), with the elapsed seconds."""
    calendar = our_calendar()
    rules = {
        hours: BusinessHoursRule(rule="business_hours", hours=hours, calendar="opening-hours")
        for hours in {hours for _, hours in inputs}
    }
    began = time.perf_counter()
    result = [
        due_for(rule=rules[hours], calendar=calendar, logged_at=logged) for logged, hours in inputs
    ]
    return result, time.perf_counter() - began


def theirs(inputs: list[tuple[datetime, Decimal]]) -> tuple[list[datetime], float]:
    """Deadlines from businesstimedelta, with the elapsed seconds."""
    tz = pytz.timezone(ZONE)
    dates: set[date] = set(
        holidays.country_holidays("BE", years=range(FIRST_YEAR, LAST_YEAR + 2)).keys()
    )
    rule = businesstimedelta.Rules(
        [
            businesstimedelta.WorkDayRule(
                start_time=dt_time(8),
                end_time=dt_time(19),
                working_days=[0, 1, 2, 3, 4],
                tz=tz,
            ),
            businesstimedelta.HolidayRule(dates, tz=tz),
        ]
    )
    began = time.perf_counter()
    result = [
        (logged + businesstimedelta.BusinessTimeDelta(rule, hours=float(hours))).astimezone(UTC)
        for logged, hours in inputs
    ]
    return result, time.perf_counter() - began


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261120)
    args = parser.parse_args()
    inputs = make_inputs(args.count, args.seed)
    mine, t_mine = ours(inputs)
    via_rules, t_rules = ours_rules(inputs)
    other, t_other = theirs(inputs)
    n = len(inputs)
    rate_mine, rate_rules, rate_other = n / t_mine, n / t_rules, n / t_other
    print(f"deadlines:            {n:,}")
    print(f"bot.sla (calendar):   {rate_mine:,.0f} deadlines/s ({t_mine:.2f} s)")
    print(f"bot.sla (rule API):   {rate_rules:,.0f} deadlines/s ({t_rules:.2f} s)")
    print(f"businesstimedelta:    {rate_other:,.0f} deadlines/s ({t_other:.2f} s)")
    print(f"ratio:                {rate_mine / rate_other:.1f}x (calendar)")
    print(f"                      {rate_rules / rate_other:.1f}x (rule API)")
    assert mine == via_rules, "the two bot.sla entry points disagree"
    mismatches = [
        (logged, hours, a, b)
        for (logged, hours), a, b in zip(inputs, mine, other, strict=True)
        if a != b
    ]
    print(f"mismatches:           {len(mismatches)}")
    zone = pytz.timezone(ZONE)
    for logged, hours, a, b in mismatches[:5]:
        print(
            f"  logged {logged.astimezone(zone).isoformat()} + {hours} h:"
            f" bot.sla {a.astimezone(zone).isoformat() if a else None},"
            f" businesstimedelta {b.astimezone(zone).isoformat()}"
        )


if __name__ == "__main__":
    main()
