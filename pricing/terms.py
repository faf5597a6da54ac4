"""Contract terms: one object answering what a customer's contract says, from its pack and options.

A contract is a pack plus the options the order form fixes (`contract add --option k=v`).
Every question asked of a contract goes through `ContractTerms`: the zone its instants are
shown in, what its account counts (credits, a time bank, nothing), which remedies a missed
target triggers, and the typed value of each option. Billing, notifications, the SLA clocks
and the ledger ask it, so they cannot disagree.

Pure: no database. `bot.services.contracts.terms_of` builds one from a stored contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pricing.schema import BalanceUnit, ContractOption, ContractPack, PriceRuleType, Remedy

#: Remedy types owed per missed target (the others are computed over a period, not a ticket).
PER_BREACH_REMEDIES = frozenset({"waiver", "service_credit_per_breach", "gtr_overrun"})
#: The option naming the service level (formula, managed level): stored on the contract row.
SERVICE_LEVEL = "service_level"

OptionValue = Decimal | int | str | date


class AccountKind(StrEnum):
    """What a contract's account counts."""

    CREDITS = "credits"  # a prepaid ledger with holds: service credits (Telenet)
    TIME_BANK = "time_bank"  # monthly hours plus extra hours (Alteo)
    NONE = "none"  # invoiced in euros, nothing prepaid (Proximus)


class OptionError(ValueError):
    """A contract option value the pack does not accept; names the option and the reason."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(f"option {option}: {reason}")
        self.option = option
        self.reason = reason


def pack_zone(pack: ContractPack) -> str:
    """The zone in which a pack's instants are shown: its default calendar's."""
    return next(c.zone for c in pack.calendars if c.id == pack.default_calendar)


def parse_option(option: ContractOption, text: str, pack: ContractPack) -> OptionValue:
    """The typed value of one option, or `OptionError` naming it and the reason."""
    text = text.strip()
    if option.type == "str":
        if not text:
            raise OptionError(option.id, "must not be empty")
        return text
    if option.type == "service_level":
        known = [level.id for level in pack.service_levels]
        if text not in known:
            listed = ", ".join(known)
            raise OptionError(option.id, f"unknown service level {text!r}; known: {listed}")
        return text
    if option.type == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise OptionError(option.id, f"{text!r} is not a date (YYYY-MM-DD)") from None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise OptionError(option.id, f"{text!r} is not a number") from None
    if not number.is_finite():
        raise OptionError(option.id, f"{text!r} is not a finite number")
    if option.type == "int" and number != number.to_integral_value():
        raise OptionError(option.id, f"{text!r} is not a whole number")
    if option.gt is not None and not number > option.gt:
        raise OptionError(option.id, f"must be greater than {option.gt}, got {text}")
    if option.ge is not None and not number >= option.ge:
        raise OptionError(option.id, f"must be at least {option.ge}, got {text}")
    if option.le is not None and not number <= option.le:
        raise OptionError(option.id, f"must be at most {option.le}, got {text}")
    return int(number) if option.type == "int" else number


def validate_options(pack: ContractPack, raw: Mapping[str, str]) -> dict[str, OptionValue]:
    """Every given option parsed; an unknown option or a bad value raises `OptionError`."""
    declared = {option.id: option for option in pack.options}
    typed: dict[str, OptionValue] = {}
    for key, text in raw.items():
        option = declared.get(key)
        if option is None:
            if key == SERVICE_LEVEL and pack.service_levels:
                option = ContractOption(
                    id=SERVICE_LEVEL, labels=pack.title, type="service_level", default=None
                )
            else:
                known = ", ".join(sorted(declared)) or "none"
                raise OptionError(key, f"pack {pack.id} has no such option; known: {known}")
        typed[key] = parse_option(option, text, pack)
    return typed


@dataclass(frozen=True)
class FeeQuote:
    """A one-off fee: 0 inside the free period, the contract's amount, or None (on request)."""

    amount: Decimal | None
    free_until: date | None
    clause: str | None


