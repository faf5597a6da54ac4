"""The file clock: time moves only when its driver rewrites the file, never backwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.worker.clock import FileClock, clock_from_settings, write_clock_file

T0 = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # the night Brussels moves to summer time


def test_reads_the_instant_the_driver_wrote(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, T0)
    clock = clock_from_settings(scale=1, virtual_origin=None, real_origin=None, clock_file=path)
    assert isinstance(clock, FileClock)
    assert clock.now() == T0
    write_clock_file(path, T0 + timedelta(hours=2))
    assert clock.now() == T0 + timedelta(hours=2)
    write_clock_file(path, T0)  # a driver's mistake: the clock holds its last instant
    assert clock.now() == T0 + timedelta(hours=2)


def test_refuses_naive_instants(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    with pytest.raises(ValueError, match="aware"):
        write_clock_file(path, datetime(2027, 3, 28))  # noqa: DTZ001
    path.write_text("2027-03-28T00:30:00")
    with pytest.raises(ValueError, match="aware"):
        FileClock(path).now()


def test_a_sleeper_wakes_when_the_driver_reaches_its_deadline(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, T0)
    clock = FileClock(path)

    async def scenario() -> datetime:
        sleeper = asyncio.create_task(clock.sleep_until(T0 + timedelta(minutes=5)))
        await asyncio.sleep(0)
        assert not sleeper.done()
        write_clock_file(path, T0 + timedelta(minutes=1))
        await asyncio.sleep(FileClock.POLL_SECONDS * 3)
        assert not sleeper.done()  # one virtual minute is not five
        write_clock_file(path, T0 + timedelta(minutes=5))
        await sleeper  # no real deadline: it returns because the file moved
        return clock.now()

    assert asyncio.run(scenario()) == T0 + timedelta(minutes=5)


def test_a_wake_up_or_the_real_bound_ends_the_sleep(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_file(path, T0)
    clock = FileClock(path)

    async def scenario() -> None:
        wake = asyncio.Event()
        wake.set()
        await clock.sleep_until(T0 + timedelta(days=1), wake=wake)
        await clock.sleep_until(T0 + timedelta(days=1), at_most=0.01)

    asyncio.run(scenario())
    assert clock.now() == T0
