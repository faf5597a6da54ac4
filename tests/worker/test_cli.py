"""`supportbot worker --once` and `supportbot notifications list`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import transaction
from bot.db.models import Notification, NotificationStatus
from bot.settings import get_settings
from tests.worker.conftest import open_ticket


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture
def configured(
    seeded: Engine, db_url: str, console_log: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The per-test database as the configured one, console messages to a log."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTBOT_CONSOLE_DELIVERY", "log")
    monkeypatch.setenv("SUPPORTBOT_CONSOLE_LOG_PATH", str(console_log))
    get_settings.cache_clear()
    yield seeded
    get_settings.cache_clear()


def test_worker_once_fires_and_sends_what_is_due(
    configured: Engine, start: datetime, console_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = open_ticket(
        configured,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-hardware",
        priority="express",
        now=start,
    )
    monkeypatch.setenv("SUPPORTBOT_WORKER_CLOCK_ORIGIN", (start + timedelta(hours=3)).isoformat())
    get_settings.cache_clear()
    result = run("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "milestones 2" in result.stdout  # the 50 % and 75 % response warnings
    assert "sent:console 4" in result.stdout  # two "opened" messages and two warnings
    assert len(console_log.read_text().splitlines()) == 4

    listed = json.loads(run("notifications", "list", "--json").stdout)
    # "dropped" (messages to offboarded recipients) is a status since the offboarding commands.
    assert listed["counts"] == {"pending": 0, "held": 0, "sent": 4, "dead": 0, "dropped": 0}
    assert {row["ticket"] for row in listed["notifications"]} == {ticket.reference}


def test_notifications_list_filters_and_counts_dead_letters(
    configured: Engine, start: datetime
) -> None:
    first = open_ticket(
        configured,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-hardware",
        priority="express",
        now=start,
    )
    open_ticket(
        configured,
        pack_id="proximus-internet",
        intervention="no-internet",
        priority="p2",
        now=start,
    )
    with transaction(configured) as session:
        row = session.get(Notification, 1)
        assert row is not None
        row.status = NotificationStatus.DEAD
        row.last_error = "HTTP 400"
        session.add(row)
    result = run("notifications", "list")
    assert result.exit_code == 0, result.output
    assert "dead 1" in result.stdout
    assert "[HTTP 400]" in result.stdout
    dead = json.loads(run("notifications", "list", "--status", "dead", "--json").stdout)
    assert [r["status"] for r in dead["notifications"]] == ["dead"]
    mine = json.loads(
        run("notifications", "list", "--ticket", first.reference.lower(), "--json").stdout
    )
    assert {r["ticket"] for r in mine["notifications"]} == {first.reference}
    assert mine["counts"]["pending"] + mine["counts"]["dead"] == len(mine["notifications"])
    both = json.loads(run("notifications", "list", "--status", "dead,pending", "--json").stdout)
    assert len(both["notifications"]) == 4
    wrong = run("notifications", "list", "--status", "lost")
    assert wrong.exit_code == 2
    assert "unknown status lost" in wrong.stderr
    missing = run("notifications", "list", "--ticket", "NOPE-1")
    assert missing.exit_code == 2
