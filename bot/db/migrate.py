"""Alembic, driven from code: upgrade, current revision, and the start-up check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseNotReadyError(RuntimeError):
    """The database is not at the code's migration head."""


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` using the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`."""
    command.upgrade(alembic_config(url), revision)


def head_revision(*, url: str) -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(*, engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_ready(*, engine: Engine, url: str) -> None:
    """Raise `DatabaseNotReadyError` with a one-line hint unless the database is at head."""
    current = current_revision(engine=engine)
    head = head_revision(url=url)
    if current == head:
        return
    state = "not migrated" if current is None else f"at revision {current}, code expects {head}"
    raise DatabaseNotReadyError(f"database {state}: run `supportbot db upgrade`")
