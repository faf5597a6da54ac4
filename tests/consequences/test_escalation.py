"""Issue 15 item 8: Proximus escalation is requested, one level at a time (002).

No time trigger exists: milestones never climb (tests/worker); `/escalate REF` by the customer
or an agent moves one level up, naming the role and how to reach it; office-hours levels exist
only in office hours (Easter Monday 2027-03-29 and the DST Sunday 2027-03-28 are outside
them), where the on-call CEM and "Head of" hold the ladder; a general outage goes to level 2
at once; the customer hears of escalation from the opening of a P1/P2.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Ticket
from tests.consequences.outage import open_at, resolve_at, told
from tests.handlers.conftest import Chat, Clock

PXS = "proximus-internet"
# Sunday 28 March 2027, 11:00 in Brussels (summer time since 02:00 that night).
DST_SUNDAY = datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
# Easter Monday 29 March 2027, 10:00 in Brussels: a Belgian public holiday.
EASTER_MONDAY = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
# Tuesday 30 March 2027, 09:00 in Brussels: office hours.
TUESDAY_0900 = datetime(2027, 3, 30, 7, 0, tzinfo=UTC)


def _level(engine: Engine, reference: str) -> int | None:
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.reference == reference)).one()
        return ticket.escalation_level


def test_outside_office_hours_the_on_call_levels_hold_the_ladder(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = DST_SUNDAY
    ref = open_at(
        seeded, pack_id=PXS, intervention="no-internet", priority="p1", now=clock.now
    ).reference
    requester = chat("demo-requester")
    requester.send("/lang nl")
    clock.now = EASTER_MONDAY
    # Level 1 (Team Leader) exists only in office hours: the on-call CEM holds levels 1 and 2.
    answer = requester.send(f"/escalate {ref}")
    assert f"{ref} geëscaleerd naar Niveau 2" in answer
    assert "Customer Escalation Manager met wachtdienst" in answer
    assert "0800 22 200" in answer  # how to reach it: the call the contract requires
    assert _level(seeded, ref) == 2
    agent = chat("demo-agent")
    agent.send("/lang fr")
    assert "escaladé vers Niveau 3" in agent.send(f"/escalate {ref}")
    answer = agent.send(f"/escalate {ref}")
    assert "Niveau 4" in answer
    assert "(« Head of ») de garde" in answer
    # Level 5 exists only in office hours: refused until Tuesday 08:00 (Monday is Easter).
    answer = requester.send(f"/escalate {ref}")
    assert "alleen tijdens de kantooruren" in answer
    assert "dinsdag 30 maart 08:00" in answer
    assert _level(seeded, ref) == 4
    clock.now = TUESDAY_0900
    assert "Niveau 5" in requester.send(f"/escalate {ref}")
    assert "hoogste escalatieniveau" in requester.send(f"/escalate {ref}")
    # Everyone else heard of each step; the staff card's timeline shows them.
    staff = told(seeded, "escalated")
    assert any("Niveau 2" in text and "Demo Requester" in text for text in staff)
    # The desk's own step reaches the customer (in Dutch) without the call to make.
    customer = told(seeded, "escalated", chat_id="demo-requester")
    assert any(
        "is geëscaleerd naar Niveau 3" in t and "door het supportteam" in t for t in customer
    )
    card = agent.send(f"/ticket {ref} full")
    assert card.count("escaladé") >= 4
    assert "Escalade" in card  # the level reached, on the card


def test_in_office_hours_the_team_leader_comes_first_and_a_general_outage_goes_to_2(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = TUESDAY_0900
    first = open_at(seeded, pack_id=PXS, intervention="no-internet", priority="p1", now=clock.now)
    second = open_at(seeded, pack_id=PXS, intervention="no-internet", priority="p2", now=clock.now)
    requester = chat("demo-requester")
    requester.send("/lang en")
    answer = requester.send(f"/escalate {first.reference}")
    assert "escalated to Level 1: Team Leader/Escalation Coach" in answer
    assert "on-call" not in answer
    assert "0800 55 200" in answer
    # Only the desk declares a general outage; it goes straight to level 2.
    answer = requester.send(f"/escalate {second.reference} general")
    assert "Only the support team declares a general outage" in answer
    agent = chat("demo-agent")
    agent.send("/lang en")
    answer = agent.send(f"/escalate {second.reference} general")
    assert "general outage, escalated to Level 2" in answer
    assert _level(seeded, second.reference) == 2
    assert "already at or above" in agent.send(f"/escalate {second.reference} general")
    resolve_at(seeded, first.reference, TUESDAY_0900)
    assert "already resolved" in requester.send(f"/escalate {first.reference}")
    customer = told(seeded, "escalated", chat_id="demo-requester")
    assert any(
        f"Ticket {second.reference}: a general outage affecting several customers; the "
        "support team escalated it to Level 2" in t
        for t in customer
    )


def test_only_p1_and_p2_incidents_escalate_and_the_opening_says_so(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = TUESDAY_0900
    requester = chat("demo-requester")
    requester.send("/lang fr")
    p1 = open_at(seeded, pack_id=PXS, intervention="no-internet", priority="p1", now=clock.now)
    p3 = open_at(seeded, pack_id=PXS, intervention="wifi-problem", priority="p3", now=clock.now)
    opened = told(seeded, "opened", chat_id="demo-requester")
    about_p1 = next(t for t in opened if p1.reference in t)
    about_p3 = next(t for t in opened if p3.reference in t)
    assert f"/escalate {p1.reference}" in about_p1
    assert "0800 33 200" in about_p1
    assert "/escalate" not in about_p3
    answer = requester.send(f"/escalate {p3.reference}")
    assert "ne prévoit aucune escalade" in answer
    assert _level(seeded, p3.reference) is None
    # Another provider's ticket: no ladder for requests either.
    alteo = open_at(
        seeded,
        pack_id="alteo-hosting",
        intervention="service-outage",
        priority="critical",
        now=clock.now,
    )
    assert "ne prévoit aucune escalade" in requester.send(f"/escalate {alteo.reference}")
