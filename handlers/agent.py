"""Agent commands: queue, acknowledge, reclassify, pause, resume, log time, resolve, close."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.db.models import Ticket, TicketStatus
from bot.durations import parse_minutes
from bot.numbers import parse_int
from bot.services import ownership, queries, tickets
from bot.services.billing import ChargeOutcome
from bot.wording import amount_text, cost_sentence, intervention_label, priority_label
from handlers import quotes, talk
from handlers.context import NAV_BACK, NAV_CANCEL, Context, offered_value, typed_choice
from handlers.desk import queue_line, staff_card
from handlers.model import Choices, Confirm, Option, Prompt, RefusalReason, Text
from handlers.states import State, back, move, parse_state, reset
from pricing.loader import find_intervention, staff_priorities
from pricing.schema import ContractPack, Intervention, Priority

WHAT_INTERVENTION = "intervention"
WHAT_PRIORITY = "priority"
WHAT_BOTH = "both"
YES = "~yes"
NOTHING_MORE = "0"
#: Recording more than this many times the customer's estimate needs a confirmation.
ESTIMATE_FACTOR = 4
#: Without an estimate, recording more than this in all needs a confirmation.
NO_ESTIMATE_LIMIT_MINUTES = 8 * 60
QUEUE_PAGE = 15
QUEUE_WORDS = {
    "all": "all",  # `/tickets all`, which staff without a company reach the queue with
    "tous": "all",
    "alle": "all",
    "mine": "mine",
    "moi": "mine",
    "mes": "mine",
    "mijn": "mine",
    "unassigned": "unassigned",
    "libres": "unassigned",
    "nonassignés": "unassigned",
    "vrij": "unassigned",
    "breached": "breached",
    "dépassés": "breached",
    "overschreden": "breached",
}


def _ticket(ctx: Context, argument: str, usage: str) -> tuple[Ticket, str] | None:
    reference, _sep, rest = argument.strip().partition(" ")
    if not reference:
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return None
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    return ticket, rest.strip()


def _minutes(ctx: Context, text: str, *, required: bool) -> int | None | bool:
    """Minutes typed by the agent; False after saying why the value is refused."""
    text = text.strip()
    if not text:
        if required:
            ctx.refuse(
                ctx._("Give the number of minutes, for example: /log REF 30"),
                RefusalReason.INVALID_INPUT,
            )
            return False
        return None
    minutes = parse_minutes(text, maximum=1440).minutes  # "90", "1h30", "1,5 h", "90 min"
    if minutes is None:
        ctx.refuse(
            ctx._("Minutes must be a whole number between 1 and 1440."),
            RefusalReason.INVALID_INPUT,
        )
        return False
    return minutes


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


def queue_command(ctx: Context, argument: str) -> None:
    """/queue [mine|unassigned|breached] [page]: open tickets, nearest pending due first."""
    scope, page = "all", 1
    for word in argument.lower().split():
        number = parse_int(word, low=1, high=100_000)
        if number is not None:
            page = number
        elif word in QUEUE_WORDS:
            scope = QUEUE_WORDS[word]
        else:
            usage = "/queue [mine|unassigned|breached] [" + ctx._("page") + "]"
            ctx.refuse(
                ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT
            )
            return
    found = tickets.queue(
        session=ctx.session, actor=ctx.require_actor, scope=scope, page=page, per_page=QUEUE_PAGE
    )
    if not found.tickets:
        if page > 1:
            ctx.say(Text(ctx._("No more tickets in the queue.")))
        else:
            ctx.say(Text(ctx._("The queue is empty.")))
        return
    titles = {
        "all": ctx._("Open tickets, nearest due first:"),
        "mine": ctx._("My open tickets, nearest due first:"),
        "unassigned": ctx._("Unassigned open tickets, nearest due first:"),
        "breached": ctx._("Open tickets with a missed target, nearest due first:"),
    }
    lines = [titles[scope]]
    if page > 1:
        lines[0] += " " + ctx._("(page %(n)s)") % {"n": page}
    with queries.preloaded(session=ctx.session, tickets=found.tickets):
        for ticket in found.tickets:
            _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
            line = queue_line(session=ctx.session, t=ctx.t, ticket=ticket, pack=pack, now=ctx.now)
            lines.append("• " + line)
    if found.more:
        words = "" if scope == "all" else f"{scope} "
        lines.append(ctx._("More: /queue %(args)s") % {"args": f"{words}{page + 1}"})
    ctx.say(Text("\n".join(lines)))


def _card(ctx: Context, ticket: Ticket, *, full: bool = False) -> None:
    ctx.say(*staff_card(session=ctx.session, t=ctx.t, ticket=ticket, now=ctx.now, full=full))
    ctx.outcome.ticket = ticket.reference


def show_staff_card(ctx: Context, ticket: Ticket, *, full: bool = False) -> None:
    """Say the agent's card of a ticket and its timeline."""
    _card(ctx, ticket, full=full)


