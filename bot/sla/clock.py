"""Per-ticket SLA clocks, the milestone schedule, and the resolver from a pack to targets.

A :class:`SlaClock` is pure and immutable: it is computed from the logging instant, a rule
and its calendar, the stop-clock pauses, the instant the target was met (if it was) and
``now``. A pause, a resume, or a change of priority, intervention or service level does not
mutate anything: build a new clock from the ORIGINAL logging instant with the new rule and
all pauses (:meth:`SlaClock.with_rule`). If the new due instant is already past, the new
clock is breached at once.

Definitions:

- *due*: the earliest instant at which counted time reaches the target (interpretation 3).
- A target met exactly at the due instant is met. The *breach* instant is ``due`` plus one
  microsecond (the resolution of ``datetime``): the first instant at which the target is
  missed. A clock is breached when ``now`` (or ``met_at``) is at or after the breach instant.
- *warnings*: the instants at which counted time reaches a fraction of the target time (for
  day-based rules, of the window time between logging and the due instant without pauses).
- While an open-ended pause holds a clock that has not yet reached its target, the due
  instant is unknown: ``due_at`` is None, no milestone is scheduled, and the remaining time
  is frozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from bot.sla.calendar import BusinessCalendar, calendar_for, from_us, to_us
from bot.sla.rules import (
    Pause,
    Rule,
    normalise_pauses,
    rule_advance_us,
    rule_due_us,
    rule_measure_us,
    rule_target_us,
)
from pricing.schema import (
    BestEffortRule,
    BusinessDays24hRule,
    BusinessHoursRule,
    CalendarDurationRule,
    ContractPack,
    EndOfNthBusinessDayRule,
    Intervention,
    NextBusinessDayRule,
    SameDayRule,
    ServiceLevel,
    SlaTarget,
)
from pricing.terms import ContractTerms, pack_zone

__all__ = [
    "BREACH_DELAY",
    "DEFAULT_FRACTIONS",
    "ClockState",
    "DueInstants",
    "Milestone",
    "MilestoneKind",
    "ResolvedTarget",
    "ResolvedTargets",
    "SlaClock",
    "SlaLookupError",
    "UnknownInterventionError",
    "UnknownKindError",
    "UnknownPriorityError",
    "UnknownServiceLevelError",
    "NoTargetEntryError",
    "build_clock",
    "compute_due",
    "describe_rule",
    "targets_for",
]

#: The breach instant is this long after the due instant.
BREACH_DELAY = timedelta(microseconds=1)
DEFAULT_FRACTIONS: tuple[Decimal, ...] = (Decimal("0.5"), Decimal("0.75"), Decimal("0.9"))


class ClockState(StrEnum):
    """Where a target stands at ``now``."""

    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    NONE = "none"


class MilestoneKind(StrEnum):
    """What a scheduled milestone announces."""

    WARNING = "warning"
    DUE = "due"
    BREACH = "breach"


@dataclass(frozen=True, slots=True)
class Milestone:
    """One scheduled instant of a clock; ``fraction`` is set for warnings."""

    kind: MilestoneKind
    at: datetime
    fraction: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """The computed state of one ticket target; build it with :func:`build_clock`."""

    logged_at: datetime
    rule: Rule | None
    calendar: BusinessCalendar | None
    pauses: tuple[Pause, ...]
    met_at: datetime | None
    now: datetime
    fractions: tuple[Decimal, ...]
    due_at: datetime | None
    target: timedelta | None
    elapsed: timedelta
    remaining: timedelta | None
    state: ClockState
    milestones: tuple[Milestone, ...] = field(default=())

    @property
    def breach_at(self) -> datetime | None:
        """The first instant at which the target is missed (due + 1 µs)."""
        return None if self.due_at is None else self.due_at + BREACH_DELAY

    @property
    def paused(self) -> bool:
        """Whether a pause holds the clock at ``now``."""
        return _paused_at(self.pauses, self.now)

    def pending(self) -> tuple[Milestone, ...]:
        """Milestones still to fire after ``now``; a missed breach fires at once."""
        if self.state in (ClockState.RUNNING, ClockState.PAUSED):
            return tuple(m for m in self.milestones if m.at > self.now)
        if self.state is ClockState.BREACHED and self.met_at is None:
            return tuple(m for m in self.milestones if m.kind is MilestoneKind.BREACH)
        return ()

    def at(self, now: datetime) -> SlaClock:
        """The same clock seen at another ``now``."""
        return build_clock(
            logged_at=self.logged_at,
            rule=self.rule,
            calendar=self.calendar,
            pauses=self.pauses,
            met_at=self.met_at,
            now=now,
            fractions=self.fractions,
        )

    def with_pauses(self, *, pauses: Iterable[Pause], now: datetime) -> SlaClock:
        """The clock recomputed with another list of pauses."""
        return replace(self, pauses=tuple(pauses)).at(now)

    def with_rule(
        self, *, rule: Rule | None, calendar: BusinessCalendar | None, now: datetime
    ) -> SlaClock:
        """The clock recomputed from the original logging instant with a new rule."""
        return build_clock(
            logged_at=self.logged_at,
            rule=rule,
            calendar=calendar,
            pauses=self.pauses,
            met_at=self.met_at,
            now=now,
            fractions=self.fractions,
        )


def _paused_at(pauses: Iterable[Pause], now: datetime) -> bool:
    return any(p.start <= now and (p.end is None or now < p.end) for p in pauses)


def build_clock(
    *,
    logged_at: datetime,
    rule: Rule | None,
    calendar: BusinessCalendar | None,
    pauses: Iterable[Pause] = (),
    met_at: datetime | None = None,
    now: datetime,
    fractions: Sequence[Decimal] = DEFAULT_FRACTIONS,
) -> SlaClock:
    """Compute a target's due instant, elapsed/remaining time, state and milestones."""
    pause_list = tuple(pauses)
    fraction_list = tuple(sorted(Decimal(f) for f in fractions))
    for f in fraction_list:
        if not Decimal(0) < f < Decimal(1):
            raise ValueError(f"warning fractions must be between 0 and 1, not {f}")
    logged = to_us(logged_at)
    stop = to_us(now) if met_at is None else min(to_us(now), to_us(met_at))
    spans = normalise_pauses(pauses=pause_list, after=logged_at)
    if rule is None or isinstance(rule, BestEffortRule):
        return SlaClock(
            logged_at=logged_at,
            rule=rule,
            calendar=calendar,
            pauses=pause_list,
            met_at=met_at,
            now=now,
            fractions=fraction_list,
            due_at=None,
            target=None,
            elapsed=timedelta(0),
            remaining=None,
            state=ClockState.NONE,
        )
    target = rule_target_us(rule=rule, calendar=calendar, logged=logged)
    assert target is not None
    due = rule_due_us(rule=rule, calendar=calendar, logged=logged, pauses=spans)
    elapsed = rule_measure_us(rule=rule, calendar=calendar, start=logged, end=stop, pauses=spans)
    milestones: list[Milestone] = []
    if due is not None:
        for f in fraction_list:
            amount = int((f * target).to_integral_value(rounding=ROUND_CEILING))
            at = (
                due
                if amount <= 0
                else rule_advance_us(
                    rule=rule, calendar=calendar, start=logged, amount=amount, pauses=spans
                )
            )
            if at is not None:
                milestones.append(Milestone(MilestoneKind.WARNING, from_us(min(at, due)), f))
        milestones.append(Milestone(MilestoneKind.DUE, from_us(due)))
        milestones.append(Milestone(MilestoneKind.BREACH, from_us(due) + BREACH_DELAY))
    due_at = None if due is None else from_us(due)
    if met_at is not None:
        state = ClockState.MET if due_at is None or met_at <= due_at else ClockState.BREACHED
    elif due_at is not None and now > due_at:
        state = ClockState.BREACHED
    elif _paused_at(pause_list, now):
        state = ClockState.PAUSED
    else:
        state = ClockState.RUNNING
    return SlaClock(
        logged_at=logged_at,
        rule=rule,
        calendar=calendar,
        pauses=pause_list,
        met_at=met_at,
        now=now,
        fractions=fraction_list,
        due_at=due_at,
        target=timedelta(microseconds=target),
        elapsed=timedelta(microseconds=elapsed),
        remaining=timedelta(microseconds=max(target - elapsed, 0)),
        state=state,
        milestones=tuple(milestones),
    )


