"""Agent commands: queue, acknowledge, reclassify, pause, resume, log time, resolve, close."""

from __future__ import annotations

from datetime import timedelta

from bot.db.models import Ticket, TicketStatus
from bot.services import tickets
from bot.services.ticket_sla import ticket_clocks
from bot.wording import cost_sentence, intervention_label, priority_label
from handlers.context import NAV_BACK, NAV_CANCEL, Context, typed_choice
from handlers.model import Choices, Option, Prompt, RefusalReason, Text
from handlers.render import short_line, ticket_card
from handlers.states import State, move, parse_state, reset
from pricing.loader import find_intervention

WHAT_INTERVENTION = "intervention"
WHAT_PRIORITY = "priority"


def _ticket(ctx: Context, argument: str, usage: str) -> tuple[Ticket, str] | None:
    reference, _sep, rest = argument.strip().partition(" ")
    if not reference:
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return None
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    return ticket, rest.strip()


def _minutes(ctx: Context, text: str, *, required: bool) -> int | None | bool:
    """Minutes typed by the agent; False after saying why the value is refused."""
    text = text.strip().lower().removesuffix("min").strip()
    if not text:
        if required:
            ctx.refuse(
                ctx._("Give the number of minutes, for example: /log REF 30"),
                RefusalReason.INVALID_INPUT,
            )
            return False
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1440:
        ctx.refuse(
            ctx._("Minutes must be a whole number between 1 and 1440."),
            RefusalReason.INVALID_INPUT,
        )
        return False
    return int(text)


def duty_command(ctx: Context, argument: str) -> None:
    """/duty on|off: whether escalations mention and ping me."""
    wanted = argument.strip().lower()
    user = ctx.require_user
    if wanted in ("on", "off"):
        user.on_duty = wanted == "on"
        ctx.session.add(user)
    elif wanted:
        text = ctx._("Write it as: %(usage)s") % {"usage": "/duty on|off"}
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    if user.on_duty:
        ctx.say(Text(ctx._("You are on duty: at-risk and breach pings reach you.")))
    else:
        ctx.say(Text(ctx._("You are off duty: pings go to the agents on duty.")))


def queue_command(ctx: Context, _argument: str) -> None:
    """/queue: open tickets of my providers, nearest due instant first."""
    found = tickets.queue(session=ctx.session, actor=ctx.require_actor)
    if not found:
        ctx.say(Text(ctx._("The queue is empty.")))
        return
    lines = [ctx._("Open tickets, nearest due first:")]
    for ticket in found:
        _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
        lines.append("• " + short_line(ctx.t, ticket, pack))
    ctx.say(Text("\n".join(lines)))


def _card(ctx: Context, ticket: Ticket) -> None:
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    assert ticket.id is not None
    clocks = ticket_clocks(session=ctx.session, ticket=ticket, now=ctx.now)
    ctx.say(ticket_card(t=ctx.t, ticket=ticket, pack=pack, clocks=clocks))


def ack_command(ctx: Context, argument: str) -> None:
    """/ack REF: the response to the customer; meets the response clock."""
    found = _ticket(ctx, argument, "/ack REF")
    if found is None:
        return
    ticket = tickets.acknowledge(
        session=ctx.session, actor=ctx.require_actor, ticket=found[0], now=ctx.now
    )
    summary = ctx._("%(ref)s acknowledged: the customer is told.") % {"ref": ticket.reference}
    ctx.acted("ack", ticket, summary)
    _card(ctx, ticket)


def pause_command(ctx: Context, argument: str) -> None:
    """/pause REF reason: stop the SLA clock."""
    found = _ticket(ctx, argument, "/pause REF " + ctx._("reason"))
    if found is None:
        return
    ticket, reason = found
    if not reason:
        conversation = ctx.require_conversation
        reset(conversation)
        conversation.ticket_id = ticket.id
        move(ctx, State.PAUSE_REASON, remember=False)
        ask(ctx)
        return
    _pause(ctx, ticket, reason)


def _pause(ctx: Context, ticket: Ticket, reason: str) -> None:
    tickets.pause(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        reason=reason[:500],
        now=ctx.now,
    )
    ctx.acted("pause", ticket, ctx._("Clock stopped on %(ref)s.") % {"ref": ticket.reference})


