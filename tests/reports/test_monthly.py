"""The monthly report: on the first business day, once per month and manager, with files."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Notification, NotificationFile, Role
from bot.reports import bundle
from bot.services import demo, tenants, users
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.monthly import MonthlyReportScheduler
from bot.worker.runner import Worker
from tests.worker.conftest import PostgresServer, open_ticket, postgres

__all__ = ["postgres"]

NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DECEMBER_1_0900 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday, 09:00 in Brussels


@pytest.fixture
def settings() -> Settings:
    """Default settings (the monthly report is on), no .env."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


def prepare(engine: Engine) -> None:
    """Demo data, a customer manager, and tickets in November."""
    with transaction(engine) as session:
        demo.seed(session=session, now=NOVEMBER)
        tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
        manager = users.add_user(
            session=session,
            handle="customer-manager",
            display_name="Customer Manager",
            role=Role.MANAGER,
            tenant_id=tenant.id,
            locale="nl",
        )
        users.link_identity(
            session=session, user=manager, channel="console", external_id="customer-manager"
        )
    open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=NOVEMBER,
    )


def reports(engine: Engine) -> list[tuple[Notification, list[NotificationFile]]]:
    with transaction(engine) as session:
        rows = session.exec(
            select(Notification).where(Notification.event == "monthly_report")
        ).all()
        found = []
        for row in rows:
            files = session.exec(
                select(NotificationFile).where(NotificationFile.notification_id == row.id)
            ).all()
            found.append((row, list(files)))
        return found


def test_each_manager_gets_last_months_report_once(engine: Engine, settings: Settings) -> None:
    prepare(engine)
    clock = ManualClock(DECEMBER_1_0900 - timedelta(minutes=1))
    scheduler = MonthlyReportScheduler(engine=engine, settings=settings, clock=clock)
    assert scheduler.send_if_due() == 0  # not yet
    clock.set(DECEMBER_1_0900)
    assert scheduler.send_if_due() == 2  # the customer's manager and the provider manager
    assert scheduler.send_if_due() == 0  # a second pass, a restart, another worker
    clock.set(DECEMBER_1_0900 + timedelta(days=1))
    assert scheduler.send_if_due() == 0
    found = reports(engine)
    assert sorted(row.chat_id for row, _files in found) == ["customer-manager", "demo-manager"]
    for _row, files in found:
        assert [f.name for f in files] == ["sla-2026-11.png", "tickets-2026-11.csv"]
        assert files[0].data.startswith(b"\x89PNG")
        assert b"TLN-2026-000001" in files[1].data
    customer = next(row for row, _ in found if row.chat_id == "customer-manager")
    assert customer.lang == "nl"
    assert customer.text.startswith("Maandrapport, november 2026 — Demo Customer SA")


def test_a_report_is_built_while_others_write_and_not_built_again(
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    write_meanwhile: Callable[[], None],
) -> None:
    """The figures, CSV and chart are built in a read transaction: another connection writes
    meanwhile without waiting (its busy timeout is zero); a later pass of the catch-up days
    finds the reports written and builds nothing."""
    prepare(engine)
    built: list[str] = []
    real_build = bundle.build

    def build_and_write(**kwargs: Any) -> Any:
        built.append(kwargs["title"])
        write_meanwhile()
        return real_build(**kwargs)

    monkeypatch.setattr(bundle, "build", build_and_write)
    clock = ManualClock(DECEMBER_1_0900)
    scheduler = MonthlyReportScheduler(engine=engine, settings=settings, clock=clock)
    assert scheduler.send_if_due() == 2
    assert len(built) == 2
    clock.set(DECEMBER_1_0900 + timedelta(hours=1))
    assert scheduler.send_if_due() == 0
    assert len(built) == 2  # nothing built again


def test_a_worker_catching_up_later_in_the_week_still_sends_it(
    engine: Engine, settings: Settings
) -> None:
    prepare(engine)
    clock = ManualClock(DECEMBER_1_0900 + timedelta(days=3))
    scheduler = MonthlyReportScheduler(engine=engine, settings=settings, clock=clock)
    assert scheduler.send_if_due() == 2
    clock.set(DECEMBER_1_0900 + timedelta(days=20))
    assert MonthlyReportScheduler(engine=engine, settings=settings, clock=clock).send_if_due() == 0


async def test_the_setting_turns_it_off(engine: Engine, settings: Settings) -> None:
    prepare(engine)
    off = settings.model_copy(update={"monthly_report": False})
    worker = Worker(engine=engine, settings=off, clock=ManualClock(DECEMBER_1_0900), senders=[])
    assert "monthly_report" not in await worker.run_once()
    assert reports(engine) == []
    on = Worker(engine=engine, settings=settings, clock=ManualClock(DECEMBER_1_0900), senders=[])
    assert (await on.run_once())["monthly_report"] == 2


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[str]:
    """A fresh PostgreSQL database with the demo data and a November ticket."""
    url = postgres.new_database()
    engine = make_engine(url)
    prepare(engine)
    engine.dispose()
    return url


@pytest.mark.postgres
def test_workers_racing_on_postgresql_send_it_once(pg: str, settings: Settings) -> None:
    barrier = threading.Barrier(4)
    written: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        engine = make_engine(pg)
        try:
            scheduler = MonthlyReportScheduler(
                engine=engine, settings=settings, clock=ManualClock(DECEMBER_1_0900)
            )
            barrier.wait()
            written.append(scheduler.send_if_due())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(written) == 2
    engine = make_engine(pg)
    try:
        found = reports(engine)
    finally:
        engine.dispose()
    assert Counter(row.chat_id for row, _ in found) == {"customer-manager": 1, "demo-manager": 1}
    assert all(len(files) == 2 for _row, files in found)
