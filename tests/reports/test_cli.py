"""`supportbot report` as an operator runs it (issue 16, acceptance 1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.db.engine import engine_for, transaction
from bot.services import demo
from bot.settings import get_settings
from tests.worker.conftest import open_ticket

NOVEMBER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The demo data with three tickets logged in November 2026, as the configured database."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        demo.seed(session=session, now=NOVEMBER)
    for priority in ("express", "standard"):
        open_ticket(
            engine,
            pack_id="telenet-hosting-cloud",
            intervention="dedicated-server-manual-restart",
            priority=priority,
            now=NOVEMBER,
        )
    open_ticket(
        engine, pack_id="proximus-internet", intervention="no-internet", priority="p3", now=NOVEMBER
    )
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def test_png_report_is_a_valid_png(database: Engine, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    result = run(
        "report", "--tenant", "demo-customer", "--period", "2026-11", "--format", "png",
        "--output", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 800
    assert height > 0


def test_csv_report_has_a_header_and_one_row_per_ticket(database: Engine, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    result = run(
        "report", "--tenant", "demo-customer", "--period", "2026-11", "--format", "csv",
        "--output", str(out), "--lang", "en",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["reference", "contract", "intervention"]
    assert len(rows[0]) == 19
    assert sorted(r[0] for r in rows[1:]) == [
        "PXS-2026-000001",
        "TLN-2026-000001",
        "TLN-2026-000002",
    ]
    assert {r[4] for r in rows[1:]} >= {"Express", "Standard"}  # labels, not ids


def test_csv_on_standard_output_and_a_report_of_a_provider(database: Engine) -> None:
    result = run(
        "report", "--tenant", "demo-customer", "--provider", "PXS", "--period", "2026-11",
        "--format", "csv", "--lang", "fr",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("référence,contrat,intervention")
    assert [line.split(",")[0] for line in lines[1:]] == ["PXS-2026-000001"]


def test_text_report_in_the_tenants_language(database: Engine) -> None:
    result = run("report", "--tenant", "demo-customer", "--period", "2026-11")
    assert result.exit_code == 0, result.output
    assert "Respect des SLA, novembre 2026" in result.stdout
    assert "telenet-hosting-cloud" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nobody"], "unknown tenant 'nobody'"),
        (["--tenant", "demo-customer", "--period", "2026-13"], "month out of range"),
        (["--tenant", "demo-customer", "--period", "someday"], "unknown period"),
        (["--tenant", "demo-customer", "--period", "2100"], "has not started yet"),
        (["--tenant", "demo-customer", "--format", "png"], "--format png needs --output"),
        (["--tenant", "demo-customer", "--provider", "XYZ"], "unknown provider 'XYZ'"),
    ],
)
def test_operator_errors_are_one_line(database: Engine, args: list[str], message: str) -> None:
    result = run("report", *args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert message in lines[0]