def resume_command(ctx: Context, argument: str) -> None:
    """/resume REF: restart the SLA clock."""
    found = _ticket(ctx, argument, "/resume REF")
    if found is None:
        return
    ticket, reason = found
    tickets.resume(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        now=ctx.now,
        reason=reason or None,
    )
    ctx.acted("resume", ticket, ctx._("Clock restarted on %(ref)s.") % {"ref": ticket.reference})
    _card(ctx, ticket)


def log_command(ctx: Context, argument: str) -> None:
    """/log REF minutes: record work time."""
    found = _ticket(ctx, argument, "/log REF " + ctx._("minutes"))
    if found is None:
        return
    ticket, rest = found
    minutes = _minutes(ctx, rest, required=True)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return
    total = tickets.log_time(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, minutes=minutes, now=ctx.now
    )
    summary = ctx._("%(ref)s: %(total)s recorded in all.") % {
        "ref": ticket.reference,
        "total": ctx.t.duration(timedelta(minutes=total)),
    }
    ctx.acted("log", ticket, summary)


def resolve_command(ctx: Context, argument: str) -> None:
    """/resolve REF [minutes]: resolve, charging per the contract or waiving on a breach."""
    found = _ticket(ctx, argument, "/resolve REF [" + ctx._("minutes") + "]")
    if found is None:
        return
    ticket, rest = found
    minutes = _minutes(ctx, rest, required=False)
    if minutes is False:
        return
    _resolve(ctx, ticket, minutes if isinstance(minutes, int) else None)


def _resolve(ctx: Context, ticket: Ticket, minutes: int | None) -> None:
    result = tickets.resolve(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, now=ctx.now, minutes=minutes
    )
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    charge = result.charge
    cost = cost_sentence(
        ctx.t,
        pack,
        charged=charge.charged,
        waived=charge.waived,
        on_request=charge.on_request,
        top_up_packs=charge.top_up_packs,
        owed=charge.owed,
        staff=True,
    )
    summary = ctx._("%(ref)s resolved: %(cost)s") % {"ref": ticket.reference, "cost": cost}
    ctx.acted("resolve", ticket, summary)


def close_command(ctx: Context, argument: str) -> None:
    """/close REF: close a resolved ticket."""
    found = _ticket(ctx, argument, "/close REF")
    if found is None:
        return
    ticket = tickets.close(
        session=ctx.session, actor=ctx.require_actor, ticket=found[0], now=ctx.now
    )
    ctx.acted("close", ticket, ctx._("%(ref)s closed.") % {"ref": ticket.reference})


def reclassify_command(ctx: Context, argument: str) -> None:
    """/reclassify REF: change the intervention or the priority, with a reason."""
    found = _ticket(ctx, argument, "/reclassify REF")
    if found is None:
        return
    ticket = found[0]
    if ticket.status not in TicketStatus.open_statuses():
        ctx.refuse(ctx._("Only an open ticket can be reclassified."), RefusalReason.INVALID_STATE)
        return
    conversation = ctx.require_conversation
    reset(conversation)
    conversation.ticket_id = ticket.id
    move(ctx, State.RECLASSIFY_WHAT, remember=False)
    ask(ctx)


def _conversation_ticket(ctx: Context) -> Ticket:
    conversation = ctx.require_conversation
    ticket = ctx.session.get(Ticket, conversation.ticket_id) if conversation.ticket_id else None
    assert ticket is not None
    return ticket


