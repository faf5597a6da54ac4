"""Dashboard pages over HTTP: isolation, filters, ticket page, charts, ledger, queue, wording."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, LedgerEntryType
from bot.services import ledger, tickets, users
from tests.web.conftest import World, ticket_id

PNG = b"\x89PNG\r\n\x1a\n"
# Pack ids and raw enum values a manager must never read.
RAW = re.compile(
    r"\b(telenet-hosting-cloud|telenet-webhosting|proximus-internet|alteo-hosting|"
    r"dedicated-server-down-not-hardware|express|standard|incident|top_up|ledger_entry)\b"
)


def _text(html: str) -> str:
    """The visible text of a page (tags, attributes and the script's word list removed)."""
    html = re.sub(r'<div id="countdown-words".*?</div>', "", html, flags=re.S)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_a_customer_manager_sees_only_the_customer(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    browser = signed_in("demo-boss")
    page = browser.get("/dashboard").text
    assert "Demo Customer SA" in page
    assert "Other Company NV" not in page
    assert 'id="total-open">3<' in page
    listing = browser.get("/dashboard/tickets").text
    for reference in world.demo_tickets:
        assert reference in listing
    assert world.other_ticket not in listing


def test_a_ticket_the_reader_may_not_see_is_404(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    customer = signed_in("demo-boss")
    missing = customer.get(f"/dashboard/tickets/{world.other_ticket}")
    assert missing.status_code == 404
    assert world.other_ticket not in missing.text
    assert "server down" not in missing.text
    assert customer.get("/dashboard/tickets/TLN-2099-999999").status_code == 404
    # An agent of another provider (Proximus) sees no Telenet ticket either.
    agent = signed_in("pxs-agent")
    assert agent.get(f"/dashboard/tickets/{world.demo_ticket}").status_code == 404
    assert world.demo_ticket not in agent.get("/dashboard/tickets").text
    assert world.demo_ticket not in agent.get("/dashboard/queue").text
    # The other customer's manager sees their own ticket, not the demo's.
    other = signed_in("other-boss")
    assert other.get(f"/dashboard/tickets/{world.other_ticket}").status_code == 200
    assert other.get(f"/dashboard/tickets/{world.demo_ticket}").status_code == 404


def test_the_provider_manager_sees_every_customer_of_the_provider(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("demo-manager").get("/dashboard").text
    assert "Demo Customer SA" in page
    assert "Other Company NV" in page
    assert 'id="total-open">4<' in page


def test_filters_narrow_the_list(world: World, signed_in: Callable[[str], TestClient]) -> None:
    browser = signed_in("demo-agent")
    express = browser.get("/dashboard/tickets?priority=express").text
    assert world.demo_ticket in express
    assert world.demo_tickets[1] not in express
    with transaction(world.engine) as session:
        other = session.exec(select(Contract).where(Contract.tenant_id != 1)).first()
        assert other is not None
    by_contract = browser.get(f"/dashboard/tickets?contract={other.id}").text
    assert world.other_ticket in by_contract
    assert world.demo_ticket not in by_contract
    assert 'id="no-tickets"' in browser.get("/dashboard/tickets?breached=1").text
    assert world.demo_ticket not in browser.get("/dashboard/tickets?status=closed").text
    # Owner: take one ticket, then "me" lists it alone and "unassigned" the others.
    with transaction(world.engine) as session:
        user = users.get_user_by_handle(session=session, handle="demo-agent")
        assert user is not None
        ticket = tickets.find_ticket(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            reference=world.demo_tickets[2],
        )
        from bot.services import ownership

        ownership.take(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            ticket=ticket,
            now=world.clock.now,
        )
    mine = browser.get("/dashboard/tickets?owner=me").text
    assert world.demo_tickets[2] in mine
    assert world.demo_ticket not in mine
    free = browser.get("/dashboard/tickets?owner=none").text
    assert world.demo_tickets[2] not in free
    assert world.demo_ticket in free


def test_breached_tickets_are_flagged_and_filtered(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    # Every target of the demo tickets is long past: missed, even before the worker says so.
    world.clock.advance(days=10)
    browser = signed_in("demo-boss")
    breached = browser.get("/dashboard/tickets?breached=1").text
    for reference in world.demo_tickets:
        assert reference in breached
    overview = browser.get("/dashboard").text
    assert 'id="total-breached">3<' in overview


def test_the_ticket_page_shows_the_card_and_the_timeline(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    browser = signed_in("demo-boss")
    page = browser.get(f"/dashboard/tickets/{world.demo_ticket}")
    assert page.status_code == 200
    assert world.demo_ticket in page.text
    assert 'class="countdown"' in page.text
    assert 'id="timeline"' in page.text
    assert "opened" in page.text  # the timeline's first event, in English (demo-boss's language)
    agent_page = signed_in("demo-agent").get(f"/dashboard/tickets/{world.demo_ticket.lower()}")
    assert agent_page.status_code == 200
    assert "Demo Requester" in agent_page.text  # the staff card names the requester


def test_charts_are_png_images_for_a_signed_in_reader(
    world: World, signed_in: Callable[[str], TestClient], client: TestClient
) -> None:
    browser = signed_in("demo-boss")
    page = browser.get("/dashboard/sla").text
    assert "/dashboard/charts/compliance.png" in page
    for name in ("compliance", "backlog", "credits"):
        image = browser.get(f"/dashboard/charts/{name}.png")
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(PNG)
        assert client.get(f"/dashboard/charts/{name}.png").status_code == 303
    assert browser.get("/dashboard/charts/nothing.png").status_code == 404


def test_a_refused_period_is_explained_in_one_line(
    signed_in: Callable[[str], TestClient],
) -> None:
    browser = signed_in("demo-boss")
    for period, words in (
        ("2026-13", "Months go from 01 to 12"),
        ("1999", "Years go from"),
        ("soon", "Unknown period"),
        ("2030-01", "has not started yet"),
    ):
        page = browser.get(f"/dashboard/sla?period={period}")
        assert page.status_code == 200
        assert words in page.text, period
    assert "Unknown period" not in browser.get("/dashboard/sla?period=quarter").text


def test_the_ledger_shows_a_running_balance(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    with transaction(world.engine) as session:
        contract = session.exec(
            select(Contract).where(
                Contract.tenant_id == 1, Contract.pack_id == "telenet-hosting-cloud"
            )
        ).one()
        assert contract.id is not None
        ledger.purchase(
            session=session,
            contract_id=contract.id,
            amount=Decimal("10"),
            reason="order 42",
            at=world.clock.now,
        )
        expected = ledger.balance(session=session, contract_id=contract.id)
        kinds = {e.type for e in ledger.entries(session=session, contract_id=contract.id)}
    assert LedgerEntryType.HOLD in kinds  # the open tickets reserve credits
    browser = signed_in("demo-boss")
    page = browser.get(f"/dashboard/credits?contract={contract.id}").text
    assert f'id="balance">{expected:f} credits<' in page.replace(",00", "")
    assert "order 42" in page
    assert 'id="credit-summary"' in page  # the month's figures, as /credits says them
    assert "/dashboard/charts/credits.png" in page
    assert "reserved for a ticket" in page
    rows = re.findall(r'data-label="Balance">([^<]+)<', page)
    assert rows[0] == f"{expected:f} credits"  # the newest line carries the balance
    assert f"{expected - 10:f} credits" in rows  # and the line before it, ten credits fewer
    other = signed_in("other-boss").get(f"/dashboard/credits?contract={contract.id}").text
    assert "order 42" not in other  # another customer's contract is not offered


def test_the_agents_queue(world: World, signed_in: Callable[[str], TestClient]) -> None:
    agent = signed_in("demo-agent")
    page = agent.get("/dashboard/queue").text
    for reference in (*world.demo_tickets, world.other_ticket):
        assert reference in page
    assert world.demo_ticket not in agent.get("/dashboard/queue?scope=mine").text
    assert signed_in("demo-boss").get("/dashboard/queue").status_code == 404


@pytest.mark.parametrize("handle", ["demo-boss", "other-boss", "demo-manager", "pxs-agent"])
def test_no_pack_id_or_raw_enum_on_any_page(
    world: World, signed_in: Callable[[str], TestClient], handle: str
) -> None:
    browser = signed_in(handle)
    paths = [
        "/dashboard",
        "/dashboard/tickets",
        "/dashboard/tickets?status=all",
        "/dashboard/sla",
        "/dashboard/sla?period=year",
        "/dashboard/credits",
        "/dashboard/queue",
        "/dashboard/availability",
        "/dashboard/claims",
        f"/dashboard/tickets/{world.demo_ticket}",
        f"/dashboard/tickets/{world.other_ticket}",
    ]
    for path in paths:
        text = _text(browser.get(path).text)
        found = RAW.findall(text)
        assert not found, f"{handle} {path}: {found}"


def test_pages_are_not_cached_nor_framed(signed_in: Callable[[str], TestClient]) -> None:
    response = signed_in("demo-boss").get("/dashboard")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_claim_register_shows_the_readers_claims_only(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    from datetime import date

    from bot.db.models import Claim

    with transaction(world.engine) as session:
        contract = session.exec(
            select(Contract).where(Contract.tenant_id == 1, Contract.pack_id == "proximus-internet")
        ).one()
        assert contract.id is not None
        session.add(
            Claim(
                key="test-claim",
                tenant_id=1,
                contract_id=contract.id,
                remedy_id="p1-restoration-credit",
                remedy_type="service_credit_per_breach",
                clause="Niveaux de service",
                period="2026-11",
                event_day=date(2026, 11, 23),
                amount=Decimal(150),
                unit="eur",
                deadline=date(2027, 1, 31),
            )
        )
    page = signed_in("demo-boss").get("/dashboard/claims").text
    assert "restoration time of a P1 incident" in page  # the remedy, in English
    assert "Niveaux de service" not in page  # the French clause text is not shown
    assert "31 Jan 2027" in page
    assert "to claim" in page
    assert "restoration time" not in signed_in("other-boss").get("/dashboard/claims").text


def test_the_ticket_page_lists_its_attachments(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    from bot.db.models import TicketAttachment

    tid = ticket_id(world.engine, world.demo_ticket)
    with transaction(world.engine) as session:
        note = tickets.TicketEvent(ticket_id=tid, type="note", reason="internal")
        session.add(note)
        session.flush()
        for name, event_id in (("screenshot.png", None), ("internal-dump.txt", note.id)):
            session.add(  # the conversation's rows (a customer's file, an internal note's)
                TicketAttachment(
                    ticket_id=tid,
                    event_id=event_id,
                    user_id=1,
                    channel="telegram",
                    kind="document",
                    file_id="F1",
                    name=name,
                    size=20480,
                    mime="image/png",
                    at=world.clock.now,
                )
            )
    customer = signed_in("demo-boss").get(f"/dashboard/tickets/{world.demo_ticket}").text
    assert "screenshot.png" in customer
    assert "20 KB" in customer
    assert "internal-dump.txt" not in customer  # an internal note's file stays with the staff
    staff = signed_in("demo-agent").get(f"/dashboard/tickets/{world.demo_ticket}").text
    assert "internal-dump.txt" in staff


def test_the_availability_page_measures_each_contract_that_promises_one(
    world: World, signed_in: Callable[[str], TestClient]
) -> None:
    page = signed_in("demo-boss").get("/dashboard/availability")
    assert page.status_code == 200
    assert "Demo Customer SA" in page.text  # the demo's Alteo contract promises an availability
    assert 'id="no-availability"' in signed_in("other-boss").get("/dashboard/availability").text
