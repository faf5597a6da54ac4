"""`supportbot slack socket`, `slack map-workspace TEAM_ID` and `slack workspaces`."""

from __future__ import annotations

import asyncio

import typer

from bot.redact import configure_logging
from bot.settings import get_settings

app = typer.Typer(help="The Slack channel.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("socket")
def socket(
    worker: bool = typer.Option(True, help="Also run the worker (SLA milestones, outbox)."),
) -> None:
    """Run the Slack channel over Socket Mode (no public URL needed)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.channels.slack.adapter import SlackAdapter
    from bot.channels.slack.plugin import make_sender
    from bot.channels.slack.store import SlackStore
    from bot.db.engine import get_engine
    from bot.db.migrate import DatabaseNotReadyError, check_ready
    from bot.i18n import check_catalogs
    from handlers.core import entry

    settings = get_settings()
    if settings.slack_bot_token is None or settings.slack_app_token is None:
        raise _fail("SUPPORTBOT_SLACK_BOT_TOKEN and SUPPORTBOT_SLACK_APP_TOKEN (xapp-…) are needed")
    configure_logging(settings)
    check_catalogs()
    engine = get_engine()
    try:
        check_ready(engine=engine, url=settings.database_url)
    except DatabaseNotReadyError as exc:
        raise _fail(str(exc)) from None
    app_token = settings.slack_app_token.get_secret_value()

    async def run() -> None:
        from bot.worker.runner import Worker, default_senders

        core = entry(engine=engine, settings=settings)
        adapter = SlackAdapter(
            settings=settings,
            store=SlackStore(engine, payload_max_chars=settings.inbound_payload_max_chars),
            core=core,
        )
        await adapter.start()
        handler = AsyncSocketModeHandler(adapter.app, app_token)
        background = None
        task = None
        if worker:
            senders = [make_sender(adapter), *default_senders(settings)]
            background = Worker(engine=engine, settings=settings, senders=senders)
            task = asyncio.create_task(background.run())
        from bot.inbox.drainer import draining

        inbox = draining(engine=engine, settings=settings, handlers={"slack": adapter.handle_row})
        try:
            async with inbox:
                await handler.connect_async()  # type: ignore[no-untyped-call]
                typer.echo("connected to Slack over Socket Mode; press Ctrl-C to stop")
                await asyncio.Event().wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            if background is not None and task is not None:
                background.stop()
                await task
            await adapter.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command("map-workspace")
def map_workspace(
    team_id: str = typer.Argument(..., help="The Slack workspace id (T…)."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant slug (a customer)."),
    provider: str | None = typer.Option(None, "--provider", help="Provider code, e.g. TLN."),
) -> None:
    """Connect a Slack workspace to a customer (tenant) or a provider's staff."""
    from bot.channels.slack.store import CHANNEL
    from bot.db.engine import get_engine, transaction
    from bot.services import tenants, workspaces
    from bot.services.errors import ServiceError
    from pricing.loader import load_packs

    if (tenant is None) == (provider is None):
        raise _fail("give exactly one of --tenant or --provider")
    team = team_id.strip().upper()
    if not team.startswith(("T", "E")):
        raise _fail(f"{team_id!r} is not a Slack workspace id (T…)")
    code = provider.strip().upper() if provider else None
    if code is not None and code not in {p.provider_code for p in load_packs().values()}:
        raise _fail(f"no provider {code!r} in the contract packs")
    try:
        with transaction(get_engine()) as session:
            found = tenants.get_tenant(session=session, slug=tenant) if tenant else None
            workspaces.map_workspace(
                session=session, channel=CHANNEL, external_id=team, tenant=found, provider_code=code
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"workspace {team} → " + (f"tenant {tenant}" if tenant else f"provider {code}"))


@app.command("workspaces")
def workspaces() -> None:
    """List the connected Slack workspaces."""
    from bot.channels.slack.store import CHANNEL
    from bot.db.engine import get_engine, transaction
    from bot.db.models import Tenant
    from bot.services import workspaces

    with transaction(get_engine()) as session:
        rows = workspaces.list_workspaces(session=session, channel=CHANNEL)
        if not rows:
            typer.echo("no workspace connected (see `supportbot slack map-workspace --help`)")
        for row in rows:
            tenant = session.get(Tenant, row.tenant_id) if row.tenant_id else None
            target = f"tenant {tenant.slug}" if tenant else f"provider {row.provider_code}"
            typer.echo(f"{row.external_id}\t{target}")
