"""What a ticket costs over its life: hold at opening, charge or waiver at resolution.

The rules live in the pack (`balance`, `remedies`) and are asked of the contract's terms
(`pricing.terms.ContractTerms`): what its account counts, and whether a waiver covers the
targets the ticket actually missed. This module only says when each ledger operation happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.db.models import Contract, LedgerEntryType, Ticket
from bot.services import accounts, claims, ledger, timebank
from bot.services.contracts import terms_of
from pricing.loader import find_intervention, priced_priority
from pricing.quotes import Quote, charge_for, quote
from pricing.schema import ContractPack, PriceRuleType
from pricing.terms import AccountKind, ContractTerms

if TYPE_CHECKING:
    from bot.services.actors import Actor


#: Price rules that never draw from an account (contracts digest, decision 14).
NEVER_DRAWN = frozenset({PriceRuleType.FREE, PriceRuleType.ON_REQUEST})


@dataclass(frozen=True)
class ChargeOutcome:
    """What resolving a ticket did to the customer's account."""

    rule: PriceRuleType
    unit: str
    charged: Decimal
    waived: Decimal
    top_up_packs: int
    on_request: bool = False
    beyond_time_bank: Decimal = Decimal(0)
    owed: Decimal = Decimal(0)


def ticket_quote(*, pack: ContractPack, ticket: Ticket) -> Quote:
    """The ticket's quote from its estimate (minutes or units)."""
    return quote(
        pack=pack,
        intervention_id=ticket.intervention_id,
        priority=_priced_priority(pack, ticket),
        minutes=ticket.estimate_minutes,
        units=ticket.units,
    )


def _priced_priority(pack: ContractPack, ticket: Ticket) -> str:
    _category, intervention = find_intervention(pack, ticket.intervention_id)
    return priced_priority(pack, intervention, ticket.priority)


@dataclass(frozen=True)
class TicketCost:
    """What a ticket has cost so far, from its ledger entries."""

    charged: Decimal
    waived: Decimal
    settled: bool


def ticket_cost(*, session: Session, ticket: Ticket) -> TicketCost:
    """Net charge and waiver recorded for a ticket (settled once charged or waived)."""
    assert ticket.id is not None
    charged = waived = Decimal(0)
    settled = False
    for entry in ledger.entries(
        session=session, contract_id=ticket.contract_id, ticket_id=ticket.id
    ):
        if entry.type is LedgerEntryType.CHARGE:
            charged -= entry.amount
            settled = True
        elif entry.type is LedgerEntryType.WAIVER:
            waived += entry.amount
            settled = True
    return TicketCost(charged=charged - waived, waived=waived, settled=settled)


def on_open(
    *, session: Session, ticket: Ticket, contract: Contract, pack: ContractPack, actor: Actor
) -> None:
    """Hold the quoted credits where the contract needs a sufficient balance (Telenet 4.3)."""
    estimate = ticket_quote(pack=pack, ticket=ticket)
    check = accounts.check_can_request(
        session=session, contract=contract, pack=pack, quote=estimate, now=ticket.logged_at
    )
    if not check.allowed:
        raise ledger.InsufficientBalanceError(
            "insufficient balance", shortfall=check.shortfall, unit=check.unit
        )
    if check.hold_required and estimate.credits and estimate.credits > 0:
        assert contract.id is not None
        assert ticket.id is not None
        ledger.place_hold(
            session=session,
            contract_id=contract.id,
            ticket_id=ticket.id,
            amount=estimate.credits,
            actor_id=actor.id,
            pack=pack,
            reason=f"hold for {ticket.reference}",
            at=ticket.logged_at,
        )


def on_reclassify(*, session: Session, ticket: Ticket, pack: ContractPack, actor: Actor) -> None:
    """Re-hold the new quote after a change of intervention or priority."""
    assert ticket.id is not None
    ledger.release_hold(
        session=session,
        contract_id=ticket.contract_id,
        ticket_id=ticket.id,
        actor_id=actor.id,
        pack=pack,
        reason="reclassified",
    )
    new_quote = ticket_quote(pack=pack, ticket=ticket)
    contract = ledger.get_contract(session=session, contract_id=ticket.contract_id)
    terms = terms_of(session=session, contract=contract, pack=pack)
    # Only credit accounts hold at opening; a time bank draws time when it is recorded.
    holds = terms.account is AccountKind.CREDITS and pack.balance.sufficient_balance_required
    if holds and new_quote.credits and new_quote.credits > 0:
        free = ledger.available(session=session, contract_id=ticket.contract_id)
        # The provider's reclassification never blocks the ticket: hold what is there.
        amount = min(new_quote.credits, max(free, Decimal(0)))
        if amount > 0:
            ledger.place_hold(
                session=session,
                contract_id=ticket.contract_id,
                ticket_id=ticket.id,
                amount=amount,
                actor_id=actor.id,
                pack=pack,
                reason=f"hold for {ticket.reference} after reclassification",
            )


