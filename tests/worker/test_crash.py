"""Crash test: workers SIGKILLed at random points lose and duplicate no notification.

Many tickets are opened whose milestones fall due over the next two (virtual) days; two
worker processes (`python -m bot.worker`) read a clock that the test moves itself (a file,
`FileClock`): each kill moves it one step forward, so the whole span is covered after the
planned number of kills however fast or slow the machine is. Each worker is SIGKILLed at a
random instant (nine lives in ten at a random point of its work, one in ten during its
start-up) and restarted, over and over, while two CPU-bound processes compete for the
machine. Console messages go to the console log (one JSON line per delivery, with its
idempotency key). At the end every expected message, derived from the milestone rows written
when the tickets were opened, must be in the log exactly once.

Nothing here compares durations: real waits only bound how long the test waits for a
condition (a worker's start-up, the last delivery), generously, so a hung process fails the
test instead of hanging it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import (
    Contract,
    MilestoneRow,
    MilestoneStatus,
    Notification,
    NotificationStatus,
    Ticket,
)
from bot.services import ledger
from bot.worker.clock import write_clock_file
from bot.worker.console import read_log
from tests.worker.conftest import open_ticket

REPO = Path(__file__).resolve().parents[2]
MIN_KILLS = 50
LEASE = timedelta(minutes=10)  # virtual: a killed worker's claims come back after it
START_UP_LIMIT_SECONDS = 300.0  # a worker not started by then is broken, not slow
SETTLE_LIMIT_SECONDS = 600.0
CPU_HOGS = 2
# Monday 23 November 2026, 07:00 in Brussels.
VIRTUAL_ORIGIN = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
WORKLOAD = [  # (pack, intervention, priority, how many)
    ("telenet-hosting-cloud", "dedicated-server-manual-restart", "express", 70),
    ("proximus-internet", "no-internet", "p1", 30),
    ("alteo-hosting", "service-outage", "critical", 30),
]
STAFF = {"customer": "demo-requester", "agent": "demo-agent", "manager": "demo-manager"}


def expected_keys(engine: Engine) -> set[str]:
    """Every message the workload must deliver, from the milestone rows and the key scheme.

    A warning that the workers reached only once its target was already due is not sent
    (after downtime only the due ping and the breach are): such a row ends cancelled, with the
    instant it was processed at or after the due instant, and is not expected. Nothing else
    cancels a row in this workload.
    """
    keys: set[str] = set()

    def add(key: str, *audiences: str) -> None:
        keys.update(f"{key}|{audience}|console|{STAFF[audience]}" for audience in audiences)

    with transaction(engine) as session:
        tickets = {t.id: t for t in session.exec(select(Ticket)).all()}
        for ticket_id in tickets:
            add(f"t{ticket_id}:opened", "customer", "agent")
        for row in session.exec(select(MilestoneRow)).all():
            ticket = tickets[row.ticket_id]
            due = ticket.response_due if row.target == "response" else ticket.resolution_due
            assert due is not None
            prefix = f"t{row.ticket_id}:{row.target}"
            if row.status is MilestoneStatus.CANCELLED:
                assert row.kind == "warning", row
                assert row.done_at is not None, row
                assert row.done_at >= due, row
                continue
            if row.kind == "warning":
                assert row.fraction is not None
                percent = format((row.fraction * 100).normalize(), "f")
                add(f"{prefix}:at_risk:{percent}:{due.isoformat()}", "agent")
            elif row.kind == "due":
                add(f"{prefix}:due:{due.isoformat()}", "agent")
            else:
                add(f"{prefix}:breached", "customer", "agent", "manager")
    return keys


@dataclass
class Slot:
    """One worker process, killed and restarted."""

    name: str
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    lives: int = 0
    log_files: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.lives += 1
        path = self.logs / f"{self.name}-{self.lives:03d}.log"
        self.log_files.append(path)
        with path.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.worker"],
                cwd=self.logs,  # no .env there: only the settings given here apply
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()

    def ready(self) -> bool:
        """Whether the current process has started working (fails if it died on its own)."""
        assert self.process is not None
        if self.process.poll() is not None:
            log = self.log_files[-1].read_text(errors="replace")
            raise AssertionError(f"worker {self.name} exited by itself:\n{log[-2000:]}")
        return "worker started" in self.log_files[-1].read_text(errors="replace")

    def kill(self) -> bool:
        """SIGKILL the process; returns whether it had started working."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return "worker started" in self.log_files[-1].read_text(errors="replace")

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


