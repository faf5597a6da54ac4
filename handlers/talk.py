"""The customer talks on a ticket: replies and files, solved or not, reopen, rating, search.

A reply to a bot message about a ticket joins that ticket; a loose message from a customer
with tickets in progress is offered to the most recently active ones (or a new request).
After resolution the customer is asked whether it is solved (buttons on the notification);
after closing, for a rating 1–5 and an optional comment.
"""

from __future__ import annotations

from decimal import Decimal

from bot.db.models import Ticket, TicketStatus
from bot.services import conversation, tenants, tickets
from bot.services.conversation import FileInfo, SearchTerm
from bot.services.notify.templates import RATE, SOLVED, UNSOLVED
from bot.wording import intervention_label
from handlers import intake
from handlers.context import Context, offered_value, typed_choice
from handlers.model import (
    Choices,
    Option,
    OptionKind,
    Prompt,
    RefusalReason,
    Text,
    echo,
    short_label,
    ticket_action_payload,
)
from handlers.render import short_line
from handlers.states import State, move, parse_state, reset

STATES = frozenset({State.MESSAGE_TICKET, State.REOPEN_REASON, State.RATING_COMMENT})
FREE_TEXT = frozenset({State.REOPEN_REASON, State.RATING_COMMENT})
VERBS = frozenset({SOLVED, UNSOLVED, *(f"{RATE}{n}" for n in conversation.SCORES)})
NEW = "~new"
SKIP = "~skip"


def files_of(ctx: Context) -> list[FileInfo]:
    """The files sent with the event."""
    return [
        FileInfo(
            channel=ctx.event.channel,
            kind=a.kind.value,
            file_id=a.file_id,
            name=a.name,
            size=a.size,
            mime=a.mime,
            permalink=a.permalink,
        )
        for a in ctx.event.attachments
        if a.file_id
    ]


def files_said(ctx: Context, count: int) -> str:
    """A number of files ("2 files") in the user's language."""
    return ctx.t.ngettext("%(n)d file", "%(n)d files", count) % {"n": count}


# --------------------------------------------------------------------------- messages


def add(ctx: Context, ticket: Ticket, text: str, files: list[FileInfo]) -> None:
    """Add a message (and files) to a ticket and say so; the other side is told."""
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
    if ctx.require_actor.is_staff:
        summary = ctx._("Reply sent to the customer of %(ref)s.") % {"ref": ticket.reference}
        ctx.acted("reply", ticket, summary)
        return
    if files:
        said = ctx._("Added to %(ref)s with %(files)s; the support team is told.") % {
            "ref": ticket.reference,
            "files": files_said(ctx, len(files)),
        }
    else:
        said = ctx._("Added to %(ref)s; the support team is told.") % {"ref": ticket.reference}
    ctx.say(Text(said))


def loose_message(ctx: Context, text: str) -> bool:
    """Text or files outside any question: a reply to a ticket's message joins that ticket;
    a customer with tickets in progress is asked which one (or a new request). False when
    neither applies (the caller says what the bot can do)."""
    files = files_of(ctx)
    actor = ctx.require_actor
    if ctx.event.reply_to:
        ticket = conversation.ticket_of_reply(
            session=ctx.session,
            actor=actor,
            channel=ctx.event.channel,
            chat_id=ctx.event.chat_id,
            message_id=ctx.event.reply_to,
        )
        if ticket is not None and (text or files):
            add(ctx, ticket, text, files)
            return True
    if actor.is_staff or ctx.tenant is None or not (text or files):
        return False
    if not conversation.recent_tickets(session=ctx.session, actor=actor):
        if files:
            ctx.say(
                Text(
                    ctx._(
                        "Files join a ticket: send /new to open one, then send the file "
                        "when I ask for the description."
                    )
                )
            )
            return True
        return False
    conversation.check_files(files=files, already=0, settings=ctx.settings)
    draft = ctx.require_conversation
    reset(draft)
    draft.description = text[: conversation.MAX_MESSAGE] or None
    draft.attachments = [f.as_payload() for f in files]
    move(ctx, State.MESSAGE_TICKET, remember=False)
    ask(ctx)
    return True