def take_command(ctx: Context, argument: str) -> None:
    """/take REF: I become the ticket's owner."""
    found = _ticket(ctx, argument, "/take REF")
    if found is None:
        return
    ticket = ownership.take(
        session=ctx.session, actor=ctx.require_actor, ticket=found[0], now=ctx.now
    )
    summary = ctx._("%(ref)s is yours now.") % {"ref": ticket.reference}
    ctx.acted("take", ticket, summary)


def assign_command(ctx: Context, argument: str) -> None:
    """/assign REF HANDLE: an agent of the ticket's provider becomes its owner."""
    usage = "/assign REF " + ctx._("handle")
    found = _ticket(ctx, argument, usage)
    if found is None:
        return
    ticket, handle = found
    if not handle or " " in handle:
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return
    ticket = ownership.assign_handle(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, handle=handle, now=ctx.now
    )
    owner = ownership.owner_name(session=ctx.session, ticket=ticket) or handle
    summary = ctx._("%(ref)s assigned to %(name)s.") % {"ref": ticket.reference, "name": owner}
    ctx.acted("assign", ticket, summary)


def _ticket_and_text(ctx: Context, argument: str, usage: str) -> tuple[Ticket, str] | None:
    """The ticket and the text of `/verb REF text`; None after saying the usage."""
    found = _ticket(ctx, argument, usage)
    if found is None:
        return None
    ticket, text = found
    if not text:
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return None
    return ticket, text


def note_command(ctx: Context, argument: str) -> None:
    """/note REF text: an internal note, never sent to the customer."""
    found = _ticket_and_text(ctx, argument, "/note REF " + ctx._("text"))
    if found is None:
        return
    ticket, text = found
    ownership.add_note(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, text=text, now=ctx.now
    )
    summary = ctx._("Internal note added to %(ref)s (not sent to the customer).") % {
        "ref": ticket.reference
    }
    ctx.acted("note", ticket, summary)


def reply_command(ctx: Context, argument: str) -> None:
    """/reply REF text: a message to the customer, signed with my name (files sent with it
    reach the customer too; with files the text may be empty)."""
    usage = "/reply REF " + ctx._("text")
    if talk.files_of(ctx):
        found = _ticket(ctx, argument, usage)
    else:
        found = _ticket_and_text(ctx, argument, usage)
    if found is None:
        return
    ticket, text = found
    talk.add(ctx, ticket, text, talk.files_of(ctx))


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
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    causes = pack.stop_clock.causes
    if not causes:
        refusal = pack.stop_clock.refusal
        why = refusal.get(ctx.t.lang) if refusal else ""
        text = ctx._("%(ref)s cannot be paused: the contract admits no stop-clock cause.") % {
            "ref": ticket.reference
        }
        ctx.refuse(f"{text} {why}".strip(), RefusalReason.INVALID_STATE)
        return
    if len(causes) == 1 and reason:
        _pause(ctx, ticket, reason, causes[0].id)
        return
    conversation = ctx.require_conversation
    reset(conversation)
    conversation.ticket_id = ticket.id
    conversation.description = reason or None  # kept until the cause is picked
    if len(causes) == 1:
        conversation.details = {"cause": causes[0].id}
        move(ctx, State.PAUSE_REASON, remember=False)
    else:
        move(ctx, State.PAUSE_CAUSE, remember=False)
    ask(ctx)


