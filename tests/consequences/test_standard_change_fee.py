"""Issue 15 item 10: Proximus standard changes are free in the week after activation, then
the one-off fee of the contract (or the price list when the contract gives none)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract
from pricing.loader import get_pack
from pricing.terms import ContractTerms, FeeQuote
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock

PXS = "proximus-internet"
LEVEL = "internet-pro-plus:premium"


def _terms(**options: str) -> ContractTerms:
    return ContractTerms.of(get_pack(PXS), options=options, service_level=LEVEL)


def test_the_first_week_after_activation_is_free_then_the_fee_applies() -> None:
    terms = _terms(activation_date="2026-12-21", standard_change_fee="45")
    # Activated Monday 21 December: the week after runs over Christmas to the 28th.
    free = FeeQuote(amount=Decimal(0), free_until=date(2026, 12, 28), clause=_clause())
    for day in (date(2026, 12, 21), date(2026, 12, 25), date(2026, 12, 28)):
        assert terms.one_off_fee(intervention_id="open-close-ports", on=day) == free
    after = terms.one_off_fee(intervention_id="ip-address-change", on=date(2026, 12, 29))
    assert after == FeeQuote(amount=Decimal(45), free_until=None, clause=_clause())
    before = terms.one_off_fee(intervention_id="open-close-ports", on=date(2026, 12, 20))
    assert before is not None
    assert before.amount == Decimal(45)  # not yet activated: no free week either
    unpriced = _terms(activation_date="2026-12-21")
    late = unpriced.one_off_fee(intervention_id="open-close-ports", on=date(2027, 3, 29))
    assert late is not None
    assert late.amount is None  # on request: the price list in force
    assert terms.one_off_fee(intervention_id="wifi-problem", on=date(2026, 12, 29)) is None


def _clause() -> str | None:
    category = next(c for c in get_pack(PXS).categories if c.id == "standard-changes")
    assert category.one_off_fee is not None
    return category.one_off_fee.clause


def _set_options(engine: Engine, **options: str) -> None:
    with transaction(engine) as session:
        contract = session.exec(select(Contract).where(Contract.pack_id == PXS)).one()
        contract.options = {**contract.options, **options}
        session.add(contract)


def _summary(requester: Chat) -> str:
    return open_ticket(
        requester,
        pack_id=PXS,
        contract="internet",
        intervention="open-close-ports",
        priority="p4",
        confirm=False,
    )


def test_the_quote_shows_the_free_week_then_the_fee(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    _set_options(seeded, activation_date="2026-12-21", standard_change_fee="45")
    requester = chat("demo-requester")
    requester.send("/lang fr")
    clock.now = datetime(2026, 12, 28, 22, 30, tzinfo=UTC)  # Monday 28th, 23:30 in Brussels
    summary = _summary(requester)
    assert "gratuit : demandé dans la première semaine qui suit l'activation" in summary
    assert "28 décembre 2026" in summary
    requester.send("/cancel")
    clock.now = datetime(2026, 12, 28, 23, 30, tzinfo=UTC)  # Tuesday 29th, 00:30 in Brussels
    summary = _summary(requester)
    assert "supplément unique de 45,00" in summary
    requester.send("/cancel")
    requester.send("/lang nl")
    assert "eenmalige toeslag van €\xa045,00" in _summary(requester)


def test_without_a_fee_the_quote_names_the_price_list(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    _set_options(seeded, activation_date="2026-12-21")
    requester = chat("demo-requester")
    requester.send("/lang en")
    clock.now = datetime(2027, 3, 29, 9, 0, tzinfo=UTC)  # Easter Monday
    summary = _summary(requester)
    assert "one-off fee from the provider's price list, agreed before the work" in summary
    answer = requester.choose("~open")
    assert "one-off fee from the provider's price list" in answer
