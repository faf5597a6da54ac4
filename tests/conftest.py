"""Shared fixtures: real SQLite files migrated once per session, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bot.channels import builtin
from bot.db.engine import make_engine, transaction
from bot.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent

builtin.install()  # the shipped channels, as the command line and the server install them


#: The tests that start CPU-bound burner processes beside real processes they SIGKILL. Under
#: pytest-xdist they are one unit of work, first in the queue: one worker runs them in turn
#: (never two sets of burners at once) while the others run the rest of the suite.
BURNER_TESTS = ("tests/inbox/test_served.py::", "tests/worker/test_crash.py::")


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist still works
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Distribute tests one by one, except the burner tests, which stay together."""
    from xdist.scheduler import LoadScopeScheduling

    class BurnersTogether(LoadScopeScheduling):
        # LoadScopeScheduling queues the largest units first: the burners' unit starts at once.
        def _split_scope(self, nodeid: str) -> str:
            return "burners" if nodeid.startswith(BURNER_TESTS) else nodeid

    return BurnersTogether(config, log)


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
def write_meanwhile(db_url: str) -> Iterator[Callable[[], None]]:
    """A one-row write on the per-test database from another connection that never waits
    (busy timeout zero): "database is locked" while anyone holds SQLite's write lock."""
    other = make_engine(db_url, busy_timeout_ms=0)

    def write() -> None:
        with transaction(other) as session:
            session.execute(text("UPDATE tenants SET name = name"))

    yield write
    other.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the per-test database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
