"""The worker's clocks: the system clock, a shifted or scaled clock, and driven test clocks.

Every instant the worker uses (due checks, leases, backoff, rate limits, the daily digest)
comes from one `Clock`, so tests never sleep for real SLA durations. Durations such as a
lease or a backoff are spans of the clock's own timeline: on a clock running 3600 times
faster, a 60-second lease lasts 1/60 s of real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Where the worker reads the time and waits for an instant."""

    def now(self) -> datetime:
        """The current instant, aware UTC."""
        ...

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Return at `deadline`, after `at_most` real seconds, or once `wake` is set."""
        ...


def _bounded(delay: float | None, at_most: float | None) -> float | None:
    if at_most is None:
        return delay
    return at_most if delay is None else min(delay, at_most)


async def _wait(delay: float | None, wake: asyncio.Event | None) -> None:
    if delay is not None and delay <= 0:
        return
    if wake is not None and wake.is_set():
        return
    if wake is None:
        if delay is None:
            raise ValueError("an endless sleep needs a wake-up event")
        await asyncio.sleep(delay)
        return
    if wake is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=delay)


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        """The current instant."""
        return datetime.now(UTC)

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Sleep in real time until `deadline`, `at_most` seconds, or a wake-up."""
        delay = None if deadline is None else (deadline - self.now()).total_seconds()
        await _wait(_bounded(delay, at_most), wake)


class ScaledClock:
    """Time shifted to `virtual_origin` at `real_origin` and running `scale` times faster.

    Several processes built with the same origins and scale share one timeline, so a worker
    restarted by a test continues where the killed one stopped.
    """

    def __init__(self, *, virtual_origin: datetime, real_origin: datetime, scale: float) -> None:
        if scale <= 0:
            raise ValueError("the clock scale must be positive")
        if virtual_origin.tzinfo is None or real_origin.tzinfo is None:
            raise ValueError("clock origins must be aware instants")
        self.virtual_origin = virtual_origin
        self.real_origin = real_origin
        self.scale = scale

    def now(self) -> datetime:
        """The current virtual instant."""
        return self.virtual_origin + (datetime.now(UTC) - self.real_origin) * self.scale

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Sleep until the virtual `deadline`, `at_most` real seconds, or a wake-up."""
        delay = None if deadline is None else (deadline - self.now()).total_seconds() / self.scale
        await _wait(_bounded(delay, at_most), wake)


class ManualClock:
    """A clock that moves only when told (tests): sleepers wake when `advance` passes them."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start must be an aware instant")
        self._now = start
        self._moved: asyncio.Event | None = None

    def now(self) -> datetime:
        """The current instant."""
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to `instant` (never backwards)."""
        if instant < self._now:
            raise ValueError("a clock does not run backwards")
        self._now = instant
        if self._moved is not None:
            self._moved.set()
            self._moved = None

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by `delta` (or `timedelta(**units)`); returns the new instant."""
        self.set(self._now + (delta if delta is not None else timedelta(**units)))
        return self._now

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Wait until the clock is moved to `deadline`, a wake-up, or `at_most` real seconds."""
        loop = asyncio.get_running_loop()
        give_up = None if at_most is None else loop.time() + at_most
        while deadline is None or self._now < deadline:
            if wake is not None and wake.is_set():
                return
            left = None if give_up is None else give_up - loop.time()
            if left is not None and left <= 0:
                return
            if self._moved is None:
                self._moved = asyncio.Event()
            waiters = [asyncio.ensure_future(self._moved.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            try:
                await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()


class FileClock:
    """A clock another process drives: the instant is the ISO text of a file it rewrites.

    Test harnesses that run workers as separate processes move time themselves, step by
    step, so what the workers see never depends on how fast the machine is. The driver writes
    with `write_clock_file` (an atomic rename); the clock never runs backwards.
    """

    POLL_SECONDS = 0.02

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: datetime | None = None

    def now(self) -> datetime:
        """The instant last written by the driver."""
        instant = datetime.fromisoformat(self.path.read_text().strip())
        if instant.tzinfo is None:
            raise ValueError("the clock file must hold an aware instant")
        if self._last is not None and instant < self._last:
            instant = self._last
        self._last = instant
        return instant.astimezone(UTC)

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Poll the file until it reaches `deadline`, a wake-up, or `at_most` real seconds."""
        loop = asyncio.get_running_loop()
        give_up = None if at_most is None else loop.time() + at_most
        while deadline is None or self.now() < deadline:
            left = None if give_up is None else give_up - loop.time()
            if left is not None and left <= 0:
                return
            step = self.POLL_SECONDS if left is None else min(self.POLL_SECONDS, left)
            await _wait(step, wake)
            if wake is not None and wake.is_set():
                return


def write_clock_file(path: Path, instant: datetime) -> None:
    """Set a `FileClock`'s instant (atomically: readers never see a partial write)."""
    if instant.tzinfo is None:
        raise ValueError("the instant must be aware")
    staged = path.with_name(path.name + ".next")
    staged.write_text(instant.astimezone(UTC).isoformat())
    os.replace(staged, path)


def clock_from_settings(
    *,
    scale: float,
    virtual_origin: datetime | None,
    real_origin: datetime | None,
    clock_file: Path | None = None,
) -> Clock:
    """The system clock, or a scaled/shifted/driven one when the settings ask for it."""
    if clock_file is not None:
        return FileClock(clock_file)
    if scale == 1 and virtual_origin is None:
        return SystemClock()
    real = real_origin or datetime.now(UTC)
    return ScaledClock(virtual_origin=virtual_origin or real, real_origin=real, scale=scale)
