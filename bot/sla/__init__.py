"""SLA engine: business calendars, due instants per rule type, and per-ticket clocks.

Entry points for the rest of the bot:

- :func:`bot.sla.clock.targets_for` / :func:`bot.sla.clock.compute_due`: from a contract pack
  and a ticket's kind, priority, service level and intervention to its targets and due instants.
- :func:`bot.sla.clock.build_clock`: the state, elapsed/remaining time and milestone schedule
  of one target at ``now``.
- :func:`bot.sla.explain.explain_target`: a day-by-day timeline for humans.
"""

from bot.sla.calendar import BusinessCalendar, calendar_for
from bot.sla.clock import (
    BREACH_DELAY,
    DEFAULT_FRACTIONS,
    ClockState,
    DueInstants,
    Milestone,
    MilestoneKind,
    NoTargetEntryError,
    ResolvedTarget,
    ResolvedTargets,
    SlaClock,
    SlaLookupError,
    UnknownInterventionError,
    UnknownKindError,
    UnknownPriorityError,
    UnknownServiceLevelError,
    build_clock,
    compute_due,
    describe_rule,
    targets_for,
)
from bot.sla.rules import Pause, RuleError

__all__ = [
    "BREACH_DELAY",
    "DEFAULT_FRACTIONS",
    "BusinessCalendar",
    "ClockState",
    "DueInstants",
    "Milestone",
    "MilestoneKind",
    "NoTargetEntryError",
    "Pause",
    "ResolvedTarget",
    "ResolvedTargets",
    "RuleError",
    "SlaClock",
    "SlaLookupError",
    "UnknownInterventionError",
    "UnknownKindError",
    "UnknownPriorityError",
    "UnknownServiceLevelError",
    "build_clock",
    "calendar_for",
    "compute_due",
    "describe_rule",
    "targets_for",
]
