"""Retry backoff and rate limiting, on the worker's clock."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bot.channels.sending import RateLimit


def backoff(
    *,
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    """The delay before the next attempt: the platform's, else exponential with jitter.

    Attempt n waits between half and all of ``min(cap, base * 2**(n-1))`` ("equal jitter"),
    so retries of many messages spread out instead of hitting a platform together.
    """
    pick = (rng or random).uniform
    if retry_after is not None and retry_after >= 0:
        return timedelta(seconds=retry_after + pick(0, min(1.0, retry_after * 0.1)))
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=ceiling / 2 + pick(0, ceiling / 2))


class _Cell:
    """A generic cell-rate limiter: `rate` per second with a burst tolerance."""

    __slots__ = ("interval", "tolerance", "tat")

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = timedelta(seconds=1 / rate)
        self.tolerance = self.interval * max(burst - 1, 0)
        self.tat: datetime | None = None

    def delay(self, now: datetime) -> timedelta:
        if self.tat is None:
            return timedelta(0)
        return max(timedelta(0), self.tat - self.tolerance - now)

    def take(self, now: datetime) -> None:
        start = now if self.tat is None or self.tat < now else self.tat
        self.tat = start + self.interval


class RateLimiter:
    """Overall and per-chat pacing for one channel."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.overall = _Cell(limit.per_second, limit.burst)
        self.chats: dict[str, _Cell] = {}

    def delay(self, chat_id: str, now: datetime) -> timedelta:
        """How long until a message to `chat_id` may go."""
        chat = self.chats.get(chat_id)
        own = chat.delay(now) if chat is not None else timedelta(0)
        return max(own, self.overall.delay(now))

    def take(self, chat_id: str, now: datetime) -> None:
        """Record a message sent to `chat_id` at `now`."""
        chat = self.chats.get(chat_id)
        if chat is None:
            if len(self.chats) > 10_000:
                self._forget(now)
            burst = self.limit.chat_burst or self.limit.burst
            chat = self.chats[chat_id] = _Cell(self.limit.per_chat_per_second, burst)
        chat.take(now)
        self.overall.take(now)

    def _forget(self, now: datetime) -> None:
        """Drop chats whose pacing has fully recovered (keeps memory bounded)."""
        for chat_id in [c for c, cell in self.chats.items() if cell.tat is None or cell.tat < now]:
            del self.chats[chat_id]
