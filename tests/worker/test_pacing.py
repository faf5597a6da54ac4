"""Backoff, rate limits, clocks and escalation plans: the worker's pure parts."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.services.notify.routing import MANAGERS, Recipient
from bot.sla.clock import MilestoneKind
from bot.worker.clock import ManualClock, ScaledClock, clock_from_settings
from bot.worker.escalation import plan
from bot.worker.pacing import RateLimiter, backoff
from bot.worker.senders import RateLimit
from pricing.loader import get_pack

AGENTS = frozenset({Recipient.PROVIDER_AGENTS})

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FRACTIONS = (Decimal("0.5"), Decimal("0.75"), Decimal("0.9"))


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (12, 3600)]:
        delays = [backoff(attempt=attempt, base=5, cap=3600, rng=rng) for _ in range(50)]
        assert all(
            timedelta(seconds=ceiling / 2) <= d <= timedelta(seconds=ceiling) for d in delays
        )
        assert len(set(delays)) > 1  # jittered


def test_backoff_follows_the_platforms_retry_after() -> None:
    delay = backoff(attempt=7, base=5, cap=3600, retry_after=30, rng=random.Random(2))
    assert timedelta(seconds=30) <= delay <= timedelta(seconds=31)


def test_rate_limiter_paces_each_chat_and_the_channel() -> None:
    limiter = RateLimiter(RateLimit(per_second=2, per_chat_per_second=1, burst=1))
    assert limiter.delay("a", T0) == timedelta(0)
    limiter.take("a", T0)
    assert limiter.delay("a", T0) == timedelta(seconds=1)
    assert limiter.delay("b", T0) == timedelta(seconds=0.5)  # the channel's pace
    limiter.take("b", T0 + timedelta(seconds=0.5))
    assert limiter.delay("a", T0 + timedelta(seconds=1)) == timedelta(0)


def test_rate_limiter_allows_a_burst() -> None:
    limiter = RateLimiter(RateLimit(per_second=1, per_chat_per_second=1, burst=3))
    for _ in range(3):
        assert limiter.delay("a", T0) == timedelta(0)
        limiter.take("a", T0)
    assert limiter.delay("a", T0) == timedelta(seconds=1)


def test_scaled_clock_shares_one_timeline() -> None:
    real = datetime.now(UTC) - timedelta(seconds=2)
    clock = ScaledClock(virtual_origin=T0, real_origin=real, scale=3600)
    before = datetime.now(UTC)
    read = clock.now()
    after = datetime.now(UTC)
    # Whatever the machine's speed: the reading lies between the two real instants, scaled.
    assert T0 + (before - real) * 3600 <= read <= T0 + (after - real) * 3600
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(virtual_origin=T0, real_origin=real, scale=0)
    assert isinstance(
        clock_from_settings(scale=10, virtual_origin=None, real_origin=None), ScaledClock
    )


async def test_scaled_clock_sleeps_its_share_of_real_time() -> None:
    clock = ScaledClock(virtual_origin=T0, real_origin=datetime.now(UTC), scale=36_000)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep_until(clock.now() + timedelta(hours=1))  # 0.1 s of real time
    assert loop.time() - started >= 0.09  # at least its share (a busy machine may add more)


async def test_manual_clock_wakes_sleepers_when_moved() -> None:
    clock = ManualClock(T0)
    sleeper = asyncio.create_task(clock.sleep_until(T0 + timedelta(hours=1)))
    await asyncio.sleep(0.01)
    clock.advance(minutes=30)
    await asyncio.sleep(0.01)
    assert not sleeper.done()
    clock.advance(minutes=30)
    await asyncio.wait_for(sleeper, 120)
    wake = asyncio.Event()
    sleeper = asyncio.create_task(clock.sleep_until(T0 + timedelta(days=1), wake=wake))
    wake.set()
    await asyncio.wait_for(sleeper, 120)
    await asyncio.wait_for(clock.sleep_until(None, at_most=0.01), 120)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(T0)


# Issue 15 item 8 changed these: Proximus 002 defines no time trigger for escalation, so
# milestones no longer climb levels 0-5 (the old test expected level 0 at 50 %, 4 at the
# breach); at-risk pings stay internal to the desk and a level is requested with /escalate.
@pytest.mark.parametrize(
    ("priority", "kind", "fraction", "event", "phone"),
    [
        ("p1", MilestoneKind.WARNING, Decimal("0.5"), "at_risk", False),
        ("p2", MilestoneKind.WARNING, Decimal("0.75"), "at_risk", False),
        ("p1", MilestoneKind.DUE, None, "due", False),
        ("p1", MilestoneKind.BREACH, None, "breached", True),
        ("p3", MilestoneKind.BREACH, None, "breached", False),
        ("p4", MilestoneKind.WARNING, Decimal("0.5"), "at_risk", False),
    ],
)
def test_proximus_milestones_never_climb_escalation_levels(
    priority: str, kind: MilestoneKind, fraction: Decimal | None, event: str, phone: bool
) -> None:
    ping = plan(
        pack=get_pack("proximus-internet"),
        priority=priority,
        kind=kind,
        fraction=fraction,
        fractions=FRACTIONS,
    )
    assert not hasattr(ping, "level")
    assert ping.event == event
    if kind is MilestoneKind.WARNING:
        assert ping.recipients == AGENTS  # internal: never the customer
    if kind is MilestoneKind.BREACH:
        assert ping.recipients == {Recipient.CUSTOMER, Recipient.PROVIDER_AGENTS, *MANAGERS}
        assert ping.phone is phone


def test_other_packs_route_by_their_ladder_settings() -> None:
    pack = get_pack("telenet-hosting-cloud")
    warning = plan(
        pack=pack,
        priority="express",
        kind=MilestoneKind.WARNING,
        fraction=Decimal("0.5"),
        fractions=FRACTIONS,
    )
    assert (warning.event, warning.recipients) == ("at_risk", AGENTS)
    due = plan(pack=pack, priority="express", kind=MilestoneKind.DUE, fraction=None, fractions=())
    assert (due.event, due.recipients) == ("due", AGENTS)
    louder = pack.model_copy(
        update={"escalation": pack.escalation.model_copy(update={"at_risk": "manager"})}
    )
    warning = plan(
        pack=louder,
        priority="express",
        kind=MilestoneKind.WARNING,
        fraction=Decimal("0.5"),
        fractions=FRACTIONS,
    )
    assert warning.recipients == AGENTS | MANAGERS
