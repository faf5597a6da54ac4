"""`supportbot ticket open` and `ticket show`: the chat's service, same checks and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.db.models import Contract, Ticket
from bot.services import demo
from bot.settings import get_settings

SERVER_DOWN = "dedicated-server-down-not-hardware"
DATA_TRANSFER = "dedicated-data-media-transfer"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The per-test database as the configured one, with the demo data."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        demo.seed(session=session, now=datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
        for contract in session.exec(select(Contract)).all():
            contract.created_at = datetime(2026, 1, 1, tzinfo=UTC)
            session.add(contract)
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def _one_line_error(result: Result, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert text in lines[0]


def test_staff_open_a_ticket_for_a_customer_and_show_it(database: Engine) -> None:
    with transaction(database) as session:
        contract = session.exec(
            select(Contract).where(Contract.pack_id == "telenet-hosting-cloud")
        ).one()
    result = run(
        "ticket", "open", "--as", "demo-agent", "--contract", str(contract.id),
        "--intervention", SERVER_DOWN, "--priority", "express",
        "--description", "phoned in: web01 down", "--detail", "service=web01.example.be",
        "--logged", "2026-11-20T16:00:00+01:00", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["requester"] == "demo-requester"
    assert data["created_by"] == "demo-agent"
    assert data["logged_at"] == "2026-11-20T15:00:00+00:00"
    assert data["details"][0]["value"] == "web01.example.be"
    shown = run("ticket", "show", data["reference"])
    assert shown.exit_code == 0, shown.output
    assert "phoned in: web01 down" in shown.stdout
    assert "web01.example.be" in shown.stdout
    assert json.loads(run("ticket", "show", data["reference"], "--json").stdout)["status"] == "open"


def test_the_same_checks_as_the_chat(database: Engine) -> None:
    base = ("ticket", "open", "--as", "demo-requester", "--contract", "telenet-hosting-cloud")
    _one_line_error(run(*base, "--intervention", "nope", "--priority", "express"), "nope")
    _one_line_error(run(*base, "--intervention", SERVER_DOWN, "--priority", "p9"), "p9")
    # The ceiling: data transfers are Standard only.
    _one_line_error(
        run(*base, "--intervention", DATA_TRANSFER, "--priority", "express"), "not available"
    )
    future = ("--logged", "2999-01-01T00:00:00+00:00")
    _one_line_error(
        run(*base, "--intervention", SERVER_DOWN, "--priority", "express", *future), "future"
    )
    ok = run(*base, "--intervention", SERVER_DOWN, "--priority", "express")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("ticket TLN-")
    with transaction(database) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
    _one_line_error(run("ticket", "show", "TLN-1999-000001"), "no ticket")
