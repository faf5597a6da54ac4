"""`supportbot quote`, `ledger …` and `remedies …` as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.db.models import Contract, Tenant, User
from bot.services import ledger
from bot.settings import get_settings

SERVER_DOWN = "dedicated-server-down-not-hardware"
DATA_TRANSFER = "dedicated-data-media-transfer"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_one_line_error(result: Result, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert text in lines[0]


# --------------------------------------------------------------------------- quote


def test_acceptance_quote_express_40_minutes() -> None:
    data = run_json(
        "quote",
        "--pack",
        "telenet-hosting-cloud",
        "--intervention",
        SERVER_DOWN,
        "--priority",
        "express",
        "--minutes",
        "40",
    )
    assert data == {
        "rule": "per_quarter_hour",
        "credits": "9",
        "rate": "3",
        "quarters": 3,
        "units": None,
        "estimate": True,
        "available": True,
        "max_priority": "express",
    }


def test_acceptance_express_data_transfer_is_refused_with_exit_0() -> None:
    data = run_json(
        "quote",
        "--pack",
        "telenet-hosting-cloud",
        "--intervention",
        DATA_TRANSFER,
        "--priority",
        "express",
    )
    assert data["available"] is False
    assert data["max_priority"] == "standard"
    assert data["credits"] is None
    assert data["rule"] == "not_available"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--intervention", SERVER_DOWN, "--priority", "express", "--minutes", "40"], "from 9"),
        (["--intervention", DATA_TRANSFER, "--priority", "express"], "highest priority"),
        (["--intervention", "website-unreachable", "--priority", "standard"], "free"),
        (
            ["--intervention", "website-backup-restore", "--priority", "express", "--units", "2"],
            "6",
        ),
        (["--intervention", "domain-records-update", "--priority", "standard"], "2 credits"),
    ],
)
def test_quote_human_form(args: list[str], text: str) -> None:
    result = run("quote", "--pack", "telenet-hosting-cloud", *args)
    assert result.exit_code == 0, result.output
    assert text in result.stdout


def test_quote_on_request() -> None:
    data = run_json(
        "quote",
        "--pack",
        "telenet-webhosting",
        "--intervention",
        "email-migration",
        "--priority",
        "standard",
    )
    assert (data["rule"], data["credits"], data["available"]) == ("on_request", None, True)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--pack", "nope", "--intervention", SERVER_DOWN, "--priority", "express"], "nope"),
        (["--pack", "telenet-hosting-cloud", "--intervention", "x", "--priority", "express"], "x"),
        (
            ["--pack", "telenet-hosting-cloud", "--intervention", SERVER_DOWN, "--priority", "p1"],
            "p1",
        ),
        (
            [
                "--pack",
                "telenet-hosting-cloud",
                "--intervention",
                SERVER_DOWN,
                "--priority",
                "express",
                "--minutes",
                "-5",
            ],
            "negative",
        ),
    ],
)
def test_quote_errors_are_one_line_exit_2(args: list[str], text: str) -> None:
    assert_one_line_error(run("quote", *args), text)


# --------------------------------------------------------------------------- ledger


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The per-test database as the configured one, with tenant 'acme' and two contracts."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        tenant = Tenant(slug="acme", name="Acme")
        session.add(tenant)
        session.flush()
        assert tenant.id is not None
        session.add(Contract(tenant_id=tenant.id, pack_id="telenet-hosting-cloud"))
        session.add(Contract(tenant_id=tenant.id, pack_id="proximus-internet"))
        session.add(User(handle="ops", display_name="Ops", tenant_id=None))
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def test_buy_adjust_show(database: Engine) -> None:
    bought = run("ledger", "buy", "--tenant", "acme", "--credits", "20", "--actor", "ops")
    assert bought.exit_code == 0, bought.output
    assert "balance 20 credits" in bought.stdout
    adjusted = run("ledger", "adjust", "--tenant", "acme", "--amount", "-2.5", "--reason", "fix")
    assert adjusted.exit_code == 0, adjusted.output
    assert "balance 17.5 credits" in adjusted.stdout
    data = run_json("ledger", "show", "--tenant", "acme")
    telenet, proximus = data["accounts"]
    assert (telenet["pack"], telenet["balance"], telenet["available"]) == (
        "telenet-hosting-cloud",
        "17.5",
        "17.5",
    )
    assert [(e["type"], e["amount"]) for e in telenet["entries"]] == [
        ("purchase", "20"),
        ("adjustment", "-2.5"),
    ]
    assert telenet["entries"][0]["actor_id"] is not None
    assert telenet["entries"][1]["reason"] == "fix"
    assert (proximus["unit"], proximus["balance"], proximus["entries"]) == ("eur", "0", [])
    text = run("ledger", "show", "--tenant", "acme")
    assert text.exit_code == 0
    assert "balance 17.5 credits" in text.stdout
    with transaction(database) as session:
        contract_id = telenet["contract_id"]
        assert ledger.balance(session=session, contract_id=contract_id) == Decimal("17.5")


def test_buy_needs_contract_when_several_accounts(database: Engine) -> None:
    with transaction(database) as session:
        session.add(Contract(tenant_id=1, pack_id="alteo-hosting"))
    assert_one_line_error(run("ledger", "buy", "--tenant", "acme", "--credits", "2"), "--contract")
    data = run_json("ledger", "show", "--tenant", "acme")
    alteo = data["accounts"][2]["contract_id"]
    bought = run("ledger", "buy", "--tenant", "acme", "--credits", "2", "--contract", str(alteo))
    assert bought.exit_code == 0, bought.output
    assert "+2 hours" in bought.stdout
    shown = run_json("ledger", "show", "--tenant", "acme")["accounts"][2]
    assert shown["entries"][0]["expires_at"] is not None


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["show", "--tenant", "nobody"], "nobody"),
        (["buy", "--tenant", "nobody", "--credits", "1"], "nobody"),
        (["buy", "--tenant", "acme", "--credits", "-1"], "negative"),
        (["buy", "--tenant", "acme", "--credits", "ten"], "not a number"),
        (["buy", "--tenant", "acme", "--credits", "5", "--contract", "99"], "no contract 99"),
        (["buy", "--tenant", "acme", "--credits", "5", "--contract", "2"], "invoiced"),
        (["buy", "--tenant", "acme", "--credits", "5", "--actor", "ghost"], "ghost"),
        (["adjust", "--tenant", "acme", "--amount", "0", "--reason", "x"], "non-zero"),
        (["adjust", "--tenant", "acme", "--amount", "1", "--reason", " "], "reason"),
    ],
)
def test_ledger_errors_are_one_line_exit_2(database: Engine, args: list[str], text: str) -> None:
    assert_one_line_error(run("ledger", *args), text)


def test_ledger_refuses_an_unmigrated_database(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert_one_line_error(run("ledger", "show", "--tenant", "acme"), "not migrated")
    finally:
        get_settings.cache_clear()
        engine_for(url).dispose()


# --------------------------------------------------------------------------- remedies


@pytest.mark.parametrize(
    ("args", "amount", "deadline"),
    [
        (["telenet-waiver", "--credits-due", "9"], "9", None),
        (
            [
                "telenet-waiver",
                "--intervention",
                SERVER_DOWN,
                "--priority",
                "express",
                "--minutes",
                "40",
            ],
            "9",
            None,
        ),
        (
            ["proximus-p1", "--monthly-fee", "80", "--month", "2026-01", "--breaches", "2"],
            "80",
            "2026-04-30",
        ),
        (
            ["proximus-availability", "--monthly-fee", "200", "--availability", "99.69"],
            "3",
            None,
        ),
        (
            [
                "proximus-availability",
                "--monthly-fee",
                "200",
                "--availability",
                "99.49",
                "--period-end",
                "2026-12-31",
            ],
            "10",
            "2027-03-31",
        ),
        (["proximus-availability", "--monthly-fee", "200", "--availability", "99.7"], "0", None),
        (
            [
                "alteo-availability",
                "--monthly-fee",
                "200",
                "--downtime-minutes",
                "61",
                "--month",
                "2026-04",
            ],
            "10",
            None,
        ),
        (["alteo-gtr", "--monthly-fee", "200", "--overrun-minutes", "60"], "40", None),
        (["alteo-gtr", "--monthly-fee", "200", "--overrun-minutes", "181"], "100", None),
    ],
)
def test_remedies_json(args: list[str], amount: str, deadline: str | None) -> None:
    data = run_json("remedies", *args)
    assert Decimal(data["amount"]) == Decimal(amount)
    assert data["claim_deadline"] == deadline
    assert set(data) == {
        "amount",
        "unit",
        "basis",
        "clause",
        "claim_deadline",
        "remedy_id",
        "capped",
    }


def test_remedies_human_form() -> None:
    result = run("remedies", "alteo-gtr", "--monthly-fee", "200", "--overrun-minutes", "61")
    assert result.exit_code == 0, result.output
    # Euros are now shown to the cent ("60.00", was "60"): issue 15 asks for "5.00".
    assert result.stdout.startswith("60.00 eur: overrun of 61 min (up to 120 min)")


@pytest.mark.parametrize(
    ("downtime", "month", "amount"),
    [("44", "2026-12", "5.00"), ("41", "2027-02", "0.00")],
)
def test_alteo_availability_tolerance_is_fixed(downtime: str, month: str, amount: str) -> None:
    result = run(
        "remedies",
        "alteo-availability",
        "--monthly-fee",
        "200",
        "--downtime-minutes",
        downtime,
        "--month",
        month,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[0] == amount


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["telenet-waiver", "--pack", "telenet-webhosting", "--credits-due", "3"], "no waiver"),
        (["telenet-waiver"], "--credits-due"),
        (["telenet-waiver", "--intervention", DATA_TRANSFER, "--priority", "express"], "standard"),
        (["proximus-p1", "--monthly-fee", "80", "--month", "2026-13"], "YYYY-MM"),
        (["proximus-p1", "--monthly-fee", "-80", "--month", "2026-01"], "negative"),
        (["alteo-gtr", "--monthly-fee", "x", "--overrun-minutes", "3"], "not a number"),
        (["alteo-gtr", "--pack", "nope", "--monthly-fee", "1", "--overrun-minutes", "3"], "nope"),
    ],
)
def test_remedies_errors_are_one_line_exit_2(args: list[str], text: str) -> None:
    assert_one_line_error(run("remedies", *args), text)


@pytest.mark.parametrize(
    "command",
    [
        ["quote"],
        ["ledger", "show"],
        ["ledger", "buy"],
        ["ledger", "adjust"],
        ["remedies"],
        ["remedies", "telenet-waiver"],
        ["remedies", "proximus-p1"],
        ["remedies", "proximus-availability"],
        ["remedies", "alteo-availability"],
        ["remedies", "alteo-gtr"],
    ],
)
def test_every_money_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output
