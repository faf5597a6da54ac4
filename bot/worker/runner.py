"""The worker: dispatcher, senders, held-message release, digest, retention, in one loop.

It runs as `supportbot worker` (or `python -m bot.worker`), and inside `supportbot serve`
unless `run_worker_in_serve` is off. Several workers may run against one PostgreSQL
database; on SQLite they take turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from bot.channels import builtin, console_log
from bot.channels.registry import ChannelRuntime, Channels, Registry
from bot.channels.sending import RateLimit, Sender
from bot.db import signals as wake
from bot.settings import Settings
from bot.worker.autoclose import AutoClose
from bot.worker.clock import Clock, clock_from_settings
from bot.worker.digest import DigestScheduler
from bot.worker.dispatcher import Dispatcher
from bot.worker.inbox_report import ParkedReport
from bot.worker.maintenance import MaintenanceNotices
from bot.worker.monthly import MonthlyReportScheduler
from bot.worker.outbox import OutboxDrainer, next_held, promote_held
from bot.worker.reminders import Reminders
from bot.worker.retention import Retention

log = logging.getLogger(__name__)


def default_senders(settings: Settings) -> list[Sender]:
    """The senders that need no platform client: the console log, when configured."""
    sender = console_log.log_sender(settings)
    return [] if sender is None else [sender]


def worker_clock(settings: Settings) -> Clock:
    """The clock the settings ask for (real time unless shifted or scaled)."""
    return clock_from_settings(
        scale=settings.worker_clock_scale,
        virtual_origin=settings.worker_clock_origin,
        real_origin=settings.worker_clock_real_origin,
        clock_file=settings.worker_clock_file,
    )


class HeldRelease:
    """Turns held messages into pending ones at their time."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.deadline: datetime | None = None

    async def run(
        self, *, stop: asyncio.Event, wake: asyncio.Event, released: list[asyncio.Event]
    ) -> None:
        """Release held messages as their time comes until `stop` is set."""
        bound = self.settings.worker_max_sleep_seconds
        while not stop.is_set():
            wake.clear()
            self.deadline = None
            try:
                if await asyncio.to_thread(promote_held, engine=self.engine, now=self.clock.now()):
                    for event in released:
                        event.set()
                upcoming = await asyncio.to_thread(next_held, engine=self.engine)
            except Exception:
                log.exception("releasing held messages failed; retrying")
                upcoming = None
            self.deadline = upcoming
            await self.clock.sleep_until(upcoming, wake=wake, at_most=bound)
        self.deadline = None

    def wants_wake(self, earliest: datetime) -> bool:
        """Whether a message held until `earliest` comes before the planned wake-up."""
        deadline = self.deadline
        return deadline is None or earliest < deadline


