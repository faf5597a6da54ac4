"""The command line and the HTTP probes, run as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli.main import app
from bot.db.engine import make_engine
from bot.settings import Settings

SUPPORTBOT = [sys.executable, "-m", "bot"]


def run_cli(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": db_url}
    return subprocess.run(
        [*SUPPORTBOT, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_help_lists_subcommands_with_descriptions() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for command in ("serve", "db", "config", "catalog", "sla", "ledger", "remedies"):
        line = next(line for line in result.output.splitlines() if f" {command} " in line)
        assert len(line.split(command, 1)[1].strip(" │")) > 5, line


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["db", "current"], ["config"]])
def test_every_foundation_subcommand_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_db_upgrade_twice_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'bot.db'}"
    first = run_cli("db", "upgrade", db_url=url)
    assert first.returncode == 0, first.stderr
    assert "migrated from empty" in first.stdout
    second = run_cli("db", "upgrade", db_url=url)
    assert second.returncode == 0
    assert "already at" in second.stdout
    current = run_cli("db", "current", db_url=url)
    assert "up to date" in current.stdout


def test_serve_refuses_unmigrated_database_with_one_line(tmp_path: Path) -> None:
    # An existing but empty file: an absent one is refused earlier (no database at PATH).
    (tmp_path / "empty.db").touch()
    result = run_cli("serve", "--port", "1", db_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: database not migrated: run `supportbot db upgrade`"]


def test_config_masks_secrets(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SUPPORTBOT_TELEGRAM_TOKEN": "123:very-secret",
        "SUPPORTBOT_DATABASE_URL": "postgresql+psycopg://bot:hunter2@db/bot",
    }
    result = subprocess.run(
        [*SUPPORTBOT, "config"], capture_output=True, text=True, env=env, check=True
    )
    assert "very-secret" not in result.stdout
    assert "hunter2" not in result.stdout
    assert "telegram_token = **********" in result.stdout
    assert "postgresql+psycopg://bot:**********@db/bot" in result.stdout


def test_settings_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite:///./var/supportbot.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.default_locale == "fr"
    assert settings.zone == "Europe/Brussels"


def test_probes(engine: Engine) -> None:
    client = TestClient(create_app(settings=Settings(), engine=engine))
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}


def test_readyz_reports_a_broken_database(tmp_path: Path) -> None:
    # A directory cannot be opened as a database file: the driver fails on connect.
    engine = make_engine(f"sqlite:///{tmp_path}")
    client = TestClient(create_app(settings=Settings(), engine=engine))
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_healthz(db_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": db_url}
    process = subprocess.Popen(
        [*SUPPORTBOT, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300  # a hung server, not a slow one
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=60).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=120)
        assert process.stderr is not None
        process.stderr.close()
