"""Issue 15, planned maintenance: provider managers announce, list and cancel it in chat; a
notice shorter than the contract's is refused unless it is an emergency (Alteo 5.5: 8 calendar
days); the customers concerned are told on creation, the day before and at the end, once each
however many workers pass; Proximus's "travaux planifiés" stop the clocks of the tickets the
window overlaps. Dates: Easter Monday 2027-03-29 and the DST night of 2027-03-28.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import MaintenanceWindow, Role, Ticket
from bot.services import maintenance_notices, planned_works, users
from tests.consequences.outage import open_at, told
from tests.handlers.conftest import Chat, Clock

# Saturday 20 March 2027, 10:00 in Brussels/Paris (winter time).
ANNOUNCED = datetime(2027, 3, 20, 9, 0, tzinfo=UTC)


def _pass(engine: Engine, now: datetime) -> int:
    with transaction(engine) as session:
        return maintenance_notices.due_notices(session=session, now=now)


def _windows(engine: Engine) -> list[MaintenanceWindow]:
    with transaction(engine) as session:
        return list(session.exec(select(MaintenanceWindow)).all())


def test_alteo_notice_rule_in_chat_and_the_three_notices(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = ANNOUNCED
    manager = chat("demo-manager")
    manager.send("/lang fr")
    # Easter Monday 22:00 Paris is 9 days away: fine. 3 days away: refused without --emergency.
    too_soon = manager.send("/maintenance add ALT 2027-03-23T22:00 60 Serveurs web")
    assert "au moins 8 jours calendaires" in too_soon
    assert "5.5" in too_soon
    assert "--emergency" in too_soon
    assert _windows(seeded) == []
    answer = manager.send("/maintenance add ALT 2027-03-29T22:00 120 Serveurs web")
    assert "Maintenance #1 annoncée" in answer
    assert "29/03/2027 22:00" in answer or "29 mars 2027" in answer
    created = told(seeded, "maintenance_created", "demo-requester")
    assert len(created) == 1
    assert "Maintenance planifiée par Alteo du" in created[0]
    assert "Serveurs web" in created[0]
    assert "ni dans votre disponibilité" in created[0]
    assert "#1 Alteo" in manager.send("/maintenance list")
    # The day before (after the DST night): one reminder, however many workers pass.
    day_before = datetime(2027, 3, 28, 20, 30, tzinfo=UTC)  # 22:30 Paris, summer time
    assert _pass(seeded, day_before - timedelta(hours=1)) == 0  # 25 h 30 ahead: not yet
    assert _pass(seeded, day_before) > 0
    assert _pass(seeded, day_before) == 0
    reminders = told(seeded, "maintenance_day_before", "demo-requester")
    assert len(reminders) == 1
    assert "Rappel" in reminders[0]
    # At the end (Tuesday 00:00 Paris), once.
    end = datetime(2027, 3, 29, 22, 0, tzinfo=UTC)
    assert _pass(seeded, end - timedelta(minutes=1)) == 0
    assert _pass(seeded, end) > 0
    assert _pass(seeded, end + timedelta(minutes=5)) == 0
    (ended,) = told(seeded, "maintenance_ended", "demo-requester")
    assert "est terminée" in ended


def test_emergency_is_said_to_customers_and_cancelling_tells_them(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = ANNOUNCED
    requester = chat("demo-requester")
    requester.send("/lang nl")
    manager = chat("demo-manager")
    manager.send("/lang en")
    answer = manager.send("/maintenance add ALT 2027-03-21T06:00 30 Firewall --emergency")
    assert "Maintenance #1 announced" in answer
    (notice,) = told(seeded, "maintenance_created", "demo-requester")
    assert notice.startswith("Noodonderhoud door Alteo")
    assert "kortere termijn dan het contract" in notice
    # Announced under a day ahead: no reminder on top of the notice.
    assert _pass(seeded, datetime(2027, 3, 21, 4, 0, tzinfo=UTC)) == 0
    assert "cancelled" in manager.send("/maintenance cancel 1")
    (cancelled,) = told(seeded, "maintenance_cancelled", "demo-requester")
    assert "is geannuleerd" in cancelled
    assert "already cancelled" in manager.send("/maintenance cancel 1")
    assert "No planned maintenance ahead." in manager.send("/maintenance list")


def test_only_provider_managers_announce(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    clock.now = ANNOUNCED
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "not available with your role" in agent.send("/maintenance list")
    requester = chat("demo-requester")
    requester.send("/lang en")
    assert "not available with your role" in requester.send("/maintenance list")
    manager = chat("demo-manager")
    manager.send("/lang en")
    assert "Name the provider first" in manager.send("/maintenance add 2027-04-12T22:00 60 x")
    assert "like 2027-04-12T22:00" in manager.send("/maintenance add ALT tomorrow 60 x")
    assert "from 1 to" in manager.send("/maintenance add ALT 2027-04-12T22:00 0 x")
    assert "in the future" in manager.send("/maintenance add ALT 2027-03-01T22:00 60 x")
    with transaction(seeded) as session:
        boss = users.add_user(
            session=session,
            handle="pxs-boss",
            display_name="PXS Boss",
            role=Role.MANAGER,
            locale="en",
            provider_codes=["PXS"],
        )
        users.link_identity(session=session, user=boss, channel="console", external_id="pxs-boss")
    pxs = chat("pxs-boss")
    assert "You do not serve ALT" in pxs.send("/maintenance add ALT 2027-04-12T22:00 60 x")
    # Proximus sets no notice minimum: its own works need no flag; they list under PXS.
    assert "announced" in pxs.send("/maintenance add 2027-03-22T22:00 60 Central Gent")
    assert "Proximus" in pxs.send("/maintenance list")
    # Only some customers: named by their short names.
    assert "No customer nobody" in pxs.send(
        "/maintenance add 2027-03-23T22:00 60 Central Gent --tenants=nobody"
    )
    answer = pxs.send("/maintenance add 2027-03-23T22:00 60 Central Gent --tenants=demo-customer")
    assert "announced" in answer


def test_proximus_planned_works_stop_the_clocks_they_overlap(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    # A P3 Wi-Fi incident on Tuesday 23 March 2027, 09:00 Brussels (5 business days).
    logged = datetime(2027, 3, 23, 8, 0, tzinfo=UTC)
    ticket = open_at(
        seeded, pack_id="proximus-internet", intervention="wifi-problem", priority="p3", now=logged
    )
    before = ticket.resolution_due
    assert before is not None
    # Wednesday 24 March 10:00-13:00 Brussels: planned works inside the service window.
    with transaction(seeded) as session:
        window = planned_works.announce(
            session=session,
            provider_code="PXS",
            starts_at=datetime(2027, 3, 24, 9, 0, tzinfo=UTC),
            minutes=180,
            services="Central Bruxelles",
            now=logged + timedelta(hours=1),
        )
        window_id = window.id
    with transaction(seeded) as session:
        moved = session.get(Ticket, ticket.id)
        assert moved is not None
        # Due Friday 26 March 22:00 (the window's close); three hours stopped move it into
        # Saturday's window (08:00-16:30): Saturday 27 March 11:00 Brussels.
        assert before == datetime(2027, 3, 26, 21, 0, tzinfo=UTC)
        assert moved.resolution_due == datetime(2027, 3, 27, 10, 0, tzinfo=UTC)
    assert told(seeded, "maintenance_created", "demo-requester")
    # Cancelled: the clock gets its three hours back.
    with transaction(seeded) as session:
        assert window_id is not None
        planned_works.cancel(session=session, window_id=window_id, now=logged + timedelta(hours=2))
    with transaction(seeded) as session:
        back = session.get(Ticket, ticket.id)
        assert back is not None
        assert back.resolution_due == before