def _pause(ctx: Context, ticket: Ticket, reason: str, cause: str | None) -> None:
    tickets.pause(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        reason=reason[:500],
        now=ctx.now,
        cause=cause,
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


def _too_much(ctx: Context, ticket: Ticket, minutes: int) -> str | None:
    """Why recording `minutes` more needs a confirmation (None when it does not)."""
    total = tickets.recorded_minutes(session=ctx.session, ticket=ticket) + minutes
    estimate = ticket.estimate_minutes
    values = {
        "total": ctx.t.duration(timedelta(minutes=total)),
        "estimate": ctx.t.duration(timedelta(minutes=estimate or 0)),
        "factor": ESTIMATE_FACTOR,
        "limit": ctx.t.duration(timedelta(minutes=NO_ESTIMATE_LIMIT_MINUTES)),
    }
    if estimate and total > ESTIMATE_FACTOR * estimate:
        return (
            ctx._(
                "That makes %(total)s in all, more than %(factor)s× the customer's estimate "
                "(%(estimate)s)."
            )
            % values
        )
    if not estimate and total > NO_ESTIMATE_LIMIT_MINUTES:
        return ctx._("That makes %(total)s in all, more than %(limit)s without an estimate.") % (
            values
        )
    return None


def _start_flow(ctx: Context, ticket: Ticket, state: State, minutes: int | None = None) -> None:
    conversation = ctx.require_conversation
    reset(conversation)
    conversation.ticket_id = ticket.id
    conversation.work_minutes = minutes
    move(ctx, state, remember=False)
    ask(ctx)


def log_command(ctx: Context, argument: str) -> None:
    """/log REF minutes: record work time (far beyond the estimate: asks to confirm)."""
    found = _ticket(ctx, argument, "/log REF " + ctx._("minutes"))
    if found is None:
        return
    ticket, rest = found
    minutes = _minutes(ctx, rest, required=True)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        return
    if ticket.status is TicketStatus.CLOSED:
        tickets.log_time(
            session=ctx.session,
            actor=ctx.require_actor,
            ticket=ticket,
            minutes=minutes,
            now=ctx.now,
        )  # refused with the ticket's state
    if _too_much(ctx, ticket, minutes) is not None:
        _start_flow(ctx, ticket, State.LOG_CONFIRM, minutes)
        return
    _log(ctx, ticket, minutes)


def _log(ctx: Context, ticket: Ticket, minutes: int) -> None:
    total = tickets.log_time(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, minutes=minutes, now=ctx.now
    )
    summary = ctx._("%(ref)s: %(total)s recorded in all.") % {
        "ref": ticket.reference,
        "total": ctx.t.duration(timedelta(minutes=total)),
    }
    ctx.acted("log", ticket, summary)


def resolve_command(ctx: Context, argument: str) -> None:
    """/resolve REF [minutes]: resolve, charging per the contract or waiving on a breach.

    Without minutes it asks for the time spent, shows what will be charged and asks to
    confirm; with minutes far beyond the estimate it asks to confirm that time first.
    """
    found = _ticket(ctx, argument, "/resolve REF [" + ctx._("minutes") + "]")
    if found is None:
        return
    ticket, rest = found
    minutes = _minutes(ctx, rest, required=False)
    if minutes is False:
        return
    if ticket.status not in TicketStatus.open_statuses():
        _resolve(ctx, ticket, None)  # refused with the ticket's state
        return
    if not isinstance(minutes, int):
        _start_flow(ctx, ticket, State.RESOLVE_MINUTES)
        return
    if _too_much(ctx, ticket, minutes) is not None:
        _start_flow(ctx, ticket, State.RESOLVE_CONFIRM, minutes)
        return
    _resolve(ctx, ticket, minutes)


def _preview(ctx: Context, ticket: Ticket, minutes: int | None) -> ChargeOutcome:
    """What resolving now would charge: the resolution is run in a savepoint rolled back."""
    savepoint = ctx.session.begin_nested()
    try:
        return tickets.resolve(
            session=ctx.session,
            actor=ctx.require_actor,
            ticket=ticket,
            now=ctx.now,
            minutes=minutes or None,
        ).charge
    finally:
        savepoint.rollback()


def preview_sentence(ctx: Context, pack: ContractPack, charge: ChargeOutcome) -> str:
    """What resolving will charge, in words, before it is done."""

    def amount(value: Decimal) -> str:
        return amount_text(ctx.t, value, pack)

    if charge.waived > 0:
        return ctx._("%(amount)s would be due but will be waived: an SLA target was missed.") % {
            "amount": amount(charge.waived)
        }
    if charge.on_request:
        return ctx._("Price on request: nothing is charged here; invoice as agreed.")
    if charge.charged <= 0:
        return ctx._("Nothing will be charged.")
    sentence = ctx._("%(amount)s will be charged.") % {"amount": amount(charge.charged)}
    if charge.beyond_time_bank > 0:
        sentence += " " + ctx._("%(amount)s beyond the time bank will be invoiced.") % {
            "amount": ctx.t.duration(timedelta(hours=float(charge.beyond_time_bank)))
        }
    if charge.top_up_packs:
        sentence += " " + ctx.t.ngettext(
            "%(n)s credit pack will be added and invoiced.",
            "%(n)s credit packs will be added and invoiced.",
            charge.top_up_packs,
        ) % {"n": charge.top_up_packs}
    return sentence


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


FLOW_STATES = frozenset(
    {
        State.RECLASSIFY_WHAT,
        State.RECLASSIFY_INTERVENTION,
        State.RECLASSIFY_PRIORITY,
        State.RECLASSIFY_REASON,
        State.PAUSE_CAUSE,
        State.PAUSE_REASON,
        State.RESOLVE_MINUTES,
        State.RESOLVE_CONFIRM,
        State.LOG_CONFIRM,
    }
)


def cancel(ctx: Context) -> None:
    """Drop the open agent-flow question: nothing changes on the ticket."""
    conversation = ctx.require_conversation
    ticket = _conversation_ticket(ctx)
    reset(conversation)
    ctx.say(Text(ctx._("Cancelled. Nothing changed on %(ref)s.") % {"ref": ticket.reference}))
    ctx.outcome.ticket = ticket.reference
    ctx.outcome.cancelled = True


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
            ctx.option(ctx._("Both"), WHAT_BOTH),
        )
        ctx.ask(Choices(text=text, options=(*options, *ctx.nav_options(back=False))))
    elif state is State.RECLASSIFY_INTERVENTION:
        options = _intervention_options(ctx, ticket, pack)[: 100 - len(nav)]
        text = ctx._(
            "Which intervention is it? Grouped by category; ⤓ marks those whose highest "
            "priority is below %(priority)s (the priority then changes too)."
        ) % {"priority": priority_label(pack, ticket.priority, lang)}
        ctx.ask(Choices(text=text, options=(*options, *nav)))
    elif state is State.RECLASSIFY_PRIORITY:
        conversation = ctx.require_conversation
        _category, item = find_intervention(
            pack, conversation.intervention_id or ticket.intervention_id
        )
        current = conversation.priority or ticket.priority
        options = tuple(
            ctx.option(p.labels.get(lang), p.id)
            for p in staff_priorities(pack, item)
            if p.id != current or conversation.intervention_id is not None
        )
        if not options:
            ctx.say(Text(ctx._("No other priority is allowed for this intervention.")))
        ctx.ask(Choices(text=ctx._("Which priority?"), options=(*options, *nav)))
    elif state is State.RECLASSIFY_REASON:
        text = ctx._("Why? The customer will read this reason.")
        ctx.ask(Prompt(text=text, options=nav))
    elif state is State.PAUSE_CAUSE:
        options = tuple(ctx.option(c.labels.get(lang), c.id) for c in pack.stop_clock.causes)
        stop = pack.stop_clock
        clause = stop.clause_labels.get(lang) if stop.clause_labels else stop.clause
        text = ctx._("Which cause stops the clock? Only the contract's causes are admitted.")
        if clause:
            text += " (" + clause + ")"
        ctx.ask(Choices(text=text, options=(*options, *ctx.nav_options(back=False))))
    elif state is State.PAUSE_REASON:
        text = ctx._("Why is the clock stopped? The customer will read this reason.")
        ctx.ask(Prompt(text=text, options=ctx.nav_options(back=False)))
    elif state is State.RESOLVE_MINUTES:
        recorded = tickets.recorded_minutes(session=ctx.session, ticket=ticket)
        text = ctx._(
            "Resolving %(ref)s: how many minutes of work to add? %(recorded)s recorded so far."
        ) % {
            "ref": ticket.reference,
            "recorded": ctx.t.duration(timedelta(minutes=recorded)),
        }
        options = (ctx.option(ctx._("Nothing more"), NOTHING_MORE), *ctx.nav_options(back=False))
        ctx.ask(Prompt(text=text, options=options))
    elif state is State.RESOLVE_CONFIRM:
        minutes = ctx.require_conversation.work_minutes
        charge = _preview(ctx, ticket, minutes)
        recorded = tickets.recorded_minutes(session=ctx.session, ticket=ticket) + (minutes or 0)
        lines = [
            ctx._("Resolve %(ref)s with %(total)s recorded in all?")
            % {"ref": ticket.reference, "total": ctx.t.duration(timedelta(minutes=recorded))},
            preview_sentence(ctx, pack, charge),
        ]
        warning = _too_much(ctx, ticket, minutes or 0) if minutes else None
        if warning is not None:
            lines.append("⚠ " + warning + " " + ctx._("Confirm only if that time is right."))
        yes = ctx.option(ctx._("Resolve"), YES)
        ctx.ask(Confirm(text="\n".join(lines), yes=yes, no=ctx.nav_options(back=False)[0]))
    elif state is State.LOG_CONFIRM:
        minutes = ctx.require_conversation.work_minutes or 0
        warning = _too_much(ctx, ticket, minutes) or ""
        text = ctx._("Record %(minutes)s on %(ref)s?") % {
            "minutes": ctx.t.duration(timedelta(minutes=minutes)),
            "ref": ticket.reference,
        }
        yes = ctx.option(ctx._("Record it"), YES)
        ctx.ask(Confirm(text=f"{text}\n⚠ {warning}", yes=yes, no=ctx.nav_options(back=False)[0]))


