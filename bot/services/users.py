"""Users, their channel identities, invites and languages."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from bot.db.models import AgentProvider, ChannelIdentity, Invite, Role, Tenant, User
from bot.i18n import normalize_language
from bot.services.errors import InputError, InviteError

#: Joins a user's provider codes in one column (a code is 2 to 5 capital letters).
PROVIDER_SEPARATOR = "\n"
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


def find_identity(*, session: Session, channel: str, external_id: str) -> ChannelIdentity | None:
    """The identity for a channel account, if linked."""
    query = select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
    )
    return session.exec(query).first()


def find_speaker(
    *, session: Session, channel: str, external_id: str
) -> tuple[ChannelIdentity, User, Tenant | None, frozenset[str]] | None:
    """The identity for a channel account with its user, the user's tenant and the providers
    the user serves, in one query."""
    found = session.exec(_SPEAKER, params={"channel": channel, "external_id": external_id}).first()
    if found is None:
        return None
    providers = frozenset(found[3].split(PROVIDER_SEPARATOR)) if found[3] else frozenset()
    return found[0], found[1], found[2], providers


# Every event looks its speaker up: the statement is built once, with bound parameters.
_SPEAKER = (
    select(
        ChannelIdentity,
        User,
        Tenant,
        select(func.aggregate_strings(col(AgentProvider.provider_code), PROVIDER_SEPARATOR))
        .where(col(AgentProvider.user_id) == col(User.id))
        .scalar_subquery(),
    )
    .join(User, col(User.id) == col(ChannelIdentity.user_id))
    .join(Tenant, col(Tenant.id) == col(User.tenant_id), isouter=True)
    .where(
        col(ChannelIdentity.channel) == bindparam("channel"),
        col(ChannelIdentity.external_id) == bindparam("external_id"),
    )
)


def get_user_by_handle(*, session: Session, handle: str) -> User | None:
    """The user with this handle."""
    return session.exec(select(User).where(User.handle == handle)).first()


def add_user(
    *,
    session: Session,
    handle: str,
    display_name: str,
    role: Role,
    tenant_id: int | None = None,
    locale: str | None = None,
    provider_codes: list[str] | None = None,
) -> User:
    """Create a user (and the providers an agent or provider manager serves)."""
    if get_user_by_handle(session=session, handle=handle) is not None:
        raise InputError(f"user {handle!r} already exists")
    if role is Role.REQUESTER and tenant_id is None:
        raise InputError("a requester belongs to a tenant")
    user = User(
        handle=handle, display_name=display_name, role=role, tenant_id=tenant_id, locale=locale
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    for code in provider_codes or []:
        session.add(AgentProvider(user_id=user.id, provider_code=code))
    session.flush()
    return user


def link_identity(
    *,
    session: Session,
    user: User,
    channel: str,
    external_id: str,
    platform_locale: str | None = None,
) -> ChannelIdentity:
    """Attach a channel account to a user (idempotent for the same user)."""
    existing = find_identity(session=session, channel=channel, external_id=external_id)
    if existing is not None:
        if existing.user_id != user.id:
            raise InputError(f"{channel} account {external_id} is linked to another user")
        return existing
    assert user.id is not None
    identity = ChannelIdentity(
        channel=channel, external_id=external_id, user_id=user.id, platform_locale=platform_locale
    )
    session.add(identity)
    session.flush()
    return identity


def provider_codes(*, session: Session, user: User) -> set[str]:
    """The providers an agent or provider manager serves."""
    query = select(AgentProvider.provider_code).where(AgentProvider.user_id == user.id)
    return set(session.exec(query).all())


def create_invite(
    *,
    session: Session,
    role: Role,
    now: datetime,
    valid_days: int,
    tenant: Tenant | None = None,
    provider_codes: list[str] | None = None,
    display_name: str | None = None,
) -> Invite:
    """A one-time code that creates a user with `role` when redeemed.

    Requesters and customer managers belong to a tenant and no provider; agents and
    provider managers serve known providers and belong to no tenant; admins to neither.
    """
    codes = provider_codes or []
    if role is Role.REQUESTER and (tenant is None or codes):
        raise InputError("a requester invite needs a tenant and no provider")
    if role is Role.MANAGER and (tenant is None) == (not codes):
        raise InputError(
            "a manager invite needs either a tenant (customer manager) "
            "or providers (provider manager), not both"
        )
    if role is Role.AGENT and (not codes or tenant is not None):
        raise InputError("an agent invite needs at least one provider and no tenant")
    if role is Role.ADMIN and (tenant is not None or codes):
        raise InputError("an admin invite takes neither a tenant nor a provider")
    unknown = sorted(set(codes) - known_provider_codes())
    if unknown:
        raise InputError(
            f"unknown provider code {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known_provider_codes()))})"
        )
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(10))
    invite = Invite(
        code=code,
        tenant_id=None if tenant is None else tenant.id,
        role=role,
        provider_codes=",".join(provider_codes or []),
        display_name=display_name,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(invite)
    session.flush()
    return invite


def known_provider_codes() -> set[str]:
    """The provider codes of the contract packs."""
    from pricing.loader import load_packs

    return {pack.provider_code for pack in load_packs().values()}


def invite_status(invite: Invite, *, now: datetime) -> str:
    """pending, used, revoked or expired."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= now else "pending"