def _ask_message_ticket(ctx: Context) -> None:
    options: list[Option] = []
    for ticket in conversation.recent_tickets(session=ctx.session, actor=ctx.require_actor):
        _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
        subject = intervention_label(pack, ticket.intervention_id, ctx.t.lang)
        label = ctx._("Add this to %(ref)s (%(subject)s)") % {
            "ref": ticket.reference,
            "subject": subject,
        }
        options.append(ctx.option(short_label(label), ticket.reference))
    options.append(ctx.option(ctx._("Open a new request"), NEW))
    options.extend(ctx.nav_options(back=False))
    ctx.ask(Choices(text=ctx._("Is this about one of your requests?"), options=tuple(options)))


def _answer_message_ticket(ctx: Context, value: str, chosen: bool) -> None:
    picked = (
        offered_value(ctx, _ask_message_ticket, value)
        if chosen
        else typed_choice(ctx, _ask_message_ticket, value)
    )
    draft = ctx.require_conversation
    if picked is None:
        ctx.refuse(ctx._("Please choose one of the options."), RefusalReason.INVALID_ANSWER)
        ask(ctx)
        return
    text = draft.description or ""
    files = [FileInfo.from_payload(f) for f in draft.attachments]
    if picked == NEW:
        intake.new_command(ctx, "")
        ctx.require_conversation.attachments = [f.as_payload() for f in files]
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=picked)
    reset(draft)
    add(ctx, ticket, text, files)


# --------------------------------------------------------------------------- intake


def keep_for_intake(ctx: Context, state: State) -> bool:
    """Files sent during an intake (`state`: one of its steps) join the request's
    description; True when kept. Without a caption the step is asked again (a caption
    answers it as typed text)."""
    if state in STATES or state is State.IDLE:
        return False
    files = files_of(ctx)
    if not files:
        return False
    draft = ctx.require_conversation
    conversation.check_files(files=files, already=len(draft.attachments), settings=ctx.settings)
    draft.attachments = [*draft.attachments, *(f.as_payload() for f in files)]
    count = len(draft.attachments)
    said = ctx.t.ngettext(
        "Kept: %(n)d file will join your request.",
        "Kept: %(n)d files will join your request.",
        count,
    ) % {"n": count}
    ctx.say(Text(said))
    if not (ctx.event.text or "").strip():
        intake.ask(ctx)
    return True


def pending_files(ctx: Context) -> list[FileInfo]:
    """The files an intake keeps for the ticket it is about to open."""
    return [FileInfo.from_payload(f) for f in ctx.require_conversation.attachments]


def attach_pending(ctx: Context, reference: str, files: list[FileInfo]) -> None:
    """The files kept during the intake join the ticket just opened (its agents get them)."""
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    conversation.add_message(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        text="",
        files=files,
        now=ctx.now,
        settings=ctx.settings,
    )
    joined = ctx.t.ngettext("%(n)d file joined %(ref)s.", "%(n)d files joined %(ref)s.", len(files))
    ctx.say(Text(joined % {"n": len(files), "ref": ticket.reference}))


REASONS = frozenset({"file_too_large", "too_many_files", "reopen_window", "reopen_reason"})


def refusal_text(ctx: Context, params: dict[str, object]) -> str:
    """A refused file or reopen, in the user's words."""
    reason = params.get("reason")
    limit = params.get("limit")
    if reason == "file_too_large":
        size = int(limit) if isinstance(limit, int) else 0
        return ctx._(
            "%(name)s is too large: files up to %(size)s are accepted. Send a smaller one or a "
            "link to it."
        ) % {
            "name": echo(str(params.get("name") or ctx._("This file")), 80),
            "size": ctx.t.number(Decimal(size) / 1_000_000) + " MB",
        }
    if reason == "too_many_files":
        count = int(limit) if isinstance(limit, int) else 0
        return ctx.t.ngettext(
            "A ticket can carry at most %(n)d file; this one is full.",
            "A ticket can carry at most %(n)d files; this one is full.",
            count,
        ) % {"n": count}
    if reason == "reopen_window":
        days = params.get("days")
        count = int(days) if isinstance(days, int) else 0
        return ctx.t.ngettext(
            "A closed ticket can be reopened up to %(n)d day after closing; please open a "
            "new request with /new.",
            "A closed ticket can be reopened up to %(n)d days after closing; please open a "
            "new request with /new.",
            count,
        ) % {"n": count}
    return ctx._("Write it as: /reopen REF what is still not working")


