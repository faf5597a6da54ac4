"""/escalate REF [general]: one escalation level up, or a general outage to its level (002)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.services import escalation, tickets
from bot.services.notify.escalation import contact_text, level_label
from handlers.context import Context
from handlers.model import RefusalReason
from pricing.schema import ContractPack
from pricing.terms import pack_zone

#: The word that marks a general outage (staff only), in each language.
GENERAL_WORDS = frozenset({"general", "générale", "generale", "algemeen", "algemene"})


def escalate_command(ctx: Context, argument: str) -> None:
    """/escalate REF [general]: ask for the next escalation level; everyone is told."""
    reference, _sep, rest = argument.strip().partition(" ")
    if not reference:
        usage = "/escalate REF"
        ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": usage}, RefusalReason.INVALID_INPUT)
        return
    general = rest.strip().lower() in GENERAL_WORDS
    if rest.strip() and not general:
        text = ctx._("Write it as: %(usage)s") % {"usage": "/escalate REF [general]"}
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    actor = ctx.require_actor
    ticket = tickets.find_ticket(session=ctx.session, actor=actor, reference=reference)
    if general and not actor.is_staff:
        text = ctx._("Only the support team declares a general outage.")
        ctx.refuse(text, RefusalReason.ACCESS_DENIED)
        return
    _contract, pack = tickets.contract_and_pack(session=ctx.session, ticket=ticket)
    try:
        step = escalation.escalate(
            session=ctx.session, actor=actor, ticket=ticket, now=ctx.now, general=general
        )
    except escalation.EscalationRefusedError as exc:
        ctx.refuse(_refusal(ctx, pack, ticket.reference, exc), RefusalReason.INVALID_STATE)
        return
    values = {
        "ref": step.ticket.reference,
        "level": level_label(t=ctx.t, level=step.level, on_call=step.on_call),
    }
    summary = (
        ctx._("%(ref)s: general outage, escalated to %(level)s.")
        if step.general
        else ctx._("%(ref)s escalated to %(level)s.")
    ) % values
    if not actor.is_staff:
        contact = contact_text(t=ctx.t, pack=pack, priority=step.ticket.priority)
        summary = f"{summary} {contact}".strip()
    ctx.acted("escalate", step.ticket, summary)


def _refusal(
    ctx: Context, pack: ContractPack, reference: str, exc: escalation.EscalationRefusedError
) -> str:
    reason = exc.params.get("reason")
    values = {"ref": reference, "level": exc.params.get("level", "")}
    if reason == "top":
        return ctx._("%(ref)s is already at the highest escalation level.") % values
    if reason == "already":
        return ctx._("%(ref)s is already at or above the general-outage level.") % values
    if reason == "office_hours":
        opening = str(exc.params.get("opening") or "")
        if opening:
            values["opening"] = format_datetime(
                datetime.fromisoformat(opening),
                "EEEE d MMMM HH:mm",
                tzinfo=ZoneInfo(pack_zone(pack)),
                locale=ctx.t.babel_locale,
            )
            return (
                ctx._(
                    "%(ref)s: escalation level %(level)s exists only in office hours; the "
                    "on-call level already holds your ticket. Ask again from %(opening)s."
                )
                % values
            )
        return ctx._("%(ref)s: escalation level %(level)s exists only in office hours.") % values
    return ctx._("%(ref)s: the contract provides no escalation for this ticket.") % values
