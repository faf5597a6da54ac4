"""What a customer can spend on a contract: one figure for `/balance`, the intake and billing.

A contract's account counts credits (a ledger with holds), hours (a time bank whose monthly
allowance is due from the period's first instant) or nothing (invoiced in euros). Every place
that shows or checks what is left asks `customer_balance`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Session

from bot.db.models import Contract
from bot.services import ledger, timebank
from bot.services.contracts import terms_of
from bot.services.errors import InputError
from pricing.quotes import Quote
from pricing.schema import ContractPack, Labels
from pricing.terms import AccountKind


@dataclass(frozen=True)
class CustomerBalance:
    """What is left on a contract's account at one instant."""

    account: AccountKind
    unit: str
    available: Decimal | None  # None: nothing prepaid (invoiced in euros)
    held: Decimal = Decimal(0)  # reserved for open tickets (credit accounts)


class BalanceStatus(StrEnum):
    """The outcome of a balance check before a request."""

    OK = "ok"
    SHORTFALL = "shortfall"
    PURCHASE_FIRST = "purchase_first"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True)
class BalanceCheck:
    """Whether the account lets the customer request an intervention, and how to top up."""

    status: BalanceStatus
    allowed: bool
    hold_required: bool
    unit: str
    needed: Decimal | None
    available: Decimal | None
    shortfall: Decimal
    pack_size: Decimal | None
    packs_to_buy: int | None
    how_to_top_up: Labels | None
    clauses: tuple[str, ...]


def customer_balance(
    *, session: Session, contract: Contract, now: datetime, pack: ContractPack | None = None
) -> CustomerBalance:
    """The customer's balance at `now`: credits not held, or hours usable this period."""
    assert contract.id is not None
    terms = terms_of(session=session, contract=contract, pack=pack)
    unit = terms.pack.balance.unit.value
    if terms.account is AccountKind.NONE:
        return CustomerBalance(account=terms.account, unit=unit, available=None)
    if terms.account is AccountKind.TIME_BANK:
        hours = timebank.usable_hours(session=session, contract=contract, pack=terms.pack, now=now)
        return CustomerBalance(account=terms.account, unit=unit, available=hours)
    available = ledger.available(session=session, contract_id=contract.id)
    total = ledger.balance(session=session, contract_id=contract.id)
    return CustomerBalance(
        account=terms.account, unit=unit, available=available, held=total - available
    )


def check_can_request(
    *,
    session: Session,
    contract: Contract,
    pack: ContractPack,
    quote: Quote,
    now: datetime,
) -> BalanceCheck:
    """Whether the balance lets the customer request the quoted intervention (no lock taken).

    ``ok``: covered (place a hold when ``hold_required``); ``shortfall``: refused until the
    customer tops up (``sufficient_balance_required``); ``purchase_first``: may be logged but
    the provider may wait for a purchase (``purchase_may_be_required``); ``not_checked``: the
    pack has no balance rule for requests, the account is in EUR, or the price is on request.
    The figure compared is `customer_balance` at ``now``.
    """
    terms = terms_of(session=session, contract=contract, pack=pack)
    rules = pack.balance
    unit = rules.unit.value
    if not quote.available:
        raise InputError("the quoted priority is not available for this intervention")
    size = terms.credit_pack_size if terms.account is AccountKind.CREDITS else None
    checked = rules.sufficient_balance_required or rules.purchase_may_be_required
    needed = quote.credits
    if needed is None or not checked or terms.account is AccountKind.NONE:
        return BalanceCheck(
            status=BalanceStatus.NOT_CHECKED,
            allowed=True,
            hold_required=False,
            unit=unit,
            needed=needed,
            available=None,
            shortfall=Decimal(0),
            pack_size=size,
            packs_to_buy=None,
            how_to_top_up=rules.how_to_top_up,
            clauses=tuple(rules.clauses),
        )
    free = customer_balance(session=session, contract=contract, now=now, pack=pack).available
    assert free is not None
    shortfall = max(Decimal(0), needed - free)
    if shortfall == 0:
        status = BalanceStatus.OK
    elif rules.sufficient_balance_required:
        status = BalanceStatus.SHORTFALL
    else:
        status = BalanceStatus.PURCHASE_FIRST
    return BalanceCheck(
        status=status,
        allowed=status is not BalanceStatus.SHORTFALL,
        # Time is drawn from the bank when recorded; only credit accounts hold at opening.
        hold_required=rules.sufficient_balance_required
        and terms.account is AccountKind.CREDITS
        and needed > 0,
        unit=unit,
        needed=needed,
        available=free,
        shortfall=shortfall,
        pack_size=size,
        packs_to_buy=ledger.packs_needed(shortfall, size) if size else None,
        how_to_top_up=rules.how_to_top_up,
        clauses=tuple(rules.clauses),
    )
