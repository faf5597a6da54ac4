"""Issue 15 item 6: a negative balance without automatic top-up is owed, and said so."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock

WEB = "telenet-webhosting"
# Thursday 24 December 2026, 16:00 in Brussels; resolved after Christmas (a Telenet holiday).
CHRISTMAS_EVE = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
AFTER_CHRISTMAS = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def _open_coding_question(requester: Chat) -> None:
    open_ticket(
        requester,
        pack_id=WEB,
        contract="Web",
        intervention="coding-questions",
        priority="standard",
    )


def test_negative_balance_is_owed_at_resolution_and_on_balance(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = CHRISTMAS_EVE
    requester = chat("demo-requester")
    requester.send("/lang fr")
    _open_coding_question(requester)
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        reference = ticket.reference
    clock.now = AFTER_CHRISTMAS
    agent = chat("demo-agent")
    agent.send("/lang en")
    # 6 hours = 24 quarter-hours x 2 credits = 48 credits against the demo's 40.
    agent.send(f"/resolve {reference} 360")
    answer = agent.pick("Resolve")  # the desk confirms a resolution first
    assert "48 credits charged" in answer
    assert "The balance is negative: 8 credits owed." in answer
    assert "Buy service credits from Telenet to settle it." in answer
    with transaction(seeded) as session:
        told = session.exec(select(Notification).where(Notification.event == "resolved")).all()
        texts = [n.text for n in told]
    assert any("Le solde est négatif : 8 crédits dus." in t for t in texts), texts
    assert any("auprès de Telenet" in t for t in texts), texts
    requester.send("/lang nl")
    balance = requester.send("/balance")
    assert "Het saldo is negatief: 8 credits verschuldigd." in balance, balance


def test_a_covered_charge_says_nothing_about_debt(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = CHRISTMAS_EVE
    requester = chat("demo-requester")
    requester.send("/lang en")
    _open_coding_question(requester)
    with transaction(seeded) as session:
        reference = session.exec(select(Ticket)).one().reference
    clock.now = AFTER_CHRISTMAS
    agent = chat("demo-agent")
    agent.send("/lang en")
    answer = agent.send(f"/resolve {reference} 30")  # within the estimate: no confirmation
    assert "4 credits charged" in answer
    assert "negative" not in answer
    assert "negative" not in requester.send("/balance")
