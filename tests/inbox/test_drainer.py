"""The inbox drainer: chat order, bounded concurrency, exactly-once marks, retries, parking."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.channels.inbox import InboxRow
from bot.cli.main import app as cli
from bot.db.engine import make_engine, transaction
from bot.db.models import InboundUpdate, Notification, Role, User
from bot.inbox import store
from bot.inbox.drainer import Drainer, draining
from bot.services import demo
from bot.settings import Settings
from bot.worker.inbox_report import report_parked
from handlers.model import ClaimLostError, Seal
from tests.inbox.conftest import put, rows
from tests.worker.pg import PostgresServer


def settings(**values: Any) -> Settings:
    """Settings of a quick drainer (no order window unless asked)."""
    base: dict[str, Any] = {"inbox_order_window_ms": 0, "inbox_poll_seconds": 0.05}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


class Recorder:
    """A channel's inbox handler that records what it handled (and may be slow or fail)."""

    def __init__(self, engine: Engine, *, fail_keys: frozenset[str] = frozenset()) -> None:
        self.engine = engine
        self.fail_keys = fail_keys
        self.order: dict[str, list[str]] = defaultdict(list)
        self.busy: dict[str, int] = defaultdict(int)
        self.overlap = 0
        self.running = 0
        self.peak = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, row: InboxRow, seal: Seal) -> None:
        self.busy[row.chat_key] += 1
        self.running += 1
        self.peak = max(self.peak, self.running)
        if self.busy[row.chat_key] > 1:
            self.overlap += 1
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0.01)
            if row.key in self.fail_keys:
                raise RuntimeError("handler broke")

            def effect() -> None:  # the event's effect and its mark, in one transaction
                with transaction(self.engine) as session:
                    seal(session)
                self.order[row.chat_key].append(row.key)

            await asyncio.to_thread(effect)
        finally:
            self.busy[row.chat_key] -= 1
            self.running -= 1


async def test_one_chat_in_platform_order_and_chats_concurrently(engine: Engine) -> None:
    # Stored out of order (a later update first): handled by seq, one at a time per chat.
    for chat in ("a", "b", "c", "d"):
        for seq in (5, 3, 4, 1, 2):
            put(engine, key=f"{chat}{seq}", chat=chat, seq=seq)
    recorder = Recorder(engine)
    async with draining(
        engine=engine, settings=settings(inbox_concurrency=3), handlers={"memory": recorder}
    ) as drainer:
        assert drainer is not None
        await drainer.settled()
    for chat in ("a", "b", "c", "d"):
        assert recorder.order[chat] == [f"{chat}{n}" for n in (1, 2, 3, 4, 5)]
    assert recorder.overlap == 0
    assert 1 < recorder.peak <= 3  # chats in parallel, bounded by the setting
    assert all(row.processed_at is not None and row.attempts == 1 for row in rows(engine))


async def test_a_failing_row_is_retried_then_parked_and_its_chat_moves_on(engine: Engine) -> None:
    put(engine, key="bad", chat="a", seq=1)
    put(engine, key="good", chat="a", seq=2)
    recorder = Recorder(engine, fail_keys=frozenset({"bad"}))
    store.BACKOFF_BASE, saved = 0.01, store.BACKOFF_BASE
    try:
        async with draining(
            engine=engine, settings=settings(inbox_max_attempts=3), handlers={"memory": recorder}
        ) as drainer:
            assert drainer is not None
            await drainer.settled()
    finally:
        store.BACKOFF_BASE = saved
    bad, good = rows(engine)
    assert (bad.attempts, bad.failures, bad.processed_at) == (3, 3, None)
    assert bad.parked_at is not None
    assert bad.last_error == "RuntimeError: handler broke"
    assert good.processed_at is not None
    assert recorder.order["a"] == ["good"]


def test_a_row_claimed_too_often_is_parked_without_running(engine: Engine) -> None:
    # A row whose process died on each attempt (no failure recorded): parked at the next claim.
    row_id = put(engine, key="k", chat="a", seq=1)
    now = datetime.now(UTC)
    lease = timedelta(seconds=10)
    for attempt in range(2):
        claimed, _parked = store.claim(
            engine=engine,
            channels={"memory"},
            now=now + attempt * 2 * lease,
            limit=5,
            lease=lease,
            settle=timedelta(0),
            max_attempts=5,
            max_claims=2,
        )
        assert [row.id for row, _token in claimed] == [row_id]
    claimed, parked = store.claim(
        engine=engine,
        channels={"memory"},
        now=now + 5 * lease,
        limit=5,
        lease=lease,
        settle=timedelta(0),
        max_attempts=5,
        max_claims=2,
    )
    assert (claimed, parked) == ([], 1)
    [row] = rows(engine)
    assert row.parked_at is not None
    assert row.last_error is not None
    assert "2 claims" in row.last_error


