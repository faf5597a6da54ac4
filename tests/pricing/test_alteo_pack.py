"""The Alteo (Alixans) hosting pack, checked against its special terms of sale.

Numbers come from the seed (CPV hébergement et infogérance, version HBT-20230707-01):
4.1.4 time bank, 5.1 availability SLA, 5.2 GTR penalties, 5.5 maintenance notice.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.loader import check_pack, find_intervention, load_pack_file
from pricing.schema import CalendarDurationRule, ContractPack, PriceRuleType

PACK_FILE = Path(__file__).resolve().parents[2] / "pricing" / "packs" / "alteo-hosting.yaml"

LEVELS = [
    ("managed:none", "Hébergement sans infogérance"),
    ("managed:basic", "Niveau 1 - Basic"),
    ("managed:supervision", "Niveau 2 - Supervision"),
    ("managed:plesk", "Niveau 3 - Infogérance Plesk"),
    ("managed:custom", "Niveau 4 – Infogérance sur mesure"),
]

# 4.1.1 Niveau 4: "Le Client fera des demandes de création ... par ... ticket".
CREATION_REQUESTS = [
    ("database-creation", "Création de bases de données"),
    ("ftp-account-creation", "Création de compte FTP"),
    ("database-user-creation", "Création d'utilisateur de bases de données"),
    ("web-vhost-addition", "Ajout d'un vhost sur le serveur Web"),
]

# 5.2: "GTR + 1 heure: 20 %", "+ 2 heures: 30 %", "+ 3 heures: 40 %", "+ 3 heures: 50 %".
GTR_STEPS = [(60, Decimal(20)), (120, Decimal(30)), (180, Decimal(40)), (None, Decimal(50))]

# 2 - DÉFINITIONS: Support technique niveau 1, 2, 3.
SUPPORT_LEVELS = [
    (1, "incidents matériels"),
    (2, "incidents logiciels systèmes"),
    (3, "optimisations et audit"),
]


@pytest.fixture(scope="module")
def pack() -> ContractPack:
    return load_pack_file(PACK_FILE)


def test_identity(pack: ContractPack) -> None:
    assert pack.id == "alteo-hosting"
    assert pack.provider == "Alteo"
    assert pack.provider_code == "ALT"
    assert pack.intake.ticket_prefix == "ALT"
    assert pack.version == "HBT-20230707-01"
    assert pack.effective_date == date(2023, 7, 7)
    assert check_pack(pack) == []


def test_french_calendars(pack: ContractPack) -> None:
    for calendar in pack.calendars:
        assert calendar.zone == "Europe/Paris"
    business = next(c for c in pack.calendars if c.id == pack.default_calendar)
    assert business.holidays is not None
    assert business.holidays.country == "FR"
    continuous = next(c for c in pack.calendars if c.id == "continuous")
    assert set(continuous.windows) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    for windows in continuous.windows.values():
        [window] = windows
        assert (window.start, window.end) == (time(0, 0), "24:00")


@pytest.mark.parametrize(("level_id", "label"), LEVELS)
def test_managed_service_levels(pack: ContractPack, level_id: str, label: str) -> None:
    level = next(s for s in pack.service_levels if s.id == level_id)
    assert level.labels.fr == label
    assert level.availability_target == Decimal("99.9")
    assert level.calendar == "continuous"
    [target] = level.targets
    assert (target.kind, target.priority) == ("incident", "critical")
    assert target.response is None
    assert isinstance(target.resolution, CalendarDurationRule)
    assert target.resolution.hours_option == "gtr_hours"


def test_gtr_default_comes_from_a_documented_option(pack: ContractPack) -> None:
    option = next(o for o in pack.options if o.id == "gtr_hours")
    assert option.type == "decimal"
    assert option.default is not None
    assert option.description is not None
    for level in pack.service_levels:
        rule = level.targets[0].resolution
        assert isinstance(rule, CalendarDurationRule)
        assert rule.hours == Decimal(option.default)


def test_one_default_level(pack: ContractPack) -> None:
    assert [s.id for s in pack.service_levels if s.default] == ["managed:none"]
    option = next(o for o in pack.options if o.id == "service_level")
    assert option.default == "managed:none"


def test_time_bank(pack: ContractPack) -> None:
    # 4.1.4: credited on the 1st, not carried over, counted per 1/4 hour at least;
    # extra hours valid 30 days.
    balance = pack.balance
    assert balance.unit == "hours"
    bank = balance.time_bank
    assert bank is not None
    assert bank.credit_day == 1
    assert bank.carry_over is False
    assert bank.minimum_minutes == 15
    assert bank.increment_minutes == 15
    assert bank.extra_validity_days == 30
    assert bank.monthly_allowance_option == "monthly_allowance_hours"
    option = next(o for o in pack.options if o.id == bank.monthly_allowance_option)
    assert Decimal(option.default or "") == bank.default_monthly_allowance_hours
    assert balance.rounding == "started_quarter_hour"


def test_quarter_hour_price_is_a_quarter_of_an_hour_of_the_bank(pack: ContractPack) -> None:
    bank = pack.balance.time_bank
    assert bank is not None
    per_quarter = Decimal(bank.increment_minutes) / 60
    seen = 0
    for category in pack.categories:
        for intervention in category.interventions:
            for rule in intervention.prices.values():
                if rule.rule is PriceRuleType.PER_QUARTER_HOUR:
                    assert rule.credits == per_quarter == Decimal("0.25")
                    seen += 1
    assert seen > 0


def test_availability_penalty(pack: ContractPack) -> None:
    # 5.1: 99.9 % (43'12" a month); 2.5 % of the monthly fee per 60 min slice; cap 1 month.
    remedy = next(r for r in pack.remedies if r.type == "availability_per_slice")
    assert remedy.availability_target == Decimal("99.9")
    assert remedy.period == "month"
    assert remedy.percent == Decimal("2.5")
    assert remedy.slice_minutes == 60
    assert remedy.cap_monthly_fees == Decimal(1)
    assert remedy.proactive is False
    allowed_minutes = (Decimal(100) - remedy.availability_target) / 100 * 30 * 24 * 60
    assert allowed_minutes == Decimal("43.2")  # 43 min 12 s


def test_gtr_penalty(pack: ContractPack) -> None:
    remedy = next(r for r in pack.remedies if r.type == "gtr_overrun")
    assert [(s.up_to_minutes, s.percent) for s in remedy.steps] == GTR_STEPS
    assert remedy.cap_monthly_fees == Decimal(1)
    assert remedy.cap_period == "cumulated"
    assert remedy.applies_to["priority"] == ["critical"]
    assert remedy.exclusive is True


def test_planned_maintenance_notice(pack: ContractPack) -> None:
    notice = pack.maintenance_notice
    assert notice is not None
    assert notice.notice_days == 8
    assert notice.day_type == "calendar"
    assert notice.excluded_from_sla is True


@pytest.mark.parametrize(("intervention_id", "label"), CREATION_REQUESTS)
def test_creation_requests_only_on_levels_3_and_4(
    pack: ContractPack, intervention_id: str, label: str
) -> None:
    _, intervention = find_intervention(pack, intervention_id)
    assert intervention.labels.fr == label
    assert intervention.kinds == ["change"]
    assert intervention.service_levels == ["managed:plesk", "managed:custom"]


def test_restricted_interventions_name_known_levels(pack: ContractPack) -> None:
    known = {level.id for level in pack.service_levels}
    for category in pack.categories:
        for intervention in category.interventions:
            if intervention.service_levels is not None:
                assert set(intervention.service_levels) <= known, intervention.id


def test_outage_and_hardware_incidents_are_free(pack: ContractPack) -> None:
    for intervention_id in ("service-outage", "hardware-failure"):
        _, intervention = find_intervention(pack, intervention_id)
        assert intervention.service_levels is None
        assert {r.rule for r in intervention.prices.values()} == {PriceRuleType.FREE}


def test_quotes_for_unmanaged_work(pack: ContractPack) -> None:
    _, quote = find_intervention(pack, "quote-request")
    assert quote.prices["minor"].rule is PriceRuleType.ON_REQUEST
    assert pack.non_routine is not None
    assert pack.non_routine.price.rule is PriceRuleType.ON_REQUEST


@pytest.mark.parametrize(("level", "words"), SUPPORT_LEVELS)
def test_escalation_follows_support_levels(pack: ContractPack, level: int, words: str) -> None:
    rung = next(r for r in pack.escalation.levels if r.level == level)
    assert words in rung.labels.fr


def test_priorities_documented(pack: ContractPack) -> None:
    assert [(p.id, p.rank) for p in pack.priorities] == [
        ("critical", 3),
        ("major", 2),
        ("minor", 1),
    ]
    # The seed refers to an annex "Gestion des Incidents" it does not contain.
    assert "Gestion des Incidents" in (pack.source[0].note or "")
