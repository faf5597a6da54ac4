"""The escalation ladder and its sentences: the rung reached (staff), how to escalate (customer)."""

from __future__ import annotations

from bot.channels.sending import Audience
from bot.i18n import Translator
from bot.numbers import parse_int
from pricing.schema import ContractPack, EscalationLevel


def escalation_ladder(pack: ContractPack, priority: str) -> list[EscalationLevel]:
    """The contract's escalation rungs for a priority, lowest first (empty when none).

    Only rungs that name their priorities form a contractual ladder (Proximus: levels 0-5
    for P1 and P2); a pack whose rungs name none routes its pings by `escalation.at_risk`
    and `escalation.breach` alone.
    """
    levels = sorted(pack.escalation.levels, key=lambda level: level.level)
    return [level for level in levels if priority in level.applies_to_priorities]


def escalation_text(
    *, t: Translator, pack: ContractPack, priority: str, event: str, params: dict[str, str]
) -> str:
    """The escalation sentence: the rung reached (staff), or how to escalate (customer)."""
    _ = t.gettext
    if params.get("audience") == Audience.CUSTOMER:
        if event != "breached" or not params.get("escalation_phone"):
            return ""
        numbers = phone_numbers(pack, priority)
        phone = numbers.get(t.lang) or next(iter(numbers.values()), "")
        if not phone:
            return ""
        return _("You can escalate this incident by phone: call the Service Desk on %(phone)s.") % {
            "phone": phone
        }
    wanted = parse_int(params.get("escalation_level") or "", low=0, high=99)
    if wanted is None:
        return ""
    level = next((lv for lv in pack.escalation.levels if lv.level == wanted), None)
    if level is None:
        return ""
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
