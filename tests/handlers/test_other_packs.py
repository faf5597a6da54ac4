"""Tickets under the Proximus and Alteo contracts: no-target kinds, P1 phone, time bank."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import LedgerEntry, Ticket
from pricing.loader import find_intervention, get_pack
from tests.handlers.conftest import Chat, Clock


def _open(requester: Chat, pack_id: str, contract: str, intervention: str) -> str:
    pack = get_pack(pack_id)
    category, _item = find_intervention(pack, intervention)
    priorities = {p.id for p in pack.priorities}
    requester.send("/new")
    requester.pick(contract)
    requester.choose(category.id)
    requester.choose(intervention)
    if any(o.payload.rsplit(":", 1)[1] in priorities for o in requester.last_options):
        requester.send("1")
    for index in range(15):
        payloads = [o.payload for o in requester.last_options]
        if any(p.endswith(":~open") for p in payloads):
            return requester.choose("~open")
        asked = requester.log[-1][1].lower()
        if any(p.endswith(":15") for p in payloads):
            requester.choose("30")
        elif "mail" in asked:  # contact details are checked since issue 14
            requester.send("jean@example.be")
        elif "phone" in asked:
            requester.send("+32 2 555 12 34")
        else:
            requester.send(f"answer number {index}")
    raise AssertionError(f"the intake never reached its confirmation: {requester.log[-3:]}")


def test_proximus_change_request_has_no_sla_clock(chat: type[Chat], seeded: Engine) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    answer = _open(requester, "proximus-internet", "internet", "ip-address-change")
    assert "PXS-2026-000001" in answer
    # Issue 14: a target that does not exist reads "no guaranteed time" (was "no target").
    assert "no guaranteed time" in answer
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.response_due is None
        assert ticket.resolution_due is None


def test_alteo_request_draws_on_the_time_bank(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    answer = _open(requester, "alteo-hosting", "ALTEO", "database-creation")
    assert "ALT-2026-000001" in answer
    agent = chat("demo-agent")
    agent.send("/lang en")
    clock.advance(minutes=5)
    answer = agent.send("/resolve ALT-2026-000001 20")
    assert "0.5 h charged" in answer or "0,5 h charged" in answer
    with transaction(seeded) as session:
        consumed = [
            e.amount
            for e in session.exec(select(LedgerEntry)).all()
            if e.ticket_id is not None and e.type.value == "charge"
        ]
        assert sum(consumed, Decimal(0)) == Decimal("-0.5")
    assert "time bank" in requester.send("/balance")
