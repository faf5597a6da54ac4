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
from bot.db import open_questions
from bot.db.engine import transaction
from bot.db.models import InboundUpdate, Notification, OpenQuestion, Role, User
from bot.inbox import store
from bot.inbox.drainer import Drainer, draining
from bot.inbox.replies import dump_outcome, load_outcome
from bot.services import demo
from bot.settings import Settings
from bot.worker.inbox_report import report_parked
from handlers.model import ClaimLostError, Outcome, OutgoingFile, Seal, Text, reply_text
from tests.inbox.conftest import put, rows


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


def test_two_drainers_share_the_rows_each_handled_once_in_chat_order(either: Engine) -> None:
    """Two drainers (two event loops, as in two processes) on one database."""
    engine = either
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


# --------------------------------------------------------------------------- replies


def handled_unreplied(engine: Engine, row_id: int, outcome: Outcome | None) -> None:
    """A row whose process committed its effects (and reply) and stopped before sending."""
    with transaction(engine) as session:
        session.execute(
            update(InboundUpdate)
            .where(col(InboundUpdate.id) == row_id)
            .values(
                processed_at=datetime.now(UTC),
                attempts=1,
                reply=None if outcome is None else dump_outcome(outcome),
                claim_token="dead-process",
                lease_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )


class Replier(Recorder):
    """A channel's handler that records the replies it sends: the stored one for a handled
    row (never sealing it again), a fresh one otherwise."""

    def __init__(self, engine: Engine, *, failing_sends: int = 0) -> None:
        super().__init__(engine)
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.failing_sends = failing_sends
        self.reply_only: list[str] = []

    async def __call__(self, row: InboxRow, seal: Seal) -> None:
        self.busy[row.chat_key] += 1
        if self.busy[row.chat_key] > 1:
            self.overlap += 1
        try:
            await self._reply(row, seal)
        finally:
            self.busy[row.chat_key] -= 1

    async def _reply(self, row: InboxRow, seal: Seal) -> None:
        if row.handled:
            assert row.reply is not None
            self.reply_only.append(row.key)
            text = reply_text(row.reply.replies[0])
        else:
            outcome = Outcome(lang="en", replies=[Text(f"answer to {row.key}")])

            def effect() -> None:
                with transaction(self.engine) as session:
                    seal(session, outcome)
                self.order[row.chat_key].append(row.key)

            await asyncio.to_thread(effect)
            text = f"answer to {row.key}"
        if self.failing_sends:
            self.failing_sends -= 1
            raise ConnectionError("platform unreachable")
        await asyncio.sleep(0.005)
        self.sent[row.chat_key].append(text)


def test_stored_replies_go_first_and_once_then_each_chat_in_order_two_drainers(
    either: Engine,
) -> None:
    """Each chat's first row was handled by a process that stopped before its reply went:
    two drainers send those replies (never handling them again), then the chats' next rows."""
    engine = either
    chats, per_chat = 8, 6
    for n in range(per_chat):
        for chat in range(chats):
            row_id = put(engine, key=f"{chat}-{n}", chat=f"c{chat}", seq=n)
            if n == 0:
                stored = Outcome(lang="en", replies=[Text(f"answer to {chat}-0")])
                handled_unreplied(engine, row_id, stored)
    repliers = [Replier(engine), Replier(engine)]

    def run(replier: Replier) -> None:
        async def main() -> None:
            drainer = Drainer(
                engine=engine, settings=settings(inbox_concurrency=3), handlers={"memory": replier}
            )
            async with drainer.running():
                await drainer.settled()

        asyncio.run(main())

    threads = [threading.Thread(target=run, args=(r,)) for r in repliers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent: dict[str, list[str]] = defaultdict(list)
    for replier in repliers:
        for chat, texts in replier.sent.items():
            sent[chat] += texts
    for chat in range(chats):
        texts = sorted(sent[f"c{chat}"], key=lambda t: int(t.rsplit("-", 1)[1]))
        assert texts == [f"answer to {chat}-{n}" for n in range(per_chat)]  # each once
    assert sorted(key for r in repliers for key in r.reply_only) == sorted(
        f"{chat}-0" for chat in range(chats)
    )
    assert all(r.overlap == 0 for r in repliers)
    for row in rows(engine):
        assert row.replied_at is not None
        assert (row.reply, row.claim_token, row.parked_at) == (None, None, None)


async def test_a_reply_that_cannot_be_sent_is_retried_alone_then_parked_and_retried_by_hand(
    engine: Engine,
) -> None:
    put(engine, key="k", chat="a", seq=1)
    put(engine, key="next", chat="a", seq=2)
    replier = Replier(engine, failing_sends=3)
    store.BACKOFF_BASE, saved = 0.01, store.BACKOFF_BASE
    try:
        async with draining(
            engine=engine, settings=settings(inbox_max_attempts=3), handlers={"memory": replier}
        ) as drainer:
            assert drainer is not None
            await drainer.settled()
    finally:
        store.BACKOFF_BASE = saved
    first, after = rows(engine)
    # Handled once; its reply tried three times (the last two "reply only"), then parked.
    assert replier.order["a"] == ["k", "next"]
    assert replier.reply_only == ["k", "k"]
    assert (first.processed_at is not None, first.replied_at, first.failures) == (True, None, 3)
    assert first.parked_at is not None
    assert first.reply is not None
    assert first.last_error == "ConnectionError: platform unreachable"
    assert after.replied_at is not None  # its chat moved on once the reply was given up
    assert replier.sent["a"] == ["answer to next"]
    # An operator offers it again: the stored reply is sent, the core's work not redone.
    with transaction(engine) as session:
        assert store.retry(session=session, row_id=first.id or 0)
    async with draining(
        engine=engine, settings=settings(), handlers={"memory": replier}
    ) as drainer:
        assert drainer is not None
        await drainer.settled()
    assert replier.sent["a"] == ["answer to next", "answer to k"]
    assert replier.order["a"] == ["k", "next"]
    [first, _after] = rows(engine)
    assert (first.replied_at is not None, first.reply, first.parked_at) == (True, None, None)


async def test_an_unreadable_stored_reply_is_given_up_with_a_log_line(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    row_id = put(engine, key="k", chat="a", seq=1)
    handled_unreplied(engine, row_id, None)
    with transaction(engine) as session:
        session.execute(
            update(InboundUpdate).where(col(InboundUpdate.id) == row_id).values(reply="{oops")
        )
    replier = Replier(engine)
    async with draining(engine=engine, settings=settings(), handlers={"memory": replier}) as d:
        assert d is not None
        await d.settled()
    assert replier.reply_only == []  # never handed to the channel
    [row] = rows(engine)
    assert row.replied_at is not None
    assert "stored reply is given up" in caplog.text


def test_a_chart_drawn_after_the_commit_is_kept_with_the_stored_reply(engine: Engine) -> None:
    put(engine, key="k", chat="a", seq=1)
    lease = timedelta(seconds=30)
    [(row, token)], _ = store.claim(
        engine=engine,
        channels={"memory"},
        now=datetime.now(UTC),
        limit=5,
        lease=lease,
        settle=timedelta(0),
        max_attempts=5,
        max_claims=50,
    )
    seal = store.RowSeal(engine=engine, row=row, token=token, clock=lambda: datetime.now(UTC))
    chart = OutgoingFile("chart.png", "image/png", caption="SLA", render=lambda: b"\x89PNG")
    outcome = Outcome(lang="en", replies=[Text("Your chart")], files=[chart])
    with transaction(engine) as session:
        seal(session, outcome)  # the event's transaction: the chart is not drawn yet
    [stored] = rows(engine)
    assert stored.reply is not None
    assert [f.data for f in load_outcome(stored.reply).files] == [b""]
    outcome.render_files()  # after the commit
    seal.record(outcome)
    [stored] = rows(engine)
    assert stored.reply is not None
    assert [f.data for f in load_outcome(stored.reply).files] == [b"\x89PNG"]
    # Claimed again (its process stopped): the drawn chart goes with the stored reply.
    [(again, _token)], _ = store.claim(
        engine=engine,
        channels={"memory"},
        now=datetime.now(UTC) + 2 * lease,
        limit=5,
        lease=lease,
        settle=timedelta(0),
        max_attempts=5,
        max_claims=50,
    )
    assert again.handled
    assert again.reply is not None
    assert again.reply.files == [OutgoingFile("chart.png", "image/png", b"\x89PNG", "SLA")]


def test_a_chart_never_drawn_is_left_out_of_the_reply_sent_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    row_id = put(engine, key="k", chat="a", seq=1)
    chart = OutgoingFile("chart.png", "image/png", render=lambda: b"png")
    handled_unreplied(engine, row_id, Outcome(lang="en", replies=[Text("t")], files=[chart]))
    [(row, _token)], _ = store.claim(
        engine=engine,
        channels={"memory"},
        now=datetime.now(UTC),
        limit=5,
        lease=timedelta(seconds=30),
        settle=timedelta(0),
        max_attempts=5,
        max_claims=50,
    )
    assert row.reply is not None
    assert (row.reply.replies, row.reply.files) == ([Text("t")], [])
    assert "never drawn" in caplog.text


class AfterReply:
    """A handler whose replies leave bookkeeping writes for the transaction marking the row
    replied (`Seal.after_reply`); a write may fail."""

    def __init__(self, engine: Engine, *, broken: frozenset[str] = frozenset()) -> None:
        self.engine = engine
        self.broken = broken
        self.calls: list[str] = []

    async def __call__(self, row: InboxRow, seal: Seal) -> None:
        self.calls.append(row.key)

        def effect() -> None:
            with transaction(self.engine) as session:
                seal(session, Outcome(lang="en", replies=[Text("done")]))

        await asyncio.to_thread(effect)
        seal.after_reply(self._write(row))

    def _write(self, row: InboxRow) -> Any:
        def write(connection: Any) -> None:
            if row.key in self.broken:
                raise RuntimeError("bookkeeping broke")
            open_questions.remember_on(
                connection,
                channel="memory",
                chat_id=row.chat_key,
                user_key=row.key,
                message_id=row.key,
                body="",
                now=datetime.now(UTC),
            )

        return write


def _questions(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        found = session.execute(select(OpenQuestion.user_key).order_by(OpenQuestion.user_key))
        return [str(key) for key in found.scalars()]


async def test_writes_after_the_reply_are_kept_when_the_row_is_marked_replied(
    engine: Engine,
) -> None:
    for chat in ("a", "b", "c"):
        put(engine, key=f"{chat}1", chat=chat, seq=1)
    handler = AfterReply(engine)
    async with draining(
        engine=engine, settings=settings(inbox_concurrency=3), handlers={"memory": handler}
    ) as drainer:
        assert drainer is not None
        await drainer.settled()
    assert _questions(engine) == ["a1", "b1", "c1"]
    assert all(row.replied_at is not None and row.reply is None for row in rows(engine))


async def test_a_failed_write_after_the_reply_does_not_send_the_reply_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # Every row is replied once, none is retried; the other rows' bookkeeping is kept.
    for chat in ("a", "b"):
        put(engine, key=f"{chat}1", chat=chat, seq=1)
    handler = AfterReply(engine, broken=frozenset({"a1"}))
    async with draining(
        engine=engine, settings=settings(inbox_concurrency=2), handlers={"memory": handler}
    ) as drainer:
        assert drainer is not None
        await drainer.settled()
    assert sorted(handler.calls) == ["a1", "b1"]
    assert all(row.replied_at is not None and row.attempts == 1 for row in rows(engine))
    assert _questions(engine) == ["b1"]
    assert "a write after replies not kept" in caplog.text


def test_a_seal_released_alone_runs_its_writes(engine: Engine) -> None:
    row_id = put(engine, key="k", chat="a", seq=1)
    now = datetime.now(UTC)
    claimed, _parked = store.claim(
        engine=engine,
        channels={"memory"},
        now=now,
        limit=1,
        lease=timedelta(seconds=10),
        settle=timedelta(0),
        max_attempts=5,
        max_claims=50,
    )
    row, token = claimed[0]
    assert row.id == row_id
    seal = store.RowSeal(engine=engine, row=row, token=token, clock=lambda: now)
    seal.done()
    seal.after_reply(AfterReply(engine)._write(row))
    seal.release()
    assert _questions(engine) == ["k"]
    assert rows(engine)[0].replied_at is not None


def test_a_claim_takes_at_most_its_limit_and_reads_only_unreplied_rows(either: Engine) -> None:
    # Many replied rows kept for days, a few waiting in distinct chats: each claim takes at
    # most its limit (PostgreSQL once claimed 41 of 50 with a limit of 8), in id order.
    engine = either
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            InboundUpdate.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "channel": "memory",
                    "external_key": f"old{n}",
                    "payload": "{}",
                    "received_at": now,
                    "chat_key": f"c{n % 40}",
                    "seq": n,
                    "attempts": 1,
                    "failures": 0,
                    "processed_at": now,
                    "replied_at": now,
                }
                for n in range(2000)
            ],
        )
    waiting = [put(engine, key=f"new{n}", chat=f"c{n}", seq=10_000 + n) for n in range(30)]
    later = now + timedelta(seconds=5)
    taken: list[int] = []
    for _ in range(4):
        claimed, _parked = store.claim(
            engine=engine,
            channels={"memory"},
            now=later,
            limit=8,
            lease=timedelta(seconds=60),
            settle=timedelta(0),
            max_attempts=5,
            max_claims=50,
        )
        assert len(claimed) == min(8, len(waiting) - len(taken))
        taken += [row.id for row, _token in claimed]
    assert taken == waiting
    engine.dispose()
