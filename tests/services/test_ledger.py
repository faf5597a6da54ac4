"""The credit ledger on real SQLite files: sums, holds, charges, top-ups, waivers, locking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from bot.db.engine import transaction
from bot.db.models import Contract, LedgerEntry, LedgerEntryType, Tenant, Ticket, User
from bot.services import accounts, ledger
from bot.services.errors import InputError
from pricing.loader import get_pack
from pricing.quotes import Quote, quote
from pricing.schema import ContractPack

LOGGED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_serial = count(1)


def make_account(
    session: Session, pack_id: str = "telenet-hosting-cloud", options: dict[str, str] | None = None
) -> tuple[int, int]:
    """A tenant with one contract on ``pack_id`` and a requester: (contract id, user id)."""
    n = next(_serial)
    tenant = Tenant(slug=f"tenant-{n}", name=f"Tenant {n}")
    session.add(tenant)
    session.flush()
    assert tenant.id is not None
    contract = Contract(tenant_id=tenant.id, pack_id=pack_id, options=options or {})
    user = User(handle=f"user-{n}", display_name=f"User {n}", tenant_id=tenant.id)
    session.add_all([contract, user])
    session.flush()
    assert contract.id is not None
    assert user.id is not None
    return contract.id, user.id


def make_ticket(session: Session, contract_id: int, user_id: int) -> int:
    """A ticket under the contract."""
    contract = session.get(Contract, contract_id)
    assert contract is not None
    ticket = Ticket(
        reference=f"T-{next(_serial)}",
        tenant_id=contract.tenant_id,
        contract_id=contract_id,
        requester_id=user_id,
        intervention_id="operating-system-support",
        kind="incident",
        priority="standard",
        logged_at=LOGGED,
    )
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    return ticket.id


def strict_pack() -> ContractPack:
    """Telenet hosting & cloud without automatic top-up: a charge must be covered."""
    pack = get_pack("telenet-hosting-cloud")
    return pack.model_copy(
        update={"balance": pack.balance.model_copy(update={"auto_top_up": False})}
    )


def amounts(session: Session, contract_id: int) -> list[tuple[str, Decimal]]:
    return [
        (str(r.type), r.amount) for r in ledger.entries(session=session, contract_id=contract_id)
    ]


@pytest.fixture
def account(engine: Engine) -> tuple[int, int, int]:
    """A Telenet hosting & cloud account with one ticket: (contract, user, ticket)."""
    with transaction(engine) as session:
        contract_id, user_id = make_account(session)
        ticket_id = make_ticket(session, contract_id, user_id)
    return contract_id, user_id, ticket_id


# --------------------------------------------------------------------------- basics


def test_balance_is_the_sum_of_entries_and_holds_only_reduce_available(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, user_id, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(
            session=session, contract_id=contract_id, amount=Decimal(20), actor_id=user_id
        )
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(6)
        )
        assert ledger.balance(session=session, contract_id=contract_id) == 20
        assert ledger.available(session=session, contract_id=contract_id) == 14
        rows = ledger.entries(session=session, contract_id=contract_id)
        assert [r.type for r in rows] == [LedgerEntryType.PURCHASE, LedgerEntryType.HOLD]
        assert rows[1].ticket_id == ticket_id
        assert rows[0].actor_id == user_id
        assert rows[0].invoice_line == "Purchase of 20 credits"
        assert all(r.unit == "credits" for r in rows)


def test_charge_releases_the_hold_and_deducts_the_recorded_amount(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, user_id, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(20))
        hold = ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(6)
        )
        result = ledger.charge(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            amount=Decimal(9),
            actor_id=user_id,
        )
    assert [r.related_id for r in result.released] == [hold.id]
    assert result.charge.amount == -9
    assert (result.balance, result.available, result.top_up) == (11, 11, None)


def test_charging_twice_is_refused(engine: Engine, account: tuple[int, int, int]) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(20))
        ledger.charge(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(2)
        )
    with transaction(engine) as session, pytest.raises(ledger.AlreadyChargedError):
        ledger.charge(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(2)
        )


def test_a_new_hold_replaces_the_tickets_previous_hold(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(10))
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(8)
        )
        # The 8 held for this ticket count as free for its own new hold.
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(10)
        )
        assert ledger.available(session=session, contract_id=contract_id) == 0
        assert len(ledger.open_holds(session=session, contract_id=contract_id)) == 1
        ledger.release_hold(session=session, contract_id=contract_id, ticket_id=ticket_id)
        assert ledger.available(session=session, contract_id=contract_id) == 10
        assert ledger.open_holds(session=session, contract_id=contract_id) == []


def test_hold_beyond_available_is_refused(engine: Engine, account: tuple[int, int, int]) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(5))
    with transaction(engine) as session, pytest.raises(ledger.InsufficientBalanceError) as caught:
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(9)
        )
    assert caught.value.params["shortfall"] == Decimal(4)


def test_adjustment_needs_a_reason_and_a_non_zero_amount(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, user_id, _ = account
    with transaction(engine) as session:
        row = ledger.adjust(
            session=session,
            contract_id=contract_id,
            amount=Decimal("-2.5"),
            reason=" goodwill correction ",
            actor_id=user_id,
        )
        assert (row.amount, row.reason, row.actor_id) == (
            Decimal("-2.5"),
            "goodwill correction",
            user_id,
        )
        with pytest.raises(InputError, match="reason"):
            ledger.adjust(session=session, contract_id=contract_id, amount=Decimal(1), reason=" ")
        with pytest.raises(InputError, match="non-zero"):
            ledger.adjust(session=session, contract_id=contract_id, amount=Decimal(0), reason="x")
        with pytest.raises(InputError, match="positive"):
            ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(-1))


def test_float_amounts_are_refused(engine: Engine, account: tuple[int, int, int]) -> None:
    contract_id, _, _ = account
    with transaction(engine) as session, pytest.raises(InputError):
        ledger.purchase(session=session, contract_id=contract_id, amount=2.5)  # type: ignore[arg-type]


def test_lock_is_select_for_update_on_postgresql() -> None:
    sql = str(ledger.lock_statement(7).compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "FOR UPDATE" in sql


# --------------------------------------------------------------------------- top-up (4.4)


@pytest.mark.parametrize(
    ("start", "charged", "options", "packs", "after"),
    [
        (Decimal(3), Decimal(9), {}, 1, Decimal(4)),  # -6 -> one pack of 10
        (Decimal(0), Decimal(25), {}, 3, Decimal(5)),  # -25 -> three packs
        (Decimal(5), Decimal(15), {}, 1, Decimal(0)),  # -10 -> exactly one pack, back to 0
        (Decimal(10), Decimal(10), {}, 0, Decimal(0)),  # 0 is not negative: no top-up
        (Decimal(0), Decimal(26), {"credit_pack_size": "25"}, 2, Decimal(24)),
        (Decimal(0), Decimal("0.5"), {"credit_pack_size": "50"}, 1, Decimal("49.5")),
    ],
)
def test_auto_top_up_adds_the_smallest_number_of_packs(
    engine: Engine,
    start: Decimal,
    charged: Decimal,
    options: dict[str, str],
    packs: int,
    after: Decimal,
) -> None:
    with transaction(engine) as session:
        contract_id, user_id = make_account(session, options=options)
        ticket_id = make_ticket(session, contract_id, user_id)
        if start:
            ledger.purchase(session=session, contract_id=contract_id, amount=start)
        result = ledger.charge(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=charged
        )
    assert result.top_up_packs == packs
    assert result.balance == after
    if packs:
        assert result.top_up is not None
        size = Decimal(options.get("credit_pack_size", "10"))
        assert result.top_up.amount == packs * size
        assert result.top_up.invoice_line == (
            f"Automatic top-up: {packs} x pack of {size} credits = {packs * size} credits"
        )
        assert result.top_up.ticket_id == ticket_id
    else:
        assert result.top_up is None


def test_without_auto_top_up_a_strict_pack_refuses_an_uncovered_charge(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(4))
    with transaction(engine) as session, pytest.raises(ledger.InsufficientBalanceError):
        ledger.charge(
            session=session,
            contract_id=contract_id,
            ticket_id=ticket_id,
            amount=Decimal(5),
            pack=strict_pack(),
        )


# --------------------------------------------------------------------------- waiver (5.1 a)


def test_waiver_before_charge_releases_the_hold_and_refunds_the_charge(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, user_id, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(9))
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(9)
        )
        marker = ledger.waive(
            session=session, contract_id=contract_id, ticket_id=ticket_id, actor_id=user_id
        )
        assert marker is not None
        assert marker.amount == 0
        assert "5.1 (a)" in (marker.reason or "")
        assert ledger.available(session=session, contract_id=contract_id) == 9
        assert ledger.waive(session=session, contract_id=contract_id, ticket_id=ticket_id) is None
        result = ledger.charge(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(12)
        )
    assert result.waiver is not None
    assert result.waiver.amount == 12
    assert result.waiver.related_id == result.charge.id
    assert (result.balance, result.top_up) == (9, None)


def test_waiver_with_the_amount_due_records_charge_and_waiver(
    engine: Engine, account: tuple[int, int, int]
) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(9))
        ledger.place_hold(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(9)
        )
        ledger.waive(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(9)
        )
        assert amounts(session, contract_id)[-2:] == [
            ("charge", Decimal(-9)),
            ("waiver", Decimal(9)),
        ]
        assert ledger.balance(session=session, contract_id=contract_id) == 9
        assert ledger.available(session=session, contract_id=contract_id) == 9
        with pytest.raises(ledger.AlreadyChargedError):
            ledger.charge(
                session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(9)
            )


def test_waiver_after_charge_refunds_once(engine: Engine, account: tuple[int, int, int]) -> None:
    contract_id, _, ticket_id = account
    with transaction(engine) as session:
        result = ledger.charge(
            session=session, contract_id=contract_id, ticket_id=ticket_id, amount=Decimal(6)
        )
        assert (result.balance, result.top_up_packs) == (4, 1)
        refund = ledger.waive(session=session, contract_id=contract_id, ticket_id=ticket_id)
        assert refund is not None
        assert refund.amount == 6
        assert refund.related_id == result.charge.id
        assert ledger.waive(session=session, contract_id=contract_id, ticket_id=ticket_id) is None
        # The pack bought by the top-up stays on the account (4.4: for later use).
        assert ledger.balance(session=session, contract_id=contract_id) == 10


def test_waiver_needs_a_waiver_remedy_in_the_pack(engine: Engine) -> None:
    with transaction(engine) as session:
        contract_id, user_id = make_account(session, "telenet-webhosting")
        ticket_id = make_ticket(session, contract_id, user_id)
        with pytest.raises(ledger.LedgerError, match="no waiver"):
            ledger.waive(session=session, contract_id=contract_id, ticket_id=ticket_id)


# --------------------------------------------------------------------------- checks


def _quote(pack_id: str, intervention: str, priority: str, minutes: int | None = None) -> Quote:
    return quote(
        pack=get_pack(pack_id), intervention_id=intervention, priority=priority, minutes=minutes
    )


def test_check_telenet_hosting_ok_then_shortfall_with_packs_to_buy(engine: Engine) -> None:
    pack = get_pack("telenet-hosting-cloud")
    estimate = _quote(pack.id, "dedicated-server-down-not-hardware", "express", 40)
    with transaction(engine) as session:
        contract_id, _ = make_account(session)
        contract = ledger.get_contract(session=session, contract_id=contract_id)
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(9))
        ok = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=estimate, now=LOGGED
        )
        assert (ok.status, ok.allowed, ok.hold_required, ok.shortfall) == ("ok", True, True, 0)
        ledger.adjust(session=session, contract_id=contract_id, amount=Decimal(-4), reason="test")
        short = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=estimate, now=LOGGED
        )
    assert (short.status, short.allowed, short.shortfall) == ("shortfall", False, Decimal(4))
    assert (short.pack_size, short.packs_to_buy) == (Decimal(10), 1)
    assert short.how_to_top_up is not None
    assert "MyCloud" in short.how_to_top_up.en
    assert "4.3" in short.clauses


def test_check_webhosting_asks_to_purchase_first_but_allows(engine: Engine) -> None:
    pack = get_pack("telenet-webhosting")
    estimate = _quote(pack.id, "internal-website-migration", "express", 60)
    with transaction(engine) as session:
        contract_id, _ = make_account(session, pack.id)
        contract = ledger.get_contract(session=session, contract_id=contract_id)
        check = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=estimate, now=LOGGED
        )
    assert (check.status, check.allowed, check.hold_required) == ("purchase_first", True, False)
    assert check.shortfall == 12


def test_check_proximus_is_not_checked(engine: Engine) -> None:
    pack = get_pack("proximus-internet")
    estimate = _quote(pack.id, "no-internet", "p1")
    with transaction(engine) as session:
        contract_id, _ = make_account(session, pack.id)
        contract = ledger.get_contract(session=session, contract_id=contract_id)
        check = accounts.check_can_request(
            session=session, contract=contract, pack=pack, quote=estimate, now=LOGGED
        )
    assert (check.status, check.allowed, check.hold_required, check.unit) == (
        "not_checked",
        True,
        False,
        "eur",
    )


def test_check_refuses_an_unavailable_quote(engine: Engine) -> None:
    pack = get_pack("telenet-hosting-cloud")
    refused = _quote(pack.id, "dedicated-data-media-transfer", "express")
    with transaction(engine) as session:
        contract_id, _ = make_account(session)
        contract = ledger.get_contract(session=session, contract_id=contract_id)
        with pytest.raises(InputError):
            accounts.check_can_request(
                session=session, contract=contract, pack=pack, quote=refused, now=LOGGED
            )


# --------------------------------------------------------------------------- concurrency


def _race(engine: Engine, attempt: int, action: str, contract_id: int, tickets: list[int]) -> int:
    barrier = threading.Barrier(attempt)
    wins: list[int] = []
    errors: list[BaseException] = []

    def worker(ticket_id: int) -> None:
        barrier.wait()
        try:
            with transaction(engine) as session:
                if action == "hold":
                    ledger.place_hold(
                        session=session,
                        contract_id=contract_id,
                        ticket_id=ticket_id,
                        amount=Decimal(5),
                    )
                else:
                    ledger.charge(
                        session=session,
                        contract_id=contract_id,
                        ticket_id=ticket_id,
                        amount=Decimal(5),
                        pack=strict_pack(),
                    )
            wins.append(ticket_id)
        except ledger.InsufficientBalanceError:
            pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return len(wins)


@pytest.mark.parametrize("action", ["hold", "charge"])
def test_concurrent_spends_cannot_both_pass_the_balance_check(engine: Engine, action: str) -> None:
    attempts = 6
    with transaction(engine) as session:
        contract_id, user_id = make_account(session)
        tickets = [make_ticket(session, contract_id, user_id) for _ in range(attempts)]
        ledger.purchase(session=session, contract_id=contract_id, amount=Decimal(5))
    assert _race(engine, attempts, action, contract_id, tickets) == 1
    with transaction(engine) as session:
        assert ledger.available(session=session, contract_id=contract_id) == 0


# --------------------------------------------------------------------------- properties

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["purchase", "hold", "release", "charge", "waive", "adjust"]),
        st.integers(min_value=0, max_value=3),
        st.decimals(min_value=Decimal("0.25"), max_value=Decimal(30), places=2),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_balance_is_always_the_sum_of_entries(
    engine: Engine, operations: list[tuple[str, int, Decimal]]
) -> None:
    with transaction(engine) as session:
        contract_id, user_id = make_account(session)
        tickets = [make_ticket(session, contract_id, user_id) for _ in range(4)]
    before: list[tuple[int | None, Decimal]] = []
    for name, index, amount in operations:
        ticket_id = tickets[index]
        try:
            with transaction(engine) as session:
                if name == "purchase":
                    ledger.purchase(session=session, contract_id=contract_id, amount=amount)
                elif name == "hold":
                    ledger.place_hold(
                        session=session, contract_id=contract_id, ticket_id=ticket_id, amount=amount
                    )
                elif name == "release":
                    ledger.release_hold(
                        session=session, contract_id=contract_id, ticket_id=ticket_id
                    )
                elif name == "charge":
                    result = ledger.charge(
                        session=session, contract_id=contract_id, ticket_id=ticket_id, amount=amount
                    )
                    assert result.balance >= 0  # 4.4: topped up to >= 0 after every charge
                elif name == "waive":
                    ledger.waive(session=session, contract_id=contract_id, ticket_id=ticket_id)
                else:
                    ledger.adjust(
                        session=session, contract_id=contract_id, amount=-amount, reason="test"
                    )
        except (ledger.InsufficientBalanceError, ledger.AlreadyChargedError):
            pass
        with Session(engine) as session:
            rows = list(
                session.exec(select(LedgerEntry).where(LedgerEntry.contract_id == contract_id))
            )
            holds = ledger.open_holds(session=session, contract_id=contract_id)
            balance = ledger.balance(session=session, contract_id=contract_id)
            free = ledger.available(session=session, contract_id=contract_id)
        # Append-only: what was written before is still there, unchanged.
        assert [(r.id, r.amount) for r in rows[: len(before)]] == before
        before = [(r.id, r.amount) for r in rows]
        non_hold = [r for r in rows if r.type not in ledger.HOLD_TYPES]
        assert balance == sum((r.amount for r in non_hold), Decimal(0))
        assert free == sum((r.amount for r in rows), Decimal(0))
        assert free == balance + sum((h.amount for h in holds), Decimal(0))
        # A waived ticket nets to zero; a charged one costs exactly its charge.
        for ticket_id in tickets:
            mine = [r for r in rows if r.ticket_id == ticket_id and r.type in ("charge", "waiver")]
            assert sum((r.amount for r in mine), Decimal(0)) <= 0
        assert all(r.ticket_id is not None for r in rows if r.type in ("hold", "release", "charge"))


# --------------------------------------------------------------------------- amount bounds

EXTREME = st.one_of(
    st.decimals(min_value=Decimal("-2000000"), max_value=Decimal("2000000"), places=2),
    st.sampled_from(
        [
            Decimal("1E+400"),
            Decimal("-1E+400"),
            Decimal("1E-400"),
            Decimal("0.00001"),
            Decimal("999999.9999"),
            Decimal("1000000"),
            Decimal("1000000.0001"),
            Decimal("NaN"),
            Decimal("Infinity"),
            Decimal("0"),
        ]
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(st.tuples(st.booleans(), EXTREME), min_size=1, max_size=10))
def test_amounts_are_bounded_and_the_balance_stays_the_exact_sum(
    engine: Engine, operations: list[tuple[bool, Decimal]]
) -> None:
    from fractions import Fraction

    with transaction(engine) as session:
        contract_id, _user_id = make_account(session)
    expected = Fraction(0)
    for is_purchase, amount in operations:
        sane = amount.is_finite() and abs(amount) <= Decimal(1_000_000)
        sane = sane and amount == amount.quantize(Decimal("0.0001"))
        try:
            with transaction(engine) as session:
                if is_purchase:
                    ledger.purchase(session=session, contract_id=contract_id, amount=amount)
                else:
                    ledger.adjust(
                        session=session, contract_id=contract_id, amount=amount, reason="test"
                    )
        except InputError:
            assert not sane or amount <= 0
            continue
        assert sane
        expected += Fraction(amount)
        with Session(engine) as session:
            rows = list(
                session.exec(select(LedgerEntry).where(LedgerEntry.contract_id == contract_id))
            )
            balance = ledger.balance(session=session, contract_id=contract_id)
        assert balance == sum((r.amount for r in rows), Decimal(0))
        assert Fraction(balance) == expected
