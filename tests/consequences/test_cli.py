"""`supportbot maintenance`, `ssl` and `claims list` from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.db.models import Tenant
from bot.services import certificates
from bot.settings import get_settings


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        session.add(Tenant(slug="acme", name="Acme"))
        session.add(Tenant(slug="beta", name="Beta", default_locale="nl"))
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_alteo_maintenance_in_3_days_needs_the_emergency_flag(database: Engine) -> None:
    args = ["maintenance", "add", "--provider", "ALT", "--start", _in_days(3)]
    args += ["--minutes", "90", "--services", "Serveur dédié web-01"]
    line = one_line_error(run(*args))
    assert "8 calendar days" in line
    assert "5.5" in line
    assert "--emergency" in line
    listed = run("maintenance", "list", "--json")
    assert json.loads(listed.stdout) == []
    ok = run(*args, "--emergency", "--tenants", "acme")
    assert ok.exit_code == 0, ok.output
    assert "(emergency)" in ok.stdout


def test_maintenance_with_enough_notice_is_listed_and_cancelled(database: Engine) -> None:
    result = run(
        "maintenance",
        "add",
        "--provider",
        "alt",
        "--start",
        _in_days(9),
        "--minutes",
        "60",
        "--services",
        "Cloud privé",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(run("maintenance", "list", "--json").stdout)
    assert [(r["provider"], r["emergency"], r["tenant_ids"]) for r in rows] == [("ALT", False, [])]
    assert run("maintenance", "cancel", str(rows[0]["id"])).exit_code == 0
    assert json.loads(run("maintenance", "list", "--json").stdout) == []
    assert "already cancelled" in one_line_error(run("maintenance", "cancel", str(rows[0]["id"])))


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--provider", "XYZ", "--start", _in_days(20)], "unknown provider"),
        (["--provider", "ALT", "--start", "2027-03-29T22:00:00"], "no UTC offset"),
        (["--provider", "ALT", "--start", "2020-01-01T00:00:00+01:00"], "future"),
    ],
)
def test_maintenance_errors_are_one_line(database: Engine, args: list[str], text: str) -> None:
    line = one_line_error(run("maintenance", "add", *args, "--minutes", "30", "--services", "x"))
    assert text in line


def test_proximus_planned_works_have_no_notice_rule(database: Engine) -> None:
    result = run(
        "maintenance",
        "add",
        "--provider",
        "PXS",
        "--start",
        _in_days(1),
        "--minutes",
        "30",
        "--services",
        "Internet Pro+",
    )
    assert result.exit_code == 0, result.output


def test_ssl_add_import_and_list(database: Engine, tmp_path: Path) -> None:
    assert (
        run(
            "ssl",
            "add",
            "--tenant",
            "acme",
            "--domain",
            "Shop.Example.be",
            "--expires",
            "2026-12-25",
        ).exit_code
        == 0
    )
    csv_file = tmp_path / "certs.csv"
    csv_file.write_text(
        "tenant,domain,expires\nbeta,www.beta.be,2027-03-29\nacme,shop.example.be,2027-01-15\n",
        encoding="utf-8",
    )
    imported = run("ssl", "import", str(csv_file))
    assert imported.exit_code == 0, imported.output
    rows = json.loads(run("ssl", "list", "--json").stdout)
    assert [(r["tenant"], r["domain"], r["expires"]) for r in rows] == [
        ("acme", "shop.example.be", "2027-01-15"),
        ("beta", "www.beta.be", "2027-03-29"),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("acme,not a domain,2027-01-01\n", encoding="utf-8")
    assert "line 1" in one_line_error(run("ssl", "import", str(bad)))
    assert "no tenant" in one_line_error(
        run("ssl", "add", "--tenant", "nope", "--domain", "a.be", "--expires", "2027-01-01")
    )


def test_certificate_reminders_30_14_7_days_once_each(database: Engine) -> None:
    with transaction(database) as session:
        cert = certificates.add(
            session=session, tenant_slug="beta", domain="www.beta.be", expires="2027-03-29"
        )
        steps = []
        day = date(2027, 2, 20)
        while day <= date(2027, 3, 29):
            for row, days in certificates.reminders_due(session=session, today=day):
                assert row.id == cert.id
                steps.append((day, days))
                certificates.mark_reminded(session=session, certificate=row, days=days)
            day += timedelta(days=1)
    assert steps == [(date(2027, 2, 27), 30), (date(2027, 3, 15), 14), (date(2027, 3, 22), 7)]


def test_claims_list_is_empty_then_refuses_an_unknown_tenant(database: Engine) -> None:
    assert json.loads(run("claims", "list", "--json").stdout) == []
    assert "no tenant" in one_line_error(run("claims", "list", "--tenant", "nope"))
    assert "--status" in one_line_error(run("claims", "list", "--status", "paid"))


@pytest.mark.parametrize(
    ("announced", "accepted"),
    [
        # Works on Easter Monday 29 March 2027 at 22:00 Paris time (after the DST change of
        # the 28th): 8 calendar days ahead is the 21st, whatever the hour.
        ("2027-03-21T23:30:00+01:00", True),
        ("2027-03-22T00:30:00+01:00", False),
    ],
)
def test_the_notice_counts_calendar_days_in_the_contract_zone(
    database: Engine, announced: str, accepted: bool
) -> None:
    from bot.services import maintenance
    from bot.services.errors import InputError

    with transaction(database) as session:
        add = lambda: maintenance.add(  # noqa: E731
            session=session,
            provider_code="ALT",
            starts_at=datetime.fromisoformat("2027-03-29T22:00:00+02:00"),
            minutes=120,
            services="web-01",
            now=datetime.fromisoformat(announced),
        )
        if accepted:
            assert add().ends_at == datetime(2027, 3, 29, 22, tzinfo=UTC)  # 00:00 CEST
        else:
            with pytest.raises(InputError, match="8 calendar days"):
                add()