def ask(ctx: Context) -> None:
    """Ask the current agent-flow question (reclassification, pause reason)."""
    state = parse_state(ctx.require_conversation.state)
    ticket = _conversation_ticket(ctx)
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    lang = ctx.t.lang
    nav = ctx.nav_options()
    if state is State.RECLASSIFY_WHAT:
        text = ctx._("%(ref)s is %(intervention)s, priority %(priority)s. What changes?") % {
            "ref": ticket.reference,
            "intervention": intervention_label(pack, ticket.intervention_id, lang),
            "priority": priority_label(pack, ticket.priority, lang),
        }
        options: tuple[Option, ...] = (
            ctx.option(ctx._("The intervention"), WHAT_INTERVENTION),
            ctx.option(ctx._("The priority"), WHAT_PRIORITY),
        )
        ctx.ask(Choices(text=text, options=(*options, *ctx.nav_options(back=False))))
    elif state is State.RECLASSIFY_INTERVENTION:
        options = tuple(
            ctx.option(item.labels.get(lang), item.id)
            for category in pack.categories
            for item in category.interventions
            if item.id != ticket.intervention_id and ticket.priority in item.available_priorities
        )[: 100 - len(nav)]
        ctx.ask(Choices(text=ctx._("Which intervention is it?"), options=(*options, *nav)))
    elif state is State.RECLASSIFY_PRIORITY:
        _category, item = find_intervention(pack, ticket.intervention_id)
        options = tuple(
            ctx.option(p.labels.get(lang), p.id)
            for p in sorted(pack.priorities, key=lambda p: -p.rank)
            if p.id in item.available_priorities and p.id != ticket.priority
        )
        if not options:
            ctx.say(Text(ctx._("No other priority is allowed for this intervention.")))
        ctx.ask(Choices(text=ctx._("Which priority?"), options=(*options, *nav)))
    elif state is State.RECLASSIFY_REASON:
        text = ctx._("Why? The customer will read this reason.")
        ctx.ask(Prompt(text=text, options=nav))
    elif state is State.PAUSE_REASON:
        text = ctx._("Why is the clock stopped? The customer will read this reason.")
        ctx.ask(Prompt(text=text, options=ctx.nav_options(back=False)))


def _ask_again(ctx: Context) -> None:
    """Ask the same question again: the answer given was refused (the question says why)."""
    ask(ctx)
    question = ctx.outcome.question
    if question is not None:
        ctx.refuse(question.reply.text, RefusalReason.INVALID_ANSWER, say=False)


def answer(ctx: Context, state: State, value: str, *, chosen: bool) -> None:
    """Take an answer in the agent flows."""
    conversation = ctx.require_conversation
    ticket = _conversation_ticket(ctx)
    typed = value.strip()
    if state is State.PAUSE_REASON:
        if chosen or len(typed) < 3:
            _ask_again(ctx)
            return
        reset(conversation)
        _pause(ctx, ticket, typed)
        return
    if state is State.RECLASSIFY_REASON:
        if chosen or len(typed) < 3:
            _ask_again(ctx)
            return
        intervention = conversation.intervention_id
        priority = conversation.priority
        reset(conversation)
        tickets.reclassify(
            session=ctx.session,
            actor=ctx.require_actor,
            ticket=ticket,
            now=ctx.now,
            reason=typed[:500],
            intervention_id=intervention,
            priority=priority,
        )
        summary = ctx._(
            "%(ref)s reclassified; the SLA and the quote are recomputed and the customer "
            "is told why."
        ) % {"ref": ticket.reference}
        ctx.acted("reclassify", ticket, summary)
        _card(ctx, ticket)
        return
    picked = value if chosen else typed_choice(ctx, ask, typed)
    if picked in (NAV_BACK, NAV_CANCEL):
        picked = None  # typed as an option number: the agent flows take only real choices
    if picked is None:
        text = ctx._("I did not understand. Pick one of the options, or type its number.")
        ctx.refuse(text, RefusalReason.INVALID_ANSWER)
        ask(ctx)
        return
    if state is State.RECLASSIFY_WHAT:
        move(
            ctx,
            State.RECLASSIFY_INTERVENTION
            if picked == WHAT_INTERVENTION
            else State.RECLASSIFY_PRIORITY,
        )
    elif state is State.RECLASSIFY_INTERVENTION:
        conversation.intervention_id = picked
        move(ctx, State.RECLASSIFY_REASON)
    elif state is State.RECLASSIFY_PRIORITY:
        conversation.priority = picked
        move(ctx, State.RECLASSIFY_REASON)
    ask(ctx)


def ticket_button(ctx: Context, verb: str, reference: str) -> None:
    """A button on an agent ping: acknowledge, pause or resolve the ticket."""
    if not ctx.require_actor.is_staff:
        ctx.refuse(ctx._("You are not allowed to do that."), RefusalReason.ACCESS_DENIED)
        return
    if verb == "ack":
        ack_command(ctx, reference)
    elif verb == "pause":
        pause_command(ctx, reference)
    elif verb == "resolve":
        resolve_command(ctx, reference)
    elif verb == "show":
        ticket = tickets.find_ticket(
            session=ctx.session, actor=ctx.require_actor, reference=reference
        )
        _card(ctx, ticket)
    else:
        ctx.refuse(
            ctx._("This choice has expired. Here is where we are now."), RefusalReason.EXPIRED
        )
