"""What the intake shows before the customer commits: prices, targets and due instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.i18n import Translator
from bot.sla.calendar import BusinessCalendar
from bot.sla.clock import NoTargetEntryError, ResolvedTarget, targets_for
from bot.sla.rules import due_for
from bot.wording import amount_text
from pricing.schema import (
    BusinessDays24hRule,
    BusinessHoursRule,
    CalendarDurationRule,
    ContractPack,
    EndOfNthBusinessDayRule,
    Intervention,
    NextBusinessDayRule,
    PriceRule,
    PriceRuleType,
    SameDayRule,
)
from pricing.terms import ContractTerms


def _count(value: Decimal) -> int:
    """The plural form's count of a possibly fractional amount (1.5 h reads as plural)."""
    return int(value) if value == value.to_integral_value() else 2


def rule_words(t: Translator, target: ResolvedTarget | None) -> str:
    """A target in words, e.g. "4 business hours"; no target reads "no guaranteed time"."""
    rule = None if target is None else target.rule
    if isinstance(rule, BusinessHoursRule):
        return t.ngettext("%(n)s business hour", "%(n)s business hours", _count(rule.hours)) % {
            "n": t.number(rule.hours)
        }
    if isinstance(rule, BusinessDays24hRule):
        return t.ngettext("%(n)s business day", "%(n)s business days", rule.days) % {"n": rule.days}
    if isinstance(rule, EndOfNthBusinessDayRule):
        return t.ngettext(
            "the end of the next business day",
            "the end of business day %(n)s",
            rule.days,
        ) % {"n": rule.days}
    if isinstance(rule, NextBusinessDayRule):
        return t.gettext("the next business day")
    if isinstance(rule, SameDayRule):
        return t.gettext("the same business day")
    if isinstance(rule, CalendarDurationRule):
        return t.ngettext("%(n)s hour", "%(n)s hours", _count(rule.hours)) % {
            "n": t.number(rule.hours)
        }
    return t.gettext("no guaranteed time")


def price_words(t: Translator, rule: PriceRule, pack: ContractPack) -> str:
    """A price rule in words, e.g. "3 credits / quarter hour"."""
    match rule.rule:
        case PriceRuleType.FREE:
            return t.gettext("free")
        case PriceRuleType.PER_QUARTER_HOUR:
            assert rule.credits is not None
            return t.gettext("%(amount)s / quarter hour") % {
                "amount": amount_text(t, rule.credits, pack)
            }
        case PriceRuleType.PER_UNIT:
            assert rule.credits is not None
            unit = next((u.labels.get(t.lang) for u in pack.units if u.id == rule.unit), "")
            return t.gettext("%(amount)s per %(unit)s") % {
                "amount": amount_text(t, rule.credits, pack),
                "unit": unit,
            }
        case PriceRuleType.ON_REQUEST:
            return t.gettext("price on quote")
        case PriceRuleType.NOT_AVAILABLE:
            return t.gettext("not available")
        case _:
            assert rule.credits is not None
            return amount_text(t, rule.credits, pack)


def _targets(
    pack: ContractPack, terms: ContractTerms, item: Intervention, kind: str, priority: str
) -> tuple[ResolvedTarget | None, ResolvedTarget | None]:
    try:
        found = targets_for(
            pack,
            kind=kind,
            priority=priority,
            service_level=terms.service_level,
            intervention=item,
            terms=terms,
        )
    except NoTargetEntryError:
        return None, None
    return found.response, found.resolution


def priority_line(
    t: Translator,
    *,
    pack: ContractPack,
    terms: ContractTerms,
    item: Intervention,
    kind: str,
    priority: str,
) -> str:
    """ "Express — 3 credits / quarter hour — response within 4 business hours, resolution …"."""
    label = next(p.labels.get(t.lang) for p in pack.priorities if p.id == priority)
    price = price_words(t, item.prices[priority], pack)
    response, resolution = _targets(pack, terms, item, kind, priority)
    targets = t.gettext("response: %(response)s, resolution: %(resolution)s") % {
        "response": rule_words(t, response),
        "resolution": rule_words(t, resolution),
    }
    return f"{label} — {price} — {targets}"


@dataclass(frozen=True, slots=True)
class Due:
    """A due instant and the closed days between now and it, for the summary."""

    at: datetime
    holidays: tuple[str, ...]
    weekend: bool


def _due(target: ResolvedTarget | None, now: datetime, t: Translator) -> Due | None:
    if target is None:
        return None
    at = due_for(rule=target.rule, calendar=target.calendar, logged_at=now)
    if at is None:
        return None
    calendar: BusinessCalendar | None = target.calendar
    if calendar is None:
        return Due(at=at, holidays=(), weekend=False)
    zone = calendar.zone
    first: date = now.astimezone(zone).date()
    last: date = at.astimezone(zone).date()
    holidays: list[str] = []
    weekend = False
    day = first
    while day <= last:
        name = calendar.holiday(day, language=t.lang)
        if name is not None:
            holidays.append(name)
        elif day.weekday() >= 5 and not calendar.business_day(day):
            weekend = True
        day += timedelta(days=1)
    return Due(at=at, holidays=tuple(dict.fromkeys(holidays)), weekend=weekend)


def due_lines(
    t: Translator,
    *,
    pack: ContractPack,
    terms: ContractTerms,
    item: Intervention,
    kind: str,
    priority: str,
    now: datetime,
    zone: str,
) -> list[str]:
    """The summary's due instants, each naming the holidays and weekend that pushed it."""
    response, resolution = _targets(pack, terms, item, kind, priority)
    lines = []
    for target, label in (
        (response, t.gettext("Response before %(due)s")),
        (resolution, t.gettext("Resolution before %(due)s")),
    ):
        due = _due(target, now, t)
        if due is None:
            empty = (
                t.gettext("Response: %(none)s")
                if target is response
                else t.gettext("Resolution: %(none)s")
            )
            lines.append(empty % {"none": t.gettext("no guaranteed time")})
            continue
        text = label % {"due": t.datetime(due.at, zone)}
        pushed = _pushed(t, due)
        lines.append(f"{text} — {pushed}" if pushed else text)
    return lines


def _pushed(t: Translator, due: Due) -> str:
    names = ", ".join(due.holidays)
    if due.holidays and due.weekend:
        return t.gettext("%(holidays)s and the weekend do not count") % {"holidays": names}
    if due.holidays:
        return t.ngettext(
            "%(holidays)s does not count", "%(holidays)s do not count", len(due.holidays)
        ) % {"holidays": names}
    if due.weekend:
        return t.gettext("the weekend does not count")
    return ""
