"""The `supportbot` command line."""

from __future__ import annotations

import json
import sys

import typer

from bot.channels import builtin
from bot.cli import (
    admin,
    availability,
    catalog,
    consequences,
    dashboard,
    inbox,
    money,
    people,
    report,
    sla,
    slack,
    telegram,
    tickets,
    worker,
)
from bot.cli.errors import OneLineErrors
from bot.redact import configure_logging
from bot.redact import install as install_redaction
from bot.settings import get_settings

app = typer.Typer(
    name="supportbot",
    help="Chat-ops support bot: contract-aware tickets, SLA clocks and service credits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog.app, name="catalog")
app.add_typer(sla.app, name="sla")
app.add_typer(money.ledger_app, name="ledger")
app.add_typer(money.remedies_app, name="remedies")
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.contract_app, name="contract")
app.add_typer(admin.demo_app, name="demo")
app.add_typer(consequences.maintenance_app, name="maintenance")
app.add_typer(consequences.ssl_app, name="ssl")
app.add_typer(consequences.claims_app, name="claims")
app.add_typer(telegram.app, name="telegram")
app.add_typer(slack.app, name="slack")
app.add_typer(inbox.app, name="inbox")
app.add_typer(tickets.app, name="ticket")
app.add_typer(people.invite_app, name="invite")
app.add_typer(people.user_app, name="user")
app.add_typer(dashboard.app, name="dashboard")
app.command("availability")(availability.availability_command)
app.command("chat")(admin.chat)
app.command("quote")(money.quote)
app.command("report")(report.report)
worker.register(app)
builtin.install()  # the channels notifications and the worker use


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on standard error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default from settings)."),
    port: int | None = typer.Option(None, help="Bind port (default from settings)."),
    workers: int = typer.Option(
        1,
        min=1,
        help="Server processes sharing the port, each with its inbox drainer and worker "
        "(more than one: PostgreSQL).",
    ),
) -> None:
    """Run the HTTP server (health probes, webhooks) and the notification worker."""
    import uvicorn

    from bot.db.engine import get_engine
    from bot.db.migrate import DatabaseNotReadyError
    from bot.server import UnsafeConfigurationError, build_app

    settings = get_settings()
    configure_logging(settings)
    try:
        engine = get_engine()
    except DatabaseNotReadyError as exc:
        raise fail(str(exc), code=1) from None
    try:
        app = build_app(settings=settings, engine=engine, freeze_heap=True)
    except UnsafeConfigurationError as exc:
        raise fail(str(exc), code=1) from None
    if workers > 1:
        if engine.dialect.name == "sqlite":
            raise fail("several server processes need PostgreSQL (SUPPORTBOT_DATABASE_URL)")
        # Each process builds its own app (and engine) from the same settings.
        uvicorn.run(
            "bot.server:app_from_settings",
            factory=True,
            workers=workers,
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
        )
        return
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Create or migrate the database to the newest schema."""
    from bot.db.engine import get_engine
    from bot.db.migrate import (
        check_reachable,
        current_revision,
        head_revision,
        sqlite_file,
        upgrade,
    )
    from bot.redact import mask_url

    settings = get_settings()
    engine = get_engine(check=False)
    check_reachable(engine=engine, url=settings.database_url)
    before = current_revision(engine=engine)
    upgrade(url=settings.database_url, revision=revision)
    after = current_revision(engine=engine)
    path = sqlite_file(settings.database_url)
    where = str(path.resolve()) if path is not None else mask_url(settings.database_url)
    if before == after:
        typer.echo(f"database already at {after} ({where})")
    else:
        typer.echo(f"database migrated from {before or 'empty'} to {after} ({where})")
    if after == head_revision(url=settings.database_url):
        from bot.db.engine import transaction
        from bot.db.models import utcnow
        from bot.services import outcomes

        with transaction(engine) as session:
            filled = outcomes.backfill(session=session, now=utcnow())
        if filled:
            typer.echo(f"SLA outcomes stored on {filled} open tickets")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and whether it is the newest."""
    from bot.db.engine import get_engine
    from bot.db.migrate import check_file, check_reachable, current_revision, head_revision

    settings = get_settings()
    check_file(url=settings.database_url)
    engine = get_engine(check=False)
    check_reachable(engine=engine, url=settings.database_url)
    current = current_revision(engine=engine)
    head = head_revision(url=settings.database_url)
    state = "up to date" if current == head else f"behind, head is {head}"
    typer.echo(f"{current or 'not migrated'} ({state})")


@app.command()
def config(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the effective settings (secrets masked)."""
    shown = get_settings().masked()
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    for name, value in shown.items():
        typer.echo(f"{name} = {value}")


@app.callback()
def _every_command() -> None:
    """Chat-ops support bot: contract-aware tickets, SLA clocks and service credits."""
    install_redaction(get_settings())


def main() -> None:
    """Console-script entry point."""
    from pydantic import ValidationError

    from bot.cli.errors import one_line

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as exc:  # settings read before any command runs
        typer.echo(f"error: {one_line(exc)}", err=True)
        sys.exit(2)
