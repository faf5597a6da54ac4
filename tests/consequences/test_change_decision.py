"""Issue 15 item 11: the Proximus desk accepts or refuses change requests; the customer is
always told, and a refusal carries its reason (002, Demandes de changement)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket, TicketStatus
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock

PXS = "proximus-internet"
# Thursday 24 December 2026, 17:00 in Brussels; decided after Christmas.
CHRISTMAS_EVE = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
MONDAY_AFTER = datetime(2026, 12, 28, 8, 0, tzinfo=UTC)


def _change(requester: Chat, intervention: str) -> str:
    open_ticket(
        requester, pack_id=PXS, contract="internet", intervention=intervention, priority="p4"
    )
    with transaction(requester.engine) as session:
        query = select(Ticket).where(Ticket.intervention_id == intervention)
        return session.exec(query).one().reference


def _told(engine: Engine, event: str) -> list[str]:
    with transaction(engine) as session:
        rows = session.exec(select(Notification).where(Notification.event == event)).all()
        return [n.text for n in rows]


def test_accept_and_refuse_tell_the_customer(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = CHRISTMAS_EVE
    requester = chat("demo-requester")
    requester.send("/lang nl")
    ports = _change(requester, "open-close-ports")
    address = _change(requester, "ip-address-change")
    clock.now = MONDAY_AFTER
    agent = chat("demo-agent")
    agent.send("/lang fr")
    assert "demande de changement acceptée" in agent.send(f"/accept {ports}")
    assert "déjà acceptée" in agent.send(f"/refuse {ports} trop tard")
    assert "doit être motivé" in agent.send(f"/refuse {address}")
    answer = agent.send(f"/refuse {address} Port 23 is reserved by Proximus")
    assert "demande de changement refusée" in answer
    assert "déjà refusée" in agent.send(f"/accept {address}")
    accepted = _told(seeded, "change_accepted")
    refused = _told(seeded, "change_refused")
    assert any(f"Ticket {ports}: uw wijzigingsaanvraag is aanvaard" in t for t in accepted)
    assert any(
        f"Ticket {address}: uw wijzigingsaanvraag is geweigerd (Port 23 is reserved by Proximus)"
        in t
        for t in refused
    ), refused
    with transaction(seeded) as session:
        statuses = {t.reference: t.status for t in session.exec(select(Ticket)).all()}
    assert statuses[ports] is TicketStatus.RESPONDED
    assert statuses[address] is TicketStatus.RESOLVED


def test_only_change_requests_of_a_deciding_contract(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = CHRISTMAS_EVE
    requester = chat("demo-requester")
    requester.send("/lang en")
    open_ticket(
        requester, pack_id=PXS, contract="internet", intervention="wifi-problem", priority="p3"
    )
    open_ticket(
        requester,
        pack_id="telenet-webhosting",
        contract="Web",
        intervention="anonymous-folder-access",
        priority="standard",
    )
    with transaction(seeded) as session:
        refs = {t.intervention_id: t.reference for t in session.exec(select(Ticket)).all()}
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "is not a change request" in agent.send(f"/accept {refs['wifi-problem']}")
    answer = agent.send(f"/accept {refs['anonymous-folder-access']}")
    assert "no change acceptance by the desk" in answer
    help_text = agent.send("/help")
    assert "/accept REF" in help_text
    assert "/refuse REF" in help_text
