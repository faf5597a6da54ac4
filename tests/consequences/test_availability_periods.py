"""The pure parts of the availability measure: periods in the contract's zone, interval sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import availability
from bot.services.errors import InputError
from pricing.loader import get_pack

ALTEO = availability.availability_remedy(get_pack("alteo-hosting"), "managed:plesk")
PROXIMUS = availability.availability_remedy(
    get_pack("proximus-internet"), "internet-pro-plus:basic"
)
NOW = datetime(2027, 4, 2, 8, 0, tzinfo=UTC)


def test_the_remedy_decides_the_period() -> None:
    assert ALTEO is not None
    assert PROXIMUS is not None
    (march,) = availability.periods(text="2027-03", remedy=ALTEO, zone="Europe/Paris", now=NOW)
    # Paris midnight to midnight: one hour shorter than 31 days (DST on the 28th).
    assert march.start == datetime(2027, 2, 28, 23, 0, tzinfo=UTC)
    assert march.end - march.start == timedelta(days=31, hours=-1)
    # A year on a monthly remedy: its months up to now; a month on a yearly one: its year.
    months = availability.periods(text="2027", remedy=ALTEO, zone="Europe/Paris", now=NOW)
    assert [p.label for p in months] == ["2027-01", "2027-02", "2027-03", "2027-04"]
    (year,) = availability.periods(text="2026-12", remedy=PROXIMUS, zone="Europe/Brussels", now=NOW)
    assert year.label == "2026"
    assert year.last_day.isoformat() == "2026-12-31"
    (current,) = availability.periods(text="", remedy=PROXIMUS, zone="Europe/Brussels", now=NOW)
    assert current.label == "2027"
    for bad, reason in (("2027-13", "month"), ("1999", "year"), ("soon", "unknown")):
        with pytest.raises(InputError) as caught:
            availability.periods(text=bad, remedy=ALTEO, zone="Europe/Paris", now=NOW)
        assert caught.value.params["reason"] == reason


def test_overlapping_outages_count_once_and_holes_are_cut_out() -> None:
    t = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    spans = availability._union(
        [(t, t + 2 * hour), (t + hour, t + 3 * hour), (t + 5 * hour, t + 6 * hour)]
    )
    assert spans == [(t, t + 3 * hour), (t + 5 * hour, t + 6 * hour)]
    cut = availability._minus(
        spans, [(t + hour, t + 90 * timedelta(minutes=1)), (t + 5 * hour, t + 7 * hour)]
    )
    assert cut == [(t, t + hour), (t + 90 * timedelta(minutes=1), t + 3 * hour)]
    assert availability._length(cut, None) == 150
