"""Who hears of a ticket event: neutral recipients, turned into destinations in a language.

Recipients are roles, not places: the customer, the ticket's owner, the agents of the
ticket's provider, the managers of the ticket's tenant, the managers of its provider. A
recipient becomes destinations here: a person's reachable identities, or, for the agents,
the provider's agents' rooms that the channel registry declares (`agent_room`), else the
agents on duty directly. Nothing here names a channel.

The on-duty roster lives here, once: the provider's agents on duty, or all of its agents
when nobody is. Room messages of an escalation name the roster's accounts on that channel
(`mentions`), so a channel never looks them up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session, col, select

from bot.channels import registry
from bot.channels.sending import Audience
from bot.db.models import AgentProvider, ChannelIdentity, Role, Tenant, User
from bot.services.notify.cache import cached, remember
from bot.services.notify.facts import TicketFacts
from bot.services.users import language_of
from bot.settings import Settings
from pricing.schema import ContractPack


class Recipient(StrEnum):
    """Who, in a ticket's world, hears of an event."""

    CUSTOMER = "customer"  # the ticket's requester
    OWNER = "owner"  # the agent the ticket is assigned to (`tickets.owner_id`)
    PROVIDER_AGENTS = "provider_agents"  # the agents of the ticket's provider
    TENANT_MANAGERS = "tenant_managers"  # the customer's managers (the ticket's tenant only)
    PROVIDER_MANAGERS = "provider_managers"  # the provider's managers (its tickets only)


MANAGERS = frozenset({Recipient.TENANT_MANAGERS, Recipient.PROVIDER_MANAGERS})

#: Who hears each event when the caller does not choose.
RECIPIENTS: dict[str, frozenset[Recipient]] = {
    "opened": frozenset({Recipient.CUSTOMER, Recipient.PROVIDER_AGENTS}),
    "responded": frozenset({Recipient.CUSTOMER}),
    "priority_changed": frozenset({Recipient.CUSTOMER}),
    "intervention_changed": frozenset({Recipient.CUSTOMER}),
    "reclassified": frozenset({Recipient.CUSTOMER}),
    "paused": frozenset({Recipient.CUSTOMER}),
    "resumed": frozenset({Recipient.CUSTOMER}),
    "resolved": frozenset({Recipient.CUSTOMER}),
    "change_accepted": frozenset({Recipient.CUSTOMER}),
    "change_refused": frozenset({Recipient.CUSTOMER}),
    "closed": frozenset({Recipient.CUSTOMER}),
    "agent_comment": frozenset({Recipient.CUSTOMER}),
    "customer_comment": frozenset({Recipient.OWNER, Recipient.PROVIDER_AGENTS}),
    "reopened": frozenset({Recipient.OWNER, Recipient.PROVIDER_AGENTS}),
    "at_risk": frozenset({Recipient.PROVIDER_AGENTS}),
    "due": frozenset({Recipient.PROVIDER_AGENTS}),
    "breached": frozenset({Recipient.CUSTOMER, Recipient.PROVIDER_AGENTS, *MANAGERS}),
    "assigned": frozenset({Recipient.OWNER}),
    "ticket_state": frozenset({Recipient.PROVIDER_AGENTS}),
    "quote_proposed": frozenset({Recipient.CUSTOMER}),
    "quote_accepted": frozenset({Recipient.PROVIDER_AGENTS}),
    "quote_declined": frozenset({Recipient.PROVIDER_AGENTS}),
    "escalated": frozenset({Recipient.CUSTOMER, Recipient.PROVIDER_AGENTS, *MANAGERS}),
}
#: Events whose room messages mention the owner, then the agents on duty.
MENTIONED_EVENTS = frozenset({"at_risk", "due", "breached", "escalated"})
#: Events that only update the agents' rooms (a ping edited in place), never a person.
ROOM_ONLY_EVENTS = frozenset({"ticket_state"})


@dataclass(frozen=True)
class Destination:
    """One place a message goes, and in which language."""

    audience: Audience
    channel: str
    chat_id: str
    lang: str
    user_id: int | None = None
    hold_outside_hours: bool = False
    mentions: tuple[str, ...] = field(default=())


def user_destinations(
    *, session: Session, user: User, audience: Audience, settings: Settings
) -> list[Destination]:
    """A person's reachable identities, each in the language they read there."""
    if not user.active:
        return []  # offboarded: nothing reaches them
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    query = select(ChannelIdentity).where(
        ChannelIdentity.user_id == user.id,
        ChannelIdentity.reachable == True,  # noqa: E712
    )
    found = []
    for identity in session.exec(query).all():
        lang = language_of(
            user=user, identity=identity, tenant=tenant, default=settings.default_locale
        )
        found.append(
            Destination(
                audience=audience,
                channel=identity.channel,
                chat_id=identity.external_id,
                lang=lang,
                user_id=user.id,
                hold_outside_hours=audience is Audience.CUSTOMER and not user.notify_outside_hours,
            )
        )
    return found


