"""`supportbot serve` runs the worker for the app's lifetime, with the channels' senders."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.channels.registry import BuiltChannel, Channels
from bot.server import build_app
from bot.settings import Settings
from bot.worker.plugin import worker_plugin
from bot.worker.runner import Worker, worker_for
from bot.worker.senders import OutboxMessage, RateLimit, SendResult


class FakeSlackSender:
    channel = "slack"

    async def send(self, notification: OutboxMessage) -> SendResult:
        return SendResult.delivered()


def test_serve_starts_and_stops_the_worker(engine: Engine, console_log: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, console_delivery="log", console_log_path=console_log
    )
    app = build_app(settings=settings, engine=engine)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        worker = app.state.worker
        assert isinstance(worker, Worker)
        assert [drainer.channel for drainer in worker.drainers] == ["console"]
    assert worker._loop is None  # stopped with the app


def test_serve_can_leave_the_worker_to_its_own_process(engine: Engine) -> None:
    settings = Settings(_env_file=None, run_worker_in_serve=False)  # type: ignore[call-arg]
    app = create_app(settings=settings, engine=engine, plugins=[worker_plugin])
    with TestClient(app):
        assert not hasattr(app.state, "worker")


def test_the_worker_uses_the_senders_of_the_running_channels(
    engine: Engine, console_log: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, console_delivery="log", console_log_path=console_log
    )
    pace = RateLimit(per_second=5, per_chat_per_second=1)
    running = Channels(
        [BuiltChannel(name="slack", sender=FakeSlackSender())], rates={"slack": pace}
    )
    worker = worker_for(engine=engine, settings=settings, channels=running)
    assert [drainer.channel for drainer in worker.drainers] == ["slack", "console"]
    assert worker.drainers[0].limiter.limit == pace  # the entry's platform rate


def test_serve_takes_the_senders_from_the_registry_not_from_private_state(
    engine: Engine, console_log: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, console_delivery="log", console_log_path=console_log
    )
    running = Channels([BuiltChannel(name="slack", sender=FakeSlackSender())])
    app = create_app(settings=settings, engine=engine, channels=running, plugins=[worker_plugin])
    app.state.other_sender = FakeSlackSender()  # published on the state: ignored
    with TestClient(app):
        worker = app.state.worker
        assert [drainer.channel for drainer in worker.drainers] == ["slack", "console"]


async def test_a_worker_stopped_before_it_runs_returns_at_once(engine: Engine) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    worker = Worker(engine=engine, settings=settings, senders=[])
    worker.stop()
    await asyncio.wait_for(worker.run(), 120)
