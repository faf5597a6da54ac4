"""Commands anyone linked can use: help, start, language, tickets, comments, balance."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.db.models import Tenant, Ticket
from bot.i18n import LANGUAGES, translator
from bot.services import accounts, conversation, queries, tenants, tickets, users
from bot.services.ticket_sla import ticket_clocks
from bot.wording import amount_text, cost_sentence, owed_sentence, zone_of
from handlers import talk
from handlers.context import Context
from handlers.model import RefusalReason, Text, echo
from handlers.render import short_line, ticket_card
from pricing.terms import AccountKind


def start_command(ctx: Context, argument: str) -> bool:
    """/start CODE: link this account with an invite code; True when the user is welcomed."""
    code = argument.strip()
    if ctx.user is not None:
        if code:
            ctx.say(Text(ctx._("This account is already linked.")))
        ctx.say(Text(ctx._("Welcome back, %(name)s.") % {"name": ctx.user.display_name}))
        return True
    if not code:
        ctx.refuse(
            ctx._(
                "I don't know you yet. Ask your company's administrator or your provider "
                "for an invite code, then send /start followed by the code."
            ),
            RefusalReason.UNKNOWN_USER,
        )
        return False
    user = users.redeem_invite(
        session=ctx.session,
        code=code,
        channel=ctx.event.channel,
        external_id=ctx.event.user_external_id,
        display_name=ctx.event.display_name,
        platform_locale=ctx.event.platform_locale,
        now=ctx.now,
    )
    ctx.user = user
    ctx.actor = tickets.actor_for(session=ctx.session, user=user)
    ctx.tenant = ctx.session.get(Tenant, user.tenant_id) if user.tenant_id is not None else None
    ctx.say(Text(ctx._("Welcome, %(name)s: your account is linked.") % {"name": user.display_name}))
    return True


def lang_command(ctx: Context, argument: str) -> None:
    """/lang fr|nl|en: choose the language."""
    wanted = argument.strip().lower()
    if wanted not in LANGUAGES or ctx.user is None:
        ctx.say(Text(ctx._("Choose one of: fr, nl, en. For example: /lang nl")))
        return
    ctx.user.locale = wanted
    ctx.session.add(ctx.user)
    ctx.t = translator(wanted)
    ctx.say(Text(ctx._("I will speak English with you from now on.")))


def notify_command(ctx: Context, argument: str) -> None:
    """/notify always|office: when ticket notifications may reach me."""
    wanted = argument.strip().lower()
    user = ctx.require_user
    if wanted in ("always", "toujours", "altijd"):
        user.notify_outside_hours = True
        ctx.say(Text(ctx._("You will be notified at any time.")))
    elif wanted in ("office", "bureau", "kantoor"):
        user.notify_outside_hours = False
        ctx.say(
            Text(
                ctx._(
                    "Notifications outside your contract's business hours will wait until the "
                    "next opening."
                )
            )
        )
    else:
        current = (
            ctx._("at any time")
            if user.notify_outside_hours
            else ctx._("during business hours only")
        )
        ctx.say(
            Text(
                ctx._("You are notified %(when)s. Change it with /notify always or /notify office.")
                % {"when": current}
            )
        )
        return
    ctx.session.add(user)


def tickets_command(ctx: Context, argument: str) -> None:
    """/tickets [all] [closed]: my open tickets, or my company's, or closed ones."""
    words = set(argument.lower().split())
    actor = ctx.require_actor
    if actor.is_staff and ctx.user is not None and ctx.user.tenant_id is None:
        from handlers.agent import queue_command

        queue_command(ctx, argument)
        return
    scope = "company" if words & {"all", "tous", "alle", "company"} else "mine"
    closed = bool(words & {"closed", "fermés", "gesloten"})
    found = tickets.tickets_for(session=ctx.session, actor=actor, scope=scope, open_only=not closed)
    if not found:
        ctx.say(Text(ctx._("No tickets to show.")))
        return
    title = ctx._("Closed tickets:") if closed else ctx._("Open tickets:")
    lines = [title]
    with queries.preloaded(session=ctx.session, tickets=found):
        for ticket in found:
            _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
            lines.append("• " + short_line(ctx.t, ticket, pack))
    ctx.say(Text("\n".join(lines)))


def _reference(ctx: Context, argument: str) -> str | None:
    reference = argument.split(maxsplit=1)[0] if argument.strip() else ""
    if not reference:
        ctx.refuse(
            ctx._("Give the ticket reference, for example: /ticket TLN-2026-000123"),
            RefusalReason.INVALID_INPUT,
        )
        return None
    return reference


def ticket_command(ctx: Context, argument: str) -> None:
    """/ticket REF: the ticket card with SLA state, cost and timeline."""
    reference = _reference(ctx, argument)
    if reference is None:
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    if ctx.require_actor.is_staff:
        from handlers.agent import show_staff_card

        words = argument.split()[1:]
        full = bool(set(w.lower() for w in words) & {"full", "complet", "volledig"})
        show_staff_card(ctx, ticket, full=full)
        return
    show_ticket(ctx, ticket)


