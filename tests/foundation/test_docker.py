"""Docker cannot run here: check the files' structure instead."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def test_compose_has_bot_and_postgres_with_healthcheck() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "bot"}
    db = services["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    bot = services["bot"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["environment"]["SUPPORTBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "supportbot db upgrade" in " ".join(bot["command"])
    assert bot["build"]["dockerfile"] == "docker/Dockerfile"


def test_dockerfile_is_multi_stage_non_root_and_compiles_translations() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2
    assert "USER supportbot" in text
    assert "pybabel compile" in text
    assert "HEALTHCHECK" in text
