"""Prices of catalog interventions: a quote before the work, a charge after it.

A quote turns a pack's price rule for (intervention, priority) into an amount in the pack's
balance unit. Per-quarter-hour prices count every *started* quarter hour, with a minimum of
one (interpretation 8): before the work the customer's estimate is used and the quote says
it is an estimate; after the work, ``charge_for`` uses the time the agent recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pricing.loader import find_intervention, max_priority
from pricing.schema import ContractPack, Intervention, PriceRule, PriceRuleType

QUARTER_MINUTES = 15


class QuoteError(ValueError):
    """A quote cannot be computed from these inputs (unknown id, negative time...)."""


@dataclass(frozen=True)
class Quote:
    """What an intervention costs at one priority, and how that amount was reached."""

    rule: PriceRuleType
    credits: Decimal | None
    rate: Decimal | None
    quarters: int | None
    units: int | None
    estimate: bool
    available: bool
    max_priority: str
    unit: str | None = None

    def describe(self) -> str:
        """A short English account of the amount, e.g. '3 started quarter hours x 3'."""
        if not self.available:
            return f"not available at this priority (highest: {self.max_priority})"
        prefix = "from " if self.estimate and self.rule is not PriceRuleType.FIXED else ""
        if self.rule is PriceRuleType.FREE:
            return "free"
        if self.rule is PriceRuleType.ON_REQUEST:
            return "price on request"
        if self.rule is PriceRuleType.PER_QUARTER_HOUR:
            return f"{prefix}{self.credits} ({self.quarters} started quarter hour(s) x {self.rate})"
        if self.rule is PriceRuleType.PER_UNIT:
            return f"{prefix}{self.credits} ({self.units} {self.unit} x {self.rate})"
        return f"{self.credits} (fixed)"


#: The catalog row of a request outside the catalog (the pack's non-routine path): priced by
#: a quote the customer accepts before any work.
ON_QUOTE_CATEGORY = "on-quote"
ON_QUOTE_INTERVENTION = "on-quote-request"


def started_quarters(minutes: int) -> int:
    """Started quarter hours in ``minutes``, at least one (0 and 1..15 minutes give 1)."""
    if minutes < 0:
        raise QuoteError(f"minutes must not be negative, got {minutes}")
    return max(1, -(-minutes // QUARTER_MINUTES))


def quote(
    *,
    pack: ContractPack,
    intervention_id: str,
    priority: str,
    minutes: int | None = None,
    units: int | None = None,
) -> Quote:
    """The price before the work: an estimate when it depends on time or an unknown count."""
    return _price(
        pack=pack,
        intervention_id=intervention_id,
        priority=priority,
        minutes=minutes,
        units=units,
        after_work=False,
    )


def charge_for(
    *,
    pack: ContractPack,
    intervention_id: str,
    priority: str,
    recorded_minutes: int,
    units: int | None = None,
) -> Quote:
    """The amount due after the work, from the time the agent recorded (never an estimate)."""
    return _price(
        pack=pack,
        intervention_id=intervention_id,
        priority=priority,
        minutes=recorded_minutes,
        units=units,
        after_work=True,
    )


def lookup(*, pack: ContractPack, intervention_id: str) -> Intervention:
    """The catalog row ``intervention_id`` of ``pack``, or QuoteError."""
    try:
        _category, intervention = find_intervention(pack, intervention_id)
    except LookupError:
        raise QuoteError(f"unknown intervention {intervention_id!r} in pack {pack.id}") from None
    return intervention


def _price(
    *,
    pack: ContractPack,
    intervention_id: str,
    priority: str,
    minutes: int | None,
    units: int | None,
    after_work: bool,
) -> Quote:
    intervention = lookup(pack=pack, intervention_id=intervention_id)
    if priority not in {p.id for p in pack.priorities}:
        known = ", ".join(p.id for p in pack.priorities)
        raise QuoteError(f"unknown priority {priority!r} in pack {pack.id} (known: {known})")
    if minutes is not None and minutes < 0:
        raise QuoteError(f"minutes must not be negative, got {minutes}")
    if units is not None and units < 1:
        raise QuoteError(f"units must be at least 1, got {units}")
    ceiling = max_priority(pack, intervention).id
    # A priority the row does not price is as good as an N/A cell.
    rule = intervention.prices.get(priority, PriceRule(rule=PriceRuleType.NOT_AVAILABLE))
    if rule.rule is PriceRuleType.NOT_AVAILABLE:
        return Quote(rule.rule, None, None, None, None, False, False, ceiling)
    if rule.rule is PriceRuleType.ON_REQUEST:
        return Quote(rule.rule, None, None, None, None, False, True, ceiling)
    if rule.rule is PriceRuleType.FREE:
        return Quote(rule.rule, Decimal(0), None, None, None, False, True, ceiling)
    rate = _rate(rule)
    if rule.rule is PriceRuleType.FIXED:
        return Quote(rule.rule, rate, rate, None, None, False, True, ceiling)
    if rule.rule is PriceRuleType.PER_UNIT:
        count = 1 if units is None else units
        return Quote(
            rule.rule, rate * count, rate, None, count, units is None, True, ceiling, rule.unit
        )
    quarters = started_quarters(0 if minutes is None else minutes)
    if pack.balance.rounding == "exact" and minutes is not None:
        amount = max(rate, rate * Decimal(minutes) / QUARTER_MINUTES)
    else:
        amount = rate * quarters
    return Quote(rule.rule, amount, rate, quarters, None, not after_work, True, ceiling)


def _rate(rule: PriceRule) -> Decimal:
    if rule.credits is None:  # pragma: no cover - the schema refuses it
        raise QuoteError(f"price rule {rule.rule.value} has no amount")
    return rule.credits
