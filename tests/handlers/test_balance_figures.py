"""`/balance` and the intake confirmation give the customer one and the same balance figure."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, LedgerEntry
from bot.services import accounts
from pricing.loader import find_intervention, get_pack
from tests.handlers.conftest import Chat, Clock

# Tuesday 1 December 2026, 09:00 in Paris (the Alteo contract's zone).
FIRST_OF_DECEMBER = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ALTEO = "alteo-hosting"


def _confirmation(requester: Chat, intervention: str) -> str:
    """Walk an Alteo intake up to its confirmation, without opening the ticket."""
    pack = get_pack(ALTEO)
    category, _item = find_intervention(pack, intervention)
    priorities = {p.id for p in pack.priorities}
    requester.send("/new")
    requester.pick("ALTEO")
    requester.choose(category.id)
    answer = requester.choose(intervention)
    if any(o.payload.rsplit(":", 1)[1] in priorities for o in requester.last_options):
        answer = requester.send("1")
    for index in range(15):
        payloads = [o.payload for o in requester.last_options]
        if any(p.endswith(":~open") for p in payloads):
            return answer
        asked = requester.log[-1][1].lower()
        if any(p.endswith(":15") for p in payloads):
            answer = requester.choose("30")
        elif "mail" in asked:  # contact details are checked since issue 14
            answer = requester.send("jean@example.be")
        elif "phone" in asked:
            answer = requester.send("+32 2 555 12 34")
        else:
            answer = requester.send(f"answer number {index}")
    raise AssertionError("the intake never reached its confirmation")


def test_balance_and_intake_agree_on_the_first_day_of_a_month(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = FIRST_OF_DECEMBER
    requester = chat("demo-requester")
    requester.send("/lang en")
    balance = requester.send("/balance")
    summary = _confirmation(requester, "database-creation")
    shown = re.search(r"([\d.,]+ h) left in this month's time bank", balance)
    confirmed = re.search(r"Your balance: ([\d.,]+ h)", summary)
    assert shown is not None, balance
    assert confirmed is not None, summary
    # The demo contract's allowance is 4 h a month, due from the 1st at 00:00 in Paris even
    # though nothing has written it to the ledger yet (this line used to say "0 h").
    assert shown.group(1) == confirmed.group(1) == "4 h"
    with transaction(seeded) as session:
        contract = session.exec(select(Contract).where(Contract.pack_id == ALTEO)).one()
        assert contract.id is not None
        written = session.exec(
            select(LedgerEntry).where(LedgerEntry.contract_id == contract.id)
        ).all()
        assert written == []  # reading the balance wrote nothing
        figure = accounts.customer_balance(session=session, contract=contract, now=clock.now)
    assert figure.available == 4
