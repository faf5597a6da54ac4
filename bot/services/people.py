"""The lifecycle of people: list, deactivate, move to another tenant, unlink an account.

Every change also drops what would otherwise still reach the person: their pending and
held notifications (all of them when deactivated; those of one channel when unlinked;
those about the old tenant's tickets when moved), and any unfinished conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.db.models import (
    AgentProvider,
    ChannelIdentity,
    Conversation,
    Notification,
    NotificationStatus,
    Role,
    Tenant,
    Ticket,
    User,
)
from bot.services.errors import InputError, NotFoundError

WAITING = (NotificationStatus.PENDING, NotificationStatus.HELD)


@dataclass(frozen=True)
class Person:
    """A user as the people list shows them."""

    user: User
    tenant: str | None
    providers: tuple[str, ...]
    channels: tuple[str, ...]


def require_user(*, session: Session, handle: str) -> User:
    """The user with this handle, else `NotFoundError` naming it."""
    user = session.exec(select(User).where(User.handle == handle)).first()
    if user is None:
        raise NotFoundError(f"no user {handle!r}", handle=handle)
    return user


def people(
    *,
    session: Session,
    tenant_id: int | None = None,
    provider_code: str | None = None,
    include_inactive: bool = True,
) -> list[Person]:
    """Users (of a tenant, or serving a provider), by handle, with tenant, providers, channels."""
    query = select(User)
    if tenant_id is not None:
        query = query.where(User.tenant_id == tenant_id)
    if provider_code is not None:
        served = select(AgentProvider.user_id).where(AgentProvider.provider_code == provider_code)
        query = query.where(col(User.id).in_(served))
    if not include_inactive:
        query = query.where(col(User.active).is_(True))
    users = list(session.exec(query.order_by(col(User.handle))).all())
    ids = [u.id for u in users]
    tenants = {t.id: t.slug for t in session.exec(select(Tenant)).all()}
    providers: dict[int, list[str]] = {}
    for link in session.exec(select(AgentProvider).where(col(AgentProvider.user_id).in_(ids))):
        providers.setdefault(link.user_id, []).append(link.provider_code)
    channels: dict[int, list[str]] = {}
    for identity in session.exec(
        select(ChannelIdentity).where(col(ChannelIdentity.user_id).in_(ids))
    ):
        channels.setdefault(identity.user_id, []).append(identity.channel)
    return [
        Person(
            user=u,
            tenant=tenants.get(u.tenant_id) if u.tenant_id else None,
            providers=tuple(sorted(providers.get(u.id or 0, []))),
            channels=tuple(sorted(set(channels.get(u.id or 0, [])))),
        )
        for u in users
    ]


def _drop(session: Session, *conditions: object) -> int:
    statement = (
        update(Notification)
        .where(col(Notification.status).in_(WAITING), *conditions)  # type: ignore[arg-type]
        .values(status=NotificationStatus.DROPPED, last_error="recipient offboarded")
    )
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _forget_conversations(session: Session, user: User, channel: str | None = None) -> None:
    query = select(Conversation).where(Conversation.user_id == user.id)
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    for conversation in session.exec(query).all():
        session.delete(conversation)


def deactivate(*, session: Session, user: User, now: datetime) -> int:
    """Refuse the user from now on and drop every message still waiting for them."""
    if not user.active:
        raise InputError(f"user {user.handle!r} is already deactivated")
    user.active = False
    user.deactivated_at = now
    session.add(user)
    _forget_conversations(session, user)
    dropped = _drop(session, col(Notification.user_id) == user.id)
    session.flush()
    return dropped


def reactivate(*, session: Session, user: User) -> None:
    """Let a deactivated user in again."""
    if user.active:
        raise InputError(f"user {user.handle!r} is active")
    user.active = True
    user.deactivated_at = None
    session.add(user)
    session.flush()


def move(*, session: Session, user: User, tenant: Tenant) -> int:
    """Move a requester or customer manager to another tenant: from now on they see only its
    tickets, and nothing about the old tenant's tickets reaches them."""
    if user.role not in (Role.REQUESTER, Role.MANAGER) or (
        user.role is Role.MANAGER and user.tenant_id is None
    ):
        raise InputError(f"only a customer's requester or manager can move ({user.handle!r})")
    if user.tenant_id == tenant.id:
        raise InputError(f"user {user.handle!r} already belongs to {tenant.slug}")
    old = user.tenant_id
    user.tenant_id = tenant.id
    session.add(user)
    _forget_conversations(session, user)  # a draft names the old tenant's contract
    old_tickets = select(Ticket.id).where(Ticket.tenant_id == old)
    dropped = _drop(
        session, col(Notification.user_id) == user.id, col(Notification.ticket_id).in_(old_tickets)
    )
    session.flush()
    return dropped


def unlink(*, session: Session, user: User, channel: str) -> int:
    """Detach the user's account on `channel`; the account may then redeem a new invite."""
    query = select(ChannelIdentity).where(
        ChannelIdentity.user_id == user.id, ChannelIdentity.channel == channel
    )
    identities = list(session.exec(query).all())
    if not identities:
        raise InputError(f"user {user.handle!r} has no {channel} account")
    for identity in identities:
        session.delete(identity)
    _forget_conversations(session, user, channel)
    dropped = _drop(
        session, col(Notification.user_id) == user.id, col(Notification.channel) == channel
    )
    session.flush()
    return dropped
