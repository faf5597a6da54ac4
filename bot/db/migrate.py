"""Alembic, driven from code: upgrade, current revision, and the start-up check.

Alembic is imported only when it is needed: a server starting on a database already at head
answers the start-up check from the version files and the `alembic_version` table alone.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseNotReadyError(RuntimeError):
    """The database is not at the code's migration head."""


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` using the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`."""
    from alembic import command

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
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(*, engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_ready(*, engine: Engine, url: str) -> None:
    """Raise `DatabaseNotReadyError` with a one-line hint unless the database is at head."""
    check_reachable(engine=engine, url=url)
    if _at_head(engine=engine):
        return
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


def _at_head(*, engine: Engine) -> bool:
    """The database is at the code's only head (False also means "ask Alembic")."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    head = source_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # never migrated: Alembic says so in its words
        return False
    return [row[0] for row in found] == [head]


def source_head(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The one head revision read from the version files, or None unless it is that plain.

    Every file names its `revision` and `down_revision` as literals; the head is the revision
    no file revises. Anything else (several heads, a computed value) is left to Alembic.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        names = _literals(path)
        revision, down = names.get("revision"), names.get("down_revision")
        if not isinstance(revision, str) or "down_revision" not in names:
            return None
        revisions.add(revision)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple) and all(isinstance(d, str) for d in down):
            revised.update(down)
        elif down is not None:
            return None
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _literals(path: Path) -> dict[str, object]:
    """The module-level names a migration file assigns literal values to."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = [t for t in node.targets if isinstance(t, ast.Name)], node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError):
            continue
        for target in targets:
            found[target.id] = literal
    return found


def _known(*, url: str, revision: str) -> bool:
    from alembic.script import ScriptDirectory

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
