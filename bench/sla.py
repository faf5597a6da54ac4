"""Benchmark: business-hours deadlines with bot.sla against the businesstimedelta library.

Both engines get the same inputs: an 08:00-19:00 Monday-Friday window in Europe/Brussels,
Belgian public holidays, random logging instants (minute resolution) over several years and
random targets (whole and half hours). The script prints the throughput of each engine, the
ratio, and the mismatches with a few examples.

Run: ``python bench/sla.py [--count N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import businesstimedelta  # noqa: E402
import holidays  # noqa: E402
import pytz  # noqa: E402

from bot.sla.calendar import US_PER_HOUR, BusinessCalendar, from_us, to_us  # noqa: E402
from pricing.schema import Calendar  # noqa: E402

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


def ours(inputs: list[tuple[datetime, Decimal]]) -> tuple[list[datetime], float]:
    """Deadlines from bot.sla, with the elapsed seconds."""
    calendar = BusinessCalendar(
        Calendar(
            id="opening-hours",
            zone=ZONE,
            windows={
                day: [{"start": "08:00", "end": "19:00"}]  # type: ignore[list-item]
                for day in ("mon", "tue", "wed", "thu", "fri")
            },
            holidays={"country": "BE"},  # type: ignore[arg-type]
        )
    )
    began = time.perf_counter()
    advance = calendar.advance_us
    result = [
        from_us(advance(to_us(logged), int(hours * US_PER_HOUR)))  # type: ignore[arg-type]
        for logged, hours in inputs
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
                start_time=datetime.min.time().replace(hour=8),
                end_time=datetime.min.time().replace(hour=19),
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
    other, t_other = theirs(inputs)
    rate_mine, rate_other = len(inputs) / t_mine, len(inputs) / t_other
    print(f"deadlines:         {len(inputs):,}")
    print(f"bot.sla:           {rate_mine:,.0f} deadlines/s ({t_mine:.2f} s)")
    print(f"businesstimedelta: {rate_other:,.0f} deadlines/s ({t_other:.2f} s)")
    print(f"ratio:             {rate_mine / rate_other:.1f}x")
    mismatches = [
        (logged, hours, a, b)
        for (logged, hours), a, b in zip(inputs, mine, other, strict=True)
        if a != b
    ]
    print(f"mismatches:        {len(mismatches)}")
    zone = pytz.timezone(ZONE)
    for logged, hours, a, b in mismatches[:5]:
        print(
            f"  logged {logged.astimezone(zone).isoformat()} + {hours} h:"
            f" bot.sla {a.astimezone(zone).isoformat()},"
            f" businesstimedelta {b.astimezone(zone).isoformat()}"
        )


if __name__ == "__main__":
    main()