def list_invites(*, session: Session) -> list[Invite]:
    """Every invite, newest first."""
    return list(session.exec(select(Invite).order_by(col(Invite.created_at).desc())).all())


def revoke_invite(*, session: Session, code: str, now: datetime) -> Invite:
    """Make a pending invite unusable."""
    invite = session.exec(select(Invite).where(Invite.code == code.strip().upper())).first()
    if invite is None:
        raise InputError(f"no invite {code!r}")
    status = invite_status(invite, now=now)
    if status != "pending":
        raise InputError(f"invite {invite.code} is {status}, not pending")
    invite.revoked_at = now
    session.add(invite)
    session.flush()
    return invite


def redeem_invite(
    *,
    session: Session,
    code: str,
    channel: str,
    external_id: str,
    display_name: str | None,
    platform_locale: str | None,
    now: datetime,
) -> User:
    """Create the invited user and link this channel account; each code works once."""
    normalized = code.strip().upper()
    invite = session.exec(select(Invite).where(Invite.code == normalized)).first()
    if invite is None:
        raise InviteError("unknown invite code", reason="unknown")
    if invite.revoked_at is not None:
        raise InviteError("invite code revoked", reason="revoked")
    if invite.used_at is not None:
        raise InviteError("invite code already used", reason="used")
    if invite.expires_at <= now:
        raise InviteError("invite code expired", reason="expired")
    if find_identity(session=session, channel=channel, external_id=external_id) is not None:
        raise InviteError("this account is already linked", reason="linked")
    _claim_invite(session=session, invite=invite, now=now)
    base = f"{channel}-{external_id}"[:70]
    handle = base
    suffix = 1
    while get_user_by_handle(session=session, handle=handle) is not None:
        suffix += 1
        handle = f"{base}-{suffix}"
    user = add_user(
        session=session,
        handle=handle,
        display_name=invite.display_name or display_name or handle,
        role=invite.role,
        tenant_id=invite.tenant_id,
        locale=None,
        provider_codes=[c for c in invite.provider_codes.split(",") if c],
    )
    link_identity(
        session=session,
        user=user,
        channel=channel,
        external_id=external_id,
        platform_locale=platform_locale,
    )
    invite.used_by_user_id = user.id
    session.add(invite)
    return user


def _claim_invite(*, session: Session, invite: Invite, now: datetime) -> None:
    """Mark the invite used if nobody did first; the conditional update is the guard.

    Two accounts redeeming the same code at once both pass the checks above; only one
    `UPDATE … WHERE used_at IS NULL` changes a row (the other waits for it, then sees the
    row already used).
    """
    claimed = session.connection().execute(
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.used_at).is_(None),
            col(Invite.revoked_at).is_(None),
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise InviteError("invite code already used", reason="used")
    session.refresh(invite)


def language_of(
    *,
    user: User,
    identity: ChannelIdentity | None,
    tenant: Tenant | None,
    default: str,
    platform_locale: str | None = None,
) -> str:
    """The user's choice, else the platform's language, else the tenant's, else `default`."""
    for candidate in (
        user.locale,
        platform_locale,
        None if identity is None else identity.platform_locale,
        None if tenant is None else tenant.default_locale,
        default,
    ):
        lang = normalize_language(candidate)
        if lang is not None:
            return lang
    return "fr"
