"""Per-process caches: a contract's terms are computed once per content, and follow a change."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract
from bot.services.contracts import ContractTermsError, terms_of
from pricing.loader import get_pack


def test_terms_are_kept_per_content_and_follow_a_change(seeded: Engine) -> None:
    with transaction(seeded) as session:
        contract = session.exec(
            select(Contract).where(Contract.pack_id == "telenet-hosting-cloud")
        ).one()
        first = terms_of(session=session, contract=contract)
        assert terms_of(session=session, contract=contract) is first  # kept
        assert first.pack is get_pack("telenet-hosting-cloud")
        contract.options = {**contract.options, "credit_pack_size": "20"}
        changed = terms_of(session=session, contract=contract)
        assert changed is not first
        assert changed.raw_options["credit_pack_size"] == "20"
        contract.options = {**contract.options, "credit_pack_size": "not a number"}
        with pytest.raises(ContractTermsError):
            terms_of(session=session, contract=contract)  # a bad option is never kept
        contract.options = {**contract.options, "credit_pack_size": "20"}
        assert terms_of(session=session, contract=contract) is changed
        variant = get_pack("telenet-hosting-cloud").model_copy(update={"version": "test"})
        assert terms_of(session=session, contract=contract, pack=variant).pack is variant