@pytest.mark.slow
def test_sigkilled_workers_deliver_every_notification_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from bot.services import demo

    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261123")))
    with transaction(engine) as session:
        demo.seed(session=session, now=VIRTUAL_ORIGIN)
        telenet = session.exec(
            select(Contract).where(Contract.pack_id == "telenet-hosting-cloud")
        ).one()
        assert telenet.id is not None
        ledger.purchase(
            session=session,
            contract_id=telenet.id,
            amount=Decimal(10_000),
            reason="crash test",
            at=VIRTUAL_ORIGIN,
        )
    spread = timedelta(hours=20)
    for pack_id, intervention, priority, count in WORKLOAD:
        for _ in range(count):
            logged = VIRTUAL_ORIGIN + timedelta(seconds=rng.uniform(0, spread.total_seconds()))
            open_ticket(
                engine, pack_id=pack_id, intervention=intervention, priority=priority, now=logged
            )
    with transaction(engine) as session:
        last_due = max(m.due_at for m in session.exec(select(MilestoneRow)).all())
    # Each kill moves the clock one step: after MIN_KILLS kills every milestone is due.
    step = (last_due - VIRTUAL_ORIGIN) / MIN_KILLS

    console_log = tmp_path / "console.jsonl"
    clock_file = tmp_path / "clock"
    write_clock_file(clock_file, VIRTUAL_ORIGIN)
    logs = tmp_path / "workers"
    logs.mkdir()
    env = {
        **{
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SUPPORTBOT_") or key == "SUPPORTBOT_LOCALES_DIR"
        },
        "SUPPORTBOT_DATABASE_URL": db_url,
        "SUPPORTBOT_CONSOLE_DELIVERY": "log",
        "SUPPORTBOT_CONSOLE_LOG_PATH": str(console_log),
        "SUPPORTBOT_WORKER_CLOCK_FILE": str(clock_file),
        "SUPPORTBOT_NOTIFY_LEASE_SECONDS": str(LEASE.total_seconds()),
        "SUPPORTBOT_WORKER_MAX_SLEEP_SECONDS": "0.5",
        "SUPPORTBOT_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPO),
    }
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(CPU_HOGS)]
    try:
        kills, kills_at_work = _kill_phase(
            rng=rng, env=env, logs=logs, clock_file=clock_file, step=step, last_due=last_due
        )
        # The test's own reads wait for the workers' write lock as long as it takes (SQLite).
        engine = make_engine(db_url, busy_timeout_ms=int(SETTLE_LIMIT_SECONDS * 1000))
        _settle(engine=engine, env=env, logs=logs, clock_file=clock_file, after=last_due + LEASE)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()

    expected = expected_keys(engine)
    with transaction(engine) as session:
        overtaken = len(
            session.exec(
                select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.CANCELLED)
            ).all()
        )
    delivered = Counter(str(line["key"]) for line in read_log(console_log))
    lost = expected - set(delivered)
    duplicated = {key: n for key, n in delivered.items() if n > 1}
    unexpected = set(delivered) - expected
    confirmed = sum(
        path.read_text(errors="replace").count("had arrived before the restart")
        for path in sorted(logs.glob("*.log"))
    )
    print(
        f"\ncrash test: {kills} kills ({kills_at_work} after start-up), "
        f"{len(expected)} expected, {sum(delivered.values())} delivered, "
        f"{len(lost)} lost, {len(duplicated)} duplicated, "
        f"{confirmed} in-doubt deliveries confirmed from the log, "
        f"{overtaken} warnings not sent because their target was already due"
    )
    assert kills >= MIN_KILLS
    assert kills_at_work >= kills * 3 // 4
    assert not lost, sorted(lost)[:10]
    assert not duplicated, list(duplicated.items())[:10]
    assert not unexpected, sorted(unexpected)[:10]
    with transaction(engine) as session:
        statuses = Counter(n.status for n in session.exec(select(Notification)).all())
        pending = session.exec(
            select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.PENDING)
        ).all()
    assert statuses == {NotificationStatus.SENT: len(expected)}
    assert not pending


def _kill_phase(
    *,
    rng: random.Random,
    env: dict[str, str],
    logs: Path,
    clock_file: Path,
    step: timedelta,
    last_due: datetime,
) -> tuple[int, int]:
    """Kill and restart two workers until the clock has passed every milestone: (kills, at work)."""
    slots = [Slot(name, env, logs) for name in ("a", "b")]
    for slot in slots:
        slot.start()
    virtual = VIRTUAL_ORIGIN
    kills = kills_at_work = 0
    # A life is killed at a random instant of its work: up to 0.6 s after it started working
    # (or, one time in ten, at a random point of its start-up).
    deadlines: dict[str, float | None] = {}

    def plan(slot: Slot) -> None:
        during_start_up = rng.random() < 0.1
        deadlines[slot.name] = slot.started + rng.uniform(0, 0.8) if during_start_up else None

    for slot in slots:
        plan(slot)
    try:
        while kills < MIN_KILLS or virtual < last_due:
            time.sleep(0.005)
            for slot in slots:
                now = time.monotonic()
                deadline = deadlines[slot.name]
                if deadline is None:
                    if slot.ready():
                        deadlines[slot.name] = now + rng.uniform(0, 0.6)
                    elif now - slot.started > START_UP_LIMIT_SECONDS:
                        raise AssertionError(f"worker {slot.name} never started")
                    continue
                if now >= deadline:
                    kills += 1
                    kills_at_work += slot.kill()
                    virtual = min(virtual + step, last_due)
                    write_clock_file(clock_file, virtual)
                    slot.start()
                    plan(slot)
    finally:
        for slot in slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.kill()
    return kills, kills_at_work


def _settle(
    *, engine: Engine, env: dict[str, str], logs: Path, clock_file: Path, after: datetime
) -> None:
    """One worker, left alone past every lease, sends what the killed ones left in flight."""
    slot = Slot("final", env, logs)
    write_clock_file(clock_file, after)
    slot.start()
    give_up = time.monotonic() + SETTLE_LIMIT_SECONDS
    try:
        while not all_done(engine):
            if time.monotonic() > give_up:
                raise AssertionError("the last worker did not finish its work")
            after += LEASE  # claims it made itself and lost to nobody expire too, in time
            write_clock_file(clock_file, after)
            time.sleep(0.5)
    finally:
        slot.terminate()


def all_done(engine: Engine) -> bool:
    with transaction(engine) as session:
        milestone = session.exec(
            select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.PENDING)
        ).first()
        unsent = session.exec(
            select(Notification).where(Notification.status != NotificationStatus.SENT)
        ).first()
    return milestone is None and unsent is None
