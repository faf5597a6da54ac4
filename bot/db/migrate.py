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
    if not url.startswith("sqlite"):
        from sqlalchemy import create_engine

        engine = create_engine(url)
        try:
            check_reachable(engine=engine, url=url)
        finally:
            engine.dispose()
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
    check_reachable(engine=engine, url=url)
    current = current_revision(engine=engine)
    head = head_revision(url=url)
    if current == head:
        return
    if current is not None and not _known(url=url, revision=current):
        raise DatabaseNotReadyError(
            f"database at revision {current}, newer than this code ({head}): "
            "upgrade supportbot or point SUPPORTBOT_DATABASE_URL at the right database"
        )
    state = "not migrated" if current is None else f"at revision {current}, code expects {head}"
    raise DatabaseNotReadyError(f"database {state}: run `supportbot db upgrade`")


def _known(*, url: str, revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config(url)).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def check_file(*, url: str) -> None:
    """Refuse a SQLite URL whose file does not exist (rather than create one silently)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseNotReadyError(
            f"database not migrated: no file at {path.resolve()}; run `supportbot db upgrade` "
            "to create it there, or set SUPPORTBOT_DATABASE_URL"
        )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def check_reachable(*, engine: Engine, url: str) -> None:
    """Raise `DatabaseNotReadyError` when the server cannot be reached or is not UTF-8."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bot.redact import mask_url, redact

    try:
        with engine.connect() as connection:
            if engine.dialect.name != "postgresql":
                return
            encoding = connection.execute(text("SHOW server_encoding")).scalar()
    except SQLAlchemyError as exc:
        reason = redact(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
        raise DatabaseNotReadyError(
            f"cannot reach the database {mask_url(url)} ({reason}): "
            "check SUPPORTBOT_DATABASE_URL and that the server is running"
        ) from None
    if str(encoding).upper().replace("-", "") != "UTF8":
        raise DatabaseNotReadyError(
            f"the database encoding is {encoding}, supportbot needs UTF8: create it with "
            "`createdb --encoding=UTF8 --template=template0 NAME` and run `supportbot db upgrade`"
        )
