"""The Slack adapter's own rows: event dedupe, workspace mapping, message refs, identities.

Synchronous and short: each function is one small transaction, run in a worker thread by
the async callers, never across a Slack API call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.db.engine import transaction
from bot.db.models import (
    AgentProvider,
    ChannelIdentity,
    InboundUpdate,
    MessageRef,
    Role,
    Tenant,
    User,
    Workspace,
)
from bot.i18n import normalize_language
from bot.services import users

CHANNEL = "slack"
THREAD = "thread"  # purpose of the message_refs row holding a ticket's thread root


def claim_event(*, session: Session, key: str, payload: str, now: datetime) -> bool:
    """Record an inbound event; False when it was already recorded (a Slack retry)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(
        insert(InboundUpdate)
        .values(channel=CHANNEL, external_key=key[:120], payload=payload, received_at=now)
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_processed(*, session: Session, key: str, now: datetime) -> None:
    """Note that a recorded event was answered."""
    session.execute(
        update(InboundUpdate)
        .where(col(InboundUpdate.channel) == CHANNEL, col(InboundUpdate.external_key) == key[:120])
        .values(processed_at=now)
    )


def find_workspace(*, session: Session, team_id: str) -> Workspace | None:
    """The mapping of a Slack workspace, if an administrator made one."""
    query = select(Workspace).where(Workspace.channel == CHANNEL, Workspace.external_id == team_id)
    return session.exec(query).first()


def map_workspace(
    *, session: Session, team_id: str, tenant: Tenant | None, provider_code: str | None
) -> Workspace:
    """Map a Slack workspace to a tenant or a provider (replacing any earlier mapping)."""
    workspace = find_workspace(session=session, team_id=team_id)
    if workspace is None:
        workspace = Workspace(channel=CHANNEL, external_id=team_id)
    workspace.tenant_id = None if tenant is None else tenant.id
    workspace.provider_code = provider_code
    session.add(workspace)
    session.flush()
    return workspace


def list_workspaces(*, session: Session) -> list[Workspace]:
    """Every mapped Slack workspace."""
    query = select(Workspace).where(Workspace.channel == CHANNEL).order_by(col(Workspace.id))
    return list(session.exec(query).all())


def thread_root(*, session: Session, ticket_id: int, chat_id: str) -> str | None:
    """The `ts` of a ticket's root message in a channel, if posted."""
    query = select(MessageRef.message_id).where(
        MessageRef.ticket_id == ticket_id,
        MessageRef.channel == CHANNEL,
        MessageRef.chat_id == chat_id,
        MessageRef.purpose == THREAD,
    )
    return session.exec(query).first()


def save_thread_root(*, session: Session, ticket_id: int, chat_id: str, ts: str) -> None:
    """Remember a ticket's root message in a channel (the first one wins)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(MessageRef)
        .values(
            ticket_id=ticket_id, channel=CHANNEL, chat_id=chat_id, purpose=THREAD, message_id=ts
        )
        .on_conflict_do_nothing()
    )


def agent_user_ids(*, session: Session, provider_code: str) -> list[str]:
    """Slack user ids of the provider's agents on duty (all its agents when none is)."""
    query = (
        select(ChannelIdentity.external_id)
        .join(User, col(User.id) == col(ChannelIdentity.user_id))
        .join(AgentProvider, col(AgentProvider.user_id) == col(User.id))
        .where(
            ChannelIdentity.channel == CHANNEL,
            ChannelIdentity.reachable == True,  # noqa: E712
            AgentProvider.provider_code == provider_code,
            User.role == Role.AGENT,
        )
        .order_by(col(User.id))
        .distinct()
    )
    on_duty = list(session.exec(query.where(User.on_duty == True)).all())  # noqa: E712
    return on_duty or list(session.exec(query).all())


def set_unreachable(*, session: Session, external_id: str) -> None:
    """Stop sending to a Slack account that no longer exists or cannot be written to."""
    session.execute(
        update(ChannelIdentity)
        .where(
            col(ChannelIdentity.channel) == CHANNEL,
            col(ChannelIdentity.external_id) == external_id,
        )
        .values(reachable=False)
    )


def language(*, session: Session, user_id: str, platform_locale: str | None, default: str) -> str:
    """The language the core speaks with this Slack user (for the adapter's own words)."""
    identity = users.find_identity(session=session, channel=CHANNEL, external_id=user_id)
    if identity is None:
        return normalize_language(platform_locale) or default
    user = session.get(User, identity.user_id)
    if user is None:
        return normalize_language(platform_locale) or default
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    return users.language_of(
        user=user,
        identity=identity,
        tenant=tenant,
        default=default,
        platform_locale=platform_locale,
    )


def workspace_known(engine: Engine, team_id: str) -> bool:
    """Whether a Slack workspace is mapped (its own short transaction)."""
    with transaction(engine) as session:
        return find_workspace(session=session, team_id=team_id) is not None


class ThreadRoots:
    """The outbox sender's bookkeeping: each ticket's root message in an agents channel.

    Each read or write is its own short transaction, never held across a Slack call.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def root(self, *, ticket_id: int, chat_id: str) -> str | None:
        """The `ts` of the ticket's root message in the channel, if posted."""
        with transaction(self.engine) as session:
            return thread_root(session=session, ticket_id=ticket_id, chat_id=chat_id)

    def save_root(self, *, ticket_id: int, chat_id: str, ts: str) -> None:
        """Remember the ticket's root message in the channel (the first one wins)."""
        with transaction(self.engine) as session:
            save_thread_root(session=session, ticket_id=ticket_id, chat_id=chat_id, ts=ts)
