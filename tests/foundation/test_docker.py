"""Docker cannot run here: check the files' structure instead."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def test_compose_has_bot_and_postgres_with_healthcheck() -> None:
    # Was: one bot service migrating then serving. Now a one-shot migration, two bot
    # replicas and nginx in front of them on one port (issue 17: several processes).
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "bot", "web"}
    db = services["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    migrate = services["migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert "supportbot db upgrade" in " ".join(migrate["command"])
    bot = services["bot"]
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["deploy"]["replicas"] == 2
    assert "ports" not in bot  # only the proxy publishes the port
    assert bot["environment"]["SUPPORTBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert " ".join(bot["command"]) == "supportbot serve"
    assert bot["build"]["dockerfile"] == "docker/Dockerfile"
    web = services["web"]
    assert web["ports"] == ["8000:8000"]
    assert "server bot:8000" in " ".join(web["command"])


def test_dockerfile_is_multi_stage_non_root_and_compiles_translations() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2
    assert "USER supportbot" in text
    assert "pybabel compile" in text
    assert "HEALTHCHECK" in text
