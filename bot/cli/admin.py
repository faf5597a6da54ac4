"""`supportbot tenant …`, `contract add`, `demo seed` and `chat`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import typer

from bot.db.engine import get_engine, transaction
from bot.services import demo, demo_volume, tenants, users
from bot.services.errors import ServiceError
from bot.settings import get_settings

tenant_app = typer.Typer(help="Customer companies.", no_args_is_help=True)
contract_app = typer.Typer(
    help="Tenants' contracts (subscriptions to a pack).", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data for trying the bot without tokens.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@tenant_app.command("add")
def tenant_add(
    slug: str = typer.Argument(..., help="Short id, e.g. acme."),
    name: str = typer.Option(..., "--name", help="Company name."),
    locale: str = typer.Option("fr", "--locale", help="Default language: fr, nl or en."),
    zone: str | None = typer.Option(None, "--zone", help="Time zone, e.g. Europe/Brussels."),
) -> None:
    """Add a customer company."""
    if locale not in ("fr", "nl", "en"):
        raise _fail("locale must be fr, nl or en")
    try:
        with transaction(get_engine()) as session:
            tenant = tenants.add_tenant(
                session=session, slug=slug, name=name, default_locale=locale, zone=zone
            )
            typer.echo(f"tenant {tenant.slug} added (id {tenant.id})")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants and their contracts."""
    from sqlmodel import select

    from bot.db.models import Tenant

    with transaction(get_engine()) as session:
        for tenant in session.exec(select(Tenant).order_by(Tenant.slug)):
            assert tenant.id is not None
            contracts = tenants.active_contracts(session=session, tenant_id=tenant.id)
            packs = ", ".join(f"#{c.id} {c.pack_id}" for c in contracts) or "no contract"
            typer.echo(f"{tenant.slug}\t{tenant.name}\t{packs}")


@contract_app.command("add")
def contract_add(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    pack: str = typer.Option(..., "--pack", help="Pack id (see `supportbot catalog list`)."),
    option: list[str] = typer.Option(
        [], "--option", help="key=value, e.g. credit_pack_size=20 or service_level=F:T."
    ),
) -> None:
    """Subscribe a tenant to a contract pack."""
    options: dict[str, str] = {}
    for item in option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _fail(f"option {item!r} is not key=value")
        options[key.strip()] = value.strip()
    try:
        with transaction(get_engine()) as session:
            found = tenants.get_tenant(session=session, slug=tenant)
            contract = tenants.add_contract(
                session=session, tenant=found, pack_id=pack, options=options
            )
            typer.echo(
                f"contract #{contract.id} added: {tenant} → {pack}"
                + (f" ({contract.service_level})" if contract.service_level else "")
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@demo_app.command("seed")
def demo_seed(
    open_tickets: int = typer.Option(
        0,
        "--open-tickets",
        min=0,
        max=1_000_000,
        help="Also add this many open tickets (bulk; for benchmarks and the dashboard).",
    ),
) -> None:
    """Create the demo customer, contracts, credits and users (safe to run again)."""
    with transaction(get_engine()) as session:
        summary = demo.seed(session=session, now=datetime.now(UTC))
    if open_tickets:
        with transaction(get_engine()) as session:
            volume = demo_volume.seed_open_tickets(
                session=session, count=open_tickets, now=datetime.now(UTC)
            )
        typer.echo(
            f"{volume.tickets} open ticket(s) added with {volume.events} event(s), "
            f"{volume.milestones} milestone(s) and {volume.pauses} pause(s)"
        )
    typer.echo(
        f"demo ready: tenant {'created' if summary.tenant_created else 'kept'}, "
        f"{summary.contracts_created} contract(s) and {summary.users_created} user(s) created; "
        "try `supportbot chat --as demo-requester`"
    )


def chat(
    as_user: str = typer.Option(..., "--as", help="User handle, e.g. demo-requester."),
    locale: str | None = typer.Option(None, "--locale", help="Platform language hint."),
) -> None:
    """Talk to the bot in the terminal (interactive, or line by line from a pipe)."""
    from bot.channels.console import ConsoleSession, run
    from bot.i18n import check_catalogs

    check_catalogs()
    engine = get_engine()
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=as_user)
        if user is None:
            raise _fail(f"no user {as_user!r} (try `supportbot demo seed`)")
        users.link_identity(session=session, user=user, channel="console", external_id=as_user)
    console = ConsoleSession(engine=engine, settings=get_settings(), handle=as_user, locale=locale)
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo(f"Connected as {as_user}. Type /help, or /quit to leave.")
    run(session=console, lines=_lines(interactive), echo=not interactive)


def _lines(interactive: bool) -> Iterator[str]:
    if not interactive:
        yield from sys.stdin
        return
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
