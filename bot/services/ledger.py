"""Contract accounts: an append-only ledger of credits (or hours, or euros) per contract.

Each contract is one account, counted in its pack's balance unit. Every movement is a
``LedgerEntry`` row naming its ticket (when any) and its actor (``None`` = the bot itself or
an operator at the command line); rows are never updated or deleted.

Hold model: a hold is a *negative* ``hold`` entry written when a ticket is opened, and its
release a *positive* ``release`` entry of the opposite amount pointing at it (``related_id``).
Hence two sums of entries:

* ``balance`` = sum of every entry except holds and releases: what the account holds;
* ``available`` = sum of every entry = balance minus the holds not yet released.

Charging a ticket releases its holds and writes the ``charge`` in the same transaction.
Every function that checks a balance before writing first locks the contract row
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the ``BEGIN IMMEDIATE`` transaction
already holds the write lock), so two concurrent requests can never both pass the check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.db.models import Contract, LedgerEntry, LedgerEntryType, utcnow
from bot.services.contracts import terms_of
from bot.services.errors import InputError, NotFoundError, ServiceError
from bot.settings import current_settings
from pricing.loader import get_pack
from pricing.schema import ContractPack
from pricing.terms import AccountKind

HOLD_TYPES = frozenset({LedgerEntryType.HOLD, LedgerEntryType.RELEASE})


class LedgerError(ServiceError):
    """A ledger operation that the contract's rules refuse."""

    code = "ledger"


class InsufficientBalanceError(LedgerError):
    """The available balance does not cover the amount (params: needed, available, shortfall)."""

    code = "insufficient_balance"


class AlreadyChargedError(LedgerError):
    """The ticket has already been charged on this account."""

    code = "already_charged"


@dataclass(frozen=True)
class ChargeResult:
    """The entries a charge wrote and the account afterwards."""

    charge: LedgerEntry
    released: tuple[LedgerEntry, ...]
    waiver: LedgerEntry | None
    top_up: LedgerEntry | None
    top_up_packs: int
    balance: Decimal
    available: Decimal


# --------------------------------------------------------------------------- lookups


def get_contract(*, session: Session, contract_id: int) -> Contract:
    """The contract with this id, or NotFoundError."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFoundError(f"unknown contract {contract_id}", contract_id=contract_id)
    return contract


def lock_statement(contract_id: int) -> SelectOfScalar[Contract]:
    """``SELECT ... FROM contracts WHERE id = :id FOR UPDATE`` (no FOR UPDATE on SQLite)."""
    return (
        select(Contract)
        .where(Contract.id == contract_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_account(*, session: Session, contract_id: int) -> Contract:
    """Lock the contract row until the transaction ends, and return it."""
    contract = session.exec(lock_statement(contract_id)).first()
    if contract is None:
        raise NotFoundError(f"unknown contract {contract_id}", contract_id=contract_id)
    return contract


def pack_for(contract: Contract, pack: ContractPack | None = None) -> ContractPack:
    """``pack`` when given (and matching), else the shipped pack the contract subscribes to."""
    if pack is None:
        return get_pack(contract.pack_id)
    if pack.id != contract.pack_id:
        raise InputError(f"contract {contract.id} is on pack {contract.pack_id}, not {pack.id}")
    return pack


def _is_time_bank(*, session: Session, contract: Contract, pack: ContractPack) -> bool:
    return terms_of(session=session, contract=contract, pack=pack).account is AccountKind.TIME_BANK


def pack_size(*, session: Session, contract: Contract, pack: ContractPack) -> Decimal | None:
    """Credits per purchased pack, as the contract's terms give it."""
    return terms_of(session=session, contract=contract, pack=pack).credit_pack_size


# --------------------------------------------------------------------------- reading


def entries(
    *, session: Session, contract_id: int, ticket_id: int | None = None
) -> list[LedgerEntry]:
    """The account's entries in the order they were written (optionally one ticket's)."""
    query = select(LedgerEntry).where(LedgerEntry.contract_id == contract_id)
    if ticket_id is not None:
        query = query.where(LedgerEntry.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(LedgerEntry.id))).all())


def total(rows: Iterable[LedgerEntry]) -> Decimal:
    """The exact sum of the entries' amounts."""
    return sum((row.amount for row in rows), Decimal(0))


def balance(*, session: Session, contract_id: int) -> Decimal:
    """What the account holds: the sum of every entry except holds and their releases."""
    return _maintained(session, contract_id, col(Contract.ledger_balance))


def available(*, session: Session, contract_id: int) -> Decimal:
    """What can still be committed: the sum of every entry, open holds included."""
    return _maintained(session, contract_id, col(Contract.ledger_available))


