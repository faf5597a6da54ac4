"""Agent commands on change requests: /accept REF and /refuse REF reason (Proximus 002)."""

from __future__ import annotations

from bot.db.models import Ticket
from bot.services import changes, tickets
from handlers.context import Context
from handlers.model import RefusalReason


def accept_command(ctx: Context, argument: str) -> None:
    """/accept REF: accept a change request; the customer is told."""
    ticket = _change_ticket(ctx, argument, "/accept REF")
    if ticket is None:
        return
    changes.decide(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, accept=True, now=ctx.now
    )
    text = ctx._("%(ref)s: change request accepted; the customer is told.")
    ctx.acted("accept", ticket, text % {"ref": ticket.reference})


def refuse_command(ctx: Context, argument: str) -> None:
    """/refuse REF reason: refuse a change request with its reason; the customer is told."""
    usage = "/refuse REF " + ctx._("reason")
    ticket = _change_ticket(ctx, argument, usage)
    if ticket is None:
        return
    reason = argument.strip().partition(" ")[2].strip()
    if len(reason) < 3:
        text = ctx._("A refusal needs its reason, which the customer reads: %(usage)s")
        ctx.refuse(text % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return
    changes.decide(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        accept=False,
        reason=reason[:500],
        now=ctx.now,
    )
    text = ctx._("%(ref)s: change request refused; the customer is told why.")
    ctx.acted("refuse", ticket, text % {"ref": ticket.reference})


def _change_ticket(ctx: Context, argument: str, usage: str) -> Ticket | None:
    """The open, undecided change ticket named in `argument`, or None after saying why not."""
    reference = argument.strip().partition(" ")[0]
    if not reference:
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return None
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    if not pack.desk_decides_changes:
        text = ctx._("%(ref)s: this contract has no change acceptance by the desk.")
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return None
    if ticket.kind != "change":
        text = ctx._("%(ref)s is not a change request.")
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return None
    decided = changes.decision_of(session=ctx.session, ticket=ticket)
    if decided is not None:
        text = (
            ctx._("%(ref)s: the change request is already accepted.")
            if decided == changes.ACCEPTED
            else ctx._("%(ref)s: the change request is already refused.")
        )
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return None
    return ticket
