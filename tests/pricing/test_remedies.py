"""SLA remedies at and around every threshold, with the numbers read from the packs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pricing import remedies
from pricing.loader import get_pack
from pricing.remedies import RemedyError
from pricing.schema import Labels, PenaltyStep, Remedy

FEE = Decimal(200)


def remedy_of(pack_id: str, type: str) -> Remedy:
    return remedies.find_remedy(get_pack(pack_id), type)


# --------------------------------------------------------------------------- Telenet 5.1 a


def test_telenet_waiver_is_the_credits_due() -> None:
    remedy = remedy_of("telenet-hosting-cloud", "waiver")
    result = remedies.waiver(remedy=remedy, credits_due=Decimal(9))
    assert (result.amount, result.unit, result.clause) == (Decimal(9), "credits", "5.1 (a)")
    assert result.claim_deadline is None
    with pytest.raises(RemedyError):
        remedies.waiver(
            remedy=remedy_of("telenet-hosting-cloud", "waiver"), credits_due=Decimal(-1)
        )


def test_a_pack_without_the_remedy_says_so() -> None:
    with pytest.raises(RemedyError, match="no waiver remedy"):
        remedies.find_remedy(get_pack("telenet-webhosting"), "waiver")


# --------------------------------------------------------------------------- Proximus


@pytest.mark.parametrize(
    ("breaches", "already", "amount", "capped"),
    [
        (0, Decimal(0), Decimal(0), False),
        (1, Decimal(0), FEE, False),
        (2, Decimal(0), FEE, True),  # at most one month's fee per month
        (1, FEE, Decimal(0), True),
        (1, Decimal(50), Decimal(150), True),
    ],
)
def test_proximus_p1_one_months_fee_per_breach_capped_per_month(
    breaches: int, already: Decimal, amount: Decimal, capped: bool
) -> None:
    result = remedies.service_credit_per_breach(
        remedy=remedy_of("proximus-internet", "service_credit_per_breach"),
        monthly_fee=FEE,
        breaches=breaches,
        breach_day=date(2026, 1, 15),
        already_granted=already,
    )
    assert (result.amount, result.capped, result.unit) == (amount, capped, "eur")
    assert result.claim_deadline == (date(2026, 4, 30) if breaches else None)


@pytest.mark.parametrize(
    ("breach", "deadline"),
    [
        (date(2026, 1, 1), date(2026, 4, 30)),
        (date(2026, 1, 31), date(2026, 4, 30)),
        (date(2026, 11, 3), date(2027, 2, 28)),
        (date(2027, 11, 3), date(2028, 2, 29)),
        (date(2026, 12, 31), date(2027, 3, 31)),
    ],
)
def test_proximus_claim_within_three_months_after_the_end_of_the_month(
    breach: date, deadline: date
) -> None:
    remedy = remedy_of("proximus-internet", "service_credit_per_breach")
    assert remedies.claim_deadline(remedy, breach) == deadline


@pytest.mark.parametrize(
    ("availability", "percent"),
    [
        ("100", None),
        ("99.71", None),
        ("99.7", None),  # exactly 99.7 % is not below 99.7 %
        ("99.70", None),
        ("99.69", "1.5"),
        ("99.5", "1.5"),  # exactly 99.5 % is not below 99.5 %
        ("99.49", "5"),
        ("0", "5"),  # the strongest step only, never 1.5 + 5
    ],
)
def test_proximus_yearly_availability_steps(availability: str, percent: str | None) -> None:
    result = remedies.availability_table(
        remedy=remedy_of("proximus-internet", "availability_table"),
        monthly_fee=FEE,
        availability=Decimal(availability),
        period_end=date(2026, 12, 31),
    )
    expected = Decimal(0) if percent is None else FEE * Decimal(percent) / 100
    assert result.amount == expected
    assert result.claim_deadline == (None if percent is None else date(2027, 3, 31))


def test_availability_above_100_is_refused() -> None:
    with pytest.raises(RemedyError):
        remedies.availability_table(
            remedy=remedy_of("proximus-internet", "availability_table"),
            monthly_fee=FEE,
            availability=Decimal("100.1"),
        )


# --------------------------------------------------------------------------- Alteo 5.1

APRIL = remedies.month_minutes(2026, 4, "Europe/Paris")  # 30 days, no DST change


def test_month_minutes_follow_dst() -> None:
    assert APRIL == 30 * 1440
    assert remedies.month_minutes(2026, 3, "Europe/Paris") == 31 * 1440 - 60
    assert remedies.month_minutes(2026, 10, "Europe/Paris") == 31 * 1440 + 60


@pytest.mark.parametrize(
    ("downtime", "slices", "capped"),
    [
        ("0", 0, False),
        ("43.2", 0, False),  # 43 min 12 s in 30 days is exactly 99.9 %: not below
        ("43.21", 1, False),
        ("60", 1, False),
        ("61", 2, False),
        ("120", 2, False),
        ("121", 3, False),
        ("180", 3, False),
        ("181", 4, False),
        ("2400", 40, False),  # 40 slices x 2.5 % = exactly one monthly fee
        ("2401", 40, True),  # capped at one monthly fee
        ("43200", 40, True),
    ],
)
def test_alteo_availability_per_started_slice(downtime: str, slices: int, capped: bool) -> None:
    result = remedies.availability_per_slice(
        remedy=remedy_of("alteo-hosting", "availability_per_slice"),
        monthly_fee=FEE,
        downtime_minutes=Decimal(downtime),
        period_minutes=APRIL,
    )
    assert result.amount == FEE * Decimal("2.5") * slices / 100
    assert result.capped is capped
    assert result.clause.startswith("5.1")


@pytest.mark.parametrize(
    ("year", "month", "downtime", "amount"),
    [
        (2026, 12, "44", "5"),  # December (31 days): 44 min > 43 min 12 s, one slice
        (2027, 2, "41", "0"),  # February (28 days): 41 min is within the tolerance
        (2027, 2, "43.2", "0"),  # exactly 43 min 12 s: not more than the tolerance
        (2027, 3, "43.21", "5"),  # March 2027 has the DST change (one hour shorter)
        (2026, 4, "44", "5"),
    ],
)
def test_alteo_tolerance_is_43_min_12_s_whatever_the_month(
    year: int, month: int, downtime: str, amount: str
) -> None:
    # Seed 004, 5.1: "un temps maximum de panne de 43'12\" par mois": a fixed figure, so the
    # threshold no longer follows the month's length (the former reading failed 41 min in
    # February and passed 44 min in December).
    result = remedies.availability_per_slice(
        remedy=remedy_of("alteo-hosting", "availability_per_slice"),
        monthly_fee=FEE,
        downtime_minutes=Decimal(downtime),
        period_minutes=remedies.month_minutes(year, month, "Europe/Paris"),
    )
    assert result.amount == Decimal(amount)


# --------------------------------------------------------------------------- Alteo 5.2


@pytest.mark.parametrize(
    ("overrun", "percent"),
    [
        ("-10", 0),
        ("0", 0),  # restored exactly at the GTR
        ("1", 20),
        ("60", 20),  # "up to +1 h" includes 60 minutes
        ("60.5", 30),
        ("61", 30),
        ("120", 30),
        ("121", 40),
        ("180", 40),
        ("181", 50),
        ("10000", 50),
    ],
)
def test_alteo_gtr_overrun_steps(overrun: str, percent: int) -> None:
    result = remedies.gtr_overrun(
        remedy=remedy_of("alteo-hosting", "gtr_overrun"),
        monthly_fee=FEE,
        overrun_minutes=Decimal(overrun),
    )
    assert result.amount == FEE * percent / 100
    assert not result.capped


@pytest.mark.parametrize(
    ("already", "amount", "capped"),
    [
        (Decimal(0), Decimal(100), False),
        (Decimal(100), Decimal(100), False),  # reaches the cap exactly
        (Decimal(180), Decimal(20), True),
        (Decimal(200), Decimal(0), True),
    ],
)
def test_alteo_gtr_penalties_are_capped_at_one_monthly_fee_cumulated(
    already: Decimal, amount: Decimal, capped: bool
) -> None:
    result = remedies.gtr_overrun(
        remedy=remedy_of("alteo-hosting", "gtr_overrun"),
        monthly_fee=FEE,
        overrun_minutes=Decimal(181),
        already_granted=already,
    )
    assert (result.amount, result.capped) == (amount, capped)


# --------------------------------------------------------------------------- reuse


def _labels() -> Labels:
    return Labels(fr="x", nl="x", en="x")


def test_a_fifth_pack_reuses_the_types_with_its_own_numbers() -> None:
    gtr = Remedy(
        id="gtr",
        type="gtr_overrun",
        labels=_labels(),
        clause="9.9",
        steps=[
            PenaltyStep(up_to_minutes=30, percent=Decimal(10)),
            PenaltyStep(up_to_minutes=None, percent=Decimal(25)),
        ],
        cap_monthly_fees=Decimal("0.5"),
        claim_window_months=1,
        claim_window_from="event",
    )
    result = remedies.gtr_overrun(
        remedy=gtr,
        monthly_fee=Decimal(100),
        overrun_minutes=Decimal(31),
        already_granted=Decimal(40),
        event_day=date(2026, 1, 31),
    )
    assert (result.amount, result.capped, result.clause) == (Decimal(10), True, "9.9")
    assert result.claim_deadline == date(2026, 2, 28)

    monthly = Remedy(
        id="availability",
        type="availability_per_slice",
        labels=_labels(),
        clause="8.1",
        availability_target=Decimal("99.5"),
        percent=Decimal(5),
        slice_minutes=30,
    )
    owed = remedies.availability_per_slice(
        remedy=monthly,
        monthly_fee=Decimal(100),
        downtime_minutes=Decimal(301),
        period_minutes=Decimal(43200),
    )
    assert owed.amount == Decimal(55)  # 11 started half hours, no cap in this pack


def test_missing_fields_are_reported() -> None:
    bare = Remedy(id="bare", type="availability_per_slice", labels=_labels(), clause="1")
    with pytest.raises(RemedyError, match="availability_target"):
        remedies.availability_per_slice(
            remedy=bare,
            monthly_fee=FEE,
            downtime_minutes=Decimal(100),
            period_minutes=APRIL,
        )
