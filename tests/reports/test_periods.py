"""Report periods: every word, the previous period, and one-line refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.reports.monthly import first_business_day, previous_month, scheduled_at
from bot.reports.periods import last_months, parse_period
from bot.services.errors import InputError
from bot.settings import Settings
from bot.worker.monthly import next_report_at

ZONE = "Europe/Brussels"
NOW = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # Friday 17:30 in Brussels


def local(text: str) -> tuple[str, str, str]:
    period = parse_period(text=text, now=NOW, zone=ZONE)
    return (period.start.isoformat(), period.end.isoformat(), period.key)


@pytest.mark.parametrize(
    ("text", "start", "end", "key"),
    [
        ("", "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00", "2026-11"),
        ("mois", "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00", "2026-11"),
        ("week", "2026-11-16T00:00:00+01:00", "2026-11-23T00:00:00+01:00", "2026-W47"),
        ("quarter", "2026-10-01T00:00:00+02:00", "2027-01-01T00:00:00+01:00", "2026-Q4"),
        ("kwartaal", "2026-10-01T00:00:00+02:00", "2027-01-01T00:00:00+01:00", "2026-Q4"),
        ("year", "2026-01-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00", "2026"),
        ("2026-03", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00", "2026-03"),
        ("2025", "2025-01-01T00:00:00+01:00", "2026-01-01T00:00:00+01:00", "2025"),
        ("30d", "2026-10-21T16:30:00+00:00", "2026-11-20T16:30:00+00:00", "30d-2026-11-20"),
    ],
)
def test_periods(text: str, start: str, end: str, key: str) -> None:
    assert local(text) == (start, end, key)


@pytest.mark.parametrize(
    ("text", "previous"),
    [("2026-01", "2025-12"), ("quarter", "2026-Q3"), ("2026-Q1", None), ("2026", "2025")],
)
def test_previous_periods(text: str, previous: str | None) -> None:
    if previous is None:
        with pytest.raises(InputError):
            parse_period(text=text, now=NOW, zone=ZONE)
        return
    assert parse_period(text=text, now=NOW, zone=ZONE).previous().key == previous


def test_previous_week_and_days() -> None:
    week = parse_period(text="week", now=NOW, zone=ZONE)
    assert week.previous().key == "2026-W46"
    days = parse_period(text="30d", now=NOW, zone=ZONE)
    assert days.previous().end == days.start
    assert days.previous().end - days.previous().start == days.end - days.start


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("someday", "unknown"),
        ("2026-13", "month"),
        ("1999", "year"),
        ("0d", "days"),
        ("9999d", "days"),
        ("2027-01", "future"),
        ("2030", "future"),
    ],
)
def test_invalid_periods_say_why(text: str, reason: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_period(text=text, now=NOW, zone=ZONE)
    assert raised.value.params["reason"] == reason


def test_last_months_end_with_the_current_one() -> None:
    months = last_months(now=NOW, zone=ZONE)
    assert [m.key for m in (months[0], months[-1])] == ["2025-12", "2026-11"]
    assert all(a.end == b.start for a, b in zip(months, months[1:], strict=False))


def test_the_monthly_report_goes_out_on_the_first_business_day() -> None:
    # 1 November 2026 is a Sunday (and All Saints'); Monday 2 November is a working day.
    assert first_business_day(year=2026, month=11, zone=ZONE) == date(2026, 11, 2)
    # 1 January 2027 is a holiday (Friday): Monday 4 January.
    assert first_business_day(year=2027, month=1, zone=ZONE) == date(2027, 1, 4)
    settings = Settings(_env_file=None, monthly_report_time=time(9, 0))  # type: ignore[call-arg]
    at = scheduled_at(settings=settings, year=2027, month=1)
    assert at.isoformat() == "2027-01-04T09:00:00+01:00"
    assert next_report_at(settings=settings, now=NOW).isoformat() == "2026-12-01T09:00:00+01:00"
    assert previous_month(now=at, zone=ZONE).key == "2026-12"
