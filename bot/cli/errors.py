"""Operator errors in one line: the root command group turns known failures into `error: …`."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from bot.db.migrate import DatabaseNotReadyError
from bot.redact import redact


def one_line(exc: BaseException) -> str | None:
    """The one-line explanation of an operator error, or None for a programming error."""
    if isinstance(exc, DatabaseNotReadyError):
        return str(exc)
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"SUPPORTBOT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        return f"invalid setting: {problems}"
    if isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return (
            f"database error ({redact(reason)}): check `supportbot db current` "
            "and run `supportbot db upgrade` if the schema is behind"
        )
    return None


class OneLineErrors(TyperGroup):
    """A command group whose subcommands end operator errors with one line on stderr."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        """Run the subcommand; known operator errors exit 2 with `error: …`."""
        try:
            return super().invoke(ctx)
        except (DatabaseNotReadyError, ValidationError, SQLAlchemyError) as exc:
            message = one_line(exc)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None