def _maintained(session: Session, contract_id: int, column: Any) -> Decimal:
    # One indexed read of the sums `append_entry` keeps, not a scan of the account.
    value = session.exec(select(column).where(Contract.id == contract_id)).first()
    return Decimal(0) if value is None else Decimal(value)


def recomputed(*, session: Session, contract_id: int) -> tuple[Decimal, Decimal]:
    """Balance and available summed from the entries themselves (checks, repairs)."""
    rows = entries(session=session, contract_id=contract_id)
    return total(row for row in rows if row.type not in HOLD_TYPES), total(rows)


def open_holds(
    *, session: Session, contract_id: int, ticket_id: int | None = None
) -> list[LedgerEntry]:
    """Hold entries without a release (optionally one ticket's)."""
    rows = entries(session=session, contract_id=contract_id, ticket_id=ticket_id)
    released = {row.related_id for row in rows if row.type is LedgerEntryType.RELEASE}
    return [row for row in rows if row.type is LedgerEntryType.HOLD and row.id not in released]


def packs_needed(amount: Decimal, size: Decimal) -> int:
    """The smallest number of packs of ``size`` that covers ``amount`` (0 when amount <= 0)."""
    if amount <= 0:
        return 0
    return int((amount / size).to_integral_value(rounding=ROUND_CEILING))


# --------------------------------------------------------------------------- writing


def append_entry(
    *,
    session: Session,
    contract: Contract,
    pack: ContractPack,
    type: LedgerEntryType,
    amount: Decimal,
    at: datetime | None,
    ticket_id: int | None = None,
    actor_id: int | None = None,
    reason: str | None = None,
    invoice_line: str | None = None,
    expires_at: datetime | None = None,
    related_id: int | None = None,
) -> LedgerEntry:
    """Write one entry (low level: no lock, no rule checked; callers hold the lock)."""
    assert contract.id is not None
    when = utcnow() if at is None else at
    if when.tzinfo is None:
        raise InputError("ledger instants must be timezone-aware")
    row = LedgerEntry(
        tenant_id=contract.tenant_id,
        contract_id=contract.id,
        unit=pack.balance.unit.value,
        type=type,
        amount=amount,
        at=when,
        ticket_id=ticket_id,
        actor_id=actor_id,
        reason=reason,
        invoice_line=invoice_line,
        expires_at=expires_at,
        related_id=related_id,
    )
    session.add(row)
    contract.ledger_available += amount
    if type not in HOLD_TYPES:
        contract.ledger_balance += amount
    session.add(contract)
    session.flush()
    return row


def _positive(amount: Decimal, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InputError(f"{what} must be an exact decimal, got {amount!r}")
    if amount <= 0:
        raise InputError(f"{what} must be positive, got {amount}")
    return amount


def _release(
    *,
    session: Session,
    contract: Contract,
    pack: ContractPack,
    holds: list[LedgerEntry],
    actor_id: int | None,
    reason: str,
    at: datetime | None,
) -> list[LedgerEntry]:
    return [
        append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.RELEASE,
            amount=-hold.amount,
            at=at,
            ticket_id=hold.ticket_id,
            actor_id=actor_id,
            reason=reason,
            related_id=hold.id,
        )
        for hold in holds
    ]


