"""Requests on quote: the agent's /quote REF amount text, the customer's Accept / Decline."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.services import ticket_quotes, tickets
from bot.wording import amount_text
from handlers.context import Context
from handlers.model import RefusalReason, Text
from pricing.loader import find_intervention

_AMOUNT = re.compile(
    r"^(?P<n>\d{1,7}(?:[.,]\d{1,2})?)\s*"
    r"(?P<u>€|eur|euros?|credits?|crédits?|h|hours?|heures?|uur)?\s+(?P<text>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_EUROS = {"€", "eur", "euro", "euros"}
_HOURS = {"h", "hour", "hours", "heure", "heures", "uur"}


def quote_command(ctx: Context, argument: str) -> None:
    """/quote REF amount text: propose the price of a request on quote (credits, hours or €)."""
    usage = "/quote REF 12 " + ctx._("text")
    reference, _sep, rest = argument.strip().partition(" ")
    match = _AMOUNT.match(rest.strip())
    if not reference or match is None:
        text = ctx._("Write it as: %(usage)s (an amount in the contract's unit, or in €).")
        ctx.refuse(text % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    _category, item = find_intervention(pack, ticket.intervention_id)
    if item.routine:
        text = ctx._("%(ref)s is priced by the contract, not on quote.")
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return
    if ticket.quote_status == ticket_quotes.ACCEPTED:
        text = ctx._("%(ref)s: the customer already accepted a quote.")
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return
    word = (match["u"] or "").lower()
    balance_unit = pack.balance.unit.value
    unit = "eur" if word in _EUROS else balance_unit
    if (word in _HOURS) != (unit == "hours") and word:
        text = ctx._("This contract counts in %(unit)s: give the amount in it, or in €.")
        words = ctx._("hours") if balance_unit == "hours" else ctx._("service credits")
        ctx.refuse(text % {"unit": words}, RefusalReason.INVALID_INPUT)
        return
    try:
        amount = Decimal(match["n"].replace(",", "."))
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        ctx.refuse(ctx._("A quote must be a positive amount."), RefusalReason.INVALID_INPUT)
        return
    ticket_quotes.propose(
        session=ctx.session,
        actor=ctx.require_actor,
        ticket=ticket,
        amount=amount,
        unit=unit,
        text=match["text"],
        now=ctx.now,
    )
    shown = ctx.t.euros(amount) if unit == "eur" else amount_text(ctx.t, amount, pack)
    text = ctx._("%(ref)s: quote of %(amount)s sent; the customer accepts or declines it.")
    ctx.acted("quote", ticket, text % {"ref": ticket.reference, "amount": shown})


def answer_button(ctx: Context, verb: str, reference: str) -> None:
    """The customer's Accept / Decline under a quote."""
    ticket = tickets.find_ticket(session=ctx.session, actor=ctx.require_actor, reference=reference)
    if ticket.quote_status != ticket_quotes.PROPOSED:
        text = ctx._("%(ref)s: this quote is already answered.")
        ctx.refuse(text % {"ref": ticket.reference}, RefusalReason.INVALID_STATE)
        return
    accept = verb == "quote-yes"
    ticket_quotes.answer(
        session=ctx.session, actor=ctx.require_actor, ticket=ticket, accept=accept, now=ctx.now
    )
    text = (
        ctx._("%(ref)s: quote accepted. The support team starts the work.")
        if accept
        else ctx._("%(ref)s: quote declined. Nothing is charged; the support team is told.")
    )
    ctx.say(Text(text % {"ref": ticket.reference}))
    ctx.outcome.ticket = ticket.reference