def _intervention_options(ctx: Context, ticket: Ticket, pack: ContractPack) -> tuple[Option, ...]:
    """Every other intervention, grouped by category; ⤓ marks those whose ceiling is lower."""
    lang = ctx.t.lang
    current = next(p for p in pack.priorities if p.id == ticket.priority)
    options: list[Option] = []
    for category in pack.categories:
        for item in category.interventions:
            if item.id == ticket.intervention_id or not item.available_priorities:
                continue
            label = f"{category.labels.get(lang)} › {item.labels.get(lang)}"
            if ticket.priority not in item.available_priorities:
                ceiling = _ceiling(pack, item)
                if ceiling is None or ceiling.rank > current.rank:
                    continue
                label = f"⤓ {ceiling.labels.get(lang)} · {label}"
            options.append(ctx.option(label, item.id))
    return tuple(options)


def _ceiling(pack: ContractPack, item: Intervention) -> Priority | None:
    """The highest priority an intervention allows."""
    allowed = [p for p in pack.priorities if p.id in item.available_priorities]
    return max(allowed, key=lambda p: p.rank) if allowed else None


def go_back(ctx: Context) -> State | None:
    """« Back » in the agent flows: the previous question, forgetting the answer given there."""
    state = back(ctx)
    if state is None:
        return None
    conversation = ctx.require_conversation
    if state in (State.RECLASSIFY_WHAT, State.RECLASSIFY_INTERVENTION):
        conversation.intervention_id = None
    if state in (State.RECLASSIFY_WHAT, State.RECLASSIFY_PRIORITY):
        conversation.priority = None
    ask(ctx)
    return state


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
        cause = conversation.details.get("cause")
        reset(conversation)
        _pause(ctx, ticket, typed, cause)
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
    if state is State.RESOLVE_MINUTES:
        minutes = 0 if chosen and value == NOTHING_MORE else _minutes_answer(ctx, typed)
        if minutes is None:
            return
        if ticket.status not in TicketStatus.open_statuses():
            reset(conversation)
            _resolve(ctx, ticket, None)  # refused: another agent resolved it meanwhile
            return
        conversation.work_minutes = minutes or None
        move(ctx, State.RESOLVE_CONFIRM, remember=False)
        ask(ctx)
        return
    if state in (State.RESOLVE_CONFIRM, State.LOG_CONFIRM):
        if not (chosen and value == YES) and typed.lower() not in _yes_words(ctx):
            ctx.refuse(ctx._("Confirm with the button, or cancel."), RefusalReason.INVALID_ANSWER)
            ask(ctx)
            return
        minutes = conversation.work_minutes
        reset(conversation)
        if state is State.RESOLVE_CONFIRM:
            _resolve(ctx, ticket, minutes)
        else:
            _log(ctx, ticket, minutes or 0)
        return
    picked = offered_value(ctx, ask, value) if chosen else typed_choice(ctx, ask, typed)
    if picked in (NAV_BACK, NAV_CANCEL):
        picked = None  # typed as an option number: the agent flows take only real choices
    if picked is None:
        text = ctx._("I did not understand. Pick one of the options, or type its number.")
        ctx.refuse(text, RefusalReason.INVALID_ANSWER)
        ask(ctx)
        return
    if state is State.PAUSE_CAUSE:
        if conversation.description:  # the reason came with the command
            reason = conversation.description
            reset(conversation)
            _pause(ctx, ticket, reason, picked)
            return
        conversation.details = {"cause": picked}
        move(ctx, State.PAUSE_REASON, remember=False)
        ask(ctx)
        return
    if state is State.RECLASSIFY_WHAT:
        if picked == WHAT_PRIORITY:
            move(ctx, State.RECLASSIFY_PRIORITY)
        else:
            conversation.category_id = picked  # remembers "both" for the next step
            move(ctx, State.RECLASSIFY_INTERVENTION)
    elif state is State.RECLASSIFY_INTERVENTION:
        conversation.intervention_id = picked
        _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
        _category, item = find_intervention(pack, picked)
        if ticket.priority not in item.available_priorities:
            ceiling = _ceiling(pack, item)
            conversation.priority = None if ceiling is None else ceiling.id
        if conversation.category_id == WHAT_BOTH:
            move(ctx, State.RECLASSIFY_PRIORITY)
        else:
            move(ctx, State.RECLASSIFY_REASON)
    elif state is State.RECLASSIFY_PRIORITY:
        conversation.priority = picked
        move(ctx, State.RECLASSIFY_REASON)
    ask(ctx)


