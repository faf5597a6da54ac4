"""Token buckets for Telegram's flood limits: per chat, per group, and for the whole bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Telegram's documented limits (core.telegram.org/bots/faq): about one message per second in
# a chat, twenty per minute in a group, thirty per second in all. A bucket of capacity B
# refilled at r lets at most B + r·T through in any window of T seconds, so a group's bucket
# holds a burst of 3 and refills 17 a minute (never more than 20 in 60 s), and the bot's
# holds 5 and refills 25 a second (never more than 30 in one second; a bucket of 30 refilled
# at 30 a second would let up to 60 through).
PER_CHAT_RATE = 1.0
GROUP_PER_MINUTE = 20
PER_GROUP_BURST = 3
PER_GROUP_RATE = (GROUP_PER_MINUTE - PER_GROUP_BURST) / 60
GLOBAL_RATE = 30.0
GLOBAL_BURST = 5
GLOBAL_REFILL = GLOBAL_RATE - GLOBAL_BURST
IDLE_BUCKETS_KEPT = 10_000
EPSILON = 1e-9  # a token refilled up to rounding is a token


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; `blocked_until` pauses it (RetryAfter)."""

    rate: float
    capacity: float
    tokens: float
    updated: float
    blocked_until: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when it is now)."""
        self._refill(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.tokens >= 1 - EPSILON:
            return 0.0
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one token (call after `wait` returned 0)."""
        self._refill(now)
        self.tokens -= 1

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now


@dataclass
class FloodLimiter:
    """The bot's flood limits; `acquire` waits until a message to `chat_id` may go out."""

    global_rate: float = GLOBAL_REFILL
    global_burst: float = GLOBAL_BURST
    chat_rate: float = PER_CHAT_RATE
    group_rate: float = PER_GROUP_RATE
    group_burst: float = PER_GROUP_BURST
    clock: Callable[[], float] = time.monotonic
    _global: TokenBucket | None = None
    _chats: dict[str, TokenBucket] = field(default_factory=dict)
    _groups: dict[str, TokenBucket] = field(default_factory=dict)

    def _global_bucket(self, now: float) -> TokenBucket:
        if self._global is None:
            self._global = TokenBucket(self.global_rate, self.global_burst, self.global_burst, now)
        return self._global

    def _buckets(self, chat_id: str, now: float) -> list[TokenBucket]:
        glob = self._global_bucket(now)
        if len(self._chats) > IDLE_BUCKETS_KEPT:
            self._forget_idle(now)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = TokenBucket(self.chat_rate, 1, 1, now)
        buckets = [glob, chat]
        if is_group(chat_id):
            group = self._groups.get(chat_id)
            if group is None:
                group = TokenBucket(self.group_rate, self.group_burst, self.group_burst, now)
                self._groups[chat_id] = group
            buckets.append(group)
        return buckets

    def delay(self, chat_id: str) -> float:
        """Seconds before a message to `chat_id` may go out (0: now)."""
        now = self.clock()
        return max(bucket.wait(now) for bucket in self._buckets(chat_id, now))

    def try_take(self, chat_id: str) -> float:
        """Take a slot for `chat_id` and return 0, or return the seconds to wait."""
        now = self.clock()
        buckets = self._buckets(chat_id, now)
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait <= 0:
            for bucket in buckets:
                bucket.take(now)
        return wait

    def try_take_global(self) -> float:
        """Take a slot of the bot-wide budget and return 0, or return the seconds to wait."""
        now = self.clock()
        bucket = self._global_bucket(now)
        wait = bucket.wait(now)
        if wait <= 0:
            bucket.take(now)
        return wait

    async def acquire_global(self) -> None:
        """Wait for a slot of the bot-wide budget (direct answers to users)."""
        while True:
            wait = self.try_take_global()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def acquire(self, chat_id: str) -> None:
        """Wait for a slot for `chat_id` and take it."""
        while True:
            wait = self.try_take(chat_id)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def block(self, chat_id: str | None, seconds: float) -> None:
        """Honour a RetryAfter: nothing goes to `chat_id` (or anywhere, if None) for `seconds`."""
        now = self.clock()
        targets = [self._global_bucket(now)] if chat_id is None else self._buckets(chat_id, now)[1:]
        until = now + seconds
        for bucket in targets:
            bucket.blocked_until = max(bucket.blocked_until, until)

    def _forget_idle(self, now: float) -> None:
        for table in (self._chats, self._groups):
            for key in [k for k, b in table.items() if b.wait(now) == 0 and b.tokens >= b.capacity]:
                del table[key]


class Unlimited(FloodLimiter):
    """No limits (benchmarks measure the adapter, not Telegram's pacing)."""

    def try_take(self, chat_id: str) -> float:
        """Always a slot."""
        return 0.0

    def delay(self, chat_id: str) -> float:
        """Never a wait."""
        return 0.0

    def try_take_global(self) -> float:
        """Always a slot."""
        return 0.0


def is_group(chat_id: str) -> bool:
    """Group and supergroup chat ids are negative; users' are positive."""
    return chat_id.startswith("-")