def on_refused(
    *, session: Session, ticket: Ticket, pack: ContractPack, actor: Actor, now: datetime
) -> None:
    """A request the desk refused costs nothing: its hold goes back to the balance."""
    assert ticket.id is not None
    ledger.release_hold(
        session=session,
        contract_id=ticket.contract_id,
        ticket_id=ticket.id,
        actor_id=actor.id,
        pack=pack,
        reason="change request refused",
        at=now,
    )


def missed_targets(ticket: Ticket) -> frozenset[str]:
    """The SLA targets (response, resolution) the ticket missed."""
    flags = {"response": ticket.response_breached, "resolution": ticket.resolution_breached}
    return frozenset(target for target, missed in flags.items() if missed)


def waived(*, terms: ContractTerms, ticket: Ticket) -> bool:
    """Whether the contract waives this ticket's charge: a waiver covers a target it missed."""
    return terms.waives(
        missed=set(missed_targets(ticket)), kind=ticket.kind, priority=ticket.priority
    )


def on_resolve(
    *,
    session: Session,
    ticket: Ticket,
    contract: Contract,
    pack: ContractPack,
    actor: Actor,
    minutes: int,
    now: datetime,
) -> ChargeOutcome:
    """Charge the recorded time per the contract, or waive it when a waived target was missed."""
    assert contract.id is not None
    assert ticket.id is not None
    terms = terms_of(session=session, contract=contract, pack=pack)
    unit = pack.balance.unit.value
    price = charge_for(
        pack=pack,
        intervention_id=ticket.intervention_id,
        priority=_priced_priority(pack, ticket),
        recorded_minutes=max(minutes, 1),
        units=ticket.units,
    )
    if ticket.quote_status == "accepted" and ticket.quote_amount is not None:
        return _charge_quote(
            session=session, ticket=ticket, contract=contract, pack=pack, actor=actor, now=now
        )
    if price.rule in NEVER_DRAWN:
        # Free and on-request work never draws credits or time, whatever the account kind
        # (no minimum either): an Alteo outage or quote request costs the bank nothing.
        ledger.release_hold(
            session=session,
            contract_id=contract.id,
            ticket_id=ticket.id,
            actor_id=actor.id,
            pack=pack,
            reason="resolved free of charge"
            if price.rule is PriceRuleType.FREE
            else "resolved; price on request",
            at=now,
        )
        return ChargeOutcome(
            rule=price.rule,
            unit="hours" if terms.account is AccountKind.TIME_BANK else unit,
            charged=Decimal(0),
            waived=Decimal(0),
            top_up_packs=0,
            on_request=price.rule is PriceRuleType.ON_REQUEST,
        )
    if terms.account is AccountKind.TIME_BANK:
        return _consume_time_bank(
            session=session,
            ticket=ticket,
            contract=contract,
            pack=pack,
            actor=actor,
            minutes=minutes,
            now=now,
            rule=price.rule,
        )
    amount = price.credits or Decimal(0)
    if terms.account is AccountKind.NONE:
        ledger.release_hold(
            session=session,
            contract_id=contract.id,
            ticket_id=ticket.id,
            actor_id=actor.id,
            pack=pack,
            reason="resolved",
            at=now,
        )
        return ChargeOutcome(
            rule=price.rule,
            unit=unit,
            charged=Decimal(0),
            waived=Decimal(0),
            top_up_packs=0,
            on_request=price.rule is PriceRuleType.ON_REQUEST,
        )
    if amount == 0:
        ledger.release_hold(
            session=session,
            contract_id=contract.id,
            ticket_id=ticket.id,
            actor_id=actor.id,
            pack=pack,
            reason="resolved free of charge",
            at=now,
        )
        return ChargeOutcome(price.rule, unit, Decimal(0), Decimal(0), 0)
    if waived(terms=terms, ticket=ticket):
        ledger.waive(
            session=session,
            contract_id=contract.id,
            ticket_id=ticket.id,
            amount=amount,
            actor_id=actor.id,
            pack=pack,
            reason="SLA target missed",
            at=now,
        )
        claims.record_waiver(
            session=session,
            ticket=ticket,
            contract=contract,
            terms=terms,
            missed=missed_targets(ticket),
            amount=amount,
            unit=unit,
            day=now.astimezone(ZoneInfo(terms.zone)).date(),
            now=now,
        )
        return ChargeOutcome(price.rule, unit, Decimal(0), amount, 0)
    return _charge_credits(
        session=session,
        ticket=ticket,
        contract=contract,
        pack=pack,
        actor=actor,
        amount=amount,
        reason=f"{ticket.reference}: {minutes} min recorded",
        rule=price.rule,
        now=now,
    )