def _yes_words(ctx: Context) -> set[str]:
    return {"yes", "oui", "ja", ctx._("yes").lower()}


def _minutes_answer(ctx: Context, typed: str) -> int | None:
    """Minutes typed at the resolve question (0: nothing more); None after asking again."""
    if typed.strip() == "0":
        return 0
    minutes = parse_minutes(typed, maximum=1440).minutes
    if minutes is not None:
        return minutes
    ctx.refuse(
        ctx._("Minutes must be a whole number between 0 and 1440."), RefusalReason.INVALID_ANSWER
    )
    ask(ctx)
    return None


def ticket_button(ctx: Context, verb: str, reference: str) -> None:
    """A button on an agent ping: acknowledge, pause or resolve the ticket; under a quote,
    the customer's Accept or Decline."""
    if verb in {"quote-yes", "quote-no"}:
        quotes.answer_button(ctx, verb, reference)
        return
    if not ctx.require_actor.is_staff:
        ctx.refuse(ctx._("You are not allowed to do that."), RefusalReason.ACCESS_DENIED)
        return
    handlers = {
        "ack": ack_command,
        "take": take_command,
        "pause": pause_command,
        "resume": resume_command,
        "resolve": resolve_command,
    }
    handler = handlers.get(verb)
    if handler is not None:
        handler(ctx, reference)
    elif verb == "show":
        ticket = tickets.find_ticket(
            session=ctx.session, actor=ctx.require_actor, reference=reference
        )
        _card(ctx, ticket)
    else:
        ctx.refuse(
            ctx._("This choice has expired. Here is where we are now."), RefusalReason.EXPIRED
        )