# --------------------------------------------------------------------------- resolver


class SlaLookupError(LookupError):
    """A pack has no SLA entry for what was asked."""


class UnknownKindError(SlaLookupError):
    """The request kind is not in the pack."""


class UnknownPriorityError(SlaLookupError):
    """The priority is not in the pack."""


class UnknownServiceLevelError(SlaLookupError):
    """The service level is not in the pack (or the pack has none)."""


class NoTargetEntryError(SlaLookupError):
    """The pack (or service level) has no targets for this (kind, priority)."""


class UnknownInterventionError(SlaLookupError):
    """The intervention is not in the pack's catalog."""


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """One applicable rule with its calendar and a short English description."""

    rule: Rule
    calendar: BusinessCalendar | None
    label: str


@dataclass(frozen=True, slots=True)
class ResolvedTargets:
    """Response and resolution targets for a ticket; None where no target applies."""

    response: ResolvedTarget | None
    resolution: ResolvedTarget | None
    service_level: str | None
    clause: str | None
    display_zone: str


@dataclass(frozen=True, slots=True)
class DueInstants:
    """Due instants (UTC) for a ticket with the targets they come from."""

    response_due: datetime | None
    resolution_due: datetime | None
    targets: ResolvedTargets


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def describe_rule(*, rule: Rule) -> str:
    """A short English description of a rule, e.g. ``4 business hours``."""
    if isinstance(rule, BusinessHoursRule):
        unit = "business hour" if rule.hours == 1 else "business hours"
        return f"{_number(rule.hours)} {unit}"
    if isinstance(rule, BusinessDays24hRule):
        unit = "business day" if rule.days == 1 else "business days"
        return f"{rule.days} {unit} (24 h)"
    if isinstance(rule, EndOfNthBusinessDayRule):
        if rule.days == 1:
            return "end of next business day"
        return f"end of {_ordinal(rule.days)} business day"
    if isinstance(rule, NextBusinessDayRule):
        return "next business day"
    if isinstance(rule, SameDayRule):
        return "same day"
    if isinstance(rule, CalendarDurationRule):
        unit = "hour" if rule.hours == 1 else "hours"
        return f"{_number(rule.hours)} {unit}"
    return "best effort"


