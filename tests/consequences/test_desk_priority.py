"""Issue 15 item 9: the Proximus desk sets the priority at its sole discretion (002)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket, User
from bot.services import tickets
from bot.services.actors import actor_for
from bot.services.errors import InputError
from pricing.loader import find_intervention, get_pack, priced_priority, staff_priorities
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock
from tests.services.test_ledger import make_account, make_ticket

# Friday 26 March 2027, 19:00 in Brussels: the weekend, the DST change (Sunday 28 March) and
# Easter Monday (29 March) lie between the opening and the desk's next move.
FRIDAY_EVENING = datetime(2027, 3, 26, 18, 0, tzinfo=UTC)


def test_ceilings_bind_customers_not_the_proximus_desk() -> None:
    pack = get_pack("proximus-internet")
    _category, wifi = find_intervention(pack, "wifi-problem")
    assert pack.desk_sets_priority
    assert [p.id for p in staff_priorities(pack, wifi)] == ["p1", "p2", "p3", "p4"]
    assert priced_priority(pack, wifi, "p2") == "p3"  # priced at the customer's ceiling
    telenet = get_pack("telenet-hosting-cloud")
    assert not telenet.desk_sets_priority
    for category in telenet.categories:
        for item in category.interventions:
            allowed = {p.id for p in staff_priorities(telenet, item)}
            assert allowed == set(item.available_priorities)


def test_the_desk_raises_a_wifi_problem_above_the_customers_ceiling(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = FRIDAY_EVENING
    requester = chat("demo-requester")
    requester.send("/lang nl")
    requester.send("/new")
    requester.pick("internet")
    pack = get_pack("proximus-internet")
    category, _wifi = find_intervention(pack, "wifi-problem")
    requester.choose(category.id)
    requester.choose("wifi-problem")
    offered = {o.payload.rsplit(":", 1)[1] for o in requester.last_options}
    assert "p2" not in offered  # the customer's ceiling is P3
    assert "p1" not in offered
    requester.send("/cancel")
    open_ticket(
        requester,
        pack_id="proximus-internet",
        contract="internet",
        intervention="wifi-problem",
        priority="p3",
    )
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        reference, p3_due = ticket.reference, ticket.resolution_due
    agent = chat("demo-agent")
    agent.send("/lang en")
    agent.send(f"/reclassify {reference}")
    agent.pick("The priority")
    offered = {o.payload.rsplit(":", 1)[1] for o in agent.last_options}
    assert {"p1", "p2", "p4"} <= offered
    agent.choose("p2")
    assert "reclassified" in agent.send("The whole office lost wifi: business impact is high")
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.priority == "p2"
        assert ticket.resolution_due is not None
        assert p3_due is not None
        assert ticket.resolution_due < p3_due  # P2 restoration clock, shorter than P3's
        told = session.exec(
            select(Notification).where(Notification.event == "priority_changed")
        ).all()
        assert any("P2" in n.text and "prioriteit" in n.text.lower() for n in told), [
            n.text for n in told
        ]


def test_a_telenet_agent_stays_under_the_ceiling(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    # Telenet hosting & cloud has no such clause: a standard-only row stays standard.
    with transaction(seeded) as session:
        contract_id, user_id = make_account(session, "telenet-hosting-cloud")
        ticket = session.get(Ticket, make_ticket(session, contract_id, user_id))
        assert ticket is not None
        ticket.intervention_id = "exchange-mailbox-restore"
        ticket.kind = "change"
        agent = session.exec(select(User).where(User.handle == "demo-agent")).one()
        with pytest.raises(InputError, match="priority express is not available"):
            tickets.reclassify(
                session=session,
                actor=actor_for(session=session, user=agent),
                ticket=ticket,
                reason="more urgent",
                priority="express",
                now=FRIDAY_EVENING,
            )