def _provider_users(*, session: Session, provider_code: str, role: Role) -> list[User]:
    query = (
        select(User)
        .join(AgentProvider, col(AgentProvider.user_id) == col(User.id))
        .where(
            AgentProvider.provider_code == provider_code,
            User.role == role,
            col(User.tenant_id).is_(None),  # provider staff, not a customer's people
            col(User.active).is_(True),
        )
        .order_by(col(User.id))
    )
    return list(session.exec(query).all())


def on_duty_agents(*, session: Session, provider_code: str) -> list[User]:
    """The provider's agents on duty; all of its agents when nobody is (never no one)."""
    agents = _provider_users(session=session, provider_code=provider_code, role=Role.AGENT)
    return [agent for agent in agents if agent.on_duty] or agents


def roster_accounts(*, session: Session, provider_code: str, channel: str) -> tuple[str, ...]:
    """The roster's reachable accounts on one channel, to mention there."""
    ids = [agent.id for agent in on_duty_agents(session=session, provider_code=provider_code)]
    if not ids:
        return ()
    query = (
        select(ChannelIdentity.external_id, ChannelIdentity.user_id)
        .where(
            col(ChannelIdentity.user_id).in_(ids),
            ChannelIdentity.channel == channel,
            ChannelIdentity.reachable == True,  # noqa: E712
        )
        .order_by(col(ChannelIdentity.user_id), col(ChannelIdentity.id))
    )
    accounts: list[str] = []
    for external_id, _user_id in session.exec(query).all():
        if external_id not in accounts:
            accounts.append(external_id)
    return tuple(accounts)


def user_accounts(*, session: Session, user_id: int, channel: str) -> tuple[str, ...]:
    """A person's reachable accounts on one channel, to mention there."""
    query = (
        select(ChannelIdentity.external_id)
        .where(
            ChannelIdentity.user_id == user_id,
            ChannelIdentity.channel == channel,
            ChannelIdentity.reachable == True,  # noqa: E712
        )
        .order_by(col(ChannelIdentity.id))
    )
    return tuple(session.exec(query).all())


def _agents(
    *, session: Session, ticket: TicketFacts, pack: ContractPack, event: str, settings: Settings
) -> list[Destination]:
    code = pack.provider_code
    rooms = registry.active().agent_rooms(settings, code)
    if event in ROOM_ONLY_EVENTS and not rooms:
        return []
    if rooms:

        def mentions(channel: str) -> tuple[str, ...]:
            if event not in MENTIONED_EVENTS:
                return ()
            roster = cached(
                session,
                ("mentions", code, channel),
                lambda: roster_accounts(session=session, provider_code=code, channel=channel),
            )
            if ticket.owner_id is None:
                return roster
            # The owner is named first, then the agents on duty.
            owner = user_accounts(session=session, user_id=ticket.owner_id, channel=channel)
            return (*owner, *(account for account in roster if account not in owner))

        return [
            Destination(
                audience=Audience.AGENTS_ROOM,
                channel=channel,
                chat_id=chat_id,
                lang=settings.default_locale,
                mentions=mentions(channel),
            )
            for channel, chat_id in rooms
        ]

    def direct() -> list[Destination]:
        found: list[Destination] = []
        for agent in on_duty_agents(session=session, provider_code=code):
            found.extend(
                user_destinations(
                    session=session, user=agent, audience=Audience.AGENT, settings=settings
                )
            )
        return found

    return cached(session, ("agents", code), direct)


def _managers(
    *, session: Session, ticket: TicketFacts, pack: ContractPack, wanted: Collection[Recipient]
) -> list[User]:
    managers: list[User] = []
    if Recipient.PROVIDER_MANAGERS in wanted:
        managers += _provider_users(
            session=session, provider_code=pack.provider_code, role=Role.MANAGER
        )
    if Recipient.TENANT_MANAGERS in wanted:
        query = (
            select(User)
            .where(User.role == Role.MANAGER, User.tenant_id == ticket.tenant_id)
            .order_by(col(User.id))
        )
        managers += session.exec(query).all()
    unique: dict[int | None, User] = {}
    for manager in managers:
        unique.setdefault(manager.id, manager)
    return list(unique.values())


def owner_of(*, session: Session, ticket: TicketFacts) -> User | None:
    """The agent the ticket is assigned to (None while unassigned)."""
    return None if ticket.owner_id is None else session.get(User, ticket.owner_id)


def recipients_of(event: str) -> frozenset[Recipient]:
    """Who hears of `event` by default."""
    return RECIPIENTS.get(event, frozenset())