def show_ticket(ctx: Context, ticket: Ticket) -> None:
    """Say a ticket's card and timeline."""
    from bot.services.billing import ticket_cost, ticket_quote
    from handlers.render import quote_text

    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    assert ticket.id is not None
    clocks = ticket_clocks(session=ctx.session, ticket=ticket, now=ctx.now)
    spent = ticket_cost(session=ctx.session, ticket=ticket)
    if spent.settled:
        cost = cost_sentence(
            ctx.t,
            pack,
            charged=spent.charged,
            waived=spent.waived,
            staff=ctx.require_actor.is_staff,
        )
    else:
        cost = quote_text(ctx.t, ticket_quote(pack=pack, ticket=ticket), pack)
    card = ticket_card(t=ctx.t, ticket=ticket, pack=pack, clocks=clocks, cost=cost)
    attached = conversation.attachments_of(session=ctx.session, ticket=ticket)
    if attached:
        names = ", ".join(conversation.file_line(f.name, f.size, f.kind) for f in attached)
        card = dataclasses.replace(card, fields=(*card.fields, (ctx._("Files"), echo(names))))
    ctx.say(card)
    zone = zone_of(pack)
    lines = [ctx._("Timeline:")]
    files = conversation.attachments_by_event(session=ctx.session, ticket=ticket)
    for event in tickets.events_of(session=ctx.session, ticket=ticket):
        what = _event_words(ctx, event.type)
        extra = f" — {event.reason}" if event.reason else ""
        if event.minutes:
            extra += " — " + ctx.t.duration(timedelta(minutes=event.minutes))
        lines.append("• " + ctx.t.field(ctx.t.datetime(event.at, zone), what + extra))
        for attachment in files.get(event.id or 0, ()):
            line = conversation.file_line(attachment.name, attachment.size, attachment.kind)
            lines.append("  📎 " + line)
    ctx.outcome.ticket = ticket.reference
    ctx.say(Text("\n".join(lines)))


def _event_words(ctx: Context, kind: str) -> str:
    _ = ctx._
    return {
        "opened": _("opened"),
        "responded": _("an agent responded"),
        "reclassified": _("reclassified"),
        "paused": _("clock stopped"),
        "resumed": _("clock restarted"),
        "time": _("work time recorded"),
        "resolved": _("resolved"),
        "closed": _("closed"),
        "comment": _("message"),
        "reopened": _("reopened by the customer"),
    }.get(kind, kind)


def comment_command(ctx: Context, argument: str) -> None:
    """/comment REF text: add a message to a ticket."""
    reference, _sep, text = argument.strip().partition(" ")
    if not reference or not text.strip():
        ctx.say(Text(ctx._("Write it as: /comment REF your message")))
        return
    if ctx.require_actor.is_staff:
        from handlers.agent import reply_command

        reply_command(ctx, argument)
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    files = talk.files_of(ctx)
    conversation.add_message(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        text=text,
        files=files,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.outcome.ticket = ticket.reference
    ctx.say(Text(ctx._("Message added to %(ref)s.") % {"ref": ticket.reference}))


def balance_command(ctx: Context, _argument: str) -> None:
    """/balance: the balance of each of the company's contracts."""
    if ctx.tenant is None or ctx.tenant.id is None:
        ctx.say(Text(ctx._("Only customers have a balance.")))
        return
    lines = [ctx._("Your balances:")]
    for contract in tenants.active_contracts(session=ctx.session, tenant_id=ctx.tenant.id):
        pack = tenants.pack_of(contract)
        assert contract.id is not None
        title = pack.title.get(ctx.t.lang)
        figure = accounts.customer_balance(session=ctx.session, contract=contract, now=ctx.now)
        if figure.available is None:
            text = ctx._("invoiced by the provider (no prepaid balance)")
            lines.append("• " + ctx.t.field(title, text))
            continue
        if figure.account is AccountKind.TIME_BANK:
            text = ctx._("%(amount)s left in this month's time bank") % {
                "amount": amount_text(ctx.t, figure.available, pack)
            }
            lines.append("• " + ctx.t.field(title, text))
            continue
        line = "• " + ctx.t.field(title, amount_text(ctx.t, figure.available, pack))
        if figure.held:
            line += " " + ctx._("(%(held)s reserved for open tickets)") % {
                "held": amount_text(ctx.t, figure.held, pack)
            }
        lines.append(line)
        owed = -(figure.available + figure.held)
        if owed > 0 and not pack.balance.auto_top_up:
            lines.append("  " + owed_sentence(ctx.t, pack, owed))
        elif pack.balance.how_to_top_up is not None:
            lines.append("  " + pack.balance.how_to_top_up.get(ctx.t.lang))
    ctx.say(Text("\n".join(lines)))