def _find_intervention(pack: ContractPack, intervention_id: str) -> Intervention:
    for category in pack.categories:
        for item in category.interventions:
            if item.id == intervention_id:
                return item
    raise UnknownInterventionError(f"pack {pack.id!r} has no intervention {intervention_id!r}")


def _service_level(pack: ContractPack, service_level: str | None) -> ServiceLevel | None:
    """The asked level; a bare formula means its default tier; None means the pack default."""
    if not pack.service_levels:
        if service_level is not None:
            raise UnknownServiceLevelError(
                f"pack {pack.id!r} has no service levels (asked for {service_level!r})"
            )
        return None
    known = ", ".join(level.id for level in pack.service_levels)
    if service_level is None:
        defaults = [level for level in pack.service_levels if level.default]
        if len(defaults) != 1:
            raise UnknownServiceLevelError(
                f"pack {pack.id!r} needs a service level; choose one of: {known}"
            )
        return defaults[0]
    for level in pack.service_levels:
        if level.id == service_level:
            return level
    if ":" not in service_level:
        tiers = [lv for lv in pack.service_levels if lv.id.startswith(f"{service_level}:")]
        chosen = [lv for lv in tiers if lv.default] or (tiers if len(tiers) == 1 else [])
        if len(chosen) == 1:
            return chosen[0]
    raise UnknownServiceLevelError(
        f"pack {pack.id!r} has no service level {service_level!r}; known: {known}"
    )


