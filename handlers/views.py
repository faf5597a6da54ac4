"""Views a channel shows beyond replies, computed by the core: the home panel, command menus.

Channels only turn them into their own widgets (Block Kit, Telegram menus).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.db.models import ChannelIdentity, Role, Tenant, Ticket, User
from bot.i18n import LANGUAGES, translator
from bot.services import queries, tickets, users
from bot.services.ticket_sla import ticket_clocks
from bot.settings import Settings
from bot.wording import intervention_label, priority_label, zone_of
from handlers import commands
from handlers.model import CommandMenu, HomeView, InboundEvent, MenuScope, TicketLine
from handlers.render import clock_text, status_label
from handlers.speaker import (
    Speaker,
    anonymous_translator,
    identify,
    unknown_user_refusal,
    workspace_refusal,
)

MAX_TICKETS = 20


def home_view(*, session: Session, event: InboundEvent, settings: Settings) -> HomeView:
    """The home panel of the user behind `event`: their open tickets, or the staff's queue."""
    speaker = identify(session=session, event=event, settings=settings)
    t = anonymous_translator(event, settings) if speaker is None else speaker.t
    refused = workspace_refusal(session=session, event=event, speaker=speaker, t=t)
    if refused is not None:
        return HomeView(lang=t.lang, refusal=refused)
    if speaker is None:
        return HomeView(lang=t.lang, refusal=unknown_user_refusal(t))
    actor = speaker.actor
    if actor.is_staff and speaker.tenant is None:
        # Staff without a tenant follow their providers' queue.
        found = tickets.queue(session=session, actor=actor, per_page=MAX_TICKETS).tickets
        title = t.gettext("Open tickets, nearest due first:")
    else:
        found = tickets.tickets_for(session=session, actor=actor, limit=MAX_TICKETS)
        title = t.gettext("Open tickets:")
    with queries.preloaded(session=session, tickets=found):
        lines = tuple(_line(session, speaker, ticket, event) for ticket in found)
    return HomeView(
        lang=t.lang,
        can_open=_may_open(speaker),
        title=title.rstrip(" :"),
        tickets=lines,
        empty=t.gettext("No tickets to show."),
    )


def _may_open(speaker: Speaker) -> bool:
    visible = commands.visible_commands(
        role=speaker.user.role,
        has_tenant=speaker.tenant is not None,
        is_staff=speaker.actor.is_staff,
    )
    return any(command.name == "new" for command in visible)


def _line(session: Session, speaker: Speaker, ticket: Ticket, event: InboundEvent) -> TicketLine:
    t = speaker.t
    _contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
    clocks = ticket_clocks(session=session, ticket=ticket, now=event.received_at)
    zone = zone_of(pack)
    dues: list[tuple[str, str]] = []
    if ticket.responded_at is None:
        dues.append((t.gettext("Response due"), clock_text(t, clocks.response, zone)))
    dues.append((t.gettext("Resolution due"), clock_text(t, clocks.resolution, zone)))
    return TicketLine(
        reference=ticket.reference,
        words=(
            intervention_label(pack, ticket.intervention_id, t.lang),
            priority_label(pack, ticket.priority, t.lang),
            status_label(t, ticket.status),
        ),
        dues=tuple(dues),
    )


def command_menus(*, session: Session, channel: str, settings: Settings) -> list[CommandMenu]:
    """Command menus from the command table: customers' by default and agents' for agents
    groups, in every language; each staff member's own in their private chat."""
    menus: list[CommandMenu] = []
    languages: list[tuple[str | None, str]] = [
        *((lang, lang) for lang in LANGUAGES),
        (None, settings.default_locale),
    ]
    for code, lang in languages:
        t = translator(lang)
        customer = commands.menu(t, role=Role.REQUESTER, has_tenant=True, is_staff=False)
        agent = commands.menu(t, role=Role.AGENT, has_tenant=False, is_staff=True)
        menus.append(CommandMenu(scope=MenuScope.CUSTOMERS, lang=code, commands=customer))
        menus.append(CommandMenu(scope=MenuScope.AGENTS_GROUP, lang=code, commands=agent))
    query = (
        select(ChannelIdentity, User)
        .join(User, col(User.id) == col(ChannelIdentity.user_id))
        .where(ChannelIdentity.channel == channel, User.role != Role.REQUESTER)
        .order_by(col(ChannelIdentity.id))
    )
    for identity, user in session.exec(query).all():
        tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
        t = translator(
            users.language_of(
                user=user, identity=identity, tenant=tenant, default=settings.default_locale
            )
        )
        actor = tickets.actor_for(session=session, user=user)
        entries = commands.menu(
            t, role=user.role, has_tenant=tenant is not None, is_staff=actor.is_staff
        )
        menus.append(
            CommandMenu(
                scope=MenuScope.USER, lang=None, commands=entries, chat_id=identity.external_id
            )
        )
    return menus
