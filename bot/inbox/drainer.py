"""The inbox drainer of one process: claims stored events and hands them to their channel.

Up to `inbox_concurrency` chats are worked at once; one chat's events go one at a time, in
platform order (`bot.inbox.store`), each once its predecessor's reply is sent. A row handled
by a process that stopped before sending its reply is handed to its channel "reply only",
with the stored outcome (`InboxRow.reply`). A row stored by this process rings the hub and is
claimed after the short order window, or at once when its channel's sequence is gap-free
(`gapless`: Telegram's update ids) and complete up to it; rows stored by another process, or offered
again after a failure or a crash, are found by polling every `inbox_poll_seconds`. Leases of
rows in hand are renewed while they are worked, so only a stopped process lets one go.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.channels.inbox import InboxHandler, InboxRow, SendLater, hub
from bot.inbox import store
from bot.settings import Settings
from bot.threads import in_worker_thread
from handlers.model import Along, ClaimLostError, Seal

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Drainer:
    """Claims inbox rows of its channels and runs their handlers, in chat order."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        handlers: Mapping[str, InboxHandler],
        clock: Callable[[], datetime] = _now,
        gapless: Collection[str] = (),
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.handlers = dict(handlers)
        self.channels = frozenset(self.handlers)
        #: Channels whose platform numbers events without gaps (`store.complete_through`).
        self.gapless = frozenset(gapless) & self.channels
        self.clock = clock
        self.lease = timedelta(seconds=settings.inbox_lease_seconds)
        self.settle = timedelta(milliseconds=settings.inbox_order_window_ms)
        self._in_hand: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._bell = asyncio.Event()
        # A row was stored since the last ring (a slot freed by a finished row rings the bell
        # too, and claims at once).
        self._fresh = False
        # The event loop's times when the order windows of rows stored since end, in order:
        # a claim then takes them (with gap-free channels a ring claims at once too).
        self._windows_end: deque[float] = deque()
        self._freed = False  # a row in hand finished since the last claim
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._idle = asyncio.Event()
        self.handled = 0
        self.failures = 0
        self.passes = 0  # claim queries run
        self._parked_at: datetime | None = None  # last look for stalled rows to park
        # Rows whose handlers are done, released together (one transaction for all that
        # finished while the previous release ran).
        self._to_release: list[tuple[int, str, list[Along], asyncio.Future[None]]] = []
        self._releasing: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ the hub's side

    def wake(self) -> None:
        """Look for work now (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._ring()
        else:
            loop.call_soon_threadsafe(self._ring)

    def _ring(self) -> None:
        self._fresh = True
        self._bell.set()

    async def settled(self) -> None:
        """Return once no row of these channels waits or is in hand (failed rows included,
        after their backoff)."""
        while True:
            if not self._in_hand:
                try:
                    count, _soonest = await anyio.to_thread.run_sync(
                        lambda: store.waiting(engine=self.engine, channels=self.channels)
                    )
                except OperationalError:  # SQLite busy beyond its timeout: ask again
                    count = -1
                if count == 0 and not self._in_hand:
                    return
            self.wake()
            await asyncio.sleep(0.01)

    def adopt(self, row: InboxRow, token: str) -> Seal:
        """The seal of a row its channel stored already claimed, to handle it inline."""
        return store.RowSeal(engine=self.engine, row=row, token=token, clock=self.clock)

    # ------------------------------------------------------------------ running

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Drainer]:
        """Drain inside the block; on exit, finish the rows in hand (they are short)."""
        self._loop = asyncio.get_running_loop()
        hub.attach(self)
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            hub.detach(self)
            self._stopping = True
            self._bell.set()
            await task

    async def run(self) -> None:
        """Claim and hand out rows until stopped."""
        renewing = asyncio.create_task(self._renew_forever())
        try:
            while not self._stopping:
                claimed = await self._claim_once()
                if claimed and len(self._in_hand) < self.settings.inbox_concurrency:
                    continue
                await self._wait()
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            if self._in_hand:
                await asyncio.gather(
                    *(task for _t, task in self._in_hand.values()), return_exceptions=True
                )

    async def _wait(self) -> None:
        """Until there may be work: a ring, a slot freed, an order window ended, or the poll
        period passed."""
        loop = asyncio.get_running_loop()
        while True:
            timeout = self.settings.inbox_poll_seconds
            if self._windows_end:
                timeout = min(timeout, max(0.0, self._windows_end[0] - loop.time()))
            try:
                await asyncio.wait_for(self._bell.wait(), timeout=timeout)
            except TimeoutError:
                while self._windows_end and self._windows_end[0] <= loop.time():
                    self._windows_end.popleft()
                return
            self._bell.clear()
            fresh, self._fresh = self._fresh, False
            freed, self._freed = self._freed, False
            if fresh and self.settle:
                # Let an earlier event of the same chat, delivered concurrently, be stored
                # first: what was stored is claimed once its window has passed, or at once
                # when a gap-free sequence is complete up to it.
                self._windows_end.append(loop.time() + self.settle.total_seconds())
                if not (self.gapless or freed or self._stopping):
                    continue
            return

    async def _claim_once(self) -> int:
        free = self.settings.inbox_concurrency - len(self._in_hand)
        if free <= 0 or self._stopping:
            return 0
        now = self.clock()
        # Stalled rows (a crash every time) are rare: looked for once per poll period.
        park = self._parked_at is None or now - self._parked_at >= timedelta(
            seconds=self.settings.inbox_poll_seconds
        )
        if park:
            self._parked_at = now
        try:
            claimed, parked = await in_worker_thread(
                lambda: store.claim(
                    engine=self.engine,
                    channels=self.channels,
                    now=now,
                    limit=free,
                    lease=self.lease,
                    settle=self.settle,
                    max_attempts=self.settings.inbox_max_attempts,
                    max_claims=self.settings.inbox_max_claims,
                    park_stalled=park,
                    gapless=self.gapless,
                )
            )
        except Exception:
            log.exception("inbox: claiming failed; trying again")
            return 0
        self.passes += 1
        if parked:
            log.error("inbox: %d event(s) parked: claimed too often without finishing", parked)
        for row, token in claimed:
            task = asyncio.create_task(self._work(row, token))
            self._in_hand[row.id] = (token, task)
            task.add_done_callback(functools.partial(self._finished, row.id))
        return len(claimed)

    def _finished(self, row_id: int, _task: object) -> None:
        self._in_hand.pop(row_id, None)
        self._freed = True
        self._bell.set()  # a slot is free: look for the chat's next row

    async def _work(self, row: InboxRow, token: str) -> None:
        seal = store.RowSeal(engine=self.engine, row=row, token=token, clock=self.clock)
        handler = self.handlers[row.channel]
        try:
            if not row.handled:
                await handler(row, seal)
                if not seal.sealed:
                    await anyio.to_thread.run_sync(seal.done)
            elif row.reply is not None:  # its process stopped before the reply went: "reply only"
                log.info("inbox: %s row %s: sending its stored reply", row.channel, row.id)
                await handler(row, seal)
            # else nothing (readable) is left to send: only the replied mark
            self.handled += 1
            writes, seal.after = seal.after, []
            await self._release(row.id, token, writes)
        except ClaimLostError:
            log.info("inbox: %s row %s was taken over by another process", row.channel, row.id)
        except Exception as exc:
            self.failures += 1
            log.exception("inbox: %s row %s failed (attempt %d)", row.channel, row.id, row.attempts)
            error = f"{type(exc).__name__}: {exc}"
            # Handled in this claim, its effects are kept: the reply has tries of its own.
            park = self.settings.inbox_max_attempts <= 1 if seal.sealed else row.final
            later = exc.after if isinstance(exc, SendLater) else 0.0
            try:
                await anyio.to_thread.run_sync(
                    lambda: store.failed(
                        engine=self.engine,
                        row_id=row.id,
                        token=token,
                        error=error,
                        now=self.clock(),
                        park=park,
                        attempts=row.attempts,
                        at_least=later,
                    )
                )
            except Exception:
                log.exception("inbox: failure of row %s not recorded (its lease will end)", row.id)

    async def _release(self, row_id: int, token: str, writes: list[Along]) -> None:
        """Release a row (with its channel's `writes`) with the others finishing now; return
        once it is released."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_release.append((row_id, token, writes, done))
        if self._releasing is None or self._releasing.done():
            self._releasing = asyncio.create_task(self._release_waiting())
        await done

    async def _release_waiting(self) -> None:
        while self._to_release:
            batch, self._to_release = self._to_release, []
            rows = [(row_id, token) for row_id, token, _writes, _done in batch]
            writes = [write for _row_id, _token, row_writes, _done in batch for write in row_writes]
            try:
                await in_worker_thread(
                    functools.partial(
                        store.release_many,
                        engine=self.engine,
                        rows=rows,
                        now=self.clock(),
                        writes=writes,
                    )
                )
            except Exception as exc:
                for _row_id, _token, _writes, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _row_id, _token, _writes, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _renew_forever(self) -> None:
        period = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(period)
            held = {row_id: token for row_id, (token, _task) in self._in_hand.items()}
            if not held:
                continue
            until = self.clock() + self.lease
            try:
                await anyio.to_thread.run_sync(
                    functools.partial(store.renew, engine=self.engine, held=held, until=until)
                )
            except Exception:
                log.exception("inbox: leases not renewed")


@asynccontextmanager
async def draining(
    *,
    engine: Engine,
    settings: Settings,
    handlers: Mapping[str, InboxHandler],
    gapless: Collection[str] = (),
) -> AsyncIterator[Drainer | None]:
    """Run a drainer for `handlers` inside the block (none when there is no handler);
    `gapless` names the channels whose platform numbers events without gaps."""
    if not handlers:
        yield None
        return
    drainer = Drainer(engine=engine, settings=settings, handlers=handlers, gapless=gapless)
    async with drainer.running():
        yield drainer
