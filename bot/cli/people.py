"""`supportbot user list/deactivate/…` and `invite [list|revoke]`."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.db.engine import get_engine, transaction
from bot.db.models import Role
from bot.services import people, tenants, users
from bot.services.errors import ServiceError
from bot.settings import get_settings

user_app = typer.Typer(help="People: list, deactivate, move, unlink.", no_args_is_help=True)
invite_app = typer.Typer(
    help="Invite codes: create one (options below), or `invite list`, `invite revoke CODE`.",
    invoke_without_command=True,
)
CHANNELS = ("telegram", "slack", "console")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@user_app.command("list")
def user_list(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's people."),
    provider: str | None = typer.Option(None, "--provider", help="Only who serves this provider."),
) -> None:
    """List people: handle, role, tenant or providers, linked channels, active or not."""
    try:
        with transaction(get_engine()) as session:
            tenant_id = tenants.get_tenant(session=session, slug=tenant).id if tenant else None
            found = people.people(
                session=session,
                tenant_id=tenant_id,
                provider_code=provider.upper() if provider else None,
            )
            for person in found:
                user = person.user
                where = person.tenant or ",".join(person.providers) or "-"
                state = "active" if user.active else "deactivated"
                channels = ",".join(person.channels) or "no account"
                typer.echo(
                    f"{user.handle}\t{user.role.value}\t{where}\t{channels}\t{state}"
                    f"\t{user.display_name}"
                )
            if not found:
                typer.echo("no user", err=True)
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@user_app.command("deactivate")
def user_deactivate(handle: str = typer.Argument(..., help="The user's handle.")) -> None:
    """Offboard a user: refused from now on; messages still waiting for them are dropped."""
    try:
        with transaction(get_engine()) as session:
            user = people.require_user(session=session, handle=handle)
            dropped = people.deactivate(session=session, user=user, now=datetime.now(UTC))
        typer.echo(f"{handle} deactivated; {dropped} waiting notification(s) dropped")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@user_app.command("reactivate")
def user_reactivate(handle: str = typer.Argument(..., help="The user's handle.")) -> None:
    """Let a deactivated user in again."""
    try:
        with transaction(get_engine()) as session:
            user = people.require_user(session=session, handle=handle)
            people.reactivate(session=session, user=user)
        typer.echo(f"{handle} reactivated")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@user_app.command("move")
def user_move(
    handle: str = typer.Argument(..., help="The user's handle."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant they now belong to."),
) -> None:
    """Move a customer's requester or manager to another tenant."""
    try:
        with transaction(get_engine()) as session:
            user = people.require_user(session=session, handle=handle)
            target = tenants.get_tenant(session=session, slug=tenant)
            dropped = people.move(session=session, user=user, tenant=target)
        typer.echo(f"{handle} moved to {tenant}; {dropped} waiting notification(s) dropped")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@user_app.command("unlink")
def user_unlink(
    handle: str = typer.Argument(..., help="The user's handle."),
    channel: str = typer.Option(..., "--channel", help="telegram, slack or console."),
) -> None:
    """Detach a user's account on a channel (the account may then redeem a new invite)."""
    if channel not in CHANNELS:
        raise _fail(f"channel must be one of {', '.join(CHANNELS)}")
    try:
        with transaction(get_engine()) as session:
            user = people.require_user(session=session, handle=handle)
            dropped = people.unlink(session=session, user=user, channel=channel)
        typer.echo(f"{handle}: {channel} account unlinked; {dropped} notification(s) dropped")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@invite_app.callback()
def invite(
    ctx: typer.Context,
    role: str | None = typer.Option(
        None, "--role", help="requester or manager (with --tenant), agent or manager (--provider)."
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant slug (customers)."),
    provider: list[str] = typer.Option(
        [], "--provider", help="Provider code served (agents, provider managers), e.g. TLN."
    ),
    admin: bool = typer.Option(False, "--admin", help="An administrator (no tenant, no provider)."),
    name: str | None = typer.Option(None, "--name", help="Display name of the invited person."),
) -> None:
    """Create a one-time invite code; the person sends `/start CODE` to the bot."""
    if ctx.invoked_subcommand is not None:
        return
    if admin == (role is not None):
        raise _fail("give --role requester|agent|manager, or --admin for an administrator")
    if role == Role.ADMIN.value:
        raise _fail("administrators are invited with --admin, not --role")
    try:
        wanted = Role.ADMIN if admin else Role(role or "")
    except ValueError:
        raise _fail("role must be requester, agent or manager") from None
    settings = get_settings()
    try:
        with transaction(get_engine()) as session:
            found = tenants.get_tenant(session=session, slug=tenant) if tenant else None
            created = users.create_invite(
                session=session,
                role=wanted,
                tenant=found,
                provider_codes=[p.upper() for p in provider],
                display_name=name,
                now=datetime.now(UTC),
                valid_days=settings.invite_valid_days,
            )
            typer.echo(created.code)
            typer.echo(
                f"valid until {created.expires_at:%Y-%m-%d %H:%M} UTC; "
                f"send `/start {created.code}` to the bot",
                err=True,
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@invite_app.command("list")
def invite_list() -> None:
    """List invites: code, role, tenant or providers, status, expiry."""
    now = datetime.now(UTC)
    with transaction(get_engine()) as session:
        slugs = {t.id: t.slug for t in tenants.all_tenants(session=session)}
        for item in users.list_invites(session=session):
            where = slugs.get(item.tenant_id) if item.tenant_id else item.provider_codes or "-"
            typer.echo(
                f"{item.code}\t{item.role.value}\t{where}\t"
                f"{users.invite_status(item, now=now)}\t{item.expires_at:%Y-%m-%d %H:%M} UTC"
            )


@invite_app.command("revoke")
def invite_revoke(code: str = typer.Argument(..., help="The invite code.")) -> None:
    """Make a pending invite code unusable."""
    try:
        with transaction(get_engine()) as session:
            revoked = users.revoke_invite(session=session, code=code, now=datetime.now(UTC))
        typer.echo(f"invite {revoked.code} revoked")
    except ServiceError as exc:
        raise _fail(str(exc)) from None