def place_hold(
    *,
    session: Session,
    contract_id: int,
    ticket_id: int,
    amount: Decimal,
    actor_id: int | None = None,
    pack: ContractPack | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Reserve ``amount`` for a ticket; a previous open hold of the ticket is replaced.

    A hold never makes the available balance negative: InsufficientBalanceError otherwise.
    """
    _positive(amount, "hold amount")
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    if _is_time_bank(session=session, contract=contract, pack=pack):
        raise LedgerError(f"pack {pack.id} uses a time bank: time is drawn when recorded")
    previous = open_holds(session=session, contract_id=contract_id, ticket_id=ticket_id)
    free = available(session=session, contract_id=contract_id) - total(previous)
    if free < amount:
        raise InsufficientBalanceError(
            f"available {free} {pack.balance.unit.value} does not cover {amount}",
            needed=amount,
            available=free,
            shortfall=amount - free,
        )
    _release(
        session=session,
        contract=contract,
        pack=pack,
        holds=previous,
        actor_id=actor_id,
        reason="replaced by a new hold",
        at=at,
    )
    return append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.HOLD,
        amount=-amount,
        at=at,
        ticket_id=ticket_id,
        actor_id=actor_id,
        reason=reason or "hold at ticket opening",
    )


def release_hold(
    *,
    session: Session,
    contract_id: int,
    ticket_id: int,
    actor_id: int | None = None,
    reason: str = "hold released",
    pack: ContractPack | None = None,
    at: datetime | None = None,
) -> list[LedgerEntry]:
    """Release the ticket's open holds (e.g. the ticket was cancelled); returns the releases."""
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    holds = open_holds(session=session, contract_id=contract_id, ticket_id=ticket_id)
    return _release(
        session=session,
        contract=contract,
        pack=pack,
        holds=holds,
        actor_id=actor_id,
        reason=reason,
        at=at,
    )


def _waiver_remedy_clause(pack: ContractPack) -> str:
    for remedy in pack.remedies:
        if remedy.type == "waiver":
            return remedy.clause
    raise LedgerError(f"pack {pack.id} has no waiver remedy", pack_id=pack.id)


def charge(
    *,
    session: Session,
    contract_id: int,
    ticket_id: int,
    amount: Decimal,
    actor_id: int | None = None,
    pack: ContractPack | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> ChargeResult:
    """Charge a resolved ticket: release its holds, deduct ``amount``, top up if the pack says.

    With ``auto_top_up`` (Telenet 4.4) a negative balance gets the smallest number of packs
    that brings it back to >= 0, as one ``top_up`` entry with its invoice line. Without it, a
    pack that requires a sufficient balance refuses a charge the account cannot cover. A
    ticket waived before its charge is charged and refunded at once (both entries shown).
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise InputError(f"charge amount must be a non-negative decimal, got {amount!r}")
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    rules = pack.balance
    if _is_time_bank(session=session, contract=contract, pack=pack):
        raise LedgerError(f"pack {pack.id} uses a time bank: record time with the time bank")
    mine = entries(session=session, contract_id=contract_id, ticket_id=ticket_id)
    if any(row.type is LedgerEntryType.CHARGE for row in mine):
        raise AlreadyChargedError(f"ticket {ticket_id} is already charged", ticket_id=ticket_id)
    waived = any(row.type is LedgerEntryType.WAIVER for row in mine)
    holds = open_holds(session=session, contract_id=contract_id, ticket_id=ticket_id)
    if rules.sufficient_balance_required and not rules.auto_top_up and not waived:
        free = available(session=session, contract_id=contract_id) - total(holds)
        if free < amount:
            raise InsufficientBalanceError(
                f"available {free} {rules.unit.value} does not cover {amount}",
                needed=amount,
                available=free,
                shortfall=amount - free,
            )
    released = _release(
        session=session,
        contract=contract,
        pack=pack,
        holds=holds,
        actor_id=actor_id,
        reason="released at charge",
        at=at,
    )
    charged = append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.CHARGE,
        amount=-amount,
        at=at,
        ticket_id=ticket_id,
        actor_id=actor_id,
        reason=reason,
    )
    waiver = None
    if waived and amount > 0:
        waiver = append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.WAIVER,
            amount=amount,
            at=at,
            ticket_id=ticket_id,
            actor_id=actor_id,
            reason=f"credits due waived ({_waiver_remedy_clause(pack)})",
            related_id=charged.id,
        )
    top_up, packs = _top_up(
        session=session, contract=contract, pack=pack, ticket_id=ticket_id, at=at
    )
    return ChargeResult(
        charge=charged,
        released=tuple(released),
        waiver=waiver,
        top_up=top_up,
        top_up_packs=packs,
        balance=balance(session=session, contract_id=contract_id),
        available=available(session=session, contract_id=contract_id),
    )


def _top_up(
    *,
    session: Session,
    contract: Contract,
    pack: ContractPack,
    ticket_id: int | None,
    at: datetime | None,
) -> tuple[LedgerEntry | None, int]:
    if not pack.balance.auto_top_up:
        return None, 0
    assert contract.id is not None
    after = balance(session=session, contract_id=contract.id)
    if after >= 0:
        return None, 0
    size = pack_size(session=session, contract=contract, pack=pack)
    if size is None or size <= 0:
        raise LedgerError(f"pack {pack.id} tops up automatically but no positive pack size is set")
    count = packs_needed(-after, size)
    added = size * count
    unit = pack.balance.unit.value
    clause = ", ".join(pack.balance.clauses)
    line = f"Automatic top-up: {count} x pack of {size} {unit} = {added} {unit}"
    entry = append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.TOP_UP,
        amount=added,
        at=at,
        ticket_id=ticket_id,
        reason=f"balance {after} after the charge" + (f" ({clause})" if clause else ""),
        invoice_line=line,
    )
    return entry, count


def waive(
    *,
    session: Session,
    contract_id: int,
    ticket_id: int,
    amount: Decimal | None = None,
    actor_id: int | None = None,
    reason: str | None = None,
    pack: ContractPack | None = None,
    at: datetime | None = None,
) -> LedgerEntry | None:
    """Waive the credits due for a ticket whose SLA was missed (Telenet 5.1 a); idempotent.

    Already charged: a ``waiver`` entry refunds the net amount charged (``amount`` ignored).
    Not yet charged: its holds are released; with ``amount`` (the credits due) a ``charge``
    and an equal ``waiver`` are written, so the statement shows what was due and waived;
    without it a zero ``waiver`` records the decision and the later ``charge`` is refunded in
    the same transaction. Returns the waiver entry written, or None if nothing was left due.
    """
    if amount is not None and (not isinstance(amount, Decimal) or amount < 0):
        raise InputError(f"amount due must be a non-negative decimal, got {amount!r}")
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    clause = _waiver_remedy_clause(pack)
    text = reason or f"response or resolution time missed ({clause})"
    mine = entries(session=session, contract_id=contract_id, ticket_id=ticket_id)
    charges = [row for row in mine if row.type is LedgerEntryType.CHARGE]
    waived = [row for row in mine if row.type is LedgerEntryType.WAIVER]
    if charges:
        due = -total(charges) - total(waived)
        if due <= 0:
            return None
        return append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.WAIVER,
            amount=due,
            at=at,
            ticket_id=ticket_id,
            actor_id=actor_id,
            reason=text,
            related_id=charges[-1].id,
        )
    if waived and amount is None:
        return None
    holds = open_holds(session=session, contract_id=contract_id, ticket_id=ticket_id)
    _release(
        session=session,
        contract=contract,
        pack=pack,
        holds=holds,
        actor_id=actor_id,
        reason="released: credits waived",
        at=at,
    )
    related = None
    if amount is not None:
        related = append_entry(
            session=session,
            contract=contract,
            pack=pack,
            type=LedgerEntryType.CHARGE,
            amount=-amount,
            at=at,
            ticket_id=ticket_id,
            actor_id=actor_id,
            reason="credits due",
        ).id
    return append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.WAIVER,
        amount=amount or Decimal(0),
        at=at,
        ticket_id=ticket_id,
        actor_id=actor_id,
        reason=text,
        related_id=related,
    )


MAX_PLACES = 4  # amounts are credits or euros: four decimals are more than any contract uses


def _bounded(amount: Decimal, what: str) -> None:
    """Refuse amounts outside the sane range (setting `max_credit_amount`) or too precise.

    Bounded amounts keep every sum exact in the default 28-digit Decimal context.
    """
    limit = current_settings().max_credit_amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or abs(amount) > limit:
        raise InputError(f"{what} must be a number of at most {limit}")
    exponent = amount.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MAX_PLACES
        and amount != amount.quantize(Decimal(1).scaleb(-MAX_PLACES))
    ):
        raise InputError(f"{what} has more than {MAX_PLACES} decimals")


def purchase(
    *,
    session: Session,
    contract_id: int,
    amount: Decimal,
    actor_id: int | None = None,
    pack: ContractPack | None = None,
    reason: str | None = None,
    invoice_line: str | None = None,
    expires_at: datetime | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Credit bought units to the account (with an invoice line)."""
    _bounded(amount, "purchase amount")
    _positive(amount, "purchase amount")
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    unit = pack.balance.unit.value
    return append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.PURCHASE,
        amount=amount,
        at=at,
        actor_id=actor_id,
        reason=reason or "purchase",
        invoice_line=invoice_line or f"Purchase of {amount} {unit}",
        expires_at=expires_at,
    )


def adjust(
    *,
    session: Session,
    contract_id: int,
    amount: Decimal,
    reason: str,
    actor_id: int | None = None,
    ticket_id: int | None = None,
    pack: ContractPack | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """An administrator's correction (positive or negative), always with a reason."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
        raise InputError(f"adjustment must be a non-zero decimal, got {amount!r}")
    _bounded(amount, "adjustment")
    if not reason or not reason.strip():
        raise InputError("an adjustment needs a reason")
    contract = lock_account(session=session, contract_id=contract_id)
    pack = pack_for(contract, pack)
    return append_entry(
        session=session,
        contract=contract,
        pack=pack,
        type=LedgerEntryType.ADJUSTMENT,
        amount=amount,
        at=at,
        ticket_id=ticket_id,
        actor_id=actor_id,
        reason=reason.strip(),
    )
