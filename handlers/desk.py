"""The agent's desk: the staff ticket card (everything an agent needs) and the queue lines.

Computed here, from the services; channels only render the card and the text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.db.models import ChannelIdentity, Contract, Tenant, Ticket, TicketEvent, User
from bot.i18n import Translator
from bot.services import billing, tickets
from bot.services.actions import ticket_actions
from bot.services.notify.escalation import level_label
from bot.services.notify.templates import action_label
from bot.services.ticket_sla import TicketClocks, ticket_clocks
from bot.sla.clock import ClockState, SlaClock
from bot.wording import (
    amount_text,
    contract_title,
    cost_sentence,
    intervention_label,
    kind_label,
    priority_label,
    zone_of,
)
from handlers.model import Option, OptionKind, Reply, Text, TicketCard, ticket_action_payload
from handlers.render import quote_text, status_label
from pricing.loader import find_intervention
from pricing.quotes import charge_for
from pricing.schema import ContractPack, PriceRuleType

DESCRIPTION_LIMIT = 400
DETAIL_LIMIT = 200
TIMELINE_LIMIT = 200
EVENTS_SHOWN = 30
ELLIPSIS = "…"


def cut(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters with a visible "…" (and whether it was cut)."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + ELLIPSIS, True


def target_text(t: Translator, clock: SlaClock | None, zone: str) -> str:
    """A target's state: met, due at … with business time left, breached, or paused."""
    _ = t.gettext
    if clock is None:
        return _("no target")
    if clock.state is ClockState.PAUSED:
        left = t.duration(clock.remaining) if clock.remaining is not None else ""
        return _("paused, %(left)s left when resumed") % {"left": left}
    if clock.due_at is None:
        return _("no target")
    due = t.datetime(clock.due_at, zone)
    if clock.state is ClockState.MET:
        return _("met (due %(due)s)") % {"due": due}
    if clock.state is ClockState.BREACHED:
        return _("breached (was due %(due)s)") % {"due": due}
    if clock.remaining:
        return _("due %(due)s, %(left)s of business time left") % {
            "due": due,
            "left": t.duration(clock.remaining),
        }
    return _("due %(due)s") % {"due": due}


def _name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = session.get(User, user_id)
    return "" if user is None else user.display_name


def _requester(session: Session, t: Translator, ticket: Ticket) -> str:
    user = session.get(User, ticket.requester_id)
    if user is None:
        return "?"
    query = (
        select(ChannelIdentity.channel)
        .where(ChannelIdentity.user_id == user.id)
        .order_by(col(ChannelIdentity.id))
    )
    channels = sorted(set(session.exec(query).all()))
    where = ", ".join(channels) if channels else t.gettext("no channel linked")
    return f"{user.display_name} ({where})"


def cost_so_far(*, session: Session, t: Translator, ticket: Ticket, pack: ContractPack) -> str:
    """Recorded time and what it comes to at the contract's price (or what was settled)."""
    spent = billing.ticket_cost(session=session, ticket=ticket)
    if spent.settled:
        return cost_sentence(t, pack, charged=spent.charged, waived=spent.waived, staff=True)
    minutes = tickets.recorded_minutes(session=session, ticket=ticket)
    if not minutes:
        estimate = quote_text(t, billing.ticket_quote(pack=pack, ticket=ticket), pack)
        return t.gettext("no time recorded yet; quote: %(quote)s") % {"quote": estimate}
    price = charge_for(
        pack=pack,
        intervention_id=ticket.intervention_id,
        priority=ticket.priority,
        recorded_minutes=minutes,
        units=ticket.units,
    )
    if price.rule is PriceRuleType.ON_REQUEST:
        amount = t.gettext("price on request")
    else:
        amount = amount_text(t, price.credits or Decimal(0), pack)
    return t.gettext("%(time)s recorded: %(amount)s at the contract's price") % {
        "time": t.duration(timedelta(minutes=minutes)),
        "amount": amount,
    }


