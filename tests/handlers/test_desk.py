"""The agent's desk on the console: the staff card, notes and replies, the queue, ownership,
resolving with a confirmation, reclassification in one step, opening a ticket for a customer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, Notification, Role, Ticket, TicketStatus
from bot.i18n import translator
from bot.services import users
from tests.handlers.conftest import Chat, Clock
from tests.handlers.test_intake import express_incident
from tests.worker.conftest import open_ticket

REF = "TLN-2026-000001"
LANGS = ["fr", "nl", "en"]


def agent_in(chat: type[Chat], lang: str, handle: str = "demo-agent") -> Chat:
    agent = chat(handle)
    agent.send(f"/lang {lang}")
    return agent


def customer_texts(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        rows = session.exec(select(Notification).where(Notification.audience == "customer")).all()
        return [row.text for row in rows]


@pytest.mark.parametrize("lang", LANGS)
def test_the_staff_card_shows_the_whole_request(chat: type[Chat], lang: str) -> None:
    express_incident(chat("demo-requester"))
    agent = agent_in(chat, lang)
    t = translator(lang)
    card = agent.send(f"/ticket {REF}")
    # The customer, the requester and the contract, then the request itself.
    assert "Demo" in card  # the customer company
    assert t.gettext("Requester") in card
    assert t.gettext("Contract") in card
    assert "Telenet" in card
    assert t.gettext("Description") in card
    assert "web01 answers no ping since 17:00" in card
    # Each intake detail with its label.
    assert "web01.example.be" in card
    assert t.gettext("Owner") in card
    assert t.gettext("unassigned") in card
    assert t.gettext("Cost so far") in card
    assert t.gettext("Timeline:") in card


def test_long_texts_are_cut_visibly_and_full_is_one_command_away(
    chat: type[Chat], seeded: Engine
) -> None:
    express_incident(chat("demo-requester"))
    long = "x" * 900 + " END-OF-TEXT"
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        ticket.description = long
        session.add(ticket)
    agent = agent_in(chat, "en")
    card = agent.send(f"/ticket {REF}")
    assert "END-OF-TEXT" not in card
    assert "…" in card
    assert f"/ticket {REF} full" in card
    assert "END-OF-TEXT" in agent.send(f"/ticket {REF} full")


@pytest.mark.parametrize("lang", LANGS)
def test_note_stays_internal_and_reply_reaches_the_customer_with_the_name(
    chat: type[Chat], seeded: Engine, lang: str
) -> None:
    express_incident(chat("demo-requester"))
    agent = agent_in(chat, lang)
    t = translator(lang)
    before = customer_texts(seeded)
    answer = agent.send(f"/note {REF} customer is a reseller, check contract 4711")
    said = t.gettext("Internal note added to %(ref)s (not sent to the customer).")
    assert said % {"ref": REF} in answer
    assert customer_texts(seeded) == before  # nothing for the customer in the outbox
    # The note is in the staff timeline, marked internal, and not in the customer's.
    assert t.gettext("internal note") in agent.send(f"/ticket {REF}")
    requester = chat("demo-requester")
    assert "reseller" not in requester.send(f"/ticket {REF}")
    answer = agent.send(f"/reply {REF} we are restarting web01 now")
    assert t.gettext("Reply sent to the customer of %(ref)s.") % {"ref": REF} in answer
    new = [text for text in customer_texts(seeded) if text not in before]
    assert len(new) == 1
    assert "we are restarting web01 now" in new[0]
    assert "Demo Agent" in new[0]
    # An agent's /comment is the same public reply.
    agent.send(f"/comment {REF} back online")
    assert any("back online" in text and "Demo Agent" in text for text in customer_texts(seeded))


def test_wrong_use_gets_a_one_line_usage(chat: type[Chat]) -> None:
    express_incident(chat("demo-requester"))
    agent = agent_in(chat, "en")
    assert agent.send(f"/note {REF}") == "Write it as: /note REF text"
    assert agent.send(f"/assign {REF}") == "Write it as: /assign REF handle"
    assert agent.send("/queue everything").startswith("Write it as: /queue")
    help_text = agent.send("/help")
    for name in ("/take", "/assign", "/note", "/reply", "/open"):
        assert name in help_text
    assert "/note" not in chat("demo-requester").send("/help")


def test_take_assign_and_first_acknowledge_make_an_owner(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    with transaction(seeded) as session:
        users.add_user(
            session=session,
            handle="other-agent",
            display_name="Other Agent",
            role=Role.AGENT,
            provider_codes=["TLN"],
        )
        users.add_user(
            session=session,
            handle="pxs-agent",
            display_name="Proximus Agent",
            role=Role.AGENT,
            provider_codes=["PXS"],
        )
    agent = agent_in(chat, "en")
    # The first acknowledgement of an unassigned ticket makes the clicker its owner.
    agent.send(f"/ack {REF}")
    assert "Demo Agent" in agent.send("/queue mine")
    assert "Not possible" in agent.send(f"/take {REF}") or "already owns" in agent.send(
        f"/take {REF}"
    )
    assert "Proximus Agent" not in agent.send(f"/assign {REF} pxs-agent")
    assert "is not an agent of this ticket's provider" in agent.send(f"/assign {REF} pxs-agent")
    assert "No agent with the handle nobody" in agent.send(f"/assign {REF} nobody")
    assert f"{REF} assigned to Other Agent." in agent.send(f"/assign {REF} other-agent")
    assert "The queue is empty." in agent.send("/queue mine")
    with transaction(seeded) as session:
        told = session.exec(select(Notification).where(Notification.event == "assigned")).all()
        assert told == []  # Other Agent has no reachable identity: no destination
    assert f"{REF} is yours now." in agent.send(f"/take {REF}")
    assert REF in agent.send("/queue mine")


def test_queue_orders_by_the_nearest_pending_due_instant(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    """Pending responses and resolutions mixed: the nearest *pending* due instant first."""
    for _n in range(3):  # 000001 at 17:30, 000002 at 17:35, 000003 at 17:40
        open_ticket(
            seeded,
            pack_id="telenet-hosting-cloud",
            intervention="dedicated-server-down-not-hardware",
            priority="express",
            now=clock.now,
        )
        clock.advance(minutes=5)
    agent = agent_in(chat, "en")
    # 000001 is acknowledged: its response is met, its next target is the resolution
    # (Express incident: 1 business day, Monday 17:30), so it goes after the others.
    agent.send("/ack TLN-2026-000001")
    lines = [line for line in agent.send("/queue").splitlines() if line.startswith("•")]
    order = [line.split(" · ")[0].removeprefix("• ") for line in lines]
    assert order == ["TLN-2026-000002", "TLN-2026-000003", "TLN-2026-000001"]
    assert "response" in lines[0]
    assert "resolution" in lines[2]
    assert "unassigned" in lines[0]
    assert "Demo Agent" in lines[2]
    mine = agent.send("/queue mine")
    assert "TLN-2026-000001" in mine
    assert "TLN-2026-000002" not in mine
    unassigned = agent.send("/queue unassigned")
    assert "TLN-2026-000001" not in unassigned
    assert "TLN-2026-000002" in unassigned
    assert agent.send("/queue breached") == "The queue is empty."
    assert agent.send("/queue 2") == "No more tickets in the queue."


def test_resolve_asks_the_time_shows_the_charge_and_confirms(
    chat: type[Chat], seeded: Engine
) -> None:
    express_incident(chat("demo-requester"))
    agent = agent_in(chat, "en")
    agent.send(f"/ack {REF}")
    answer = agent.send(f"/resolve {REF}")
    assert "how many minutes of work to add" in answer
    answer = agent.send("45")
    assert f"Resolve {REF} with 45 min recorded in all?" in answer
    assert "9 credits will be charged." in answer  # 3 quarters x 3 credits
    with transaction(seeded) as session:
        assert session.exec(select(Ticket)).one().status is TicketStatus.RESPONDED
    answer = agent.send("✕ Cancel")
    with transaction(seeded) as session:
        assert session.exec(select(Ticket)).one().status is TicketStatus.RESPONDED
    agent.send(f"/resolve {REF}")
    answer = agent.pick("Nothing more")
    assert f"Resolve {REF} with 45 min recorded in all?" not in answer  # the cancel dropped them
    assert f"Resolve {REF} with 0 min recorded in all?" in answer
    answer = agent.pick("Resolve")
    assert f"{REF} resolved" in answer


def test_time_far_beyond_the_estimate_needs_a_confirmation(
    chat: type[Chat], seeded: Engine
) -> None:
    express_incident(chat("demo-requester"))  # the customer estimated 30 minutes
    agent = agent_in(chat, "en")
    answer = agent.send(f"/log {REF} 150")
    assert "more than 4× the customer's estimate (30 min)" in answer
    assert "Record it" in answer
    agent.pick("Record it")
    answer = agent.send(f"/resolve {REF} 10")
    assert "more than 4× the customer's estimate" in answer
    assert "Confirm only if that time is right." in answer
    assert f"{REF} resolved" in agent.pick("Resolve")


def test_reclassify_lists_lower_ceilings_and_changes_both_at_once(
    chat: type[Chat], seeded: Engine
) -> None:
    express_incident(chat("demo-requester"))
    agent = agent_in(chat, "en")
    agent.send(f"/reclassify {REF}")
    answer = agent.pick("Both")
    assert "Grouped by category" in answer
    assert "⤓ Standard ·" in answer  # an intervention whose ceiling is below Express
    assert " › " in answer
    agent.pick("⤓ Standard · Dedicated servers")
    agent.pick("Standard")
    before = len(customer_texts(seeded))
    assert "reclassified" in agent.send("The customer only needs a data upload")
    new = customer_texts(seeded)[before:]
    assert len(new) == 1  # one notification for both changes
    assert "Standard" in new[0]
    assert "Chargement ou téléchargement" in new[0]  # in the customer's language (fr)


def test_staff_open_a_ticket_for_a_customer(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    with transaction(seeded) as session:
        for contract in session.exec(select(Contract)).all():
            contract.created_at = datetime(2026, 1, 1, tzinfo=UTC)  # signed this year
            session.add(contract)
    agent = agent_in(chat, "en")
    answer = agent.send("/open")
    assert "Who reported it?" in answer
    agent.pick("Demo Requester")
    answer = agent.send("2099-01-01 10:00")
    assert "cannot be in the future" in answer
    agent.send("2026-11-20 16:00")  # Brussels time, before the clock's 17:30
    answer = agent.last_options and agent.pick("Hosting & Cloud")
    agent.choose("dedicated-servers")
    agent.choose("dedicated-server-down-not-hardware")
    agent.choose("express")
    agent.send("web01.example.be")
    agent.send("30")
    agent.send("called at 16:00: web01 down")
    answer = agent.send("1")
    assert "opened for Demo Requester; the customer is notified." in answer
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        requester = users.get_user_by_handle(session=session, handle="demo-requester")
        creator = users.get_user_by_handle(session=session, handle="demo-agent")
        assert requester is not None
        assert creator is not None
        assert ticket.requester_id == requester.id
        assert ticket.created_by_id == creator.id
        assert ticket.logged_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert any(ticket.reference in text for text in customer_texts(seeded))
