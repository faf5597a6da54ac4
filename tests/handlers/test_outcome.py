"""The typed outcome: the language spoken, the open question and its options' kinds, refusals,
ticket actions carried out, and the views the core computes for the channels."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Conversation
from bot.i18n import translator
from bot.settings import Settings
from handlers.core import entry
from handlers.model import (
    Acted,
    InboundEvent,
    MenuScope,
    Option,
    OptionKind,
    Outcome,
    RefusalReason,
    Text,
)
from tests.handlers.conftest import Chat, Clock
from tests.handlers.test_intake import express_incident

REF = "TLN-2026-000001"


def outcome_of(chat: Chat) -> Outcome:
    assert chat.outcome is not None
    return chat.outcome


def test_the_open_question_carries_the_steps_token_and_kinds(
    chat: type[Chat], seeded: Engine
) -> None:
    requester = chat("demo-requester")
    requester.send("/new")
    outcome = outcome_of(requester)
    assert outcome.lang == "fr"
    assert outcome.refusal is None
    assert outcome.acted is None
    question = outcome.question
    assert question is not None
    assert question.reply in outcome.replies
    assert question.reply not in outcome.before_question
    with transaction(seeded) as session:
        conversation = session.exec(select(Conversation)).one()
        assert question.token == conversation.token
    kinds = [option.kind for option in question.options]
    assert kinds[-1] is OptionKind.NAVIGATION  # « Cancel »
    assert OptionKind.ANSWER in kinds


def test_an_answer_refused_at_a_step_is_asked_again(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    requester.send("/lang en")
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    requester.choose("dedicated-server-down-not-hardware")
    requester.choose("express")
    requester.send("web01.example.be")
    requester.send("30")
    asked = outcome_of(requester).question
    requester.send("no")  # too short a description
    outcome = outcome_of(requester)
    assert outcome.refusal is not None
    assert outcome.refusal.reason is RefusalReason.INVALID_ANSWER
    assert outcome.refusal.text == "Please describe the request in a few words."
    assert Text(outcome.refusal.text) in outcome.replies  # shown in order, for every channel
    assert outcome.question is not None
    assert asked is not None
    assert outcome.question.token == asked.token  # the same step


def test_a_ticket_action_says_where_the_ticket_stands(chat: type[Chat]) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    agent.send(f"/ack {REF}")
    outcome = outcome_of(agent)
    summary = f"{REF} acknowledged: the customer is told."
    assert outcome.acted == Acted(
        verb="ack",
        reference=REF,
        summary=summary,
        status="responded",
        actions=("pause", "resolve"),
        options=(
            Option("Pause", f"t:pause:{REF}", OptionKind.TICKET_ACTION),
            Option("Resolve", f"t:resolve:{REF}", OptionKind.TICKET_ACTION),
        ),
    )
    assert outcome.replies[0] == Text(summary)
    agent.send(f"/pause {REF} waiting for the customer")
    acted = outcome_of(agent).acted
    assert acted is not None
    # Issue 13: a paused ticket's ping offers only Resume; a resolved one offers nothing.
    assert (acted.verb, acted.status, acted.actions) == ("pause", "paused", ("resume",))
    agent.send(f"/resolve {REF} 30")
    acted = outcome_of(agent).acted
    assert acted is not None
    assert (acted.verb, acted.status, acted.actions) == ("resolve", "resolved", ())
    agent.send(f"/ack {REF}")
    outcome = outcome_of(agent)
    assert outcome.acted is None
    assert outcome.refusal is not None
    assert outcome.refusal.reason is RefusalReason.INVALID_STATE


def test_opening_a_ticket_is_an_action_carried_out(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    express_incident(requester)
    acted = outcome_of(requester).acted
    assert acted is not None
    assert (acted.verb, acted.reference, acted.status) == ("open", REF, "open")
    assert outcome_of(requester).question is None


def test_refusals_are_typed(chat: type[Chat]) -> None:
    stranger = chat("stranger", platform_locale="nl-BE")
    stranger.send("hallo")
    outcome = outcome_of(stranger)
    assert outcome.lang == "nl"
    assert outcome.refusal is not None
    assert outcome.refusal.reason is RefusalReason.UNKNOWN_USER
    requester = chat("demo-requester")
    requester.send("/lang nl")
    assert outcome_of(requester).lang == "nl"
    requester.send("/queue")
    refusal = outcome_of(requester).refusal
    assert refusal is not None
    assert refusal.reason is RefusalReason.ACCESS_DENIED
    requester.send("/ticket NOPE-1")
    refusal = outcome_of(requester).refusal
    assert refusal is not None
    assert refusal.reason is RefusalReason.NOT_FOUND
    requester.send(action="c:stale:1")
    refusal = outcome_of(requester).refusal
    assert refusal is not None
    assert refusal.reason is RefusalReason.EXPIRED


def _event(clock: Clock, handle: str, **fields: str | None) -> InboundEvent:
    return InboundEvent(
        channel="console",
        chat_id=handle,
        user_external_id=handle,
        received_at=clock.now,
        **fields,  # type: ignore[arg-type]
    )


def test_home_view_is_computed_by_the_core(
    chat: type[Chat], seeded: Engine, settings: Settings, clock: Clock
) -> None:
    express_incident(chat("demo-requester"))
    core = entry(engine=seeded, settings=settings)
    home = core.home(_event(clock, "demo-requester"))
    assert home.lang == "fr"
    assert home.refusal is None
    assert home.can_open
    [line] = home.tickets
    assert line.reference == REF
    fr = translator("fr")
    assert [label for label, _due in line.dues] == [
        fr.gettext("Response due"),
        fr.gettext("Resolution due"),
    ]
    staff = core.home(_event(clock, "demo-agent"))
    assert not staff.can_open
    assert staff.title == fr.gettext("Open tickets, nearest due first:").rstrip(" :")
    assert [line.reference for line in staff.tickets] == [REF]
    stranger = core.home(_event(clock, "nobody", platform_locale="en"))
    assert stranger.refusal is not None
    assert stranger.refusal.reason is RefusalReason.UNKNOWN_USER
    assert stranger.lang == "en"


def test_command_menus_come_from_the_command_table(seeded: Engine, settings: Settings) -> None:
    menus = entry(engine=seeded, settings=settings).menus("console")
    scopes = {(menu.scope, menu.lang) for menu in menus if menu.scope is not MenuScope.USER}
    assert scopes == {
        (scope, lang)
        for scope in (MenuScope.CUSTOMERS, MenuScope.AGENTS_GROUP)
        for lang in ("fr", "nl", "en", None)
    }
    staff = {menu.chat_id: {name for name, _ in menu.commands} for menu in menus if menu.chat_id}
    assert set(staff) == {"demo-agent", "demo-manager", "demo-admin"}
    assert {"status", "sla", "credits"} <= staff["demo-manager"]
    assert "status" not in staff["demo-agent"]
    assert {"notify", "duty", "queue"} <= staff["demo-agent"]
