"""The Proximus business-internet pack, checked against the seed's service description.

Every table below is copied from the seed (French "Description de service contractuelle"):
the service windows and restoration times per formula and SLA tier, the Service Desk
numbers, the service credits and the escalation matrix.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.loader import check_pack, find_intervention, load_pack_file, max_priority
from pricing.schema import (
    BestEffortRule,
    BusinessHoursRule,
    ContractPack,
    EndOfNthBusinessDayRule,
    NextBusinessDayRule,
    PriceRuleType,
    SameDayRule,
    ServiceLevel,
)

PACK_FILE = Path(__file__).resolve().parents[2] / "pricing" / "packs" / "proximus-internet.yaml"

MF = ("mon", "tue", "wed", "thu", "fri")

# "Fenêtre de traitement des Incidents": (Mon-Fri window, Saturday window or None).
WINDOWS: dict[str, tuple[tuple[str, str], tuple[str, str] | None]] = {
    "internet-essential:default": (("08:00", "20:00"), None),
    "internet-maxi-bizz:default": (("08:00", "20:00"), ("08:00", "16:30")),
    "internet-pro:default": (("08:00", "22:00"), ("08:00", "16:30")),
    "internet-pro-plus:premium": (("08:00", "22:00"), ("08:00", "16:30")),
    "internet-pro-plus:medium": (("08:00", "20:00"), ("08:00", "16:30")),
    "internet-pro-plus:basic": (("08:00", "20:00"), None),
    "internet-pro-plus-essential:premium": (("08:00", "22:00"), ("08:00", "16:30")),
    "internet-pro-plus-essential:medium": (("08:00", "20:00"), ("08:00", "16:30")),
    "internet-pro-plus-essential:basic": (("08:00", "20:00"), None),
    "fullfiber:default": (("08:00", "18:00"), ("08:00", "16:30")),
    "fullfiber:option": (("08:00", "22:00"), ("08:00", "16:30")),
    "fullfiber-extended:premium": (("08:00", "22:00"), ("08:00", "16:30")),
    "fullfiber-extended:medium": (("08:00", "18:00"), ("08:00", "16:30")),
    "fullfiber-extended:basic": (("08:00", "20:00"), None),
}

# "Délai de restauration du Service", P1..P4: "5h" = 5 h in the window, "same" = jour même,
# "next" = JO suivant, "end1" = fin du Jour ouvrable suivant, "3" = 3 JO, "best" = best effort.
PREMIUM = ("5h", "next", "3", "10")
MEDIUM = ("same", "3", "5", "10")
BASIC = ("end1", "3", "5", "10")
RESTORATION: dict[str, tuple[str, str, str, str]] = {
    "internet-essential:default": ("best", "best", "best", "best"),
    "internet-maxi-bizz:default": ("same", "3", "3", "10"),
    "internet-pro:default": PREMIUM,
    "internet-pro-plus:premium": PREMIUM,
    "internet-pro-plus:medium": MEDIUM,
    "internet-pro-plus:basic": BASIC,
    "internet-pro-plus-essential:premium": PREMIUM,
    "internet-pro-plus-essential:medium": MEDIUM,
    "internet-pro-plus-essential:basic": BASIC,
    "fullfiber:default": ("end1", "3", "3", "10"),
    "fullfiber:option": PREMIUM,
    "fullfiber-extended:premium": PREMIUM,
    "fullfiber-extended:medium": MEDIUM,
    "fullfiber-extended:basic": BASIC,
}

# DEF tier of each formula.
DEFAULTS = {
    "internet-essential": "internet-essential:default",
    "internet-maxi-bizz": "internet-maxi-bizz:default",
    "internet-pro": "internet-pro:default",
    "internet-pro-plus": "internet-pro-plus:basic",
    "internet-pro-plus-essential": "internet-pro-plus-essential:basic",
    "fullfiber": "fullfiber:default",
    "fullfiber-extended": "fullfiber-extended:basic",
}

# "Accès au Service Desk": Téléphone 0800 22 200 (NL), 33 200 (FR), 44 200 (DE), 55 200 (EN).
PHONES = {"nl": "0800 22 200", "fr": "0800 33 200", "de": "0800 44 200", "en": "0800 55 200"}

# "Matrice d'escalade Peer to Peer": level, words of the level name, Proximus side.
ESCALATION = [
    (0, "Operations", "Service Desk ICT"),
    (1, "Team Leader/Escalation Coach", "Superviseur de l'opérateur"),
    (2, "Gestion des escalades", "Customer Escalation Managers"),
    (3, "Direction", "Manager du Service Desk ICT"),
    (4, "Chef de service", "Responsable du Customer ICT Service Desk"),
    (5, "Haute direction", "Director Entreprise Operations"),
]

# "Définition des priorités": incident type -> the priority its impact gives.
IMPACT_PRIORITY = {
    "no-internet": "p1",
    "cpe-no-sync": "p1",
    "hardware-problem": "p1",
    "fixed-line-down-backup-active": "p2",
    "repeated-drops": "p2",
    "slowness": "p2",
    "services-unreachable": "p2",
    "mobile-backup-failure": "p3",
    "mailbox-problem": "p3",
    "wifi-problem": "p3",
    "open-close-ports": "p4",
    "ip-address-change": "p4",
    "active-configuration-question": "p4",
    "past-outage-question": "p4",
}


@pytest.fixture(scope="module")
def pack() -> ContractPack:
    return load_pack_file(PACK_FILE)


def _level(pack: ContractPack, level_id: str) -> ServiceLevel:
    return next(level for level in pack.service_levels if level.id == level_id)


def test_identity(pack: ContractPack) -> None:
    assert pack.id == "proximus-internet"
    assert pack.provider == "Proximus"
    assert pack.provider_code == "PXS"
    assert pack.intake.ticket_prefix == "PXS"
    assert check_pack(pack) == []


def test_priorities_rank_p4_lowest_and_are_set_by_the_desk(pack: ContractPack) -> None:
    assert [(p.id, p.rank) for p in pack.priorities] == [("p1", 4), ("p2", 3), ("p3", 2), ("p4", 1)]
    for priority in pack.priorities:
        assert "agent" in priority.set_by
        assert "requester" in priority.set_by
    assert pack.priorities[0].labels.fr == "P1 — Interruption complète du Service"


def test_kinds(pack: ContractPack) -> None:
    assert {k.id for k in pack.kinds} == {
        "incident",
        "change",
        "information",
        "service-request",
        "on-demand-support",
    }


def test_every_formula_and_tier_is_there(pack: ContractPack) -> None:
    assert sorted(level.id for level in pack.service_levels) == sorted(WINDOWS)


@pytest.mark.parametrize(("formula", "level_id"), sorted(DEFAULTS.items()))
def test_one_default_tier_per_formula(pack: ContractPack, formula: str, level_id: str) -> None:
    defaults = [
        level.id
        for level in pack.service_levels
        if level.default and level.id.split(":")[0] == formula
    ]
    assert defaults == [level_id]


@pytest.mark.parametrize(("level_id", "expected"), sorted(WINDOWS.items()))
def test_service_window(
    pack: ContractPack,
    level_id: str,
    expected: tuple[tuple[str, str], tuple[str, str] | None],
) -> None:
    weekdays, saturday = expected
    calendar = next(c for c in pack.calendars if c.id == _level(pack, level_id).calendar)
    assert calendar.zone == "Europe/Brussels"
    assert calendar.holidays is not None
    assert calendar.holidays.country == "BE"
    assert calendar.business_days == list(MF)
    for day in MF:
        [window] = calendar.windows[day]
        assert (window.start, window.end) == (
            time.fromisoformat(weekdays[0]),
            time.fromisoformat(weekdays[1]),
        )
    if saturday is None:
        assert "sat" not in calendar.windows
    else:
        [window] = calendar.windows["sat"]
        assert (window.start, window.end) == (
            time.fromisoformat(saturday[0]),
            time.fromisoformat(saturday[1]),
        )
    assert "sun" not in calendar.windows


@pytest.mark.parametrize(("level_id", "expected"), sorted(RESTORATION.items()))
def test_restoration_targets(
    pack: ContractPack, level_id: str, expected: tuple[str, str, str, str]
) -> None:
    level = _level(pack, level_id)
    targets = {t.priority: t for t in level.targets}
    assert sorted(targets) == ["p1", "p2", "p3", "p4"]
    for priority, code in zip(("p1", "p2", "p3", "p4"), expected, strict=True):
        target = targets[priority]
        assert target.kind == "incident"
        assert target.response is None, "the seed sets no response time"
        rule = target.resolution
        if code == "best":
            assert isinstance(rule, BestEffortRule)
            continue
        assert rule is not None
        assert getattr(rule, "calendar", None) == level.calendar
        if code == "5h":
            assert isinstance(rule, BusinessHoursRule)
            assert rule.hours == Decimal(5)
        elif code == "same":
            assert isinstance(rule, SameDayRule)
        elif code == "next":
            assert isinstance(rule, NextBusinessDayRule)
        elif code == "end1":
            assert isinstance(rule, EndOfNthBusinessDayRule)
            assert rule.days == 1
        else:
            assert isinstance(rule, EndOfNthBusinessDayRule)
            assert rule.days == int(code)


def test_same_day_cutoffs(pack: ContractPack) -> None:
    # "(1) ... avant 17h00 du lundi au vendredi et avant 13h00 le samedi."
    rules = [
        t.resolution
        for level in pack.service_levels
        for t in level.targets
        if isinstance(t.resolution, SameDayRule)
    ]
    assert len(rules) == 4  # Maxi, Pro+ Medium, Pro+ Essential Medium, FullFiber Ext. Medium
    for rule in rules:
        assert rule.cutoffs == {
            **{day: time(17, 0) for day in MF},
            "sat": time(13, 0),
        }


def test_availability_target_only_on_pro_plus(pack: ContractPack) -> None:
    with_target = {
        level.id: level.availability_target
        for level in pack.service_levels
        if level.availability_target is not None
    }
    assert set(with_target) == {
        f"{formula}:{tier}"
        for formula in ("internet-pro-plus", "internet-pro-plus-essential")
        for tier in ("premium", "medium", "basic")
    }
    assert set(with_target.values()) == {Decimal("99.7")}


def test_p1_must_be_reported_by_phone(pack: ContractPack) -> None:
    [phone] = pack.intake.phone_required
    assert phone.priority == "p1"
    assert phone.numbers == PHONES
    for lang in ("fr", "nl", "en"):
        assert PHONES[lang] in phone.message.get(lang)


def test_intake_details(pack: ContractPack) -> None:
    assert [d.id for d in pack.intake.details] == [
        "contract-id",
        "serial-number",
        "site-address",
        "contact-name",
        "contact-email",
        "contact-phone",
    ]


def test_notified_events(pack: ContractPack) -> None:
    assert set(pack.notified_events) == {
        "opened",
        "resolved",
        "closed",
        "paused",
        "resumed",
        "priority_changed",
    }


def test_p1_restoration_service_credit(pack: ContractPack) -> None:
    remedy = next(r for r in pack.remedies if r.type == "service_credit_per_breach")
    assert remedy.applies_to["priority"] == ["p1"]
    assert remedy.applies_to["target"] == ["resolution"]
    assert remedy.fee_months == Decimal(1)
    assert remedy.cap_monthly_fees == Decimal(1)
    assert remedy.cap_period == "month"
    assert remedy.claim_window_months == 3
    assert remedy.claim_window_from == "end_of_month"
    assert remedy.proactive is False
    levels = set(remedy.applies_to["service_level"])
    assert levels <= {level.id for level in pack.service_levels}
    # The FullFiber table's only remedy is the escalation procedure.
    assert not any(level.startswith("fullfiber") for level in levels)
    assert "internet-pro:default" in levels


def test_yearly_availability_credit(pack: ContractPack) -> None:
    remedy = next(r for r in pack.remedies if r.type == "availability_table")
    assert remedy.period == "year"
    assert remedy.availability_target == Decimal("99.7")
    assert [(s.below_percent, s.percent) for s in remedy.steps] == [
        (Decimal("99.7"), Decimal("1.5")),
        (Decimal("99.5"), Decimal("5")),
    ]
    assert remedy.proactive is False
    assert set(remedy.applies_to["service_level"]) == {
        level.id for level in pack.service_levels if level.availability_target is not None
    }


@pytest.mark.parametrize(("level", "name", "proximus_side"), ESCALATION)
def test_escalation_matrix(pack: ContractPack, level: int, name: str, proximus_side: str) -> None:
    rung = next(r for r in pack.escalation.levels if r.level == level)
    assert name in rung.labels.fr
    assert proximus_side in rung.labels.fr
    assert rung.applies_to_priorities == ["p1", "p2"]
    assert rung.hours is not None
    assert rung.direct is (level != 5)


def test_escalation_hours_and_rules(pack: ContractPack) -> None:
    hours = {r.level: r.hours.fr for r in pack.escalation.levels if r.hours is not None}
    assert hours[0] == "24/7"
    assert "Heures de bureau" in hours[1]
    assert hours[2].startswith("24/7")
    assert "escalade directe non autorisée" in hours[5]
    assert "Heures de bureau" in hours[5]
    assert pack.escalation.phone_only is True
    assert pack.escalation.notes is not None
    assert "niveau 2" in pack.escalation.notes.fr
    assert "P1 et P2" in pack.escalation.notes.fr


@pytest.mark.parametrize(("intervention_id", "priority"), sorted(IMPACT_PRIORITY.items()))
def test_impact_sets_the_ceiling(pack: ContractPack, intervention_id: str, priority: str) -> None:
    _, intervention = find_intervention(pack, intervention_id)
    assert intervention.default_priority == priority
    assert max_priority(pack, intervention).id == priority


def test_incidents_are_included_in_the_fee(pack: ContractPack) -> None:
    for category in pack.categories:
        for intervention in category.interventions:
            if intervention.kinds != ["incident"]:
                continue
            for priority in intervention.available_priorities:
                assert intervention.prices[priority].rule is PriceRuleType.FREE


@pytest.mark.parametrize(
    "intervention_id",
    ["open-close-ports", "ip-address-change", "firewall-settings-change"],
)
def test_standard_changes_fee_is_on_request(pack: ContractPack, intervention_id: str) -> None:
    _, change = find_intervention(pack, intervention_id)
    assert change.kinds == ["change"]
    assert change.available_priorities == ["p4"]
    assert change.prices["p4"].rule is PriceRuleType.ON_REQUEST
    assert change.notes is not None
    assert "première semaine" in change.notes.fr


@pytest.mark.parametrize(
    "intervention_id", ["on-demand-support", "software-upgrade", "application-software-restore"]
)
def test_on_demand_support_is_paid_on_request(pack: ContractPack, intervention_id: str) -> None:
    _, item = find_intervention(pack, intervention_id)
    assert item.kinds == ["on-demand-support"]
    assert item.prices["p4"].rule is PriceRuleType.ON_REQUEST
    assert item.routine is False


def test_information_cannot_be_p1(pack: ContractPack) -> None:
    for category in pack.categories:
        for intervention in category.interventions:
            if "information" in intervention.kinds:
                assert intervention.prices["p1"].rule is PriceRuleType.NOT_AVAILABLE


def test_catalog_is_searchable_in_three_languages(pack: ContractPack) -> None:
    for category in pack.categories:
        for intervention in category.interventions:
            assert intervention.keywords.fr, intervention.id
            assert intervention.keywords.nl, intervention.id
            assert intervention.keywords.en, intervention.id


def test_balance_in_euro_not_prepaid(pack: ContractPack) -> None:
    assert pack.balance.unit == "eur"
    assert pack.balance.prepaid_required is False
    assert pack.balance.time_bank is None


def test_contract_options(pack: ContractPack) -> None:
    options = {o.id: o.type for o in pack.options}
    assert options["service_level"] == "service_level"
    assert options["monthly_fee"] == "decimal"
