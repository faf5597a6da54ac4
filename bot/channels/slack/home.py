"""The App Home tab: the user's open tickets with their SLA countdowns, and a way to open one.

Built from the same services and wording the core uses (`tickets_for`, `queue`, `clock_text`),
read in one short transaction; nothing here decides anything about a ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.channels.slack.blocks import (
    HOME_NEW_CHAT,
    HOME_NEW_MODAL,
    VIEW_BLOCKS,
    Block,
    Renderer,
    plain,
)
from bot.channels.slack.store import CHANNEL
from bot.db.models import Tenant, Ticket, User
from bot.i18n import Translator, normalize_language, translator
from bot.services import tickets, users
from bot.services.ticket_sla import ticket_clocks
from bot.settings import Settings
from bot.wording import intervention_label, priority_label, zone_of
from handlers.render import clock_text, status_label

MAX_TICKETS = 20


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ticket_blocks(
    renderer: Renderer, t: Translator, session: Session, ticket: Ticket, now: datetime
) -> list[Block]:
    _contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
    assert ticket.id is not None
    clocks = ticket_clocks(session=session, ticket=ticket, now=now)
    zone = zone_of(pack)
    head = " · ".join(
        (
            f"*{ticket.reference}*",
            renderer.mrkdwn(intervention_label(pack, ticket.intervention_id, t.lang)),
            renderer.mrkdwn(priority_label(pack, ticket.priority, t.lang)),
            renderer.mrkdwn(status_label(t, ticket.status)),
        )
    )
    lines = [head]
    if ticket.responded_at is None:
        lines.append(
            f"{renderer.mrkdwn(t.gettext('Response due'))}: "
            + renderer.mrkdwn(clock_text(t, clocks.response, zone))
        )
    lines.append(
        f"{renderer.mrkdwn(t.gettext('Resolution due'))}: "
        + renderer.mrkdwn(clock_text(t, clocks.resolution, zone))
    )
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]


def home_view(
    *,
    session: Session,
    user_id: str,
    platform_locale: str | None,
    settings: Settings,
    now: datetime,
    command: str,
) -> dict[str, Any]:
    """The Home tab of one Slack user."""
    renderer = Renderer(command=command)
    identity = users.find_identity(session=session, channel=CHANNEL, external_id=user_id)
    user = None if identity is None else session.get(User, identity.user_id)
    if identity is None or user is None:
        t = translator(normalize_language(platform_locale) or settings.default_locale)
        text = t.gettext(
            "I don't know you yet. Ask your company's administrator or your provider for an "
            "invite code, then send /start followed by the code."
        )
        return {"type": "home", "blocks": renderer.sections(text)}
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    t = translator(
        users.language_of(
            user=user,
            identity=identity,
            tenant=tenant,
            default=settings.default_locale,
            platform_locale=platform_locale,
        )
    )
    actor = tickets.actor_for(session=session, user=user)
    blocks: list[Block] = []
    if tenant is not None:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": HOME_NEW_MODAL,
                        "text": plain(t.gettext("Open a ticket with a form"), 75),
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": HOME_NEW_CHAT,
                        "text": plain(_capitalized(t.gettext("open a ticket (guided)")), 75),
                    },
                ],
            }
        )
    if actor.is_staff and tenant is None:
        found = tickets.queue(session=session, actor=actor, limit=MAX_TICKETS)
        title = t.gettext("Open tickets, nearest due first:")
    else:
        found = tickets.tickets_for(session=session, actor=actor, limit=MAX_TICKETS)
        title = t.gettext("Open tickets:")
    if not found:
        blocks += renderer.sections(t.gettext("No tickets to show."))
    else:
        blocks.append({"type": "header", "text": plain(title.rstrip(" :"), 150)})
        for ticket in found:
            blocks += _ticket_blocks(renderer, t, session, ticket, now)
            blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}
