"""The console shows a chart or export as the path of the file it wrote, and the inbox writes
the monthly report's files the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from bot.channels.console import ConsoleSession
from bot.db.engine import transaction
from bot.reports.monthly import send_monthly_reports
from bot.reports.periods import parse_period
from bot.services import demo
from bot.settings import Settings
from tests.worker.conftest import open_ticket

NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_console_writes_the_files_and_prints_their_paths(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, console_files_dir=tmp_path / "files")  # type: ignore[call-arg]
    with transaction(engine) as session:
        demo.seed(session=session, now=NOVEMBER)
    open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=NOVEMBER,
    )
    console = ConsoleSession(
        engine=engine, settings=settings, handle="demo-manager", clock=lambda: DECEMBER
    )
    console.send("/lang en")
    blocks = console.send("/export 2026-11")
    written = tmp_path / "files" / "demo-manager" / "tickets-2026-11.csv"
    assert blocks[-1] == f"📎 1 ticket logged in November 2026, one row each. — {written}"
    assert written.read_text(encoding="utf-8-sig").startswith("reference,contract")
    blocks = console.send("/status")
    assert blocks[-1].endswith("backlog.png")
    assert (tmp_path / "files" / "demo-manager" / "backlog.png").read_bytes()[:4] == b"\x89PNG"

    with transaction(engine) as session:
        period = parse_period(text="2026-11", now=DECEMBER, zone=settings.zone)
        send_monthly_reports(session=session, settings=settings, now=DECEMBER, period=period)
    inbox = console.inbox()
    assert inbox[0].startswith("📣 Monthly report, November 2026 — Demo Customer SA")
    assert [line.rsplit("/", 1)[-1] for line in inbox[1:]] == [
        "sla-2026-11.png",
        "tickets-2026-11.csv",
    ]
