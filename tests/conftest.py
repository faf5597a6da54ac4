"""Shared fixtures: real SQLite files migrated once per session, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.channels import builtin
from bot.db.engine import make_engine
from bot.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent

builtin.install()  # the shipped channels, as the command line and the server install them


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of an xdist group (the long CPU-burner tests) first: under pytest-xdist one
    worker runs them in turn from the start while the others run the rest of the suite."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file at the newest migration, built once."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(url=f"sqlite:///{path}")
    return path


@pytest.fixture
def db_path(tmp_path: Path, migrated_template: Path) -> Path:
    """A fresh migrated database file for one test."""
    path = tmp_path / "supportbot.db"
    shutil.copyfile(migrated_template, path)
    return path


@pytest.fixture
def db_url(db_path: Path) -> str:
    """The SQLAlchemy URL of the per-test database."""
    return f"sqlite:///{db_path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the per-test database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
