"""The channel registry: one entry makes a channel; server, worker and notifications use it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, event
from sqlmodel import col, select

from bot.channels import builtin, registry
from bot.channels.registry import ChannelRuntime
from bot.db.engine import transaction
from bot.db.models import Notification, Role, Tenant, Ticket
from bot.server import build_app
from bot.services import demo, notify, users
from bot.services.notify.routing import on_duty_agents, roster_accounts
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.runner import worker_for
from pricing.loader import get_pack
from tests.channels.memory import NAME, MemorySender, memory_entry, room_of
from tests.worker.conftest import open_ticket

MONDAY_0900 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PACK = "telenet-hosting-cloud"
PROVIDER = get_pack(PACK).provider_code


def express_ticket(engine: Engine) -> Ticket:
    """A ticket the demo customer opened on Monday 09:00 (express manual restart)."""
    return open_ticket(
        engine,
        pack_id=PACK,
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=MONDAY_0900,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings without .env; no platform configured."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None, console_delivery="log", console_log_path=tmp_path / "console.jsonl"
    )


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The demo world; the requester also has an identity on the memory channel."""
    with transaction(engine) as session:
        demo.seed(session=session, now=MONDAY_0900)
        requester = users.get_user_by_handle(session=session, handle="demo-requester")
        assert requester is not None
        users.link_identity(session=session, user=requester, channel=NAME, external_id="cust-1")
    return engine


async def test_an_extra_channel_is_one_registry_entry(seeded: Engine, settings: Settings) -> None:
    sender = MemorySender()
    with registry.using(builtin.builtin_registry().with_entry(memory_entry(sender))) as chosen:
        ticket = express_ticket(seeded)
        running = chosen.build(ChannelRuntime(settings=settings, engine=seeded))
        worker = worker_for(
            engine=seeded, settings=settings, channels=running, clock=ManualClock(MONDAY_0900)
        )
        figures = await worker.run_once()
    assert figures[f"sent:{NAME}"] == 2
    by_chat = {message.chat_id: message for message in sender.sent}
    ping = by_chat[room_of(PROVIDER)]
    assert ping.audience == "agents"
    assert ping.event == "opened"
    assert ping.text.startswith(f"Nouveau ticket {ticket.reference} : ")  # default fr
    assert ticket.reference in ping.text
    assert [a["payload"] for a in ping.actions][0] == f"t:ack:{ticket.reference}"
    customer = by_chat["cust-1"]
    assert (customer.audience, customer.event) == ("customer", "opened")
    assert ticket.reference in customer.text
    # The room took the agents' ping: nobody is pinged directly any more.
    with transaction(seeded) as session:
        rows = session.exec(select(Notification).where(Notification.event == "opened")).all()
        assert {row.audience for row in rows} == {"agents", "customer"}


def test_the_server_mounts_and_runs_the_registry_channels(
    seeded: Engine, settings: Settings
) -> None:
    sender = MemorySender()
    extra = builtin.builtin_registry().with_entry(memory_entry(sender))
    app = build_app(settings=settings, engine=seeded, channels=extra)
    with TestClient(app):
        channels = [drainer.channel for drainer in app.state.worker.drainers]
    assert channels == ["console", NAME]  # no platform configured: only these run
    assert app.state.memory_sender is sender


def test_agent_rooms_come_from_the_entries(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "telegram_token": SecretStr("123:abc"),
            "telegram_agents_groups": {PROVIDER: -1001},
            "slack_bot_token": SecretStr("xoxb-1"),
            "slack_agents_channels": {PROVIDER: "C1"},
        }
    )
    shipped = builtin.builtin_registry()
    assert shipped.names == ("console", "telegram", "slack")
    assert shipped.agent_rooms(configured, PROVIDER) == [("telegram", "-1001"), ("slack", "C1")]
    assert shipped.agent_rooms(settings, PROVIDER) == []  # no token, no room
    assert shipped.agent_rooms(configured, "NOPE") == []
    section = shipped.get("slack")
    assert section is not None
    assert set(section.section(configured)) >= {"slack_bot_token", "slack_agents_channels"}


def test_channel_names_are_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        builtin.builtin_registry().with_entry(builtin.console_log.ENTRY)


def test_managers_hear_only_of_their_own_provider_and_tenant(
    seeded: Engine, settings: Settings
) -> None:
    with transaction(seeded) as session:
        other = Tenant(slug="other", name="Other Co")
        session.add(other)
        session.flush()
        assert other.id is not None
        stranger = users.add_user(
            session=session,
            handle="other-manager",
            display_name="Other Manager",
            role=Role.MANAGER,
            tenant_id=other.id,
            provider_codes=[],
        )
        users.link_identity(session=session, user=stranger, channel="console", external_id="om")
        foreign = users.add_user(
            session=session,
            handle="foreign-manager",
            display_name="Foreign Manager",
            role=Role.MANAGER,
            tenant_id=None,
            provider_codes=["ZZZ"],
        )
        users.link_identity(session=session, user=foreign, channel="console", external_id="fm")
    ticket = express_ticket(seeded)
    with transaction(seeded) as session:
        written = notify.emit(
            session=session,
            ticket=ticket,
            event="breached",
            now=MONDAY_0900,
            key="test-breach",
            params={"target": "response"},
            settings=settings,
            recipients=notify.routing.MANAGERS,
        )
        chats = set(
            session.exec(
                select(Notification.chat_id).where(Notification.idempotency_key.startswith("test-"))  # type: ignore[attr-defined]
            ).all()
        )
    assert written == 1
    assert chats == {"demo-manager"}


