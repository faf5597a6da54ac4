"""Agent and manager transcripts: reclassify, stop-clock, time, resolve, reports."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import LedgerEntry, Notification, Ticket, TicketStatus
from tests.handlers.conftest import Chat, Clock
from tests.handlers.test_intake import express_incident

REF = "TLN-2026-000001"


def test_reclassify_priority_recomputes_and_tells_the_customer(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    answer = agent.send(f"/reclassify {REF}")
    assert "What changes?" in answer
    agent.pick("The priority")
    agent.pick("Standard")
    answer = agent.send("Only one of two web servers is down")
    assert "reclassified" in answer
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.priority == "standard"
        # Standard incident: response 1 business day from Friday 17:30 → Monday 17:30.
        assert ticket.response_due is not None
        assert ticket.response_due.isoformat() == "2026-11-23T16:30:00+00:00"
        notes = session.exec(
            select(Notification).where(Notification.event == "priority_changed")
        ).all()
        assert notes
        assert all("Only one of two web servers is down" in n.text for n in notes)


def test_pause_resume_moves_the_due_instant(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    with transaction(seeded) as session:
        resolution_before = session.exec(select(Ticket)).one().resolution_due
    clock.advance(minutes=10)  # Friday 17:40
    assert "Clock stopped" in agent.send(f"/pause {REF} waiting for the customer's password")
    assert "Not possible now" in agent.send(f"/pause {REF} again")
    clock.advance(minutes=30)  # Friday 18:10: 30 business minutes paused
    assert "Clock restarted" in agent.send(f"/resume {REF}")
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        # Telenet 2.5 lets a pause stop the resolution time only (issue 15 item 7): the
        # response due instant stays Monday 10:30 local (it used to move to 11:00), the
        # resolution due instant moves by the 30 paused business minutes.
        assert ticket.response_due is not None
        assert ticket.response_due.isoformat() == "2026-11-23T09:30:00+00:00"
        assert resolution_before is not None
        assert ticket.resolution_due is not None
        assert ticket.resolution_due - resolution_before == timedelta(minutes=30)
        events = {n.event for n in session.exec(select(Notification)).all()}
        assert {"paused", "resumed"} <= events


def test_pause_without_reason_asks_for_one(chat: type[Chat]) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "Why is the clock stopped?" in agent.send(f"/pause {REF}")
    assert "Clock stopped" in agent.send("Third-party carrier intervention")


def test_log_time_then_resolve_charges_the_total(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    agent.send(f"/ack {REF}")
    assert "must be a whole number" in agent.send(f"/log {REF} -5")
    assert "25 min recorded in all" in agent.send(f"/log {REF} 25")
    answer = agent.send(f"/resolve {REF} 20")
    assert "9 credits charged" in answer  # 45 min = 3 quarters x 3 credits
    assert "closed" in agent.send(f"/close {REF}")
    assert "Not possible now" in agent.send(f"/ack {REF}")


def test_breached_ticket_is_waived(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    clock.advance(days=4)  # well past Monday's response and resolution due instants
    answer = agent.send(f"/resolve {REF} 30")
    assert "waived" in answer
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.RESOLVED
        assert ticket.response_breached
        net = sum(
            (
                e.amount
                for e in session.exec(
                    select(LedgerEntry).where(LedgerEntry.ticket_id == ticket.id)
                ).all()
            ),
            Decimal(0),
        )
        assert net == 0


def test_manager_status_sla_and_credits(chat: type[Chat], clock: Clock) -> None:
    express_incident(chat("demo-requester"))
    manager = chat("demo-manager")
    manager.send("/lang en")
    assert "Demo Customer SA" in manager.send("/status")
    agent = chat("demo-agent")
    agent.send(f"/ack {REF}")
    agent.send(f"/resolve {REF} 40")
    answer = manager.send("/sla 2026-11")
    assert "1 of 1 met" in answer
    answer = manager.send("/credits 2026-11")
    assert "charged 9 credits" in answer
    assert "Unknown period" in manager.send("/sla someday")


def test_requester_lists_and_comments(chat: type[Chat], seeded: Engine) -> None:
    requester = chat("demo-requester")
    express_incident(requester)
    requester.send("/lang en")
    assert REF in requester.send("/tickets")
    assert REF in requester.send("/tickets all")
    assert "No tickets" in requester.send("/tickets closed")
    answer = requester.send(f"/ticket {REF}")
    assert "Timeline" in answer
    assert "of business time left" in answer
    assert "Message added" in requester.send(f"/comment {REF} The server rebooted itself")
    with transaction(seeded) as session:
        notes = session.exec(
            select(Notification).where(Notification.event == "customer_comment")
        ).all()
        assert notes
        assert all(n.audience in ("agent", "agents") for n in notes)


def test_balance_shows_each_contract(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    answer = requester.send("/balance")
    assert "40 credits" in answer
    assert "time bank" in answer
    assert "invoiced by the provider" in answer


def test_report_periods_are_worded_in_the_users_language(chat: type[Chat]) -> None:
    manager = chat("demo-manager")
    assert "novembre 2026" in manager.send("/sla")
    manager.send("/lang nl")
    assert "de laatste 30 dagen" in manager.send("/credits 30d")
    manager.send("/lang en")
    assert "the week of 16 Nov 2026" in manager.send("/sla week")


def test_agents_off_duty_are_not_pinged(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    from bot.db.models import Role
    from bot.services import users

    with transaction(seeded) as session:
        second = users.add_user(
            session=session,
            handle="second-agent",
            display_name="Second Agent",
            role=Role.AGENT,
            provider_codes=["TLN"],
        )
        users.link_identity(session=session, user=second, channel="console", external_id="a2")
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "You are off duty" in agent.send("/duty off")
    assert "You are off duty" in agent.send("/duty")
    express_incident(chat("demo-requester"))
    with transaction(seeded) as session:
        pinged = {
            n.chat_id
            for n in session.exec(select(Notification).where(Notification.event == "opened"))
            if n.audience == "agent"
        }
    assert pinged == {"a2"}
    assert "You are on duty" in agent.send("/duty on")