class Worker:
    """Everything that runs in the background, in one event loop."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        clock: Clock | None = None,
        senders: Iterable[Sender] | None = None,
        rates: Mapping[str, RateLimit] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock or worker_clock(settings)
        chosen = list(senders) if senders is not None else default_senders(settings)
        rates = rates or {}
        self.dispatcher = Dispatcher(engine=engine, settings=settings, clock=self.clock)
        self.drainers = [
            OutboxDrainer(
                engine=engine,
                settings=settings,
                clock=self.clock,
                sender=sender,
                limits=rates.get(sender.channel),
            )
            for sender in chosen
        ]
        self.held = HeldRelease(engine=engine, settings=settings, clock=self.clock)
        self.digest = (
            DigestScheduler(engine=engine, settings=settings, clock=self.clock)
            if settings.manager_daily_digest
            else None
        )
        self.monthly = (
            MonthlyReportScheduler(engine=engine, settings=settings, clock=self.clock)
            if settings.monthly_report
            else None
        )
        self.retention = Retention(engine=engine, settings=settings, clock=self.clock)
        self.reminders = Reminders(engine=engine, settings=settings, clock=self.clock)
        self.parked = ParkedReport(engine=engine, settings=settings, clock=self.clock)
        self.auto_close = AutoClose(engine=engine, settings=settings, clock=self.clock)
        self.maintenance = MaintenanceNotices(engine=engine, clock=self.clock)
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run_once(self) -> dict[str, int]:
        """Release held messages, fire what is due, send what can go now, prune, then return."""
        released = await asyncio.to_thread(promote_held, engine=self.engine, now=self.clock.now())
        fired = await asyncio.to_thread(self.dispatcher.dispatch_due)
        closed = await asyncio.to_thread(self.auto_close.close_now)
        notices = await asyncio.to_thread(self.maintenance.send_due)
        figures = {
            "released": released,
            "milestones": fired,
            "auto_closed": closed,
            "maintenance": notices,
        }
        if self.digest is not None:
            figures["digest"] = await asyncio.to_thread(self.digest.send_if_due)
        figures["reminders"] = await asyncio.to_thread(self.reminders.send_now)
        if self.monthly is not None:
            reports = await asyncio.to_thread(self.monthly.send_if_due)
            if reports:  # on by default: only said on the day it writes
                figures["monthly_report"] = reports
        for drainer in self.drainers:
            figures[f"sent:{drainer.channel}"] = await drainer.drain()
        figures["pruned"] = (await asyncio.to_thread(self.retention.prune_now)).total
        await asyncio.to_thread(self.parked.report_now)
        return figures

    def stop(self) -> None:
        """Ask the worker to finish (thread-safe; before `run` starts, it will not start)."""
        if self._loop is None:
            self._stop.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self) -> None:
        """Run until `stop` is called."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        stop = self._stop
        dispatch_wake = asyncio.Event()
        held_wake = asyncio.Event()
        drain_wakes = [asyncio.Event() for _ in self.drainers]

        def poke(event: asyncio.Event) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

        def listener(topic: str, earliest: datetime) -> None:
            if topic == wake.MILESTONES and self.dispatcher.wants_wake(earliest):
                poke(dispatch_wake)
            elif topic == wake.OUTBOX:
                if self.held.wants_wake(earliest):
                    poke(held_wake)
                for drainer, event in zip(self.drainers, drain_wakes, strict=True):
                    if drainer.wants_wake(earliest):
                        poke(event)

        def on_stop() -> None:
            for event in (dispatch_wake, held_wake, *drain_wakes):
                event.set()

        unsubscribe = wake.subscribe(listener)
        channels = ", ".join(d.channel for d in self.drainers) or "none"
        log.info("worker started (senders: %s)", channels)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.dispatcher.run(stop=stop, wake=dispatch_wake))
                group.create_task(self.held.run(stop=stop, wake=held_wake, released=drain_wakes))
                for drainer, event in zip(self.drainers, drain_wakes, strict=True):
                    group.create_task(drainer.run(stop=stop, wake=event))
                if self.digest is not None:
                    group.create_task(self.digest.run(stop=stop))
                if self.monthly is not None:
                    group.create_task(self.monthly.run(stop=stop))
                group.create_task(self.retention.run(stop=stop))
                group.create_task(self.reminders.run(stop=stop))
                group.create_task(self.parked.run(stop=stop))
                group.create_task(self.auto_close.run(stop=stop))
                group.create_task(self.maintenance.run(stop=stop))
                await stop.wait()
                on_stop()
        finally:
            unsubscribe()
            self._loop = None
            log.info("worker stopped")


def worker_for(
    *, engine: Engine, settings: Settings, channels: Channels, clock: Clock | None = None
) -> Worker:
    """A worker sending through the running channels (plus the console log when configured)."""
    senders = channels.senders
    present = {sender.channel for sender in senders}
    senders += [s for s in default_senders(settings) if s.channel not in present]
    return Worker(
        engine=engine, settings=settings, clock=clock, senders=senders, rates=channels.rates
    )


def run_forever(*, engine: Engine, settings: Settings, channels: Registry | None = None) -> None:
    """Run the worker, with the enabled channels' senders, until SIGINT or SIGTERM."""
    chosen = channels or builtin.install()

    async def main() -> None:
        # The channels' own lifespans (bot clients, rate limiters) without serving HTTP.
        running = chosen.build(ChannelRuntime(settings=settings, engine=engine))
        async with running.lifespan():
            worker = worker_for(engine=engine, settings=settings, channels=running)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, worker.stop)
            await worker.run()

    asyncio.run(main())
