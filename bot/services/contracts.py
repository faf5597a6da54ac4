"""A stored contract's terms: the one place that reads a contract's options.

Everything else asks the `ContractTerms` these functions return (zone, account kind, typed
options, remedies), never `Contract.options` itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

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
        return _cached_terms(pack, contract.options, contract.service_level)
    except OptionError as exc:
        raise ContractTermsError(
            f"contract {contract.id}: {exc}", option=exc.option, reason=exc.reason
        ) from None


_TERMS_KEPT = 1024
_terms: OrderedDict[tuple[int, tuple[tuple[str, str], ...], str | None], ContractTerms] = (
    OrderedDict()
)
_terms_lock = threading.Lock()


def _cached_terms(
    pack: ContractPack, options: Mapping[str, str], service_level: str | None
) -> ContractTerms:
    """`ContractTerms.of`, kept per process under the contract's content.

    The key is what the terms are made of (the pack object, the options, the service level),
    so a changed contract, or packs read again, simply miss: nothing to invalidate by hand.
    The cached terms hold their pack, so its id is not reused while the entry lives.
    """
    key = (id(pack), tuple(sorted((str(k), str(v)) for k, v in options.items())), service_level)
    with _terms_lock:
        found = _terms.get(key)
        if found is not None and found.pack is pack:
            _terms.move_to_end(key)
            return found
    terms = ContractTerms.of(pack, options=options, service_level=service_level)
    with _terms_lock:
        _terms[key] = terms
        while len(_terms) > _TERMS_KEPT:
            _terms.popitem(last=False)
    return terms


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
