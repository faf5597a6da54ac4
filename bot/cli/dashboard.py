"""`supportbot dashboard link --as HANDLE`: the one-time login link `/dashboard` sends in chat."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.db.engine import get_engine, transaction
from bot.services import dashboard, users
from bot.services.errors import ServiceError
from bot.settings import get_settings

app = typer.Typer(
    help="The web dashboard served by `serve` under /dashboard.", no_args_is_help=True
)


@app.command("link")
def link(
    handle: str = typer.Option(..., "--as", help="The manager or agent who will sign in."),
) -> None:
    """Print a personal login link (valid 15 minutes, usable once) for this user."""
    settings = get_settings()
    try:
        with transaction(get_engine()) as session:
            user = users.get_user_by_handle(session=session, handle=handle)
            if user is None:
                raise ServiceError(f"no user {handle!r}")
            if not dashboard.may_use(user):
                raise ServiceError(
                    f"{handle} may not use the dashboard (active managers, agents and admins only)"
                )
            url = dashboard.issue_link(
                session=session, settings=settings, user=user, now=datetime.now(UTC)
            )
    except ServiceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(url)