def test_a_claim_taken_over_after_its_lease_cannot_mark_the_row(engine: Engine) -> None:
    put(engine, key="k", chat="a", seq=1)
    now = datetime.now(UTC)
    lease = timedelta(seconds=10)
    common: dict[str, Any] = {
        "engine": engine,
        "channels": {"memory"},
        "limit": 5,
        "lease": lease,
        "settle": timedelta(0),
        "max_attempts": 5,
        "max_claims": 50,
    }
    [(first, first_token)], _ = store.claim(now=now, **common)
    assert store.claim(now=now + lease / 2, **common)[0] == []  # still leased
    [(second, second_token)], _ = store.claim(now=now + 2 * lease, **common)
    assert second.attempts == 2
    with pytest.raises(ClaimLostError), transaction(engine) as session:
        store.mark_handled(session=session, row_id=first.id, token=first_token, now=now)
    with transaction(engine) as session:
        store.mark_handled(session=session, row_id=second.id, token=second_token, now=now)
    [row] = rows(engine)
    assert row.processed_at is not None


async def test_a_row_stored_later_but_earlier_in_its_chat_waits_the_order_window(
    engine: Engine,
) -> None:
    recorder = Recorder(engine)
    async with draining(
        engine=engine,
        settings=settings(inbox_order_window_ms=300, inbox_poll_seconds=5),
        handlers={"memory": recorder},
    ) as drainer:
        assert drainer is not None
        put(engine, key="later", chat="a", seq=2)
        drainer.wake()
        await asyncio.sleep(0)
        put(engine, key="earlier", chat="a", seq=1)  # delivered concurrently, stored second
        drainer.wake()
        await drainer.settled()
    assert recorder.order["a"] == ["earlier", "later"]


def test_parked_rows_are_reported_once_listed_and_retried(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=datetime.now(UTC))
    row_id = put(engine, key="k", chat="a", seq=1, channel="telegram")
    with transaction(engine) as session:
        session.execute(
            update(InboundUpdate)
            .where(col(InboundUpdate.id) == row_id)
            .values(parked_at=datetime.now(UTC), attempts=5, last_error="ValueError: boom")
        )
    now = datetime.now(UTC)
    s = settings()
    assert report_parked(engine=engine, settings=s, now=now) == 1
    assert report_parked(engine=engine, settings=s, now=now) == 0  # once
    with transaction(engine) as session:
        alerts = session.exec(
            select(Notification).where(Notification.event == "inbox_parked")
        ).all()
        admins = session.exec(select(User).where(User.role == Role.ADMIN)).all()
    assert len(alerts) >= len(admins) >= 1
    assert all(f"supportbot inbox retry {row_id}" in alert.text for alert in alerts)
    assert all("ValueError: boom" in alert.text for alert in alerts)

    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        listed = CliRunner().invoke(cli, ["inbox", "list-parked"])
        assert listed.exit_code == 0, listed.output
        assert f"{row_id}  telegram" in listed.output
        assert "ValueError: boom" in listed.output
        assert "{}" not in listed.output  # never the payload
        retried = CliRunner().invoke(cli, ["inbox", "retry", str(row_id)])
        assert retried.exit_code == 0, retried.output
        again = CliRunner().invoke(cli, ["inbox", "retry", str(row_id)])
        assert again.exit_code == 2
        assert "no parked event" in again.output
        assert "no parked event" in CliRunner().invoke(cli, ["inbox", "list-parked"]).output
    finally:
        get_settings.cache_clear()
    [row] = rows(engine)
    assert (row.parked_at, row.attempts, row.reported_at) == (None, 0, None)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_drainers_share_the_rows_each_handled_once_in_chat_order(
    backend: str, engine: Engine, request: pytest.FixtureRequest
) -> None:
    """Two drainers (two event loops, as in two processes) on one database."""
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        engine = make_engine(server.new_database())
    chats, per_chat = 12, 15
    for n in range(per_chat):
        for chat in range(chats):
            put(engine, key=f"{chat}-{n}", chat=f"c{chat}", seq=n)
    recorders = [Recorder(engine), Recorder(engine)]

    def run(recorder: Recorder) -> None:
        async def main() -> None:
            drainer = Drainer(
                engine=engine, settings=settings(inbox_concurrency=4), handlers={"memory": recorder}
            )
            async with drainer.running():
                await drainer.settled()

        asyncio.run(main())

    threads = [threading.Thread(target=run, args=(r,)) for r in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handled: dict[str, list[str]] = defaultdict(list)
    for recorder in recorders:
        for chat, keys in recorder.order.items():
            handled[chat] += keys
    assert all(recorder.order for recorder in recorders)  # both took a share
    for chat in range(chats):
        keys = sorted(handled[f"c{chat}"], key=lambda k: int(k.split("-")[1]))
        assert keys == [f"{chat}-{n}" for n in range(per_chat)]  # each once, none lost
    assert all(row.processed_at is not None for row in rows(engine))
    if backend == "postgresql":
        engine.dispose()


def test_several_server_processes_need_postgresql(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "several server processes need PostgreSQL" in result.output
