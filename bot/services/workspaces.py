"""Shared workspaces (a Slack workspace…) mapped to a tenant or to a provider's staff."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.db.models import Role, Tenant, User, Workspace


def find_workspace(*, session: Session, channel: str, external_id: str) -> Workspace | None:
    """The mapping of a workspace, if an administrator made one."""
    query = select(Workspace).where(
        Workspace.channel == channel, Workspace.external_id == external_id
    )
    return session.exec(query).first()


def map_workspace(
    *,
    session: Session,
    channel: str,
    external_id: str,
    tenant: Tenant | None,
    provider_code: str | None,
) -> Workspace:
    """Map a workspace to a tenant or a provider (replacing any earlier mapping)."""
    workspace = find_workspace(session=session, channel=channel, external_id=external_id)
    if workspace is None:
        workspace = Workspace(channel=channel, external_id=external_id)
    workspace.tenant_id = None if tenant is None else tenant.id
    workspace.provider_code = provider_code
    session.add(workspace)
    session.flush()
    return workspace


def list_workspaces(*, session: Session, channel: str) -> list[Workspace]:
    """Every mapped workspace of a channel."""
    query = select(Workspace).where(Workspace.channel == channel).order_by(col(Workspace.id))
    return list(session.exec(query).all())


def may_act_from(*, workspace: Workspace, user: User, providers: frozenset[str]) -> bool:
    """Whether a user may act from a workspace: their tenant's, a provider's they serve, or
    anywhere for an administrator."""
    if user.role is Role.ADMIN:
        return True
    if workspace.tenant_id is not None and workspace.tenant_id == user.tenant_id:
        return True
    return workspace.provider_code is not None and workspace.provider_code in providers