def _charge_credits(
    *,
    session: Session,
    ticket: Ticket,
    contract: Contract,
    pack: ContractPack,
    actor: Actor,
    amount: Decimal,
    reason: str,
    rule: PriceRuleType,
    now: datetime,
) -> ChargeOutcome:
    assert contract.id is not None
    assert ticket.id is not None
    result = ledger.charge(
        session=session,
        contract_id=contract.id,
        ticket_id=ticket.id,
        amount=amount,
        actor_id=actor.id,
        pack=pack,
        reason=reason,
        at=now,
    )
    # Without automatic top-up (Telenet web hosting 7.4) a negative balance stays owed.
    owed = -result.balance if result.balance < 0 and not pack.balance.auto_top_up else Decimal(0)
    unit = pack.balance.unit.value
    return ChargeOutcome(rule, unit, amount, Decimal(0), result.top_up_packs, owed=owed)


def _charge_quote(
    *,
    session: Session,
    ticket: Ticket,
    contract: Contract,
    pack: ContractPack,
    actor: Actor,
    now: datetime,
) -> ChargeOutcome:
    """A request on quote costs the price the customer accepted (`ticket_quotes`)."""
    assert contract.id is not None
    assert ticket.id is not None
    assert ticket.quote_amount is not None
    terms = terms_of(session=session, contract=contract, pack=pack)
    ledger.release_hold(
        session=session,
        contract_id=contract.id,
        ticket_id=ticket.id,
        actor_id=actor.id,
        pack=pack,
        reason="resolved; accepted quote",
        at=now,
    )
    amount = ticket.quote_amount
    if ticket.quote_unit == "eur" or terms.account is AccountKind.NONE:
        # A price in euros is invoiced by the provider, never drawn from an account.
        return ChargeOutcome(
            PriceRuleType.ON_REQUEST, "eur", Decimal(0), Decimal(0), 0, on_request=True
        )
    if terms.account is AccountKind.TIME_BANK:
        minutes = int((amount * 60).to_integral_value(rounding=ROUND_CEILING))
        return _consume_time_bank(
            session=session,
            ticket=ticket,
            contract=contract,
            pack=pack,
            actor=actor,
            minutes=minutes,
            now=now,
            rule=PriceRuleType.FIXED,
        )
    return _charge_credits(
        session=session,
        ticket=ticket,
        contract=contract,
        pack=pack,
        actor=actor,
        amount=amount,
        reason=f"{ticket.reference}: accepted quote",
        rule=PriceRuleType.FIXED,
        now=now,
    )


def _consume_time_bank(
    *,
    session: Session,
    ticket: Ticket,
    contract: Contract,
    pack: ContractPack,
    actor: Actor,
    minutes: int,
    now: datetime,
    rule: PriceRuleType,
) -> ChargeOutcome:
    assert contract.id is not None
    assert ticket.id is not None
    # Time beyond the bank is out-of-contract work, billed separately (seed 004, 4.1.4).
    used = timebank.consume(
        session=session,
        contract_id=contract.id,
        ticket_id=ticket.id,
        minutes=max(minutes, 1),
        now=now,
        actor_id=actor.id,
        pack=pack,
        bill_beyond=True,
    )
    return ChargeOutcome(rule, "hours", used.hours, Decimal(0), 0, beyond_time_bank=used.beyond)
