"""The core binds shared workspaces: an unmapped one is refused to anyone, and a linked user
acts only from the workspace of their tenant or of a provider they serve."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Conversation
from bot.i18n import translator
from bot.services import tenants, workspaces
from bot.settings import Settings
from handlers.core import entry
from handlers.model import InboundEvent, Outcome, RefusalReason
from tests.handlers.conftest import Chat, Clock

NOT_CONNECTED = (
    "This Slack workspace is not connected to the support service yet. "
    "Ask your administrator to connect it."
)
NOT_ALLOWED = (
    "This workspace is not connected to your company or to a provider you work for. "
    "Use the workspace your administrator connected."
)


@pytest.fixture
def mapped(seeded: Engine) -> Engine:
    """Workspaces: the demo customer's, another customer's, Telenet's staff's."""
    with transaction(seeded) as session:
        demo = tenants.get_tenant(session=session, slug="demo-customer")
        other = tenants.add_tenant(session=session, slug="other", name="Other NV")
        for external_id, tenant, provider in (
            ("W-DEMO", demo, None),
            ("W-OTHER", other, None),
            ("W-TLN", None, "TLN"),
        ):
            workspaces.map_workspace(
                session=session,
                channel="console",
                external_id=external_id,
                tenant=tenant,
                provider_code=provider,
            )
    return seeded


def refusal_of(chat: Chat) -> RefusalReason | None:
    outcome: Outcome | None = chat.outcome
    assert outcome is not None
    return None if outcome.refusal is None else outcome.refusal.reason


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_an_unmapped_workspace_is_refused_to_anyone(
    chat: type[Chat], mapped: Engine, lang: str
) -> None:
    requester = chat("demo-requester", workspace_id="W-UNKNOWN")
    requester.send(f"/lang {lang}")  # refused too: nothing changes
    stranger = chat("stranger", platform_locale=lang, workspace_id="W-UNKNOWN")
    for who in (requester, stranger):
        answer = who.send("/new")
        assert answer == translator("fr" if who is requester else lang).gettext(NOT_CONNECTED)
        assert refusal_of(who) is RefusalReason.WORKSPACE_NOT_CONNECTED
    with transaction(mapped) as session:
        assert session.exec(select(Conversation)).first() is None


def test_a_user_of_tenant_x_is_refused_in_the_workspace_of_tenant_y(
    chat: type[Chat], mapped: Engine
) -> None:
    requester = chat("demo-requester", workspace_id="W-OTHER")
    answer = requester.send("/tickets")
    assert answer == translator("fr").gettext(NOT_ALLOWED)
    assert refusal_of(requester) is RefusalReason.WORKSPACE_NOT_ALLOWED
    # The same user in their own company's workspace is served.
    at_home = chat("demo-requester", workspace_id="W-DEMO")
    at_home.send("/new")
    assert refusal_of(at_home) is None
    assert at_home.outcome is not None
    assert at_home.outcome.question is not None


def test_an_agent_in_their_providers_workspace_is_accepted(
    chat: type[Chat], mapped: Engine
) -> None:
    agent = chat("demo-agent", workspace_id="W-TLN")
    agent.send("/lang en")
    assert agent.send("/queue") == "The queue is empty."
    assert refusal_of(agent) is None
    # A customer's workspace is not the agent's.
    visiting = chat("demo-agent", workspace_id="W-DEMO")
    assert visiting.send("/queue") == translator("en").gettext(NOT_ALLOWED)
    assert refusal_of(visiting) is RefusalReason.WORKSPACE_NOT_ALLOWED


def test_an_administrator_acts_from_any_mapped_workspace(chat: type[Chat], mapped: Engine) -> None:
    for workspace in ("W-DEMO", "W-OTHER", "W-TLN"):
        admin = chat("demo-admin", workspace_id=workspace)
        admin.send("/queue")
        assert refusal_of(admin) is None


def test_events_without_a_workspace_are_not_gated(chat: type[Chat], mapped: Engine) -> None:
    requester = chat("demo-requester")
    requester.send("/new")
    assert refusal_of(requester) is None


def test_the_home_view_is_gated_too(mapped: Engine, settings: Settings, clock: Clock) -> None:
    core = entry(engine=mapped, settings=settings)

    def home(handle: str, workspace: str) -> RefusalReason | None:
        event = InboundEvent(
            channel="console",
            chat_id=handle,
            user_external_id=handle,
            received_at=clock.now,
            workspace_id=workspace,
        )
        refusal = core.home(event).refusal
        return None if refusal is None else refusal.reason

    assert home("demo-requester", "W-UNKNOWN") is RefusalReason.WORKSPACE_NOT_CONNECTED
    assert home("demo-requester", "W-OTHER") is RefusalReason.WORKSPACE_NOT_ALLOWED
    assert home("demo-requester", "W-DEMO") is None
    assert home("demo-agent", "W-TLN") is None
