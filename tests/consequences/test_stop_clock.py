"""Issue 15 item 7: stop-clock causes and the targets they stop come from the contract."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket, TicketPause
from pricing.loader import get_pack
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock

# Friday 26 March 2027, 10:00 in Brussels; the DST change (Sunday 28) and Easter Monday (29)
# fall inside the pause.
FRIDAY_MORNING = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
TUESDAY_AFTER_EASTER = datetime(2027, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 CEST


def test_each_pack_lists_its_causes_and_targets() -> None:
    proximus = get_pack("proximus-internet").stop_clock
    assert [c.id for c in proximus.causes] == [
        "customer-delay",
        "force-majeure",
        "third-party",
        "planned-works",
    ]
    assert proximus.targets == ["response", "resolution"]
    telenet = get_pack("telenet-hosting-cloud").stop_clock
    assert [c.id for c in telenet.causes] == ["backup-restore"]
    assert telenet.targets == ["resolution"]
    for pack_id in ("telenet-webhosting", "alteo-hosting"):
        stop = get_pack(pack_id).stop_clock
        assert stop.causes == []
        assert stop.refusal is not None
        for lang in ("fr", "nl", "en"):
            assert stop.refusal.get(lang)


def test_a_proximus_agent_picks_a_cause_then_gives_the_reason(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = FRIDAY_MORNING
    requester = chat("demo-requester")
    requester.send("/lang nl")
    open_ticket(
        requester,
        pack_id="proximus-internet",
        contract="internet",
        intervention="wifi-problem",
        priority="p3",
    )
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket)).one()
        reference, before = ticket.reference, ticket.resolution_due
    agent = chat("demo-agent")
    agent.send("/lang fr")
    question = agent.send(f"/pause {reference}")
    assert "Quelle cause arrête l'horloge SLA ?" in question
    labels = [o.label for o in agent.last_options]
    assert "Travaux planifiés" in labels
    assert "Cas de force majeure" in labels
    assert "Pourquoi" in agent.choose("third-party")
    assert "Horloge SLA arrêtée" in agent.send("Le sous-traitant génie civil doit d'abord creuser")
    clock.now = TUESDAY_AFTER_EASTER
    agent.send(f"/resume {reference}")
    with transaction(seeded) as session:
        pause = session.exec(select(TicketPause)).one()
        assert pause.cause == "third-party"
        assert pause.stops == "response,resolution"
        ticket = session.exec(select(Ticket)).one()
        assert before is not None
        assert ticket.resolution_due is not None
        assert ticket.resolution_due > before  # the paused business time is given back
        told = session.exec(select(Notification).where(Notification.event == "paused")).all()
        customer = [
            n.text for n in told if "Incident of vertraging te wijten aan een derde" in n.text
        ]
        assert customer, [n.text for n in told]
        assert "Le sous-traitant génie civil doit d'abord creuser" in customer[0]


def test_the_reason_given_with_the_command_waits_for_the_cause(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = FRIDAY_MORNING
    requester = chat("demo-requester")
    requester.send("/lang en")
    open_ticket(
        requester,
        pack_id="proximus-internet",
        contract="internet",
        intervention="wifi-problem",
        priority="p3",
    )
    with transaction(seeded) as session:
        reference = session.exec(select(Ticket)).one().reference
    agent = chat("demo-agent")
    agent.send("/lang en")
    agent.send(f"/pause {reference} the customer is away until Tuesday")
    assert "Clock stopped" in agent.choose("customer-delay")
    with transaction(seeded) as session:
        pause = session.exec(select(TicketPause)).one()
        assert (pause.cause, pause.reason) == (
            "customer-delay",
            "the customer is away until Tuesday",
        )


def test_packs_without_a_cause_refuse_pausing(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = FRIDAY_MORNING
    requester = chat("demo-requester")
    requester.send("/lang en")
    open_ticket(
        requester,
        pack_id="telenet-webhosting",
        contract="Web",
        intervention="coding-questions",
        priority="standard",
    )
    with transaction(seeded) as session:
        reference = session.exec(select(Ticket)).one().reference
    agent = chat("demo-agent")
    agent.send("/lang nl")
    answer = agent.send(f"/pause {reference} waiting for the customer")
    assert "kan niet gepauzeerd worden" in answer
    assert "voorzien geen opschorting" in answer
    with transaction(seeded) as session:
        assert session.exec(select(TicketPause)).all() == []
