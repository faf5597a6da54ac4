"""Clocks (states, milestones, recomputation) and the resolver from a pack to targets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.sla.calendar import calendar_for
from bot.sla.clock import (
    BREACH_DELAY,
    ClockState,
    MilestoneKind,
    NoTargetEntryError,
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
from bot.sla.rules import Pause
from pricing.schema import (
    BestEffortRule,
    BusinessDays24hRule,
    BusinessHoursRule,
    CalendarDurationRule,
    ContractPack,
    EndOfNthBusinessDayRule,
    NextBusinessDayRule,
    SameDayRule,
)
from pricing.terms import ContractTerms, OptionError
from tests.sla.conftest import BASIC, BUSINESS_DAYS, OPENING, bx

FOUR_HOURS = BusinessHoursRule(rule="business_hours", hours=Decimal(4), calendar="opening-hours")
ONE_DAY = BusinessDays24hRule(rule="business_days_24h", days=1, calendar="business-days")
NEXT_DAY_END = EndOfNthBusinessDayRule(rule="end_of_nth_business_day", days=1, calendar="basic")
LOGGED = bx("2026-11-24 10:00")  # a Tuesday


def test_running_clock_counts_business_time() -> None:
    clock = build_clock(
        logged_at=LOGGED, rule=FOUR_HOURS, calendar=OPENING, now=bx("2026-11-24 11:00")
    )
    assert clock.state is ClockState.RUNNING
    assert clock.due_at == bx("2026-11-24 14:00")
    assert clock.breach_at == bx("2026-11-24 14:00") + timedelta(microseconds=1)
    assert clock.elapsed == timedelta(hours=1)
    assert clock.remaining == timedelta(hours=3)
    assert clock.target == timedelta(hours=4)


def test_milestones_at_default_fractions() -> None:
    clock = build_clock(logged_at=LOGGED, rule=FOUR_HOURS, calendar=OPENING, now=LOGGED)
    assert [(m.kind, m.at, m.fraction) for m in clock.milestones] == [
        (MilestoneKind.WARNING, bx("2026-11-24 12:00"), Decimal("0.5")),
        (MilestoneKind.WARNING, bx("2026-11-24 13:00"), Decimal("0.75")),
        (MilestoneKind.WARNING, bx("2026-11-24 13:36"), Decimal("0.9")),
        (MilestoneKind.DUE, bx("2026-11-24 14:00"), None),
        (MilestoneKind.BREACH, bx("2026-11-24 14:00") + BREACH_DELAY, None),
    ]
    assert clock.pending() == clock.milestones


def test_milestones_skip_closed_time_and_pauses() -> None:
    stops = [Pause(bx("2026-11-20 18:00"), bx("2026-11-23 09:00"), "customer")]
    clock = build_clock(
        logged_at=bx("2026-11-20 16:00"),
        rule=FOUR_HOURS,
        calendar=OPENING,
        pauses=stops,
        now=bx("2026-11-20 16:00"),
        fractions=[Decimal("0.25"), Decimal("0.5"), Decimal("0.6")],
    )
    warnings = [m.at for m in clock.milestones if m.kind is MilestoneKind.WARNING]
    # Earliest instants at which 1 h, 2 h and 2 h 24 min are counted.
    assert warnings == [bx("2026-11-20 17:00"), bx("2026-11-20 18:00"), bx("2026-11-23 09:24")]
    assert clock.due_at == bx("2026-11-23 11:00")


def test_day_based_warnings_use_the_window_time_between_logging_and_due() -> None:
    clock = build_clock(
        logged_at=bx("2026-11-23 10:00"), rule=NEXT_DAY_END, calendar=BASIC, now=LOGGED
    )
    # Monday 10:00-20:00 + Tuesday 08:00-20:00 = 22 h of window time.
    assert clock.target == timedelta(hours=22)
    assert clock.due_at == bx("2026-11-24 20:00")
    half = next(m for m in clock.milestones if m.fraction == Decimal("0.5"))
    assert half.at == bx("2026-11-24 09:00")


@pytest.mark.parametrize(
    ("now", "met_at", "state"),
    [
        ("2026-11-24 14:00", None, ClockState.RUNNING),  # exactly at the due instant
        ("2026-11-24 14:01", None, ClockState.BREACHED),
        ("2026-11-25 09:00", "2026-11-24 14:00", ClockState.MET),  # met exactly at due
        ("2026-11-25 09:00", "2026-11-24 13:00", ClockState.MET),
        ("2026-11-25 09:00", "2026-11-24 14:01", ClockState.BREACHED),  # met late
    ],
)
def test_states(now: str, met_at: str | None, state: ClockState) -> None:
    clock = build_clock(
        logged_at=LOGGED,
        rule=FOUR_HOURS,
        calendar=OPENING,
        met_at=None if met_at is None else bx(met_at),
        now=bx(now),
    )
    assert clock.state is state


def test_breach_is_one_microsecond_after_due() -> None:
    due = bx("2026-11-24 14:00")
    at_due = build_clock(logged_at=LOGGED, rule=FOUR_HOURS, calendar=OPENING, now=due)
    assert at_due.state is ClockState.RUNNING
    assert at_due.at(due + BREACH_DELAY).state is ClockState.BREACHED
    late = build_clock(
        logged_at=LOGGED, rule=FOUR_HOURS, calendar=OPENING, met_at=due + BREACH_DELAY, now=due
    )
    assert late.state is ClockState.BREACHED


def test_met_clock_stops_counting() -> None:
    clock = build_clock(
        logged_at=LOGGED,
        rule=FOUR_HOURS,
        calendar=OPENING,
        met_at=bx("2026-11-24 11:30"),
        now=bx("2026-11-26 11:30"),
    )
    assert clock.state is ClockState.MET
    assert clock.elapsed == timedelta(hours=1, minutes=30)
    assert clock.pending() == ()


def test_open_ended_pause_freezes_the_clock() -> None:
    stops = [Pause(bx("2026-11-24 11:00"), None, "customer unreachable")]
    clock = build_clock(
        logged_at=LOGGED,
        rule=FOUR_HOURS,
        calendar=OPENING,
        pauses=stops,
        now=bx("2026-11-25 12:00"),
    )
    assert clock.state is ClockState.PAUSED
    assert clock.paused
    assert clock.due_at is None
    assert clock.milestones == ()
    assert clock.pending() == ()
    assert clock.elapsed == timedelta(hours=1)
    assert clock.remaining == timedelta(hours=3)
    resumed = clock.with_pauses(
        pauses=[Pause(bx("2026-11-24 11:00"), bx("2026-11-25 12:00"), "customer unreachable")],
        now=bx("2026-11-25 12:00"),
    )
    assert resumed.state is ClockState.RUNNING
    assert resumed.due_at == bx("2026-11-25 15:00")


def test_closed_pause_containing_now_is_paused() -> None:
    stops = [Pause(bx("2026-11-24 11:00"), bx("2026-11-24 12:00"), "planned works")]
    clock = build_clock(
        logged_at=LOGGED,
        rule=FOUR_HOURS,
        calendar=OPENING,
        pauses=stops,
        now=bx("2026-11-24 11:30"),
    )
    assert clock.state is ClockState.PAUSED
    assert clock.due_at == bx("2026-11-24 15:00")
    assert [m.at for m in clock.pending()][0] == bx("2026-11-24 13:00")


def test_pause_after_breach_stays_breached() -> None:
    stops = [Pause(bx("2026-11-24 15:00"), None, "customer")]
    clock = build_clock(
        logged_at=LOGGED,
        rule=FOUR_HOURS,
        calendar=OPENING,
        pauses=stops,
        now=bx("2026-11-24 16:00"),
    )
    assert clock.state is ClockState.BREACHED
    assert clock.due_at == bx("2026-11-24 14:00")


@pytest.mark.parametrize("rule", [None, BestEffortRule(rule="best_effort")])
def test_no_target(rule: BestEffortRule | None) -> None:
    clock = build_clock(logged_at=LOGGED, rule=rule, calendar=None, now=LOGGED)
    assert clock.state is ClockState.NONE
    assert clock.due_at is None
    assert clock.remaining is None
    assert clock.pending() == ()


def test_recompute_from_the_original_logging_instant_breaches_at_once() -> None:
    # Standard (1 business day) re-qualified as Express (4 business hours) on Wednesday 09:00.
    standard = build_clock(
        logged_at=LOGGED, rule=ONE_DAY, calendar=BUSINESS_DAYS, now=bx("2026-11-25 09:00")
    )
    assert standard.state is ClockState.RUNNING
    assert standard.due_at == bx("2026-11-25 10:00")
    express = standard.with_rule(rule=FOUR_HOURS, calendar=OPENING, now=bx("2026-11-25 09:00"))
    assert express.logged_at == LOGGED
    assert express.due_at == bx("2026-11-24 14:00")
    assert express.state is ClockState.BREACHED
    assert [m.kind for m in express.pending()] == [MilestoneKind.BREACH]


def test_recompute_keeps_the_pauses() -> None:
    stops = [Pause(bx("2026-11-24 11:00"), bx("2026-11-24 12:00"), "customer")]
    clock = build_clock(
        logged_at=LOGGED, rule=ONE_DAY, calendar=BUSINESS_DAYS, pauses=stops, now=LOGGED
    )
    assert clock.due_at == bx("2026-11-25 11:00")
    express = clock.with_rule(rule=FOUR_HOURS, calendar=OPENING, now=bx("2026-11-24 12:30"))
    assert express.due_at == bx("2026-11-24 15:00")
    assert express.state is ClockState.RUNNING
    assert [m.at for m in express.pending()][0] == bx("2026-11-24 13:00")


def test_bad_fractions_are_rejected() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        build_clock(
            logged_at=LOGGED, rule=FOUR_HOURS, calendar=OPENING, now=LOGGED, fractions=[Decimal(1)]
        )


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (FOUR_HOURS, "4 business hours"),
        (
            BusinessHoursRule(rule="business_hours", hours=Decimal("1.0"), calendar="x"),
            "1 business hour",
        ),
        (
            BusinessHoursRule(rule="business_hours", hours=Decimal("2.5"), calendar="x"),
            "2.5 business hours",
        ),
        (ONE_DAY, "1 business day (24 h)"),
        (
            BusinessDays24hRule(rule="business_days_24h", days=5, calendar="x"),
            "5 business days (24 h)",
        ),
        (NEXT_DAY_END, "end of next business day"),
        (
            EndOfNthBusinessDayRule(rule="end_of_nth_business_day", days=3, calendar="x"),
            "end of 3rd business day",
        ),
        (NextBusinessDayRule(rule="next_business_day", calendar="x"), "next business day"),
        (SameDayRule(rule="same_day", calendar="x", cutoffs={}), "same day"),
        (CalendarDurationRule(rule="calendar_duration", hours=Decimal(10)), "10 hours"),
        (BestEffortRule(rule="best_effort"), "best effort"),
    ],
)
def test_describe_rule(rule: BusinessHoursRule, text: str) -> None:
    assert describe_rule(rule=rule) == text


# --------------------------------------------------------------------------- resolver


def test_targets_for_a_pack_without_service_levels(pack: ContractPack) -> None:
    targets = targets_for(pack, kind="incident", priority="express")
    assert targets.response is not None
    assert targets.resolution is not None
    assert targets.response.label == "4 business hours"
    assert targets.resolution.label == "1 business day (24 h)"
    assert targets.response.calendar is calendar_for(pack.calendars[0])
    assert targets.service_level is None
    assert targets.display_zone == "Europe/Brussels"


def test_acceptance_example(pack: ContractPack) -> None:
    due = compute_due(pack, kind="incident", priority="express", logged_at=bx("2026-11-20 17:30"))
    assert due.response_due == bx("2026-11-23 10:30")
    assert due.resolution_due == bx("2026-11-23 17:30")


def test_intervention_footnotes(pack: ContractPack) -> None:
    none = targets_for(pack, kind="information", priority="standard", intervention="code-question")
    assert none.response is None
    assert none.resolution is None
    partial = targets_for(pack, kind="incident", priority="standard", intervention="no-resolution")
    assert partial.response is not None
    assert partial.resolution is None
    routine = targets_for(pack, kind="incident", priority="express", intervention="restore")
    assert routine.response is not None
    assert routine.resolution is not None
    quote = targets_for(pack, kind="change", priority="express", intervention="migration")
    assert quote.response is None
    assert quote.resolution is None


def test_compute_due_with_pauses(pack: ContractPack) -> None:
    due = compute_due(
        pack,
        kind="incident",
        priority="express",
        logged_at=LOGGED,
        pauses=[Pause(bx("2026-11-24 11:00"), bx("2026-11-24 12:00"), "customer")],
    )
    assert due.response_due == bx("2026-11-24 15:00")
    assert due.resolution_due == bx("2026-11-25 11:00")


def test_resolver_errors(pack: ContractPack) -> None:
    with pytest.raises(UnknownKindError, match="service-request"):
        targets_for(pack, kind="service-request", priority="express")
    with pytest.raises(UnknownPriorityError, match="p1"):
        targets_for(pack, kind="incident", priority="p1")
    with pytest.raises(NoTargetEntryError, match="information"):
        targets_for(pack, kind="information", priority="express")
    with pytest.raises(UnknownServiceLevelError, match="no service levels"):
        targets_for(pack, kind="incident", priority="express", service_level="premium")
    with pytest.raises(UnknownInterventionError, match="nope"):
        targets_for(pack, kind="incident", priority="express", intervention="nope")


def test_service_levels(leveled_pack: ContractPack) -> None:
    default = targets_for(leveled_pack, kind="incident", priority="express")
    assert default.service_level == "pro-plus:basic"
    assert default.response is None
    assert default.resolution is not None
    assert default.resolution.label == "end of next business day"
    premium = compute_due(
        leveled_pack,
        kind="incident",
        priority="express",
        service_level="pro-plus:premium",
        logged_at=bx("2026-11-21 15:00"),  # Saturday: window until 16:30
    )
    assert premium.resolution_due == bx("2026-11-23 11:30")
    nbd = compute_due(
        leveled_pack,
        kind="incident",
        priority="standard",
        service_level="pro-plus:premium",
        logged_at=bx("2026-11-20 15:00"),
    )
    assert nbd.resolution_due == bx("2026-11-23 22:00")
    best = compute_due(
        leveled_pack,
        kind="incident",
        priority="express",
        service_level="essential",
        logged_at=LOGGED,
    )
    assert best.resolution_due is None
    assert best.targets.resolution is not None
    assert best.targets.resolution.label == "best effort"
    with pytest.raises(UnknownServiceLevelError, match="known: pro-plus:basic"):
        targets_for(leveled_pack, kind="incident", priority="express", service_level="gold")
    with pytest.raises(NoTargetEntryError, match="pro-plus:basic"):
        targets_for(leveled_pack, kind="incident", priority="standard")


def test_a_bare_formula_means_its_default_tier(leveled_pack: ContractPack) -> None:
    assert targets_for(
        leveled_pack, kind="incident", priority="express", service_level="pro-plus"
    ).service_level == ("pro-plus:basic")
    assert targets_for(
        leveled_pack, kind="incident", priority="express", service_level="essential"
    ).service_level == ("essential")


def test_contract_option_replaces_calendar_duration_hours(pack: ContractPack) -> None:
    data = pack.model_dump(mode="json")
    data["sla_targets"][1]["resolution"] = {
        "rule": "calendar_duration",
        "hours": "4",
        "hours_option": "gtr_hours",
    }
    data["options"] = [
        {"id": "gtr_hours", "labels": {"fr": "GTR", "nl": "GTR", "en": "GTR"}, "type": "decimal"}
    ]
    gtr = ContractPack.model_validate(data)
    logged = bx("2026-03-28 23:30")
    default = compute_due(gtr, kind="incident", priority="express", logged_at=logged)
    assert default.resolution_due == bx("2026-03-29 04:30")
    assert default.targets.resolution is not None
    assert default.targets.resolution.label == "4 hours"
    unset = compute_due(
        gtr, kind="incident", priority="express", logged_at=logged, terms=ContractTerms.of(gtr)
    )
    assert unset.resolution_due == default.resolution_due
    two = compute_due(
        gtr,
        kind="incident",
        priority="express",
        logged_at=logged,
        terms=ContractTerms.of(gtr, options={"gtr_hours": "2"}),
    )
    assert two.resolution_due == bx("2026-03-29 01:30")
    assert two.targets.resolution is not None
    assert two.targets.resolution.label == "2 hours"
    # A bad value never reaches the clock: the terms refuse it, naming the option.
    with pytest.raises(OptionError, match="gtr_hours.*not a number"):
        ContractTerms.of(gtr, options={"gtr_hours": "x"})
    zero = ContractTerms.of(gtr, options={"gtr_hours": "0"})  # this option declares no bound
    with pytest.raises(SlaLookupError, match="must be positive"):
        compute_due(gtr, kind="incident", priority="express", logged_at=logged, terms=zero)


def test_intervention_object_is_accepted(pack: ContractPack) -> None:
    item = pack.categories[0].interventions[1]
    assert item.id == "code-question"
    targets = targets_for(pack, kind="information", priority="express", intervention=item)
    assert targets.response is None
    assert targets.resolution is None