def _with_terms(rule: Rule | None, terms: ContractTerms | None) -> Rule | None:
    """A calendar-duration rule whose hours come from a contract option, when it is set."""
    if terms is None or not isinstance(rule, CalendarDurationRule) or rule.hours_option is None:
        return rule
    hours = terms.number(rule.hours_option)
    if hours is None:
        return rule
    if not hours > 0:
        raise SlaLookupError(f"contract option {rule.hours_option!r} must be positive")
    return rule.model_copy(update={"hours": hours})


def _entry(targets: Iterable[SlaTarget], kind: str, priority: str) -> SlaTarget | None:
    for entry in targets:
        if entry.kind == kind and entry.priority == priority:
            return entry
    return None


def _resolved(pack: ContractPack, rule: Rule | None) -> ResolvedTarget | None:
    if rule is None:
        return None
    calendar: BusinessCalendar | None = None
    slug = getattr(rule, "calendar", None)
    if slug is not None:
        sources = [c for c in pack.calendars if c.id == slug]
        if not sources:
            raise SlaLookupError(f"pack {pack.id!r} has no calendar {slug!r}")
        calendar = calendar_for(sources[0])
    return ResolvedTarget(rule=rule, calendar=calendar, label=describe_rule(rule=rule))


def targets_for(
    pack: ContractPack,
    *,
    kind: str,
    priority: str,
    service_level: str | None = None,
    intervention: str | Intervention | None = None,
    terms: ContractTerms | None = None,
) -> ResolvedTargets:
    """The response and resolution targets that apply to a ticket of this pack.

    With a contract's ``terms``, a rule's ``hours_option`` takes the contract's typed value.
    """
    if kind not in {k.id for k in pack.kinds}:
        known = ", ".join(k.id for k in pack.kinds)
        raise UnknownKindError(f"pack {pack.id!r} has no request kind {kind!r}; known: {known}")
    if priority not in {p.id for p in pack.priorities}:
        known = ", ".join(p.id for p in pack.priorities)
        raise UnknownPriorityError(f"pack {pack.id!r} has no priority {priority!r}; known: {known}")
    response_applies = resolution_applies = True
    if intervention is not None:
        item = (
            intervention
            if isinstance(intervention, Intervention)
            else _find_intervention(pack, intervention)
        )
        response_applies = item.routine and item.response_applies
        resolution_applies = item.routine and item.resolution_applies
    level = _service_level(pack, service_level)
    response: Rule | None = None
    resolution: Rule | None = None
    clause: str | None = None
    if response_applies or resolution_applies:
        entry = _entry(level.targets, kind, priority) if level is not None else None
        if entry is None:
            entry = _entry(pack.sla_targets, kind, priority)
        if entry is None:
            where = f"service level {level.id!r}" if level is not None else "its SLA targets"
            raise NoTargetEntryError(
                f"pack {pack.id!r} has no entry for kind {kind!r} and priority {priority!r}"
                f" in {where}"
            )
        response = _with_terms(entry.response, terms) if response_applies else None
        resolution = _with_terms(entry.resolution, terms) if resolution_applies else None
        clause = entry.clause
    return ResolvedTargets(
        response=_resolved(pack, response),
        resolution=_resolved(pack, resolution),
        service_level=None if level is None else level.id,
        clause=clause,
        display_zone=pack_zone(pack),
    )


def compute_due(
    pack: ContractPack,
    *,
    kind: str,
    priority: str,
    logged_at: datetime,
    pauses: Iterable[Pause] = (),
    service_level: str | None = None,
    intervention: str | Intervention | None = None,
    terms: ContractTerms | None = None,
) -> DueInstants:
    """Response and resolution due instants (UTC) of a ticket of this pack."""
    targets = targets_for(
        pack,
        kind=kind,
        priority=priority,
        service_level=service_level,
        intervention=intervention,
        terms=terms,
    )
    logged = to_us(logged_at)
    spans = normalise_pauses(pauses=pauses, after=logged_at)

    def _due(target: ResolvedTarget | None) -> datetime | None:
        if target is None:
            return None
        value = rule_due_us(rule=target.rule, calendar=target.calendar, logged=logged, pauses=spans)
        return None if value is None else from_us(value)

    return DueInstants(
        response_due=_due(targets.response),
        resolution_due=_due(targets.resolution),
        targets=targets,
    )
