"""A stored contract's terms: the one place that reads a contract's options.

Everything else asks the `ContractTerms` these functions return (zone, account kind, typed
options, remedies), never `Contract.options` itself.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.db.models import Contract, Ticket
from bot.services.errors import InputError, NotFoundError
from pricing.loader import get_pack
from pricing.schema import ContractPack
from pricing.terms import ContractTerms, OptionError


class ContractTermsError(InputError):
    """A stored contract whose options its pack does not accept (params: option, reason)."""

    code = "contract_terms"


def terms_of(
    *, session: Session, contract: Contract, pack: ContractPack | None = None
) -> ContractTerms:
    """The contract's typed terms, from its pack (or `pack`, a variant of it) and options."""
    if pack is None:
        pack = get_pack(contract.pack_id)
    elif pack.id != contract.pack_id:
        raise InputError(f"contract {contract.id} is on pack {contract.pack_id}, not {pack.id}")
    try:
        return ContractTerms.of(
            pack, options=contract.options, service_level=contract.service_level
        )
    except OptionError as exc:
        raise ContractTermsError(
            f"contract {contract.id}: {exc}", option=exc.option, reason=exc.reason
        ) from None


def contract_and_pack(*, session: Session, ticket: Ticket) -> tuple[Contract, ContractPack]:
    """The ticket's contract and its pack."""
    contract = session.get(Contract, ticket.contract_id)
    if contract is None:
        raise NotFoundError(f"ticket {ticket.reference} has no contract {ticket.contract_id}")
    return contract, get_pack(contract.pack_id)


def terms_for_ticket(*, session: Session, ticket: Ticket) -> ContractTerms:
    """The terms of the contract a ticket was logged under."""
    contract, pack = contract_and_pack(session=session, ticket=ticket)
    return terms_of(session=session, contract=contract, pack=pack)