def staff_card(
    *,
    session: Session,
    t: Translator,
    ticket: Ticket,
    now: datetime,
    full: bool = False,
    clocks: TicketClocks | None = None,
) -> list[Reply]:
    """The agent's card of a ticket, then its timeline (long texts cut unless `full`)."""
    _ = t.gettext
    contract = session.get(Contract, ticket.contract_id)
    assert contract is not None
    _contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
    tenant = session.get(Tenant, ticket.tenant_id)
    zone = zone_of(pack)
    clocks = clocks or ticket_clocks(session=session, ticket=ticket, now=now)
    category, _item = find_intervention(pack, ticket.intervention_id)
    cut_any = False
    fields: list[tuple[str, str]] = [
        (_("Customer"), tenant.name if tenant is not None else "?"),
        (_("Requester"), _requester(session, t, ticket)),
    ]
    if ticket.created_by_id is not None:
        fields.append((_("Logged by"), _name(session, ticket.created_by_id)))
    contract_name = contract_title(contract.label, pack, t.lang)
    fields.append((_("Contract"), f"{pack.provider} — {contract_name}"))
    if contract.service_level:
        level = next(
            (
                lv.labels.get(t.lang)
                for lv in pack.service_levels
                if lv.id == contract.service_level
            ),
            contract.service_level,
        )
        fields.append((_("Service level"), level))
    fields += [
        (
            _("Intervention"),
            f"{category.labels.get(t.lang)} › "
            f"{intervention_label(pack, ticket.intervention_id, t.lang)}",
        ),
        (_("Kind"), kind_label(pack, ticket.kind, t.lang)),
        (_("Priority"), priority_label(pack, ticket.priority, t.lang)),
        (_("Status"), status_label(t, ticket.status)),
        *_escalation_field(t, pack, ticket),
        (_("Owner"), _name(session, ticket.owner_id) or _("unassigned")),
        (_("Logged"), t.datetime(ticket.logged_at, zone)),
        (_("Response"), target_text(t, clocks.response, zone)),
        (_("Resolution"), target_text(t, clocks.resolution, zone)),
        (_("Cost so far"), cost_so_far(session=session, t=t, ticket=ticket, pack=pack)),
    ]
    description = ticket.description or _("(none)")
    if not full:
        description, was_cut = cut(description, DESCRIPTION_LIMIT)
        cut_any |= was_cut
    fields.append((_("Description"), description))
    labels = {d.id: d.labels.get(t.lang) for d in pack.intake.details}
    for key, value in ticket.details.items():
        text = str(value)
        if not full:
            text, was_cut = cut(text, DETAIL_LIMIT)
            cut_any |= was_cut
        fields.append((labels.get(key, key), text))
    lines = [_("Timeline:")]
    events = tickets.events_of(session=session, ticket=ticket, internal=True)
    shown = events if full else events[-EVENTS_SHOWN:]
    if len(shown) < len(events):
        lines.append(
            "• "
            + _("%(n)s earlier events not shown") % {"n": len(events) - len(shown)}
            + f" {ELLIPSIS}"
        )
        cut_any = True
    for event in shown:
        line, was_cut = timeline_line(
            session=session, t=t, pack=pack, event=event, zone=zone, full=full
        )
        cut_any |= was_cut
        lines.append("• " + line)
    footer = None
    if cut_any:
        footer = _("Some texts are cut (…): the full card is /ticket %(ref)s full") % {
            "ref": ticket.reference
        }
    actions = tuple(
        Option(
            label=action_label(t, verb),
            payload=ticket_action_payload(verb, ticket.reference),
            kind=OptionKind.TICKET_ACTION,
        )
        for verb in ticket_actions(ticket)
    )
    card = TicketCard(
        title=_("Ticket %(ref)s") % {"ref": ticket.reference},
        fields=tuple(fields),
        actions=actions,
        footer=footer,
    )
    return [card, Text("\n".join(lines))]


def _escalation_field(t: Translator, pack: ContractPack, ticket: Ticket) -> list[tuple[str, str]]:
    """The escalation level reached, when one was requested."""
    level = next((lv for lv in pack.escalation.levels if lv.level == ticket.escalation_level), None)
    if not ticket.escalation_level or level is None:
        return []
    return [(t.gettext("Escalation"), level.labels.get(t.lang))]


def _change_words(t: Translator, pack: ContractPack, key: str, value: object) -> str:
    if key == "priority":
        return priority_label(pack, str(value), t.lang)
    if key == "intervention":
        return intervention_label(pack, str(value), t.lang)
    if key == "kind":
        return kind_label(pack, str(value), t.lang)
    return str(value)


