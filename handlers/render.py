"""Shared wording: tickets as cards, quotes, balances, SLA countdowns."""

from __future__ import annotations

from babel.dates import format_date

from bot.clauses import clause_lines
from bot.db.models import Ticket, TicketStatus
from bot.i18n import Translator
from bot.services.ticket_sla import TicketClocks
from bot.sla.clock import ClockState, SlaClock
from bot.wording import (
    amount_text,
    due_text,
    intervention_label,
    kind_label,
    priority_label,
    zone_of,
)
from handlers.model import Option, TicketCard
from pricing.quotes import Quote
from pricing.schema import ContractPack, PriceRuleType
from pricing.terms import FeeQuote


def status_label(t: Translator, status: TicketStatus) -> str:
    """A ticket status in words."""
    _ = t.gettext
    return {
        TicketStatus.OPEN: _("open"),
        TicketStatus.RESPONDED: _("in progress"),
        TicketStatus.PAUSED: _("clock stopped"),
        TicketStatus.RESOLVED: _("resolved"),
        TicketStatus.CLOSED: _("closed"),
    }[status]


def clock_text(t: Translator, clock: SlaClock | None, zone: str) -> str:
    """A clock's state in words: due instant and countdown, met, missed, stopped."""
    _ = t.gettext
    if clock is None or clock.due_at is None:
        return _("no target")
    due = t.datetime(clock.due_at, zone)
    match clock.state:
        case ClockState.MET:
            return _("met (due %(due)s)") % {"due": due}
        case ClockState.BREACHED:
            return _("missed (was due %(due)s)") % {"due": due}
        case ClockState.PAUSED:
            return _("clock stopped (due %(due)s before the stop)") % {"due": due}
        case _:
            remaining = t.business_remaining(clock.remaining) if clock.remaining else ""
            return f"{due} — {remaining}" if remaining else due


def quote_text(t: Translator, quote: Quote, pack: ContractPack) -> str:
    """A quote in words: free, N credits, N credits per quarter hour (estimate), on request."""
    _ = t.gettext
    match quote.rule:
        case PriceRuleType.FREE:
            return _("free")
        case PriceRuleType.ON_REQUEST:
            return _("on request: the price is agreed with the provider before the work")
        case PriceRuleType.NOT_AVAILABLE:
            return _("not available at this priority")
        case PriceRuleType.PER_QUARTER_HOUR:
            assert quote.rate is not None
            assert quote.credits is not None
            return t.ngettext(
                "%(rate)s per started quarter hour; estimate %(total)s (%(quarters)s quarter hour)",
                "%(rate)s per started quarter hour; "
                "estimate %(total)s (%(quarters)s quarter hours)",
                quote.quarters or 1,
            ) % {
                "rate": amount_text(t, quote.rate, pack),
                "total": amount_text(t, quote.credits, pack),
                "quarters": quote.quarters,
            }
        case PriceRuleType.PER_UNIT:
            assert quote.rate is not None
            assert quote.credits is not None
            unit = next((u.labels.get(t.lang) for u in pack.units if u.id == quote.unit), "")
            return _("%(rate)s per %(unit)s; %(total)s for %(units)s × %(unit)s") % {
                "rate": amount_text(t, quote.rate, pack),
                "unit": unit,
                "total": amount_text(t, quote.credits, pack),
                "units": quote.units,
            }
        case _:
            assert quote.credits is not None
            return amount_text(t, quote.credits, pack)


def fee_text(t: Translator, fee: FeeQuote) -> str:
    """A one-off fee in words: free until a date, its amount, or the provider's price list."""
    if fee.amount == 0 and fee.free_until is not None:
        until = format_date(fee.free_until, format="long", locale=t.babel_locale)
        return t.gettext(
            "free: requested within the first week after activation (until %(date)s)"
        ) % {"date": until}
    if fee.amount is None:
        return t.gettext("one-off fee from the provider's price list, agreed before the work")
    return t.gettext("one-off fee of %(amount)s, invoiced by the provider") % {
        "amount": t.euros(fee.amount)
    }


def ticket_card(
    *,
    t: Translator,
    ticket: Ticket,
    pack: ContractPack,
    clocks: TicketClocks | None,
    cost: str | None = None,
    actions: tuple[Option, ...] = (),
) -> TicketCard:
    """A ticket as a card: reference, intervention, priority, status, due instants, cost."""
    _ = t.gettext
    zone = zone_of(pack)
    fields: list[tuple[str, str]] = [
        (_("Intervention"), intervention_label(pack, ticket.intervention_id, t.lang)),
        (_("Kind"), kind_label(pack, ticket.kind, t.lang)),
        (_("Priority"), priority_label(pack, ticket.priority, t.lang)),
        (_("Status"), status_label(t, ticket.status)),
        (_("Logged"), t.datetime(ticket.logged_at, zone)),
    ]
    if clocks is not None:
        fields.append((_("Response due"), clock_text(t, clocks.response, zone)))
        fields.append((_("Resolution due"), clock_text(t, clocks.resolution, zone)))
    else:
        fields.append((_("Response due"), due_text(t, ticket.response_due, zone)))
        fields.append((_("Resolution due"), due_text(t, ticket.resolution_due, zone)))
    if cost is not None:
        fields.append((_("Cost"), cost))
    notes = clause_lines(
        t=t, pack=pack, where="card", intervention_id=ticket.intervention_id, kind=ticket.kind
    )
    return TicketCard(
        title=_("Ticket %(ref)s") % {"ref": ticket.reference},
        fields=tuple(fields),
        actions=actions,
        footer="\n".join(notes) or None,
    )


def short_line(t: Translator, ticket: Ticket, pack: ContractPack) -> str:
    """One line per ticket in a list."""
    zone = zone_of(pack)
    due = ticket.resolution_due or ticket.response_due
    due_part = t.gettext("due %(due)s") % {"due": t.datetime(due, zone)} if due else ""
    return " · ".join(
        part
        for part in (
            ticket.reference,
            intervention_label(pack, ticket.intervention_id, t.lang),
            priority_label(pack, ticket.priority, t.lang),
            status_label(t, ticket.status),
            due_part,
        )
        if part
    )
