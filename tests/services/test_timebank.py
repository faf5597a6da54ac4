"""Alteo time bank: monthly allowance in Europe/Paris, extras valid 30 days, quarter hours."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.db.models import LedgerEntryType
from bot.services import accounts, ledger, timebank
from pricing.loader import get_pack
from pricing.quotes import quote
from pricing.schema import ContractPack
from tests.services.test_ledger import make_account, make_ticket

PACK_ID = "alteo-hosting"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def pack() -> ContractPack:
    return get_pack(PACK_ID)


def account(engine: Engine, hours: str = "2") -> tuple[int, int, int]:
    """An Alteo contract with a monthly allowance of ``hours``: (contract, user, ticket)."""
    with transaction(engine) as session:
        contract_id, user_id = make_account(session, PACK_ID, {"monthly_allowance_hours": hours})
        ticket_id = make_ticket(session, contract_id, user_id)
    return contract_id, user_id, ticket_id


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("instant", "label", "start", "end"),
    [
        # 1 April 00:30 in Paris (CEST) is still 31 March in UTC.
        ("2026-03-31T22:30:00", (2026, 4), "2026-03-31T22:00:00", "2026-04-30T22:00:00"),
        ("2026-03-31T21:59:59", (2026, 3), "2026-02-28T23:00:00", "2026-03-31T22:00:00"),
        # 1 February 00:30 in Paris (CET) is 31 January 23:30 UTC.
        ("2026-01-31T23:30:00", (2026, 2), "2026-01-31T23:00:00", "2026-02-28T23:00:00"),
        ("2026-10-31T22:59:00", (2026, 10), "2026-09-30T22:00:00", "2026-10-31T23:00:00"),
        ("2026-12-31T23:00:00", (2027, 1), "2026-12-31T23:00:00", "2027-01-31T23:00:00"),
    ],
)
def test_period_boundaries_are_midnight_on_the_1st_in_paris(
    pack: ContractPack, instant: str, label: tuple[int, int], start: str, end: str
) -> None:
    span = timebank.period_at(pack=pack, instant=utc(instant))
    assert (span.year, span.month) == label
    assert (span.start, span.end) == (utc(start), utc(end))


def test_march_is_one_hour_short_in_paris(pack: ContractPack) -> None:
    span = timebank.period(pack=pack, year=2026, month=3)
    assert (span.end - span.start).total_seconds() == (31 * 24 - 1) * 3600


@pytest.mark.parametrize(
    ("bought", "expires"),
    [
        ("2026-03-15T09:00:00", "2026-04-14T08:00:00"),  # 10:00 CET -> 10:00 CEST
        ("2026-03-20T12:00:00", "2026-04-19T11:00:00"),
        ("2026-05-10T08:00:00", "2026-06-09T08:00:00"),  # no DST change in between
        ("2026-10-20T08:00:00", "2026-11-19T09:00:00"),  # 10:00 CEST -> 10:00 CET
    ],
)
def test_extras_expire_30_days_later_at_the_same_paris_time(
    pack: ContractPack, bought: str, expires: str
) -> None:
    assert timebank.extra_expiry(pack=pack, bought_at=utc(bought)) == utc(expires)


@pytest.mark.parametrize(
    ("minutes", "counted"), [(0, 15), (1, 15), (15, 15), (16, 30), (45, 45), (46, 60), (61, 75)]
)
def test_quarter_hours_with_a_15_minute_minimum(
    pack: ContractPack, minutes: int, counted: int
) -> None:
    assert timebank.counted_minutes(pack=pack, minutes=minutes) == counted


# --------------------------------------------------------------------------- ledger entries


def test_allowance_is_credited_once_and_lost_at_month_end(
    engine: Engine, pack: ContractPack
) -> None:
    contract_id, _, ticket_id = account(engine)
    march = utc("2026-03-10T10:00:00")
    with transaction(engine) as session:
        first = timebank.ensure_period(session=session, contract_id=contract_id, now=march)
        again = timebank.ensure_period(session=session, contract_id=contract_id, now=march)
        assert [(e.type, e.amount) for e in first] == [(LedgerEntryType.ALLOWANCE, Decimal(2))]
        assert first[0].at == utc("2026-02-28T23:00:00")
        assert first[0].expires_at == utc("2026-03-31T22:00:00")
        assert again == []
        timebank.consume(
            session=session, contract_id=contract_id, ticket_id=ticket_id, minutes=20, now=march
        )
        assert ledger.balance(session=session, contract_id=contract_id) == Decimal("1.5")
    # One minute before midnight in Paris the allowance is still there...
    with transaction(engine) as session:
        late = utc("2026-03-31T21:59:00")
        assert timebank.ensure_period(session=session, contract_id=contract_id, now=late) == []
        assert timebank.remaining(session=session, contract_id=contract_id, now=late) == Decimal(
            "1.5"
        )
    # ...and at 00:00 on 1 April (22:00 UTC) the remainder expires and April's is credited.
    with transaction(engine) as session:
        april = utc("2026-03-31T22:00:00")
        written = timebank.ensure_period(session=session, contract_id=contract_id, now=april)
        assert [(e.type, e.amount, e.at) for e in written] == [
            (LedgerEntryType.EXPIRY, Decimal("-1.5"), april),
            (LedgerEntryType.ALLOWANCE, Decimal(2), april),
        ]
        assert written[0].related_id == first[0].id
        assert ledger.balance(session=session, contract_id=contract_id) == 2
        rows = ledger.entries(session=session, contract_id=contract_id)
        assert ledger.total(rows) == ledger.balance(session=session, contract_id=contract_id)


def test_consumption_draws_allowance_then_extras_by_earliest_expiry(engine: Engine) -> None:
    contract_id, user_id, ticket_id = account(engine, hours="1")
    with transaction(engine) as session:
        late = timebank.buy_extra(
            session=session,
            contract_id=contract_id,
            hours=Decimal(1),
            now=utc("2026-03-10T09:00:00"),
            actor_id=user_id,
        )
        early = timebank.buy_extra(
            session=session,
            contract_id=contract_id,
            hours=Decimal(1),
            now=utc("2026-03-05T09:00:00"),
        )
        used = timebank.consume(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            minutes=140,
            now=utc("2026-03-20T09:00:00"),
            actor_id=user_id,
        )
        allowance = next(
            e
            for e in ledger.entries(session=session, contract_id=contract_id)
            if e.type is LedgerEntryType.ALLOWANCE
        )
    assert used.counted_minutes == 150
    assert used.hours == Decimal("2.5")
    assert [(e.related_id, e.amount) for e in used.entries] == [
        (allowance.id, Decimal(-1)),
        (early.id, Decimal(-1)),
        (late.id, Decimal("-0.5")),
    ]
    assert all(e.ticket_id == ticket_id and e.actor_id == user_id for e in used.entries)
    assert late.invoice_line == "Extra support hours: 1 h"


def test_extras_expire_after_30_days(engine: Engine) -> None:
    contract_id, user_id, ticket_id = account(engine, hours="0")
    bought = utc("2026-03-15T09:00:00")
    expiry = utc("2026-04-14T08:00:00")
    with transaction(engine) as session:
        extra = timebank.buy_extra(
            session=session, contract_id=contract_id, hours=Decimal(2), now=bought
        )
        assert extra.expires_at == expiry
        timebank.consume(
            session=session, contract_id=contract_id, ticket_id=ticket_id, minutes=30, now=bought
        )
    with transaction(engine) as session:
        just_before = utc("2026-04-14T07:59:00")
        timebank.ensure_period(session=session, contract_id=contract_id, now=just_before)
        assert timebank.remaining(
            session=session, contract_id=contract_id, now=just_before
        ) == Decimal("1.5")
    with transaction(engine) as session:
        written = timebank.ensure_period(session=session, contract_id=contract_id, now=expiry)
        assert [(e.type, e.amount, e.at, e.related_id) for e in written] == [
            (LedgerEntryType.EXPIRY, Decimal("-1.5"), expiry, extra.id)
        ]
        assert timebank.remaining(session=session, contract_id=contract_id, now=expiry) == 0
        assert ledger.balance(session=session, contract_id=contract_id) == 0
        # Another ticket: a ticket's time is drawn once (main's rule since the atomic draws),
        # so the first ticket would be refused as already charged, not for want of time.
        other = make_ticket(session, contract_id, user_id)
        with pytest.raises(timebank.InsufficientTimeError):
            timebank.consume(
                session=session,
                contract_id=contract_id,
                ticket_id=other,
                minutes=15,
                now=expiry,
            )


def test_time_beyond_the_bank_is_refused_or_billed(engine: Engine) -> None:
    contract_id, _, ticket_id = account(engine, hours="0.5")
    now = utc("2026-06-03T08:00:00")
    with transaction(engine) as session, pytest.raises(timebank.InsufficientTimeError) as caught:
        timebank.consume(
            session=session, contract_id=contract_id, ticket_id=ticket_id, minutes=50, now=now
        )
    assert caught.value.params == {"needed": Decimal(1), "remaining": Decimal("0.5")}
    with transaction(engine) as session:
        # Only the month's allowance was written (ensure_period); no consumption.
        rows = ledger.entries(session=session, contract_id=contract_id)
        assert [r.type for r in rows] == [LedgerEntryType.ALLOWANCE]
        used = timebank.consume(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            minutes=50,
            now=now,
            bill_beyond=True,
        )
        assert used.beyond == Decimal("0.5")
        billed = used.entries[-1]
        assert billed.type is LedgerEntryType.TOP_UP
        assert billed.invoice_line == "Support hours beyond the time bank: 0.5 h"
        assert ledger.balance(session=session, contract_id=contract_id) == 0


def test_monthly_statement(engine: Engine) -> None:
    contract_id, user_id, ticket_id = account(engine, hours="2")
    with transaction(engine) as session:
        other_ticket = make_ticket(session, contract_id, user_id)
        timebank.consume(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            minutes=25,
            now=utc("2026-03-03T10:00:00"),
        )
        timebank.buy_extra(
            session=session,
            contract_id=contract_id,
            hours=Decimal(3),
            now=utc("2026-03-20T10:00:00"),
        )
        timebank.consume(
            session=session,
            contract_id=contract_id,
            ticket_id=other_ticket,
            minutes=60,
            now=utc("2026-03-25T10:00:00"),
        )
        timebank.ensure_period(
            session=session, contract_id=contract_id, now=utc("2026-04-02T10:00:00")
        )
        march = timebank.statement(session=session, contract_id=contract_id, year=2026, month=3)
        april = timebank.statement(session=session, contract_id=contract_id, year=2026, month=4)
    assert march.opening == 0
    assert (march.allowance, march.extras_bought) == (Decimal(2), Decimal(3))
    assert march.consumed == {ticket_id: Decimal("0.5"), other_ticket: Decimal(1)}
    assert march.consumed_total == Decimal("1.5")
    # The allowance's remainder expires at the boundary and closes March, not April.
    assert march.expired == Decimal("0.5")
    assert march.closing == Decimal(3)
    assert april.opening == march.closing
    assert (april.allowance, april.expired, april.closing) == (Decimal(2), 0, Decimal(5))


def test_balance_check_counts_this_months_allowance_before_it_is_written(
    engine: Engine, pack: ContractPack
) -> None:
    contract_id, _, _ = account(engine, hours="1")
    estimate = quote(
        pack=pack, intervention_id="advanced-software-diagnosis", priority="minor", minutes=50
    )
    now = utc("2026-03-10T10:00:00")
    with transaction(engine) as session:
        contract = ledger.get_contract(session=session, contract_id=contract_id)
        check = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=estimate, now=now
        )
        assert (check.status, check.available, check.hold_required) == ("ok", Decimal(1), False)
        timebank.ensure_period(session=session, contract_id=contract_id, now=now)
        bigger = quote(
            pack=pack, intervention_id="advanced-software-diagnosis", priority="minor", minutes=70
        )
        short = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=bigger, now=now
        )
    assert (short.status, short.allowed, short.shortfall) == ("shortfall", False, Decimal("0.25"))
    assert short.unit == "hours"


def test_ledger_charges_and_holds_are_refused_on_a_time_bank(engine: Engine) -> None:
    contract_id, _, ticket_id = account(engine)
    with transaction(engine) as session:
        with pytest.raises(ledger.LedgerError, match="time bank"):
            ledger.charge(
                session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(1)
            )
        with pytest.raises(ledger.LedgerError, match="time bank"):
            ledger.place_hold(
                session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(1)
            )


def test_extras_expiring_before_the_allowance_are_drawn_first(engine: Engine) -> None:
    # Issue 15 item 5: extra hours bought on 25 February 2027 expire on 27 March, before
    # March's allowance (lost at the end of March, across the DST change of 28 March).
    contract_id, user_id, ticket_id = account(engine, hours="1")
    with transaction(engine) as session:
        extra = timebank.buy_extra(
            session=session,
            contract_id=contract_id,
            hours=Decimal(1),
            now=utc("2027-02-25T09:00:00"),
        )
        used = timebank.consume(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            minutes=75,
            now=utc("2027-03-26T09:00:00"),
            actor_id=user_id,
        )
        allowance = next(
            e
            for e in ledger.entries(session=session, contract_id=contract_id)
            if e.type is LedgerEntryType.ALLOWANCE
        )
        after = timebank.usable_hours(
            session=session,
            contract=ledger.get_contract(session=session, contract_id=contract_id),
            pack=get_pack(PACK_ID),
            now=utc("2027-03-29T09:00:00"),  # Easter Monday: the extra has expired
        )
    assert [(e.related_id, e.amount) for e in used.entries] == [
        (extra.id, Decimal(-1)),
        (allowance.id, Decimal("-0.25")),
    ]
    # Nothing paid was lost: the extra hour was used, 0.75 h of the allowance is left.
    assert after == Decimal("0.75")
