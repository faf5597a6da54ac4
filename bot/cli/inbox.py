"""`supportbot inbox list-parked` and `inbox retry ID`: inbound events set aside."""

from __future__ import annotations

import json

import typer

from bot.db.engine import get_engine, transaction
from bot.inbox import store

app = typer.Typer(
    help="The inbox of platform events: those set aside after failing, and retrying them.",
    no_args_is_help=True,
)


@app.command("list-parked")
def list_parked(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The parked inbound events, oldest first (never their content)."""
    with transaction(get_engine()) as session:
        rows = store.list_parked(session=session)
    if not rows:
        typer.echo("no parked event")
        return
    for row in rows:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "id": row.id,
                        "channel": row.channel,
                        "key": row.key,
                        "chat": row.chat_key,
                        "attempts": row.attempts,
                        "received_at": row.received_at.isoformat(),
                        "parked_at": row.parked_at.isoformat(),
                        "error": row.error,
                    }
                )
            )
        else:
            typer.echo(
                f"{row.id}  {row.channel:<9} {row.key:<24} {row.chat_key:<20} "
                f"attempts {row.attempts}  parked {row.parked_at:%Y-%m-%d %H:%M:%S}Z  {row.error}"
            )


@app.command("retry")
def retry(row_id: int = typer.Argument(..., help="The id shown by list-parked.")) -> None:
    """Offer a parked event again to the running drainers (attempts count from zero)."""
    with transaction(get_engine()) as session:
        done = store.retry(session=session, row_id=row_id)
    if not done:
        typer.echo(f"error: no parked event {row_id}", err=True)
        raise typer.Exit(2)
    typer.echo(f"event {row_id} offered again")
