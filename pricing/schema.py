"""The contract-pack schema: everything a support contract says, as validated data.

A pack is one YAML file under ``pricing/packs/``. The SLA engine (``bot.sla``) knows the
rule *types* below; a pack chooses and parameterises them. Adding a provider means writing
a pack, never touching Python.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANGS: tuple[str, ...] = ("fr", "nl", "en")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]
ServiceLevelId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*(:[a-z0-9][a-z0-9-]*)?$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _reject_int_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 19:00 as the integer 1140, which pydantic takes as seconds.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write times as quoted strings, e.g. '19:00'")
    return value


class Labels(_Strict):
    """A text in the three languages of the product."""

    fr: str = Field(min_length=1)
    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        """The text in ``lang``, falling back to French (the contracts' language)."""
        return str(getattr(self, lang, self.fr))


class Keywords(_Strict):
    """Search synonyms per language (free words, matched accent- and typo-tolerantly)."""

    fr: list[str] = Field(default_factory=list)
    nl: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)


class SourceRef(_Strict):
    """A seed document the pack was written from."""

    file: str
    title: str
    note: str | None = None


# --------------------------------------------------------------------------- calendars


class Window(_Strict):
    """A wall-clock opening interval on one weekday; ``end`` 24:00 is written ``"24:00"``."""

    start: time
    end: time | Literal["24:00"]

    @property
    def end_time(self) -> time | None:
        """The end as a time, or None for midnight at the end of the day."""
        return None if self.end == "24:00" else self.end

    @field_validator("start", "end", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        return _reject_int_time(value)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end != "24:00" and not self.start < self.end:
            raise ValueError(f"window end {self.end} is not after start {self.start}")
        return self


class HolidaySource(_Strict):
    """Public holidays from the ``holidays`` package, looked up by local date."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    categories: list[str] = Field(default_factory=lambda: ["public"])
    subdivision: str | None = None


class Calendar(_Strict):
    """Where business time runs: a zone, weekly windows, holidays and extra closures."""

    id: Slug
    labels: Labels | None = None
    zone: str = "Europe/Brussels"
    windows: dict[str, list[Window]]
    business_days: list[str] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"],
        description="Weekdays that count as business days (Saturday windows are window time only).",
    )
    holidays: HolidaySource | None = None
    closures: list[date] = Field(default_factory=list, description="Extra closed dates.")

    @field_validator("windows")
    @classmethod
    def _weekdays(cls, value: dict[str, list[Window]]) -> dict[str, list[Window]]:
        for day in value:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        return value

    @field_validator("business_days")
    @classmethod
    def _business_weekdays(cls, value: list[str]) -> list[str]:
        for day in value:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}")
        return value


# --------------------------------------------------------------------------- SLA rules


class RuleType(StrEnum):
    """The kinds of deadline the SLA engine can compute."""

    BUSINESS_HOURS = "business_hours"
    BUSINESS_DAYS_24H = "business_days_24h"
    END_OF_NTH_BUSINESS_DAY = "end_of_nth_business_day"
    NEXT_BUSINESS_DAY = "next_business_day"
    SAME_DAY = "same_day"
    CALENDAR_DURATION = "calendar_duration"
    BEST_EFFORT = "best_effort"


class BusinessHoursRule(_Strict):
    """N hours counted only inside the calendar's windows (interpretation 3 and 4)."""

    rule: Literal["business_hours"]
    hours: Decimal = Field(gt=0)
    calendar: Slug


class BusinessDays24hRule(_Strict):
    """Telenet: N x 24 h of time falling on business days, from logging (interpretation 5)."""

    rule: Literal["business_days_24h"]
    days: int = Field(gt=0)
    calendar: Slug


class EndOfNthBusinessDayRule(_Strict):
    """Close of the window on the Nth business day after the logging day (interpretation 6)."""

    rule: Literal["end_of_nth_business_day"]
    days: int = Field(gt=0)
    calendar: Slug


class NextBusinessDayRule(_Strict):
    """End of the next business day (Proximus P2 Premium): the Nth-day rule with N = 1."""

    rule: Literal["next_business_day"]
    calendar: Slug


class SameDayRule(_Strict):
    """Close of today's window when logged before the cutoff, else of the next day with one."""

    rule: Literal["same_day"]
    calendar: Slug
    cutoffs: dict[str, time] = Field(description="Cutoff per weekday, e.g. {mon: '17:00'}.")

    @field_validator("cutoffs", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if isinstance(value, dict):
            for cutoff in value.values():
                _reject_int_time(cutoff)
        return value


class CalendarDurationRule(_Strict):
    """A plain elapsed duration, all hours counted."""

    rule: Literal["calendar_duration"]
    hours: Decimal = Field(gt=0)
    hours_option: str | None = Field(
        default=None,
        description="Contract option whose value, when set, replaces 'hours' (then the default).",
    )


class BestEffortRule(_Strict):
    """No due instant: reasonable efforts only."""

    rule: Literal["best_effort"]


SlaRule = Annotated[
    BusinessHoursRule
    | BusinessDays24hRule
    | EndOfNthBusinessDayRule
    | NextBusinessDayRule
    | SameDayRule
    | CalendarDurationRule
    | BestEffortRule,
    Field(discriminator="rule"),
]


class SlaTarget(_Strict):
    """Response and resolution targets for one (kind, priority); None = no target."""

    kind: Slug
    priority: Slug
    response: SlaRule | None = None
    resolution: SlaRule | None = None
    clause: str | None = None


class ServiceLevel(_Strict):
    """A formula/tier (Proximus) or managed level (Alteo) with its own window and targets."""

    id: ServiceLevelId
    labels: Labels
    calendar: Slug | None = None
    targets: list[SlaTarget] = Field(default_factory=list)
    availability_target: Decimal | None = Field(default=None, description="Percent, e.g. 99.7.")
    default: bool = False
    notes: Labels | None = None


# --------------------------------------------------------------------------- catalog


class Priority(_Strict):
    """One level of the priority scheme; rank 1 is the lowest."""

    id: Slug
    rank: int = Field(ge=1)
    labels: Labels
    impact: Labels
    set_by: list[Literal["requester", "agent"]] = Field(
        default_factory=lambda: ["requester"],  # type: ignore[arg-type]
        description="Who may set or change it: the requester, the provider's agents, or both.",
    )


class RequestKind(_Strict):
    """Incident, change, information, and any provider-specific kinds."""

    id: Slug
    labels: Labels
    description: Labels | None = None


class PriceRuleType(StrEnum):
    """How an intervention is charged."""

    FREE = "free"
    FIXED = "fixed"
    PER_UNIT = "per_unit"
    PER_QUARTER_HOUR = "per_quarter_hour"
    ON_REQUEST = "on_request"
    NOT_AVAILABLE = "not_available"


class PriceRule(_Strict):
    """The price of an intervention at one priority."""

    rule: PriceRuleType
    credits: Decimal | None = Field(
        default=None,
        ge=0,
        description="Credits per intervention, per unit or per started quarter hour.",
    )
    unit: Slug | None = Field(default=None, description="Unit id for per_unit (see pack.units).")

    @field_validator("credits", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        # A YAML float (2.5) has already lost exactness: amounts are written as ints or strings.
        if isinstance(value, float):
            raise ValueError(f"write credits as an integer or a quoted decimal, not {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PriceRule:
        needs_amount = self.rule in {
            PriceRuleType.FIXED,
            PriceRuleType.PER_UNIT,
            PriceRuleType.PER_QUARTER_HOUR,
        }
        if needs_amount and self.credits is None:
            raise ValueError(f"rule {self.rule.value} needs 'credits'")
        if not needs_amount and self.credits is not None:
            raise ValueError(f"rule {self.rule.value} takes no 'credits'")
        if (self.rule is PriceRuleType.PER_UNIT) != (self.unit is not None):
            raise ValueError("'unit' is required for per_unit and only for per_unit")
        return self


class Unit(_Strict):
    """A unit for per-unit prices (a PST file, a website)."""

    id: Slug
    labels: Labels


class Intervention(_Strict):
    """One row of a contract's catalog."""

    id: Slug
    labels: Labels
    keywords: Keywords = Field(default_factory=Keywords)
    kinds: list[Slug] = Field(min_length=1)
    prices: dict[str, PriceRule]
    response_applies: bool = True
    resolution_applies: bool = True
    routine: bool = True
    clause: str | None = None
    notes: Labels | None = None
    service_levels: list[ServiceLevelId] | None = Field(
        default=None,
        description="Service levels on which it may be requested; None = every level.",
    )
    default_priority: Slug | None = Field(
        default=None,
        description="Priority the provider assigns from the impact (proposed to the requester).",
    )

    @property
    def available_priorities(self) -> list[str]:
        """Priority ids whose price rule is not ``not_available``."""
        return [p for p, r in self.prices.items() if r.rule is not PriceRuleType.NOT_AVAILABLE]

    @model_validator(mode="after")
    def _default_priority_available(self) -> Intervention:
        if self.default_priority is not None and (
            self.default_priority not in self.available_priorities
        ):
            raise ValueError(
                f"default_priority {self.default_priority!r} is not an available priority"
            )
        return self


class OneOffFee(_Strict):
    """A one-off fee per request from a contract option, free for a while after a date option."""

    fee_option: str = Field(description="Decimal option holding the fee (EUR); unset: on request.")
    free_after_option: str | None = Field(
        default=None, description="Date option after which requests are free for `free_days`."
    )
    free_days: int = Field(default=0, ge=0)
    clause: str | None = None


class Category(_Strict):
    """A service category grouping interventions."""

    id: Slug
    labels: Labels
    interventions: list[Intervention] = Field(min_length=1)
    clause: str | None = None
    one_off_fee: OneOffFee | None = None


class StopClockCause(_Strict):
    """One admissible reason to stop a ticket's clock."""

    id: Slug
    labels: Labels
    planned_maintenance: bool = Field(
        default=False,
        description="Announced maintenance windows stop the clock with this cause automatically.",
    )


def _both_targets() -> list[Literal["response", "resolution"]]:
    return ["response", "resolution"]


class StopClock(_Strict):
    """What may stop a ticket's clock: the contract's causes and the targets they stop."""

    causes: list[StopClockCause] = Field(
        default_factory=list, description="Admissible causes; none: pausing is refused."
    )
    targets: list[Literal["response", "resolution"]] = Field(
        default_factory=_both_targets,
        description="The targets a pause stops (the others keep running).",
    )
    clause: str | None = None
    refusal: Labels | None = Field(
        default=None, description="Why pausing is refused, when the contract has no cause."
    )


class NonRoutine(_Strict):
    """Interventions outside the catalog: price (and targets) agreed before execution."""

    allowed: bool = True
    price: PriceRule = Field(default_factory=lambda: PriceRule(rule=PriceRuleType.ON_REQUEST))
    targets_agreed: bool = Field(
        default=True,
        description="Response/resolution times are agreed per request; no contractual target.",
    )
    labels: Labels | None = Field(default=None, description="What to tell the requester.")
    clause: str | None = None


# --------------------------------------------------------------------------- money


class BalanceUnit(StrEnum):
    """What a customer's account is counted in."""

    CREDITS = "credits"
    HOURS = "hours"
    EUR = "eur"


class TimeBank(_Strict):
    """Alteo: a monthly allowance, lost at month end, plus extras valid N days."""

    monthly_allowance_option: str = "monthly_allowance_hours"
    default_monthly_allowance_hours: Decimal = Field(ge=0)
    extra_validity_days: int = Field(gt=0)
    minimum_minutes: int = Field(gt=0)
    increment_minutes: int = Field(gt=0)
    credit_day: int = Field(default=1, ge=1, le=28, description="Day of month it is credited.")
    carry_over: bool = Field(default=False, description="Unused allowance moves to next month.")
    clause: str | None = None


class BalanceRules(_Strict):
    """How the customer's prepaid account works."""

    unit: BalanceUnit
    prepaid_required: bool = Field(
        default=False, description="Credits are bought in advance (a prepaid account)."
    )
    sufficient_balance_required: bool = Field(
        default=False,
        description="A request is refused while the balance does not cover its price.",
    )
    purchase_may_be_required: bool = Field(
        default=False,
        description="The provider may ask for credits to be bought before it executes.",
    )
    pack_size_option: str | None = Field(
        default="credit_pack_size", description="Contract option holding the credit pack size."
    )
    default_pack_size: Decimal | None = Field(
        default=None, gt=0, description="Pack size when the contract option is not set."
    )
    auto_top_up: bool = Field(
        default=False,
        description="A negative balance is brought back to >= 0 with whole packs, invoiced.",
    )
    rounding: Literal["started_quarter_hour", "exact"] = "started_quarter_hour"
    time_bank: TimeBank | None = None
    clauses: list[str] = Field(default_factory=list)
    how_to_top_up: Labels | None = None


class PenaltyStep(_Strict):
    """One row of a penalty table: up to ``up_to`` (inclusive) the ``percent`` applies."""

    up_to_minutes: int | None = Field(default=None, description="None = beyond the last step.")
    below_percent: Decimal | None = None
    percent: Decimal


class Remedy(_Strict):
    """What the provider owes on a missed target."""

    id: Slug
    type: Literal[
        "waiver",
        "service_credit_per_breach",
        "availability_table",
        "availability_per_slice",
        "gtr_overrun",
    ]
    labels: Labels
    clause: str
    applies_to: dict[str, list[str]] = Field(
        default_factory=dict, description="Filters, e.g. {priority: [p1], target: [resolution]}."
    )
    fee_months: Decimal | None = None
    percent: Decimal | None = None
    slice_minutes: int | None = None
    period: Literal["month", "year"] | None = None
    availability_target: Decimal | None = None
    max_downtime_minutes: Decimal | None = Field(
        default=None,
        description=(
            "Fixed downtime tolerated per period (Alteo: 43.2 min a month, whatever the "
            "month's length); when set it replaces the availability_target threshold."
        ),
    )
    steps: list[PenaltyStep] = Field(default_factory=list)
    cap_monthly_fees: Decimal | None = None
    cap_period: Literal["month", "year", "cumulated"] | None = None
    claim_window_months: int | None = None
    claim_window_from: Literal["end_of_month", "event"] | None = None
    proactive: bool = False
    exclusive: bool = False


# --------------------------------------------------------------------------- people


class EscalationLevel(_Strict):
    """One rung of an escalation ladder."""

    level: int = Field(ge=0, description="0 = the first point of contact (e.g. the desk).")
    labels: Labels
    hours: Labels | None = None
    direct: bool = True
    applies_to_priorities: list[Slug] = Field(default_factory=list)
    office_hours_only: bool = Field(
        default=False, description="Reachable only in the escalation's office hours."
    )
    on_call: Labels | None = Field(
        default=None, description="The on-call role that holds this level outside office hours."
    )


class Escalation(_Strict):
    """Who is pinged as a ticket nears or passes its targets."""

    levels: list[EscalationLevel] = Field(default_factory=list)
    at_risk: Literal["agents", "manager"] = "agents"
    breach: Literal["agents", "manager"] = "manager"
    phone_only: bool = False
    notes: Labels | None = None
    kinds: list[Slug] = Field(
        default_factory=list, description="Request kinds that may be escalated (empty: every kind)."
    )
    office_hours_calendar: str | None = Field(
        default=None, description="Calendar of the office hours that office_hours_only levels need."
    )
    general_outage_level: int | None = Field(
        default=None, ge=0, description="Level a general outage is escalated to at once."
    )
    contact: Labels | None = Field(
        default=None, description="How the customer reaches the escalation levels."
    )


class DetailField(_Strict):
    """A piece of information the intake must collect."""

    id: Slug
    labels: Labels
    required: bool = True
    kinds: list[Slug] = Field(default_factory=list, description="Empty = every kind.")


class PhoneRequirement(_Strict):
    """A priority that must be reported by phone, with the number per language."""

    priority: Slug
    numbers: dict[str, str]
    message: Labels


class Intake(_Strict):
    """What the desk must collect, and what must go by phone."""

    details: list[DetailField] = Field(default_factory=list)
    phone_required: list[PhoneRequirement] = Field(default_factory=list)
    ticket_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")


class MaintenanceNotice(_Strict):
    """How far ahead the provider announces planned maintenance (excluded from the SLA)."""

    notice_days: int = Field(gt=0)
    day_type: Literal["calendar", "business"] = "calendar"
    excluded_from_sla: bool = True
    labels: Labels | None = Field(default=None, description="What the customer is told.")
    clause: str | None = None


class ContractOption(_Strict):
    """A number the seed does not give, taken from the tenant's contract with a default."""

    id: Slug | str
    labels: Labels
    type: Literal["decimal", "int", "str", "date", "service_level"]
    default: str | None = None
    description: str | None = None
    gt: Decimal | None = Field(default=None, description="A number must be greater than this.")
    ge: Decimal | None = Field(default=None, description="A number must be at least this.")
    le: Decimal | None = Field(default=None, description="A number must be at most this.")


# --------------------------------------------------------------------------- the pack


class ContractPack(_Strict):
    """One provider contract as data."""

    id: Slug
    provider: str
    provider_code: str = Field(pattern=r"^[A-Z]{2,5}$")
    title: Labels
    version: str
    effective_date: date = Field(
        description="First day the pack applies (the day it was written if the seed has none)."
    )
    source: list[SourceRef] = Field(min_length=1)
    calendars: list[Calendar] = Field(min_length=1)
    default_calendar: Slug
    priorities: list[Priority] = Field(min_length=1)
    desk_sets_priority: bool = Field(
        default=False,
        description=(
            "The desk sets the priority at its sole discretion: per-intervention ceilings "
            "bind customers, not staff (work above the ceiling is priced at the ceiling)."
        ),
    )
    desk_decides_changes: bool = Field(
        default=False,
        description="The desk accepts or refuses (with a reason) each change request.",
    )
    kinds: list[RequestKind] = Field(min_length=1)
    units: list[Unit] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)
    sla_targets: list[SlaTarget] = Field(
        default_factory=list, description="Used when the pack has no service levels."
    )
    service_levels: list[ServiceLevel] = Field(default_factory=list)
    sla_notes: Labels | None = None
    balance: BalanceRules
    stop_clock: StopClock = Field(default_factory=StopClock)
    remedies: list[Remedy] = Field(default_factory=list)
    escalation: Escalation = Field(default_factory=Escalation)
    intake: Intake
    notified_events: list[
        Literal[
            "opened",
            "responded",
            "priority_changed",
            "intervention_changed",
            "paused",
            "resumed",
            "resolved",
            "closed",
            "breached",
            "at_risk",
        ]
    ] = Field(default_factory=list)
    options: list[ContractOption] = Field(default_factory=list)
    non_routine: NonRoutine | None = Field(
        default=None, description="Requests matching no catalog row; None = not offered."
    )
    maintenance_notice: MaintenanceNotice | None = None
    notes: list[str] = Field(default_factory=list, description="Reading notes for maintainers.")