def destinations_for(
    *,
    session: Session,
    ticket: TicketFacts,
    pack: ContractPack,
    event: str,
    settings: Settings,
    recipients: Iterable[Recipient] | None = None,
) -> list[Destination]:
    """Every destination of `event` on `ticket` (or of the given recipients), in its language."""
    wanted = frozenset(recipients) if recipients is not None else recipients_of(event)
    found: list[Destination] = []
    if Recipient.CUSTOMER in wanted:

        def customer() -> list[Destination]:
            requester = session.get(User, ticket.requester_id)
            if requester is None or requester.tenant_id not in (None, ticket.tenant_id):
                return []  # gone, or moved to another tenant
            return user_destinations(
                session=session, user=requester, audience=Audience.CUSTOMER, settings=settings
            )

        found.extend(cached(session, ("customer", ticket.requester_id), customer))
    if Recipient.OWNER in wanted:
        owner = owner_of(session=session, ticket=ticket)
        if owner is not None:
            found.extend(
                user_destinations(
                    session=session, user=owner, audience=Audience.AGENT, settings=settings
                )
            )
    if Recipient.PROVIDER_AGENTS in wanted:
        found.extend(
            _agents(session=session, ticket=ticket, pack=pack, event=event, settings=settings)
        )
    if wanted & MANAGERS:

        def managers() -> list[Destination]:
            people = _managers(session=session, ticket=ticket, pack=pack, wanted=wanted)
            found: list[Destination] = []
            for manager in people:
                found.extend(
                    user_destinations(
                        session=session, user=manager, audience=Audience.MANAGER, settings=settings
                    )
                )
            return found

        key = ("managers", pack.provider_code, ticket.tenant_id, tuple(sorted(wanted & MANAGERS)))
        found.extend(cached(session, key, managers))
    return found


def resolve_staff(
    *,
    session: Session,
    settings: Settings,
    providers: Collection[str],
    tenant_ids: Collection[int],
) -> None:
    """Resolve the agents and managers of many tickets in three statements, for a session
    that caches (a dispatcher batch): `destinations_for` then finds them remembered.

    Gives the same destinations, in the same order, as the one-provider lookups above.
    """
    if not providers:
        return
    staff_query = (
        select(User, AgentProvider.provider_code)
        .join(AgentProvider, col(AgentProvider.user_id) == col(User.id))
        .where(
            col(AgentProvider.provider_code).in_(providers),
            col(User.role).in_((Role.AGENT, Role.MANAGER)),
            col(User.tenant_id).is_(None),
            col(User.active).is_(True),
        )
        .order_by(col(User.id))
    )
    staff: dict[tuple[str, Role], list[User]] = {}
    people: dict[int, User] = {}
    for user, code in session.exec(staff_query).all():
        staff.setdefault((code, user.role), []).append(user)
        assert user.id is not None
        people[user.id] = user
    managers_query = (
        select(User)
        .where(User.role == Role.MANAGER, col(User.tenant_id).in_(tenant_ids))
        .order_by(col(User.id))
    )
    tenant_managers: dict[int, list[User]] = {}
    for user in session.exec(managers_query).all() if tenant_ids else ():
        assert user.tenant_id is not None
        assert user.id is not None
        tenant_managers.setdefault(user.tenant_id, []).append(user)
        people[user.id] = user
    identities: dict[int, list[ChannelIdentity]] = {}
    if people:
        identity_query = (
            select(ChannelIdentity)
            .where(
                col(ChannelIdentity.user_id).in_(people),
                ChannelIdentity.reachable == True,  # noqa: E712
            )
            .order_by(col(ChannelIdentity.user_id), col(ChannelIdentity.id))
        )
        for identity in session.exec(identity_query).all():
            identities.setdefault(identity.user_id, []).append(identity)

    def reach(user: User, audience: Audience) -> list[Destination]:
        if not user.active:
            return []
        tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
        return [
            Destination(
                audience=audience,
                channel=identity.channel,
                chat_id=identity.external_id,
                lang=language_of(
                    user=user, identity=identity, tenant=tenant, default=settings.default_locale
                ),
                user_id=user.id,
                hold_outside_hours=audience is Audience.CUSTOMER and not user.notify_outside_hours,
            )
            for identity in identities.get(user.id or 0, [])
        ]

    for code in providers:
        agents = staff.get((code, Role.AGENT), [])
        on_duty = [agent for agent in agents if agent.on_duty] or agents
        if not remember(
            session,
            ("agents", code),
            [d for agent in on_duty for d in reach(agent, Audience.AGENT)],
        ):
            return  # the session does not cache: nothing to resolve ahead
        for tenant_id in tenant_ids:
            for wanted in (
                (Recipient.PROVIDER_MANAGERS,),
                (Recipient.TENANT_MANAGERS,),
                (Recipient.PROVIDER_MANAGERS, Recipient.TENANT_MANAGERS),
            ):
                chosen: list[User] = []
                if Recipient.PROVIDER_MANAGERS in wanted:
                    chosen += staff.get((code, Role.MANAGER), [])
                if Recipient.TENANT_MANAGERS in wanted:
                    chosen += tenant_managers.get(tenant_id, [])
                unique: dict[int | None, User] = {}
                for manager in chosen:
                    unique.setdefault(manager.id, manager)
                key = ("managers", code, tenant_id, tuple(sorted(wanted)))
                remember(
                    session,
                    key,
                    [d for m in unique.values() for d in reach(m, Audience.MANAGER)],
                )
