"""Quotes, table-driven from the contracts' Annex 1 rows (seed notation, one row a line)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.loader import get_pack
from pricing.quotes import QuoteError, charge_for, quote, started_quarters
from pricing.schema import ContractPack, PriceRuleType

# Telenet Support Hosting & Cloud, Annex 1 (1): (intervention, Standard cell, Express cell).
# Cells: "free" (gratuit), "N/A", "N/15min", "N/intervention", "N/website", "N/pst".
HOSTING_CLOUD_ANNEX = [
    ("dedicated-server-manual-restart", "2/intervention", "3/intervention"),
    ("dedicated-server-down-hardware", "free", "free"),
    ("dedicated-server-down-not-hardware", "2/15min", "3/15min"),
    ("dedicated-software-install-upgrade", "2/15min", "3/15min"),
    ("dedicated-ip-failover", "2/intervention", "3/intervention"),
    ("dedicated-server-access-problem", "free", "free"),
    ("dedicated-data-media-transfer", "5/intervention", "N/A"),
    ("dedicated-firewall-rules", "2/intervention", "3/intervention"),
    ("dedicated-server-move-subnet", "20/intervention", "20/intervention"),
    ("cloud-server-down-not-hardware", "2/15min", "3/15min"),
    ("cloud-software-install-upgrade", "2/15min", "3/15min"),
    ("cloud-data-media-transfer", "5/intervention", "N/A"),
    ("cloud-firewall-rules", "2/intervention", "3/intervention"),
    ("colocation-server-manual-restart", "2/intervention", "3/intervention"),
    ("colocation-server-access-problem", "free", "free"),
    ("colocation-physical-access", "2/15min", "N/A"),
    ("colocation-data-media-transfer", "5/intervention", "N/A"),
    ("colocation-firewall-rules", "2/intervention", "3/intervention"),
    ("colocation-server-move-subnet", "20/intervention", "20/intervention"),
    ("remote-access-assistance", "2/15min", "3/15min"),
    ("operating-system-support", "2/15min", "3/15min"),
    ("plesk-control-panel-usage", "free", "free"),
    ("plesk-underlying-os-support", "2/15min", "3/15min"),
    ("plesk-migration", "2/15min", "3/15min"),
    ("domain-troubleshooting-advice", "free", "free"),
    ("domain-records-update", "2/intervention", "3/intervention"),
    ("website-unreachable", "free", "free"),
    ("second-ftp-account", "free", "free"),
    ("anonymous-folder-access", "free", "free"),
    ("code-questions", "2/15min", "3/15min"),
    ("hacked-website-investigation", "2/15min", "3/15min"),
    ("internal-website-migration", "2/15min", "3/15min"),
    ("website-backup-restore", "2/website", "3/website"),
    ("pst-import-exchange", "5/pst", "N/A"),
    ("exchange-export-pst", "5/pst", "N/A"),
    ("exchange-mailbox-restore", "25/intervention", "N/A"),
    ("outlook-account-setup", "free", "free"),
    ("mac-mail-account-setup", "free", "free"),
    ("mobile-setup", "free", "free"),
    ("cloudoffice-service-incident", "free", "free"),
    ("cloudoffice-mail-client-config", "2/15min", "3/15min"),
    ("cloudoffice-online-portal-config", "2/15min", "3/15min"),
    ("cloudoffice-software-config", "2/15min", "3/15min"),
    ("cloudoffice-information-request", "free", "free"),
]

# Telenet web hosting, Annex 1: the rows whose two priorities differ or are special.
WEBHOSTING_ANNEX = [
    ("ssl-webhosting-integration", "free", "3/15min"),
    ("ssl-dynamic-cloud-integration", "2/15min", "3/15min"),
    ("coding-questions", "2/15min", "2/15min"),
    ("website-backup-restore", "4/15min", "5/15min"),
    ("domain-records-update", "2/intervention", "3/intervention"),
    ("external-website-migration", "on request", "on request"),
    ("email-migration", "on request", "on request"),
    ("m365-service-incident", "free", "free"),
]


@pytest.fixture(scope="module")
def hosting() -> ContractPack:
    return get_pack("telenet-hosting-cloud")


@pytest.fixture(scope="module")
def webhosting() -> ContractPack:
    return get_pack("telenet-webhosting")


def expected(cell: str, *, minutes: int | None, units: int | None) -> dict[str, object]:
    """What quote() must answer for one Annex cell."""
    if cell == "free":
        return {"rule": PriceRuleType.FREE, "credits": Decimal(0), "available": True}
    if cell == "N/A":
        return {"rule": PriceRuleType.NOT_AVAILABLE, "credits": None, "available": False}
    if cell == "on request":
        return {"rule": PriceRuleType.ON_REQUEST, "credits": None, "available": True}
    amount, per = cell.split("/")
    rate = Decimal(amount)
    if per == "15min":
        quarters = max(1, -(-(minutes or 0) // 15))
        return {
            "rule": PriceRuleType.PER_QUARTER_HOUR,
            "credits": rate * quarters,
            "rate": rate,
            "quarters": quarters,
            "estimate": True,
        }
    if per == "intervention":
        return {"rule": PriceRuleType.FIXED, "credits": rate, "rate": rate, "estimate": False}
    count = units or 1
    return {
        "rule": PriceRuleType.PER_UNIT,
        "credits": rate * count,
        "rate": rate,
        "units": count,
        "unit": {"website": "website", "pst": "pst-file"}[per],
        "estimate": units is None,
    }


def check(pack: ContractPack, intervention: str, priority: str, cell: str, ceiling: str) -> None:
    for minutes, units in ((None, None), (40, 3), (15, 1), (16, 2)):
        got = quote(
            pack=pack, intervention_id=intervention, priority=priority, minutes=minutes, units=units
        )
        for field, value in expected(cell, minutes=minutes, units=units).items():
            assert getattr(got, field) == value, (intervention, priority, minutes, field)
        assert got.max_priority == ceiling


@pytest.mark.parametrize(("intervention", "standard", "express"), HOSTING_CLOUD_ANNEX)
def test_hosting_cloud_annex_row(
    hosting: ContractPack, intervention: str, standard: str, express: str
) -> None:
    ceiling = "standard" if express == "N/A" else "express"
    check(hosting, intervention, "standard", standard, ceiling)
    check(hosting, intervention, "express", express, ceiling)


def test_hosting_cloud_annex_is_complete(hosting: ContractPack) -> None:
    # The on-quote row (issue 14, the pack's non-routine path) is not an annex row.
    ids = [i.id for c in hosting.categories for i in c.interventions if c.id != "on-quote"]
    assert sorted(ids) == sorted(row[0] for row in HOSTING_CLOUD_ANNEX)
    assert len(ids) == 44


@pytest.mark.parametrize(("intervention", "standard", "express"), WEBHOSTING_ANNEX)
def test_webhosting_annex_row(
    webhosting: ContractPack, intervention: str, standard: str, express: str
) -> None:
    check(webhosting, intervention, "standard", standard, "express")
    check(webhosting, intervention, "express", express, "express")


def test_acceptance_server_down_express_40_minutes(hosting: ContractPack) -> None:
    got = quote(
        pack=hosting,
        intervention_id="dedicated-server-down-not-hardware",
        priority="express",
        minutes=40,
    )
    assert (got.credits, got.quarters, got.rate, got.estimate) == (Decimal(9), 3, Decimal(3), True)


def test_express_data_transfer_is_refused_with_its_ceiling(hosting: ContractPack) -> None:
    got = quote(pack=hosting, intervention_id="dedicated-data-media-transfer", priority="express")
    assert not got.available
    assert got.max_priority == "standard"
    assert got.credits is None


@pytest.mark.parametrize(
    ("minutes", "quarters"),
    [(0, 1), (1, 1), (14, 1), (15, 1), (16, 2), (30, 2), (31, 3), (45, 3), (46, 4), (600, 40)],
)
def test_started_quarters(minutes: int, quarters: int) -> None:
    assert started_quarters(minutes) == quarters


def test_quote_without_minutes_is_an_estimate_for_one_quarter(hosting: ContractPack) -> None:
    got = quote(pack=hosting, intervention_id="operating-system-support", priority="standard")
    assert (got.credits, got.quarters, got.estimate) == (Decimal(2), 1, True)
    assert got.describe().startswith("from 2")


def test_charge_uses_recorded_time_and_is_not_an_estimate(hosting: ContractPack) -> None:
    got = charge_for(
        pack=hosting,
        intervention_id="dedicated-server-down-not-hardware",
        priority="standard",
        recorded_minutes=61,
    )
    assert (got.credits, got.quarters, got.estimate) == (Decimal(10), 5, False)
    fixed = charge_for(
        pack=hosting,
        intervention_id="domain-records-update",
        priority="express",
        recorded_minutes=90,
    )
    assert (fixed.credits, fixed.quarters, fixed.estimate) == (Decimal(3), None, False)
    per_unit = charge_for(
        pack=hosting,
        intervention_id="pst-import-exchange",
        priority="standard",
        recorded_minutes=10,
        units=4,
    )
    assert (per_unit.credits, per_unit.units, per_unit.estimate) == (Decimal(20), 4, False)


def test_alteo_quotes_are_in_hours() -> None:
    alteo = get_pack("alteo-hosting")
    got = quote(
        pack=alteo, intervention_id="advanced-software-diagnosis", priority="minor", minutes=50
    )
    assert (got.credits, got.quarters) == (Decimal("1.00"), 4)
    assert alteo.balance.unit == "hours"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"intervention_id": "nope", "priority": "standard"}, "unknown intervention"),
        ({"intervention_id": "plesk-migration", "priority": "p1"}, "unknown priority"),
        ({"intervention_id": "plesk-migration", "priority": "standard", "minutes": -1}, "negative"),
        ({"intervention_id": "pst-import-exchange", "priority": "standard", "units": 0}, "units"),
    ],
)
def test_bad_inputs(hosting: ContractPack, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(QuoteError, match=message):
        quote(pack=hosting, **kwargs)  # type: ignore[arg-type]