@dataclass(frozen=True)
class ContractTerms:
    """What one contract says: its pack, service level and typed options with their defaults."""

    pack: ContractPack
    service_level: str | None = None
    raw_options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        pack: ContractPack,
        *,
        options: Mapping[str, str] | None = None,
        service_level: str | None = None,
    ) -> ContractTerms:
        """The terms of a contract on `pack` with these option values (checked)."""
        raw = dict(options or {})
        validate_options(pack, raw)
        return cls(pack=pack, service_level=service_level, raw_options=raw)

    # ---------------------------------------------------------------- calendar

    @property
    def zone(self) -> str:
        """The zone in which the contract's instants are shown."""
        return pack_zone(self.pack)

    # ---------------------------------------------------------------- account

    @property
    def account(self) -> AccountKind:
        """What the contract's account counts."""
        balance = self.pack.balance
        if balance.time_bank is not None:
            return AccountKind.TIME_BANK
        if balance.unit is BalanceUnit.EUR:
            return AccountKind.NONE
        # Any other prepaid unit (credits, or hours without a monthly bank) is a ledger.
        return AccountKind.CREDITS

    @property
    def credit_pack_size(self) -> Decimal | None:
        """Credits per purchased pack: the option, else its default, else the pack's."""
        name = self.pack.balance.pack_size_option
        size = self.number(name) if name else None
        return self.pack.balance.default_pack_size if size is None else size

    @property
    def monthly_allowance_hours(self) -> Decimal:
        """Hours credited each month to the time bank (0 without a time bank)."""
        bank = self.pack.balance.time_bank
        if bank is None:
            return Decimal(0)
        hours = self.number(bank.monthly_allowance_option)
        return bank.default_monthly_allowance_hours if hours is None else hours

    @property
    def monthly_fee(self) -> Decimal | None:
        """The monthly fee the remedies are computed on, when the contract gives it."""
        return self.number("monthly_fee")

    # ---------------------------------------------------------------- options

    def declares(self, option_id: str) -> bool:
        """Whether the pack declares this option."""
        return any(o.id == option_id for o in self.pack.options)

    def number(self, option_id: str) -> Decimal | None:
        """A numeric option as a Decimal (default applied); None if undeclared, unset or text."""
        if not self.declares(option_id):
            return None
        value = self.option(option_id)
        if isinstance(value, Decimal):
            return value
        return Decimal(value) if isinstance(value, int) else None

    def option(self, option_id: str) -> OptionValue | None:
        """The typed value of an option: the contract's, else the pack's default, else None."""
        declared = next((o for o in self.pack.options if o.id == option_id), None)
        if declared is None:
            raise KeyError(f"pack {self.pack.id} declares no option {option_id!r}")
        if option_id == SERVICE_LEVEL and self.service_level is not None:
            return self.service_level
        text = self.raw_options.get(option_id, declared.default)
        if text is None:
            return None
        return parse_option(declared, text, self.pack)

    def sla_options(self) -> dict[str, str]:
        """Option values as the SLA engine reads them (text, defaults included)."""
        values = {o.id: o.default for o in self.pack.options if o.default is not None}
        values.update(self.raw_options)
        return {key: value for key, value in values.items() if value is not None}

    # ---------------------------------------------------------------- remedies

    def remedies_for(self, *, target: str, kind: str, priority: str) -> list[Remedy]:
        """The per-breach remedies a missed `target` (response, resolution) triggers."""
        facts = {
            "kind": kind,
            "priority": priority,
            "target": target,
            "service_level": self.service_level,
        }
        return [
            remedy
            for remedy in self.pack.remedies
            if remedy.type in PER_BREACH_REMEDIES
            and all(facts.get(key) in values for key, values in remedy.applies_to.items())
        ]

    def waives(self, *, missed: set[str], kind: str, priority: str) -> bool:
        """Whether a waiver remedy covers one of the `missed` targets of this ticket."""
        return any(
            remedy.type == "waiver"
            for target in sorted(missed)
            for remedy in self.remedies_for(target=target, kind=kind, priority=priority)
        )

    def one_off_fee(self, *, intervention_id: str, on: date) -> FeeQuote | None:
        """The one-off fee of a request logged on `on` (local date), when its category has one."""
        for category in self.pack.categories:
            if any(i.id == intervention_id for i in category.interventions):
                fee = category.one_off_fee
                break
        else:
            return None
        if fee is None:
            return None
        start = self.option(fee.free_after_option) if fee.free_after_option else None
        if isinstance(start, date):
            free_until = start + timedelta(days=fee.free_days)
            if start <= on <= free_until:
                return FeeQuote(amount=Decimal(0), free_until=free_until, clause=fee.clause)
        return FeeQuote(amount=self.number(fee.fee_option), free_until=None, clause=fee.clause)

    def price_rule(self, *, intervention_id: str, priority: str) -> PriceRuleType | None:
        """The price rule of an intervention at a priority (None when the pack has none)."""
        for category in self.pack.categories:
            for intervention in category.interventions:
                if intervention.id == intervention_id:
                    rule = intervention.prices.get(priority)
                    return None if rule is None else rule.rule
        return None
