"""Every refusal path: unknown users, invites, roles, tenants and providers."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.db.models import Role
from bot.services import tenants, users
from tests.handlers.conftest import Chat, Clock
from tests.handlers.test_intake import express_incident


def invite(engine: Engine, clock: Clock, role: Role, **kwargs: object) -> str:
    with transaction(engine) as session:
        tenant = kwargs.pop("tenant", None)
        found = tenants.get_tenant(session=session, slug=str(tenant)) if tenant else None
        created = users.create_invite(
            session=session,
            role=role,
            tenant=found,
            now=clock.now,
            valid_days=7,
            **kwargs,  # type: ignore[arg-type]
        )
        return created.code


def test_unknown_user_is_told_how_to_get_access(chat: type[Chat]) -> None:
    stranger = chat("stranger", platform_locale="en")
    answer = stranger.send("/new")
    assert "invite code" in answer
    assert "/start" in answer


def test_unknown_user_in_their_platform_language(chat: type[Chat]) -> None:
    stranger = chat("stranger", platform_locale="nl-BE")
    answer = stranger.send("hallo")
    assert "uitnodigingscode" in answer


def test_invite_links_once_then_refuses(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    code = invite(seeded, clock, Role.REQUESTER, tenant="demo-customer")
    newcomer = chat("newcomer", platform_locale="en")
    answer = newcomer.send(f"/start {code}")
    assert "linked" in answer
    assert "/new" in answer
    other = chat("other", platform_locale="en")
    assert "already used" in other.send(f"/start {code}")


def test_expired_and_unknown_invites(chat: type[Chat], seeded: Engine, clock: Clock) -> None:
    code = invite(seeded, clock, Role.REQUESTER, tenant="demo-customer")
    clock.advance(days=8)
    newcomer = chat("late", platform_locale="en")
    assert "expired" in newcomer.send(f"/start {code}")
    assert "unknown" in newcomer.send("/start NOPE12345")


@pytest.mark.parametrize("command", ["/ack TLN-2026-000001", "/queue", "/status", "/resolve X"])
def test_requesters_cannot_use_staff_commands(chat: type[Chat], command: str) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    answer = requester.send(command)
    assert "not available with your role" in answer


def test_agents_cannot_open_tickets(chat: type[Chat]) -> None:
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "not available with your role" in agent.send("/balance")
    assert "not available with your role" in agent.send("/new")


def test_requester_of_another_tenant_sees_nothing(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    with transaction(seeded) as session:
        other = tenants.add_tenant(session=session, slug="other", name="Other NV")
        tenants.add_contract(session=session, tenant=other, pack_id="telenet-hosting-cloud")
    code = invite(seeded, clock, Role.REQUESTER, tenant="other")
    outsider = chat("outsider", platform_locale="en")
    outsider.send(f"/start {code}")
    assert "No ticket TLN-2026-000001" in outsider.send("/ticket TLN-2026-000001")
    assert "No ticket" in outsider.send("/comment TLN-2026-000001 hello")
    assert "No tickets" in outsider.send("/tickets all")


def test_agent_of_another_provider_sees_nothing(
    chat: type[Chat], seeded: Engine, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    code = invite(seeded, clock, Role.AGENT, provider_codes=["PXS"])
    proximus_agent = chat("pxs-agent", platform_locale="en")
    proximus_agent.send(f"/start {code}")
    assert "No ticket TLN-2026-000001" in proximus_agent.send("/ack TLN-2026-000001")
    assert "queue is empty" in proximus_agent.send("/queue")


def test_unknown_command_and_idle_text(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    assert "Unknown command /frobnicate" in requester.send("/frobnicate")
    assert "/new" in requester.send("hello?")


def test_lang_refuses_unknown_languages(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    assert "fr, nl, en" in requester.send("/lang de")


def test_notification_hours_preference(chat: type[Chat], seeded: Engine) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    assert "at any time" in requester.send("/notify")
    assert "wait until the next opening" in requester.send("/notify office")
    with transaction(seeded) as session:
        user = users.get_user_by_handle(session=session, handle="demo-requester")
        assert user is not None
        assert user.notify_outside_hours is False
    assert "during business hours only" in requester.send("/notify")
    assert "at any time" in requester.send("/notify always")