# --------------------------------------------------------------------------- lifecycle


def ticket_button(ctx: Context, verb: str, reference: str) -> None:
    """A button of a customer's notification: solved or not, or a rating."""
    actor = ctx.require_actor
    ticket = tickets.find_ticket(session=ctx.session, actor=actor, reference=reference)
    if verb == SOLVED:
        ticket = conversation.confirm_solved(
            session=ctx.session, actor=actor, ticket=ticket, now=ctx.now
        )
        ctx.outcome.ticket = ticket.reference
        ctx.say(Text(ctx._("Thank you. %(ref)s is closed.") % {"ref": ticket.reference}))
        ask_rating(ctx, ticket)
    elif verb == UNSOLVED:
        if ticket.status is not TicketStatus.RESOLVED:
            ctx.refuse(
                ctx._("%(ref)s is no longer waiting for your answer.") % {"ref": ticket.reference},
                RefusalReason.INVALID_STATE,
            )
            return
        draft = ctx.require_conversation
        reset(draft)
        draft.ticket_id = ticket.id
        move(ctx, State.REOPEN_REASON, remember=False)
        ask(ctx)
    elif verb.startswith(RATE) and verb.removeprefix(RATE).isdigit():
        _rated(ctx, ticket, int(verb.removeprefix(RATE)))
    else:
        ctx.refuse(
            ctx._("This choice has expired. Here is where we are now."), RefusalReason.EXPIRED
        )


def ask_rating(ctx: Context, ticket: Ticket) -> None:
    """The rating question: five buttons, from 1 (poor) to 5 (very satisfied)."""
    options = tuple(
        Option(
            label=str(n),
            payload=ticket_action_payload(f"{RATE}{n}", ticket.reference),
            kind=OptionKind.TICKET_ACTION,
        )
        for n in conversation.SCORES
    )
    text = ctx._("How satisfied are you with how it was handled? 1 (poor) to 5 (very).")
    ctx.say(Choices(text=text, options=options))


def _rated(ctx: Context, ticket: Ticket, score: int) -> None:
    conversation.rate(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, score=score, now=ctx.now
    )
    draft = ctx.require_conversation
    reset(draft)
    draft.ticket_id = ticket.id
    move(ctx, State.RATING_COMMENT, remember=False)
    ctx.say(Text(ctx._("Thank you for your rating (%(score)d/5).") % {"score": score}))
    ask(ctx)


def _draft_ticket(ctx: Context) -> Ticket:
    draft = ctx.require_conversation
    ticket = ctx.session.get(Ticket, draft.ticket_id) if draft.ticket_id else None
    assert ticket is not None
    return ticket


def _answer_reopen_reason(ctx: Context, value: str, chosen: bool) -> None:
    reason = value.strip()
    if chosen or len(reason) < 3:
        ctx.refuse(
            ctx._("Please say in a few words what is still not working."),
            RefusalReason.INVALID_ANSWER,
        )
        ask(ctx)
        return
    ticket = _draft_ticket(ctx)
    _reopen(ctx, ticket, reason)


def _reopen(ctx: Context, ticket: Ticket, reason: str) -> None:
    ticket = conversation.reopen(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        reason=reason,
        now=ctx.now,
        settings=ctx.settings,
    )
    reset(ctx.require_conversation)
    ctx.outcome.ticket = ticket.reference
    ctx.say(
        Text(
            ctx._("%(ref)s is reopened; the support team is told: %(reason)s")
            % {"ref": ticket.reference, "reason": echo(reason)}
        )
    )


def _answer_rating_comment(ctx: Context, value: str, chosen: bool) -> None:
    ticket = _draft_ticket(ctx)
    if chosen and value == SKIP:
        reset(ctx.require_conversation)
        ctx.say(Text(ctx._("Thank you.")))
        return
    if chosen or not value.strip():
        ctx.refuse(ctx._("Please choose one of the options."), RefusalReason.INVALID_ANSWER)
        ask(ctx)
        return
    conversation.rate_comment(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, comment=value
    )
    reset(ctx.require_conversation)
    ctx.say(Text(ctx._("Thank you, your comment is recorded.")))


