"""Group commit of the webhooks' inbox writes: events arriving together share one store call
and one transaction; each caller hears its own event's result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from bot.channels.group_commit import GroupCommit
from bot.db.inbound import Inbound, store_together

LIMIT = 60.0  # seconds, only against a hang


class Recorder:
    """A `store_all` that holds its first call until released, recording every batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(LIMIT)
        return [ValueError(f"item {i}") if i < 0 else i * 10 for i in items]


async def test_items_arriving_while_a_store_runs_are_stored_together() -> None:
    recorder = Recorder()
    commit: GroupCommit[int, int] = GroupCommit(recorder)
    first = asyncio.ensure_future(commit(1))
    await asyncio.to_thread(recorder.entered.wait, LIMIT)
    others = [asyncio.ensure_future(commit(i)) for i in (2, 3, 4, 5)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 10
    assert await asyncio.gather(*others) == [20, 30, 40, 50]
    assert recorder.batches == [[1], [2, 3, 4, 5]]


async def test_each_caller_hears_its_own_failure_only() -> None:
    recorder = Recorder()
    recorder.release.set()
    commit: GroupCommit[int, int] = GroupCommit(recorder)
    results = await asyncio.gather(commit(1), commit(-2), commit(3), return_exceptions=True)
    assert results[0] == 10
    assert results[2] == 30
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "item -2"


def _event(key: str, *, payload: str | None = "{}") -> Inbound:
    return Inbound(
        channel="memory",
        key=key,
        payload=payload,  # type: ignore[arg-type]  # None: a row the database refuses
        now=datetime.now(UTC),
        chat_key=f"chat:{key}",
        seq=1,
    )


def test_events_stored_together_and_one_by_one_when_one_fails(engine: Engine) -> None:
    first = store_together(engine=engine, events=[_event("a"), _event("b")])
    assert all(isinstance(found, int) for found in first)
    # A retry (already stored), a new event, and one the database refuses (no payload).
    second = store_together(
        engine=engine, events=[_event("a"), _event("c"), _event("d", payload=None)]
    )
    assert second[0] is None
    assert isinstance(second[1], int)
    assert isinstance(second[2], Exception)
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT external_key FROM inbound_updates ORDER BY id"))
        assert [row[0] for row in keys] == ["a", "b", "c"]


@pytest.mark.parametrize("claimed", [False, True])
def test_an_event_may_be_stored_already_claimed(engine: Engine, claimed: bool) -> None:
    now = datetime.now(UTC)
    event = Inbound(
        channel="memory",
        key="k",
        payload="{}",
        now=now,
        chat_key="chat:k",
        seq=1,
        claim=("token", now) if claimed else None,
    )
    (row_id,) = store_together(engine=engine, events=[event])
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT claim_token, attempts, failures FROM inbound_updates WHERE id = :id"),
            {"id": row_id},
        ).one()
    assert tuple(row) == (("token", 1, 0) if claimed else (None, 0, 0))
