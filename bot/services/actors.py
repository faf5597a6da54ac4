"""Who acts, and what they may see: the actor of a user, shared by tickets, billing and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col, select

from bot.db.models import Contract, Role, Ticket, User
from bot.services.users import provider_codes
from pricing.loader import load_packs


@dataclass(frozen=True)
class Actor:
    """Who acts, with what they may see: their tenant, or the providers they serve."""

    user: User
    providers: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> int:
        """The user id."""
        assert self.user.id is not None
        return self.user.id

    @property
    def role(self) -> Role:
        """The user's role."""
        return self.user.role

    @property
    def is_staff(self) -> bool:
        """Agents, provider managers and admins act on tickets of the providers they serve."""
        return self.role in (Role.AGENT, Role.ADMIN) or (
            self.role is Role.MANAGER and self.user.tenant_id is None
        )


def actor_for(*, session: Session, user: User, providers: frozenset[str] | None = None) -> Actor:
    """The actor for a user, with the providers they serve (`providers` when already read)."""
    if user.role is Role.REQUESTER:
        return Actor(user=user)  # requesters serve no provider: skip the lookup
    if providers is None:
        providers = frozenset(provider_codes(session=session, user=user))
    return Actor(user=user, providers=providers)


def ticket_visibility(
    actor: Actor, *, contract_id: Any = Ticket.contract_id, tenant_id: Any = Ticket.tenant_id
) -> ColumnElement[bool]:
    """The one visibility rule, as a SQL condition on rows with a contract and a tenant column.

    Admins see everything; staff (agents, provider managers) the contracts whose pack belongs
    to a provider they serve; requesters and customer managers their tenant. By default the
    columns are the ticket's; reports pass a ledger entry's (an expression is accepted too).
    """
    if actor.role is Role.ADMIN:
        return true()
    if actor.is_staff:
        packs = sorted(
            pack.id for pack in load_packs().values() if pack.provider_code in actor.providers
        )
        contracts = select(Contract.id).where(col(Contract.pack_id).in_(packs))
        column = contract_id if isinstance(contract_id, ColumnElement) else col(contract_id)
        return column.in_(contracts)
    if actor.user.tenant_id is None:
        return false()
    column = tenant_id if isinstance(tenant_id, ColumnElement) else col(tenant_id)
    return column == actor.user.tenant_id
