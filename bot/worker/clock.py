"""The worker's clocks: the system clock, a shifted or scaled clock, and a manual test clock.

Every instant the worker uses (due checks, leases, backoff, rate limits, the daily digest)
comes from one `Clock`, so tests never sleep for real SLA durations. Durations such as a
lease or a backoff are spans of the clock's own timeline: on a clock running 3600 times
faster, a 60-second lease lasts 1/60 s of real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the worker reads the time and waits for an instant."""

    def now(self) -> datetime:
        """The current instant, aware UTC."""
        ...

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event | None = None) -> None:
        """Return at `deadline`, or earlier once `wake` is set."""
        ...


async def _wait(delay: float, wake: asyncio.Event | None) -> None:
    if delay <= 0:
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

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event | None = None) -> None:
        """Sleep in real time until `deadline` or a wake-up."""
        await _wait((deadline - self.now()).total_seconds(), wake)


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

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event | None = None) -> None:
        """Sleep until the virtual `deadline` (its real share) or a wake-up."""
        await _wait((deadline - self.now()).total_seconds() / self.scale, wake)


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

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event | None = None) -> None:
        """Wait until the clock is moved past `deadline`, or a wake-up."""
        while self._now < deadline and not (wake is not None and wake.is_set()):
            if self._moved is None:
                self._moved = asyncio.Event()
            waiters = [asyncio.ensure_future(self._moved.wait())]
            if wake is not None:
                waiters.append(asyncio.ensure_future(wake.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()


def clock_from_settings(
    *, scale: float, virtual_origin: datetime | None, real_origin: datetime | None
) -> Clock:
    """The system clock, or a scaled/shifted one when the settings ask for it."""
    if scale == 1 and virtual_origin is None:
        return SystemClock()
    real = real_origin or datetime.now(UTC)
    return ScaledClock(virtual_origin=virtual_origin or real, real_origin=real, scale=scale)
