"""Gap-free sequences (Telegram's update ids): an event whose predecessors are all stored skips
the order window; a gap, a number below the floor, or a channel without the guarantee waits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import col

from bot.db.models import InboundUpdate
from bot.inbox import store
from bot.inbox.drainer import Drainer
from bot.worker.clock import ManualClock
from tests.inbox.conftest import put
from tests.inbox.test_drainer import Recorder, settings

WINDOW = timedelta(seconds=60)
#: Rows stored just now are past their window from then on.
AFTER = WINDOW + timedelta(seconds=1)


def _past_window(engine: Engine, row_id: int, now: datetime, *, replied: bool = True) -> None:
    """Make a row one stored (and by default handled and replied) before the order window."""
    values: dict[str, object] = {"received_at": now - 2 * WINDOW}
    if replied:
        values.update(processed_at=now - WINDOW, replied_at=now - WINDOW)
    with engine.begin() as connection:
        connection.execute(
            update(InboundUpdate).where(col(InboundUpdate.id) == row_id).values(**values)
        )


def _claim(engine: Engine, now: datetime, *, gapless: bool = True) -> list[str]:
    claimed, _parked = store.claim(
        engine=engine,
        channels={"memory"},
        now=now,
        limit=50,
        lease=timedelta(minutes=5),
        settle=WINDOW,
        max_attempts=5,
        max_claims=50,
        gapless={"memory"} if gapless else (),
    )
    return sorted(row.key for row, _token in claimed)


def test_rows_whose_predecessors_are_stored_skip_the_window_and_a_gap_waits(either: Engine) -> None:
    engine = either
    now = datetime.now(UTC)
    _past_window(engine, put(engine, key="10", chat="a", seq=10), now)
    for seq, chat in ((11, "b"), (12, "c"), (14, "d"), (15, "b")):
        put(engine, key=str(seq), chat=chat, seq=seq)
    # A channel without the guarantee waits the window whatever its numbers.
    assert _claim(engine, now, gapless=False) == []
    # 11 and 12 follow the floor (10) without a gap; 14 comes after a gap (13 is in flight);
    # 15 is complete only after 14, and its chat's 11 goes first anyway.
    with engine.connect() as connection:
        assert store.complete_through(
            connection=connection, channel="memory", settle_before=now - WINDOW
        ) == store.Complete(channel="memory", floor=10, through=12)
    assert _claim(engine, now) == ["11", "12"]
    put(engine, key="13", chat="e", seq=13)  # the gap is filled
    assert _claim(engine, now) == ["13", "14"]  # 15 waits for 11 of its chat, still in hand


def test_without_a_floor_or_below_it_rows_wait_their_window(either: Engine) -> None:
    engine = either
    now = datetime.now(UTC)
    put(engine, key="1", chat="a", seq=1)
    put(engine, key="2", chat="b", seq=2)
    # Nothing stored before the window: what precedes 1 is unknown, so both wait.
    with engine.connect() as connection:
        assert (
            store.complete_through(
                connection=connection, channel="memory", settle_before=now - WINDOW
            )
            is None
        )
    assert _claim(engine, now) == []
    assert _claim(engine, now + AFTER) == ["1", "2"]
    # A number below the floor (a late redelivery, a new bot's numbering) waits its window.
    _past_window(engine, put(engine, key="5", chat="c", seq=5), now)
    put(engine, key="0", chat="d", seq=0)
    assert _claim(engine, now) == []
    assert _claim(engine, now + AFTER) == ["0"]


async def test_the_drainer_claims_a_complete_sequence_at_once_and_a_gap_after_its_window(
    engine: Engine,
) -> None:
    """The drainer's clock is a virtual one, advanced by the test: with a 60-second window,
    what is handled before the clock moves skipped its window."""
    clock = ManualClock(datetime.now(UTC))
    recorder = Recorder(engine)
    drainer = Drainer(
        engine=engine,
        settings=settings(inbox_order_window_ms=60_000, inbox_poll_seconds=5),
        handlers={"memory": recorder},
        clock=clock.now,
        gapless={"memory"},
    )

    async def looked(times: int) -> None:
        """The drainer claimed `times` more times after a ring."""
        passes = drainer.passes
        while drainer.passes < passes + times:
            drainer.wake()
            await asyncio.sleep(0.01)

    async with drainer.running():
        put(engine, key="1", chat="a", seq=1)
        await looked(2)
        assert dict(recorder.order) == {}  # no floor yet: 1 waits its window
        clock.advance(AFTER)
        await drainer.settled()
        assert recorder.order["a"] == ["1"]
        put(engine, key="2", chat="b", seq=2, received_at=clock.now())
        put(engine, key="4", chat="c", seq=4, received_at=clock.now())
        await looked(3)
        while not recorder.order["b"]:
            await looked(1)
        assert recorder.order["b"] == ["2"]
        assert recorder.order["c"] == []  # 3 is in flight
        put(engine, key="3", chat="d", seq=3, received_at=clock.now())
        await drainer.settled()  # the clock has not moved
    assert (recorder.order["d"], recorder.order["c"]) == (["3"], ["4"])
