"""The one place where SQL differs between SQLite and PostgreSQL in the code's own statements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def insert_ignoring(dialect: str, target: type[SQLModel] | Table, **values: Any) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for `dialect` (``sqlite`` or ``postgresql``).

    Read the outcome with ``RETURNING`` rather than the row count: psycopg reports -1 rows for
    an ``INSERT … ON CONFLICT DO NOTHING``.
    """
    statement = _insert(dialect, target)
    if values:
        statement = statement.values(**values)
    return statement.on_conflict_do_nothing()


def insert_or_increment(
    dialect: str, target: type[SQLModel] | Table, *, keys: dict[str, Any], column: str
) -> Insert:
    """One atomic statement: insert ``column = 1`` for `keys`, or add 1 to it; returns it.

    ``INSERT … ON CONFLICT (keys) DO UPDATE SET column = column + 1 RETURNING column``: the
    database serialises concurrent callers on the row, so no two of them read the same value.
    """
    table = target if isinstance(target, Table) else target.__table__  # type: ignore[attr-defined]
    statement = _insert(dialect, table).values(**keys, **{column: 1})
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={column: table.c[column] + 1}
    ).returning(table.c[column])


def _insert(dialect: str, target: type[SQLModel] | Table) -> PostgresInsert | SqliteInsert:
    """The dialect's ``INSERT`` (PostgreSQL's module is loaded only when it is used)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(target)
    return sqlite_insert(target)
