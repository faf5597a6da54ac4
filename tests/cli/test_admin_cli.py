"""`supportbot contract add` checks each option against the pack's declaration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.db.models import Contract, Tenant
from bot.settings import get_settings


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The per-test database as the configured one, with tenant 'acme' and no contract."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        session.add(Tenant(slug="acme", name="Acme"))
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def _contracts(engine: Engine) -> list[Contract]:
    with transaction(engine) as session:
        return list(session.exec(select(Contract)).all())


@pytest.mark.parametrize(
    ("pack", "options", "named", "reason"),
    [
        ("telenet-hosting-cloud", ["credit_pack_size=zero"], "credit_pack_size", "not a number"),
        ("telenet-hosting-cloud", ["credit_pack_size=0"], "credit_pack_size", "greater than 0"),
        ("telenet-hosting-cloud", ["credit_pack_size=2.5"], "credit_pack_size", "whole number"),
        ("alteo-hosting", ["gtr_hours=abc"], "gtr_hours", "not a number"),
        (
            "alteo-hosting",
            ["gtr_hours=2", "monthly_allowance_hours=-3"],
            "monthly_allowance_hours",
            "at least 0",
        ),
        ("telenet-hosting-cloud", ["colour=red"], "colour", "no such option"),
    ],
)
def test_a_bad_option_exits_non_zero_with_one_line_naming_it(
    database: Engine, pack: str, options: list[str], named: str, reason: str
) -> None:
    args = ["contract", "add", "--tenant", "acme", "--pack", pack]
    for option in options:
        args += ["--option", option]
    result = run(*args)
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: option {named}: "), lines[0]
    assert reason in lines[0]
    assert "Traceback" not in result.output
    assert _contracts(database) == []


def test_good_options_are_stored_and_the_service_level_kept_apart(database: Engine) -> None:
    result = run(
        "contract",
        "add",
        "--tenant",
        "acme",
        "--pack",
        "alteo-hosting",
        "--option",
        "monthly_allowance_hours=4",
        "--option",
        "gtr_hours=2",
        "--option",
        "service_level=managed:plesk",
    )
    assert result.exit_code == 0, result.output
    assert "(managed:plesk)" in result.stdout
    (contract,) = _contracts(database)
    assert contract.options == {"monthly_allowance_hours": "4", "gtr_hours": "2"}
    assert contract.service_level == "managed:plesk"


def test_an_unknown_service_level_is_refused_as_before(database: Engine) -> None:
    result = run(
        "contract",
        "add",
        "--tenant",
        "acme",
        "--pack",
        "alteo-hosting",
        "--option",
        "service_level=gold",
    )
    assert result.exit_code == 2
    assert "no service level 'gold'" in result.stderr
    assert _contracts(database) == []


def test_a_proximus_contract_without_a_formula_is_refused(database: Engine) -> None:
    # Issue 15 item 3: it used to become Internet Essential (best effort) silently.
    result = run("contract", "add", "--tenant", "acme", "--pack", "proximus-internet")
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "service_level" in lines[0]
    assert "internet-pro-plus:premium" in lines[0]
    assert _contracts(database) == []


def test_a_proximus_contract_with_a_formula_keeps_it(database: Engine) -> None:
    args = ["--pack", "proximus-internet", "--option", "service_level=internet-pro-plus:basic"]
    result = run("contract", "add", "--tenant", "acme", *args)
    assert result.exit_code == 0, result.output
    assert [c.service_level for c in _contracts(database)] == ["internet-pro-plus:basic"]


def test_alteo_still_defaults_to_its_single_default_level(database: Engine) -> None:
    result = run("contract", "add", "--tenant", "acme", "--pack", "alteo-hosting")
    assert result.exit_code == 0, result.output
    assert [c.service_level for c in _contracts(database)] == ["managed:none"]