def test_mentions_are_the_roster_on_the_rooms_channel(seeded: Engine) -> None:
    with transaction(seeded) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        users.link_identity(session=session, user=agent, channel=NAME, external_id="U-agent")
        second = users.add_user(
            session=session,
            handle="agent-2",
            display_name="Agent Two",
            role=Role.AGENT,
            tenant_id=None,
            provider_codes=[PROVIDER],
        )
        users.link_identity(session=session, user=second, channel=NAME, external_id="U-two")
        second.on_duty = False
        session.add(second)
        session.flush()
        roster = on_duty_agents(session=session, provider_code=PROVIDER)
        assert [a.handle for a in roster] == ["demo-agent"]
        assert roster_accounts(session=session, provider_code=PROVIDER, channel=NAME) == (
            "U-agent",
        )
        agent.on_duty = False
        session.add(agent)
        session.flush()  # nobody on duty: everyone is
        assert roster_accounts(session=session, provider_code=PROVIDER, channel=NAME) == (
            "U-agent",
            "U-two",
        )


def test_escalation_rows_carry_the_mentions(seeded: Engine, settings: Settings) -> None:
    sender = MemorySender()
    with transaction(seeded) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        users.link_identity(session=session, user=agent, channel=NAME, external_id="U-agent")
    with registry.using(builtin.builtin_registry().with_entry(memory_entry(sender))):
        ticket = express_ticket(seeded)
        with transaction(seeded) as session:
            notify.emit(
                session=session,
                ticket=ticket,
                event="due",
                now=MONDAY_0900,
                key="test-due",
                params={"target": "response", "due": MONDAY_0900.isoformat()},
                settings=settings,
            )
    with transaction(seeded) as session:
        rows = session.exec(
            select(Notification).where(col(Notification.chat_id) == room_of(PROVIDER))
        ).all()
        mentions = {row.event: row.mentions for row in rows}
    assert mentions == {"opened": [], "due": ["U-agent"]}


def test_no_registry_installed_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_installed", None)
    with pytest.raises(registry.NoRegistryError, match="install"):
        registry.active()


def test_escalations_name_the_owner_first(seeded: Engine, settings: Settings) -> None:
    """Issue 13: the ticket's owner is mentioned first, then the agents on duty."""
    sender = MemorySender()
    with transaction(seeded) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        users.link_identity(session=session, user=agent, channel=NAME, external_id="U-agent")
        owner = users.add_user(
            session=session,
            handle="owner-agent",
            display_name="Owner",
            role=Role.AGENT,
            provider_codes=[PROVIDER],
        )
        owner.on_duty = False  # off duty: named only because the ticket is theirs
        session.add(owner)
        users.link_identity(session=session, user=owner, channel=NAME, external_id="U-owner")
    with registry.using(builtin.builtin_registry().with_entry(memory_entry(sender))):
        ticket = express_ticket(seeded)
        with transaction(seeded) as session:
            ticket = session.merge(ticket)
            ticket.owner_id = owner.id
            session.add(ticket)
            session.flush()
            notify.emit(
                session=session,
                ticket=ticket,
                event="due",
                now=MONDAY_0900,
                key="test-due-owner",
                params={"target": "response", "due": MONDAY_0900.isoformat()},
                settings=settings,
            )
    with transaction(seeded) as session:
        rows = session.exec(
            select(Notification).where(
                col(Notification.chat_id) == room_of(PROVIDER), Notification.event == "due"
            )
        ).all()
        assert [row.mentions for row in rows] == [["U-owner", "U-agent"]]


def test_an_event_s_outbox_rows_are_one_statement_and_idempotent(
    seeded: Engine, settings: Settings
) -> None:
    """Every destination of one event is written by a single INSERT (was one per row); the
    same key again writes nothing."""
    ticket = express_ticket(seeded)
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            inserts.append(statement)

    event.listen(seeded, "before_cursor_execute", count)
    try:
        written = []
        for _ in range(2):
            with transaction(seeded) as session:
                written.append(
                    notify.emit(
                        session=session,
                        ticket=ticket,
                        event="breached",
                        now=MONDAY_0900,
                        key="test-one-statement",
                        params={"target": "response"},
                        settings=settings,
                    )
                )
    finally:
        event.remove(seeded, "before_cursor_execute", count)
    with transaction(seeded) as session:
        rows = session.exec(
            select(Notification).where(
                col(Notification.idempotency_key).startswith("test-one-statement")
            )
        ).all()
    assert written[0] == len(rows) >= 2  # agents and managers
    assert written[1] == 0
    assert len(inserts) == 2  # one per event, however many destinations
