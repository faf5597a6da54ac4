"""The managers' daily digest: once a day at its local time, whatever the number of workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.settings import Settings
from bot.worker import digest as digest_module
from bot.worker.clock import ManualClock
from bot.worker.digest import DigestScheduler, next_digest_at
from bot.worker.dispatcher import Dispatcher
from bot.worker.runner import Worker
from tests.worker.conftest import notifications, open_ticket


def test_the_next_digest_is_at_the_local_time_across_dst(settings: Settings) -> None:
    summer = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 07:00 in Brussels (UTC+2)
    assert next_digest_at(settings=settings, now=summer) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 08:30 in Brussels (UTC+1)
    assert next_digest_at(settings=settings, now=winter) == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


async def test_managers_get_one_digest_a_day(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    settings = settings.model_copy(
        update={"manager_daily_digest": True, "manager_digest_time": time(8, 0)}
    )
    open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=start,
    )
    open_ticket(
        seeded, pack_id="proximus-internet", intervention="no-internet", priority="p3", now=start
    )
    clock.set(start + timedelta(hours=12))  # the Telenet response target is missed
    Dispatcher(engine=seeded, settings=settings, clock=clock).dispatch_due()
    digest = DigestScheduler(engine=seeded, settings=settings, clock=clock)
    assert digest.send_if_due() == 0  # Monday 21:00: too late to catch up today's digest
    tuesday_0800 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    clock.set(tuesday_0800 - timedelta(minutes=1))
    assert digest.send_if_due() == 0
    clock.set(tuesday_0800)
    assert digest.send_if_due() == 1  # demo-manager's console
    assert digest.send_if_due() == 0
    worker = Worker(engine=seeded, settings=settings, clock=clock, senders=[])
    assert (await worker.run_once())["digest"] == 0  # another worker: no second digest
    (row,) = notifications(seeded, event="digest")
    assert (row.audience, row.chat_id) == ("manager", "demo-manager")
    assert "2 " in row.text  # two open tickets
    assert "TLN-2026-000001" in row.text  # the missed target


def test_the_digest_is_counted_while_others_write_and_not_counted_again(
    seeded: Engine,
    settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    write_meanwhile: Callable[[], None],
) -> None:
    """The counts run in a read transaction: another connection writes meanwhile without
    waiting (its busy timeout is zero); once written, a later pass counts nothing."""
    settings = settings.model_copy(
        update={"manager_daily_digest": True, "manager_digest_time": time(8, 0)}
    )
    counted: list[object] = []
    real_figures = digest_module._figures

    def figures_and_write(**kwargs: Any) -> Any:
        counted.append(kwargs["visible"])
        write_meanwhile()
        return real_figures(**kwargs)

    monkeypatch.setattr(digest_module, "_figures", figures_and_write)
    clock.set(datetime(2026, 11, 24, 7, 0, tzinfo=UTC))  # Tuesday 08:00 in Brussels
    digest = DigestScheduler(engine=seeded, settings=settings, clock=clock)
    assert digest.send_if_due() == 1
    assert len(counted) == 1
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    assert digest.send_if_due() == 0
    assert len(counted) == 1  # the manager's digest is written: nothing counted again
