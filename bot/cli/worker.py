"""`supportbot worker` and `supportbot notifications list`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from sqlalchemy import func
from sqlmodel import col, select

from bot.db.engine import get_engine, transaction
from bot.db.models import Notification, NotificationStatus, Ticket
from bot.redact import configure_logging
from bot.settings import get_settings

notifications_app = typer.Typer(
    help="The outbox: messages waiting, held, sent or dead.", no_args_is_help=True
)
STATUSES = [s.value for s in NotificationStatus]
STATUS_HELP = f"Only these statuses (repeat or comma-separate): {', '.join(STATUSES)}."


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def worker(
    once: bool = typer.Option(
        False, "--once", help="Fire what is due and send what can go now, then exit."
    ),
) -> None:
    """Run the SLA milestone dispatcher and the notification senders until interrupted."""
    from bot.channels import builtin
    from bot.db.migrate import DatabaseNotReadyError, check_ready
    from bot.worker.runner import Worker, run_forever

    builtin.install()
    settings = get_settings()
    configure_logging(settings)
    engine = get_engine()
    try:
        check_ready(engine=engine, url=settings.database_url)
    except DatabaseNotReadyError as exc:
        raise _fail(str(exc), code=1) from None
    if once:
        figures = asyncio.run(Worker(engine=engine, settings=settings).run_once())
        typer.echo(", ".join(f"{name} {count}" for name, count in figures.items()))
        return
    run_forever(engine=engine, settings=settings)


def _row(row: Notification, reference: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.idempotency_key,
        "ticket": reference,
        "event": row.event,
        "audience": row.audience,
        "channel": row.channel,
        "chat_id": row.chat_id,
        "lang": row.lang,
        "status": row.status.value,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "last_error": row.last_error,
        "text": row.text,
    }


@notifications_app.command("list")
def notifications_list(
    ticket: str | None = typer.Option(None, "--ticket", help="Only this ticket reference."),
    status: list[str] = typer.Option(
        [],
        "--status",
        help=STATUS_HELP,
    ),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many rows, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the outbox, newest first, with the count of each status (dead letters included)."""
    wanted = [part.strip().lower() for value in status for part in value.split(",") if part]
    unknown = sorted(set(wanted) - set(STATUSES))
    if unknown:
        raise _fail(f"unknown status {', '.join(unknown)}; choose from {', '.join(STATUSES)}")
    with transaction(get_engine()) as session:
        filters = []
        if ticket is not None:
            found = session.exec(select(Ticket).where(Ticket.reference == ticket.upper())).first()
            if found is None:
                raise _fail(f"no ticket {ticket!r}")
            filters.append(col(Notification.ticket_id) == found.id)
        counts_query = select(Notification.status, func.count()).group_by(Notification.status)
        counts = {s: 0 for s in STATUSES}
        for value, count in session.exec(counts_query.where(*filters)).all():
            counts[NotificationStatus(value).value] = count
        if wanted:
            filters.append(col(Notification.status).in_([NotificationStatus(s) for s in wanted]))
        query = (
            select(Notification, Ticket.reference)
            .outerjoin(Ticket, col(Ticket.id) == col(Notification.ticket_id))
            .where(*filters)
            .order_by(col(Notification.id).desc())
            .limit(limit)
        )
        rows = [_row(row, reference) for row, reference in session.exec(query).all()]
    if as_json:
        typer.echo(json.dumps({"counts": counts, "notifications": rows}, indent=2))
        return
    for row in rows:
        when = row["sent_at"] or row["next_attempt_at"]
        error = f"  [{row['last_error']}]" if row["last_error"] else ""
        typer.echo(
            f"#{row['id']} {row['status']:<7} {row['ticket'] or '-':<16} {row['event']:<14} "
            f"{row['audience']:<8} {row['channel']}:{row['chat_id']}  attempts {row['attempts']}"
            f"  {when}{error}"
        )
    typer.echo("  ".join(f"{name} {count}" for name, count in counts.items()))


def register(app: typer.Typer) -> None:
    """Add `worker` and `notifications` to the main command."""
    app.command("worker")(worker)
    app.add_typer(notifications_app, name="notifications")
