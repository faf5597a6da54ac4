"""The escalation ladder and its sentences: the level reached (staff), how to escalate."""

from __future__ import annotations

from bot.channels.sending import Audience
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services.notify.facts import TicketFacts
from pricing.schema import ContractPack, EscalationLevel

#: Customer events that say escalation exists (the opening of a P1/P2, a change to one).
ANNOUNCING_EVENTS = frozenset({"opened", "priority_changed", "reclassified"})


def escalation_ladder(pack: ContractPack, priority: str) -> list[EscalationLevel]:
    """The contract's escalation levels for a priority, lowest first (empty when none).

    Only levels that name their priorities form a contractual ladder (Proximus: levels 0-5
    for P1 and P2); a pack whose levels name none routes its pings by `escalation.at_risk`
    and `escalation.breach` alone.
    """
    levels = sorted(pack.escalation.levels, key=lambda level: level.level)
    return [level for level in levels if priority in level.applies_to_priorities]


def escalable(pack: ContractPack, ticket: TicketFacts) -> bool:
    """Whether the ticket's kind and priority may be escalated under its contract."""
    kinds = pack.escalation.kinds
    return (not kinds or ticket.kind in kinds) and bool(escalation_ladder(pack, ticket.priority))


def level_label(*, t: Translator, level: EscalationLevel, on_call: bool) -> str:
    """A level's role in the reader's language (its on-call role outside office hours)."""
    if on_call and level.on_call is not None:
        return f"{level.labels.get(t.lang)} — {level.on_call.get(t.lang)}"
    return level.labels.get(t.lang)


def contact_text(*, t: Translator, pack: ContractPack, priority: str) -> str:
    """How the customer reaches the escalation levels, in the reader's language."""
    if pack.escalation.contact is not None:
        return pack.escalation.contact.get(t.lang)
    numbers = phone_numbers(pack, priority)
    phone = numbers.get(t.lang) or next(iter(numbers.values()), "")
    if not phone:
        return ""
    return t.gettext("Call the Service Desk on %(phone)s.") % {"phone": phone}


def _level(pack: ContractPack, params: dict[str, str]) -> EscalationLevel | None:
    wanted = parse_int(params.get("escalation_level") or "", low=0, high=99)
    if wanted is None:
        return None
    return next((lv for lv in pack.escalation.levels if lv.level == wanted), None)


def escalation_text(
    *, t: Translator, pack: ContractPack, ticket: TicketFacts, event: str, params: dict[str, str]
) -> str:
    """The escalation sentence: the level reached (staff), or how to escalate (customer)."""
    _ = t.gettext
    level = _level(pack, params)
    on_call = bool(params.get("on_call"))
    if params.get("audience") == Audience.CUSTOMER:
        if event == "escalated" and level is not None:
            values = {
                "ref": ticket.reference,
                "level": level_label(t=t, level=level, on_call=on_call),
            }
            if params.get("general"):
                return (
                    _(
                        "Ticket %(ref)s: a general outage affecting several customers; the "
                        "support team escalated it to %(level)s."
                    )
                    % values
                )
            if params.get("by_staff"):
                return _("Ticket %(ref)s is escalated to %(level)s by the support team.") % values
            text = _("Ticket %(ref)s is escalated to %(level)s.") % values
            contact = contact_text(t=t, pack=pack, priority=ticket.priority)
            return f"{text} {contact}".strip()
        if event in ANNOUNCING_EVENTS and escalable(pack, ticket):
            text = _(
                "If the incident does not progress, you may ask for escalation, one level at "
                "a time: /escalate %(ref)s."
            ) % {"ref": ticket.reference}
            contact = contact_text(t=t, pack=pack, priority=ticket.priority)
            return f"{text} {contact}".strip()
        if event != "breached" or not params.get("escalation_phone"):
            return ""
        numbers = phone_numbers(pack, ticket.priority)
        phone = numbers.get(t.lang) or next(iter(numbers.values()), "")
        if not phone:
            return ""
        return _("You can escalate this incident by phone: call the Service Desk on %(phone)s.") % {
            "phone": phone
        }
    if level is None:
        return ""
    if event == "escalated":
        return _("Ticket %(ref)s escalated to %(level)s by %(by)s.") % {
            "ref": ticket.reference,
            "level": level_label(t=t, level=level, on_call=on_call),
            "by": params.get("by", ""),
        }
    values = {"label": level.labels.get(t.lang), "hours": ""}
    if level.hours is not None:
        values["hours"] = level.hours.get(t.lang)
        return _("Escalation: %(label)s (%(hours)s).") % values
    return _("Escalation: %(label)s.") % values


def phone_numbers(pack: ContractPack, priority: str) -> dict[str, str]:
    """The Service Desk numbers by language for a priority (the pack's phone notice)."""
    phones = pack.intake.phone_required
    chosen = next((p for p in phones if p.priority == priority), phones[0] if phones else None)
    return dict(chosen.numbers) if chosen is not None else {}