# --------------------------------------------------------------------------- questions


def ask(ctx: Context) -> None:
    """Ask the current step's question again."""
    state = parse_state(ctx.require_conversation.state)
    if state is State.MESSAGE_TICKET:
        _ask_message_ticket(ctx)
    elif state is State.REOPEN_REASON:
        ticket = _draft_ticket(ctx)
        text = ctx._("What is still not working on %(ref)s? The ticket goes back to the team.")
        ctx.ask(Prompt(text=text % {"ref": ticket.reference}, options=ctx.nav_options(back=False)))
    elif state is State.RATING_COMMENT:
        text = ctx._("Would you like to add a comment? Write it, or skip.")
        options = (ctx.option(ctx._("Skip"), SKIP),)
        ctx.ask(Prompt(text=text, options=options))


def answer(ctx: Context, state: State, value: str, *, chosen: bool) -> None:
    """Answer the current step."""
    if state is State.MESSAGE_TICKET:
        _answer_message_ticket(ctx, value, chosen)
    elif state is State.REOPEN_REASON:
        _answer_reopen_reason(ctx, value, chosen)
    elif state is State.RATING_COMMENT:
        _answer_rating_comment(ctx, value, chosen)


# --------------------------------------------------------------------------- commands


def reopen_command(ctx: Context, argument: str) -> None:
    """/reopen REF reason: reopen a resolved ticket, or a closed one within the window."""
    reference, _sep, reason = argument.strip().partition(" ")
    if not reference or len(reason.strip()) < 3:
        ctx.refuse(
            ctx._("Write it as: /reopen REF what is still not working"),
            RefusalReason.INVALID_INPUT,
        )
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    _reopen(ctx, ticket, reason.strip())


def attach_command(ctx: Context, argument: str) -> None:
    """/attach REF [text]: the files sent with it join the ticket."""
    reference, _sep, text = argument.strip().partition(" ")
    files = files_of(ctx)
    if not reference or not files:
        ctx.refuse(
            ctx._(
                "Send a file with /attach REF as its caption (in the console: /attach REF "
                "followed by the file's path), or reply with the file to a message about "
                "the ticket."
            ),
            RefusalReason.INVALID_INPUT,
        )
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    add(ctx, ticket, text, files)


MAX_TERMS = 6


def search_command(ctx: Context, argument: str) -> None:
    """/search WORDS: my tickets whose reference, intervention, description or messages match."""
    words = [w for w in argument.lower().split() if len(w) >= 2][:MAX_TERMS]
    if not words:
        ctx.refuse(
            ctx._("Write it as: /search words (for example: /search mailbox)"),
            RefusalReason.INVALID_INPUT,
        )
        return
    terms = [SearchTerm(word=w, interventions=_interventions_named(ctx, w)) for w in words]
    found = conversation.search(session=ctx.session, actor=ctx.require_actor, terms=terms)
    if not found:
        ctx.say(
            Text(ctx._("None of your tickets matches “%(words)s”.") % {"words": echo(argument, 60)})
        )
        return
    lines = [ctx._("Your tickets matching “%(words)s”:") % {"words": echo(argument, 60)}]
    for ticket in found:
        _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
        lines.append("• " + short_line(ctx.t, ticket, pack))
    ctx.say(Text("\n".join(lines)))


def _interventions_named(ctx: Context, word: str) -> tuple[str, ...]:
    """Intervention ids of the customer's contracts whose label (any language) has `word`."""
    if ctx.tenant is None or ctx.tenant.id is None:
        return ()
    found: list[str] = []
    for contract in tenants.active_contracts(session=ctx.session, tenant_id=ctx.tenant.id):
        pack = tenants.pack_of(contract)
        for category in pack.categories:
            for item in category.interventions:
                labels = (item.labels.get(lang).lower() for lang in ("fr", "nl", "en"))
                if any(word in label for label in labels) and item.id not in found:
                    found.append(item.id)
    return tuple(found)