def timeline_line(
    *,
    session: Session,
    t: Translator,
    pack: ContractPack,
    event: TicketEvent,
    zone: str,
    full: bool,
) -> tuple[str, bool]:
    """One timeline entry: when, what (with from → to), who, why; and whether it was cut."""
    _ = t.gettext
    what = event_words(t, event.type)
    changes = event.changes or {}
    if event.type == "reclassified":
        parts = [
            f"{_change_words(t, pack, key, pair[0])} → {_change_words(t, pack, key, pair[1])}"
            for key, pair in changes.items()
            if isinstance(pair, list) and len(pair) == 2
        ]
        if parts:
            what += ": " + "; ".join(parts)
    elif event.type in ("assigned", "responded") and "owner" in changes:
        pair = changes["owner"]
        new_owner = _name(session, pair[1]) if isinstance(pair, list) and pair[1] else ""
        if new_owner:
            what += " — " + _("owner: %(name)s") % {"name": new_owner}
    elif event.type == "breached":
        target = changes.get("target")
        if target == "response":
            what = _("response target breached")
        elif target == "resolution":
            what = _("resolution target breached")
    elif event.type == "escalated":
        level = next(
            (lv for lv in pack.escalation.levels if lv.level == changes.get("level")), None
        )
        if level is not None:
            what += " — " + level_label(t=t, level=level, on_call=bool(changes.get("on_call")))
        if changes.get("general"):
            what += " — " + _("general outage")
    elif event.type == "resolved":
        charged = Decimal(str(changes.get("charged") or "0"))
        waived = Decimal(str(changes.get("waived") or "0"))
        if waived > 0:
            what += " — " + _("%(amount)s waived") % {"amount": amount_text(t, waived, pack)}
        elif charged > 0:
            what += " — " + _("%(amount)s charged") % {"amount": amount_text(t, charged, pack)}
        overrun = int(str(changes.get("gtr_overrun_minutes") or "0"))
        if overrun > 0:
            what += " — " + _("GTR exceeded by %(duration)s") % {
                "duration": t.duration(timedelta(minutes=overrun))
            }
    was_cut = False
    if event.reason:
        reason = event.reason
        if not full:
            reason, was_cut = cut(reason, TIMELINE_LIMIT)
        what += f" — {reason}"
    if event.minutes:
        what += " — " + t.duration(timedelta(minutes=event.minutes))
    who = _name(session, event.actor_id)
    line = t.datetime(event.at, zone) + " · " + what
    if who:
        line += " · " + _("by %(name)s") % {"name": who}
    return line, was_cut


def event_words(t: Translator, kind: str) -> str:
    """A timeline event in words."""
    _ = t.gettext
    return {
        "opened": _("opened"),
        "responded": _("acknowledged"),
        "reclassified": _("reclassified"),
        "paused": _("clock stopped"),
        "resumed": _("clock restarted"),
        "time": _("work time recorded"),
        "resolved": _("resolved"),
        "closed": _("closed"),
        "comment": _("message"),
        "note": _("internal note"),
        "assigned": _("assigned"),
        "breached": _("target breached"),
        "escalated": _("escalated"),
    }.get(kind, kind)


def queue_line(
    *, session: Session, t: Translator, ticket: Ticket, pack: ContractPack, now: datetime
) -> str:
    """One queue line: reference, customer, priority, owner, age, next target and its due."""
    _ = t.gettext
    tenant = session.get(Tenant, ticket.tenant_id)
    zone = zone_of(pack)
    if ticket.responded_at is None and ticket.response_due is not None:
        target = _("response %(due)s") % {"due": t.datetime(ticket.response_due, zone)}
    elif ticket.resolution_due is not None:
        target = _("resolution %(due)s") % {"due": t.datetime(ticket.resolution_due, zone)}
    else:
        target = _("no pending target")
    if ticket.response_breached or ticket.resolution_breached:
        target += " ⚠ " + _("breached")
    age = t.duration(max(now - ticket.logged_at, timedelta(0)))
    return " · ".join(
        (
            ticket.reference,
            tenant.name if tenant is not None else "?",
            priority_label(pack, ticket.priority, t.lang),
            _name(session, ticket.owner_id) or _("unassigned"),
            _("age %(age)s") % {"age": age},
            target,
        )
    )
