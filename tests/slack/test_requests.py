"""The HTTP edge: signatures, retries, URL verification, the workspace mapping."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import InboundUpdate, Role
from bot.i18n import translator
from bot.server import build_app
from bot.services import demo, tenants, users
from tests.slack.conftest import REQUESTER, SECRET, STRANGER, signed_headers, text_of
from tests.slack.fake_slack import TEAM, Failure


def _command_body(user: str = REQUESTER, text: str = "help") -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "channel_id": "D" + user[1:],
            "user_id": user,
            "command": "/support",
            "text": text,
            "trigger_id": "trigger-x",
            "response_url": "http://127.0.0.1:9/unused",
        }
    )


async def test_forged_signature_is_refused(make_world):
    world = await make_world("fr")
    body = _command_body()
    headers = signed_headers(body, secret="not-the-secret")
    response = await world.post(body, sign=False, headers=headers)
    assert response.status_code == 401
    assert world.fake.of("chat.postMessage") == []


async def test_stale_signature_is_refused(make_world):
    world = await make_world("fr")
    body = _command_body()
    headers = signed_headers(body, timestamp=int(time.time()) - 301)
    response = await world.post(body, sign=False, headers=headers)
    assert response.status_code == 401
    unsigned = await world.post(body, sign=False)
    assert unsigned.status_code == 401
    assert world.fake.of("chat.postMessage") == []


async def test_signed_command_is_acknowledged_then_answered_in_the_dm(make_world):
    world = await make_world("fr")
    response = await world.post(_command_body())
    assert response.status_code == 200
    posted = world.fake.of("chat.postMessage")
    assert len(posted) == 1
    assert posted[0].args["channel"] == REQUESTER
    text = text_of(posted[0].args)
    assert "/support new" in text  # the core's /new, written as the Slack command
    assert "/new —" not in text


async def test_url_verification(make_world):
    world = await make_world("fr")
    body = json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"})
    response = await world.post(body, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


async def test_retried_event_is_handled_once(make_world):
    world = await make_world("en")
    await world.command(REQUESTER, "new")
    before = len(world.fake.of("chat.postMessage"))
    event = {
        "type": "message",
        "channel": "D" + REQUESTER[1:],
        "channel_type": "im",
        "text": "cancel",
        "ts": "1790000200.000001",
    }
    first = await world.event(REQUESTER, event, event_id="Ev-RETRY-1")
    again = await world.event(REQUESTER, event, event_id="Ev-RETRY-1", retry=1)
    third = await world.event(REQUESTER, event, event_id="Ev-RETRY-1", retry=2)
    assert first.status_code == again.status_code == third.status_code == 200
    answers = world.fake.of("chat.postMessage")[before:]
    assert len(answers) == 1
    assert "Cancelled" in text_of(answers[0].args)
    with transaction(world.engine) as session:
        rows = session.exec(select(InboundUpdate).where(InboundUpdate.external_key == "Ev-RETRY-1"))
        stored = rows.all()
    assert len(stored) == 1
    assert stored[0].processed_at is not None


async def test_bot_messages_and_edits_are_ignored(make_world):
    world = await make_world("en")
    base = {"type": "message", "channel": "DREQ", "channel_type": "im", "ts": "1790000300.1"}
    await world.event(REQUESTER, {**base, "subtype": "message_changed", "text": "x"})
    await world.event(REQUESTER, {**base, "bot_id": "BOTHER", "text": "x"})
    await world.event(REQUESTER, {**base, "channel_type": "channel", "text": "x"})
    assert world.fake.of("chat.postMessage") == []


async def test_unmapped_workspace_is_told_to_ask_an_administrator(make_world):
    world = await make_world("en")
    body = _command_body(STRANGER).replace(TEAM, "TOTHER01")
    response = await world.post(body)
    assert response.status_code == 200
    posted = world.fake.of("chat.postMessage")
    assert len(posted) == 1
    assert "not connected" in text_of(posted[0].args)


async def test_unknown_user_is_asked_for_an_invite(make_world):
    world = await make_world("nl")
    await world.command(STRANGER, "tickets")
    text = text_of(world.fake.of("chat.postMessage")[-1].args)
    assert "/support start" in text


async def test_server_mounts_the_route_when_configured(make_world):
    world = await make_world("fr")
    app = build_app(settings=world.settings, engine=world.engine)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert "/slack/events" in paths
    assert SECRET


async def test_interactive_reply_waits_out_a_rate_limit(make_world):
    world = await make_world("en")
    world.fake.fail_next("chat.postMessage", Failure(429, "ratelimited", {"Retry-After": "0"}))
    await world.command(REQUESTER, "help")
    posted = world.fake.of("chat.postMessage")
    assert len(posted) == 2  # refused once, then sent
    assert "/support new" in text_of(world.dm(REQUESTER)[-1])


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
async def test_invite_code_links_the_slack_account(make_world, lang):
    world = await make_world(lang)
    with transaction(world.engine) as session:
        tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
        code = users.create_invite(
            session=session,
            role=Role.REQUESTER,
            tenant=tenant,
            now=world.clock.now(),
            valid_days=7,
        ).code
    world.fake.names[STRANGER] = "Anna Peeters"
    await world.command(STRANGER, f"start {code.lower()}")
    welcome = text_of(world.dm(STRANGER)[-1])
    expected = translator(lang).gettext("Welcome, %(name)s: your account is linked.")
    assert expected % {"name": "Anna Peeters"} in welcome
    with transaction(world.engine) as session:
        identity = users.find_identity(session=session, channel="slack", external_id=STRANGER)
        assert identity is not None
        assert identity.platform_locale is not None
        assert identity.platform_locale.startswith(lang)
