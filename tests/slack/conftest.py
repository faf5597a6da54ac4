"""Fixtures for the Slack channel: the fake Web API, a seeded database, the real app, and a
driver that signs requests and plays users (slash commands, clicks, DMs, modals)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from bot.app import create_app
from bot.channels.slack import SlackAdapter, slack_plugin
from bot.channels.slack.blocks import ANSWER_ACTION, unescape
from bot.channels.slack.plugin import EVENTS_PATH, make_sender
from bot.channels.slack.sender import SlackSender
from bot.db.engine import make_engine, transaction
from bot.inbox.drainer import draining
from bot.services import demo, tenants, users, workspaces
from bot.settings import Settings, get_settings
from bot.worker.clock import ManualClock
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.wording_scan import assert_wording

# Friday 20 November 2026, 17:30 in Brussels.
FRIDAY_1730 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
TOKEN = "xoxb-test-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AGENTS = "CAGENTS01"
REQUESTER = "UREQ00001"
AGENT = "UAGT00001"
STRANGER = "USTR00001"
LOCALES = {"fr": "fr-FR", "nl": "nl-BE", "en": "en-GB"}
PROVIDERS = ("ALT", "PXS", "TLN", "TLW")
PROVIDER_TEAM = "T0000PRV"  # the Telenet staff's workspace, where the demo agent works


def team_of(user: str) -> str:
    """The workspace a user acts from: the agent's provider's, else the customer's."""
    return PROVIDER_TEAM if user == AGENT else TEAM


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API on 127.0.0.1 (a free port)."""
    server = await FakeSlack(token=TOKEN).start()
    yield server
    await server.stop()


def env_for(fake: FakeSlack, db_url: str, lang: str) -> dict[str, str]:
    """The environment of a bot talking to the fake Web API."""
    return {
        "SUPPORTBOT_DATABASE_URL": db_url,
        "SUPPORTBOT_DEFAULT_LOCALE": lang,
        "SUPPORTBOT_SLACK_BOT_TOKEN": TOKEN,
        "SUPPORTBOT_SLACK_SIGNING_SECRET": SECRET,
        "SUPPORTBOT_SLACK_API_URL": fake.base_url,
        "SUPPORTBOT_SLACK_AGENTS_CHANNELS": json.dumps(dict.fromkeys(PROVIDERS, AGENTS)),
        "SUPPORTBOT_SLACK_SEND_INTERVAL_SECONDS": "1",
    }


def signed_headers(
    body: str, *, timestamp: int | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Slack's signature headers for `body` (v0 HMAC-SHA256 of `v0:ts:body`)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def find_element(message: dict[str, Any], value: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The button or select entry whose payload ends with `:value` (or equals it)."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and (
                element["value"] == value or element["value"].endswith(":" + value)
            ):
                return element, {
                    "type": "button",
                    "action_id": element["action_id"],
                    "block_id": block.get("block_id", "b"),
                    "value": element["value"],
                    "text": element["text"],
                    "action_ts": "1790000000.1",
                }
            if element.get("type") == "static_select":
                for option in element["options"]:
                    if option["value"] == value or option["value"].endswith(":" + value):
                        return element, {
                            "type": "static_select",
                            "action_id": element["action_id"],
                            "block_id": block.get("block_id", "b"),
                            "selected_option": option,
                            "action_ts": "1790000000.1",
                        }
    raise AssertionError(f"no option {value!r} in {json.dumps(message, ensure_ascii=False)[:2000]}")


def find_label(message: dict[str, Any], part: str) -> str:
    """The payload of the option whose label contains `part`."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            entries = (
                element.get("options", []) if element.get("type") == "static_select" else [element]
            )
            for entry in entries:
                if part in entry.get("text", {}).get("text", ""):
                    return str(entry["value"])
    raise AssertionError(f"no option labelled {part!r}")


def text_of(thing: dict[str, Any]) -> str:
    """Every text in a message or view (sections, fields, contexts, labels), joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
                found.append(node["text"])
            elif node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(unescape(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(thing.get("blocks", []))
    return "\n".join(found)


def view_options(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The options of a modal step's input (radio buttons or select)."""
    for block in view["blocks"]:
        if block.get("type") == "input":
            return list(block["element"].get("options", []))
    return []


def input_block(view: dict[str, Any]) -> dict[str, Any] | None:
    """A modal step's input block, if any."""
    return next((b for b in view["blocks"] if b.get("type") == "input"), None)


@dataclass
class World:
    """The real app wired to the fake Web API, and users to play."""

    engine: Engine
    settings: Settings
    fake: FakeSlack
    adapter: SlackAdapter
    http: httpx.AsyncClient
    clock: JumpingClock
    lang: str
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ raw requests

    async def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
        sign: bool = True,
        drain: bool = True,
    ) -> httpx.Response:
        """POST a body to /slack/events, signed unless told otherwise."""
        sent = {"Content-Type": content_type, **(signed_headers(body) if sign else {})}
        sent.update(headers or {})
        response = await self.http.post(EVENTS_PATH, content=body.encode(), headers=sent)
        if drain:
            await self.adapter.drain()
        return response

    # ------------------------------------------------------------------ users

    async def command(self, user: str, text: str, *, channel: str | None = None) -> httpx.Response:
        """`/support <text>` typed by `user` (in their DM unless `channel`)."""
        n = next(self.serial)
        body = urlencode(
            {
                "token": "verification",
                "team_id": team_of(user),
                "team_domain": "example",
                "channel_id": channel or "D" + user[1:],
                "channel_name": "directmessage" if channel is None else "support",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/support",
                "text": text,
                "api_app_id": "A0000001",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"cmd{n}"),
                "trigger_id": f"trigger-{n}",
            }
        )
        return await self.post(body)

    async def interaction(self, payload: dict[str, Any], *, drain: bool = True) -> httpx.Response:
        """An interactivity payload (block_actions, view_submission)."""
        return await self.post(urlencode({"payload": json.dumps(payload)}), drain=drain)

    async def event(
        self,
        user: str,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> httpx.Response:
        """An Events API callback."""
        n = next(self.serial)
        body = json.dumps(
            {
                "token": "verification",
                "team_id": team_of(user),
                "api_app_id": "A0000001",
                "event": {"user": user, **event},
                "type": "event_callback",
                "event_id": event_id or f"Ev{n:08d}",
                "event_time": 1790000000 + n,
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True}],
            }
        )
        headers = (
            {}
            if retry is None
            else {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        )
        return await self.post(body, content_type="application/json", headers=headers)

    async def say(self, user: str, text: str) -> httpx.Response:
        """`user` types `text` in their DM with the app."""
        n = next(self.serial)
        return await self.event(
            user,
            {
                "type": "message",
                "channel": "D" + user[1:],
                "channel_type": "im",
                "text": text,
                "ts": f"1790000100.{n:06d}",
                "team": team_of(user),
            },
        )

    def dm(self, user: str) -> list[dict[str, Any]]:
        """The messages of the bot in `user`'s DM, oldest first (as they are now)."""
        channel = "D" + user[1:]
        return [m for (c, _ts), m in self.fake.messages.items() if c == channel]

    def last_question(self, user: str) -> dict[str, Any]:
        """The newest DM message with buttons."""
        for message in reversed(self.dm(user)):
            if any(b.get("type") == "actions" for b in message.get("blocks", [])):
                return message
        raise AssertionError("no question in the DM")

    async def click(
        self,
        user: str,
        value: str,
        *,
        message: dict[str, Any] | None = None,
        channel: str | None = None,
    ) -> httpx.Response:
        """Click the option with this payload value in a message (the DM's last question)."""
        message = message or self.last_question(user)
        channel = channel or "D" + user[1:]
        _element, action = find_element(message, value)
        n = next(self.serial)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": team_of(user)},
            "api_app_id": "A0000001",
            "token": "verification",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"trigger-{n}",
            "team": {"id": team_of(user), "domain": "example"},
            "channel": {"id": channel, "name": "directmessage"},
            "message": message,
            "response_url": self.fake.response_url(f"act{n}"),
            "actions": [action],
        }
        return await self.interaction(payload)

    async def submit(
        self, user: str, view: dict[str, Any], *, value: str | None = None, text: str | None = None
    ) -> dict[str, Any]:
        """Submit a modal step (choosing the option ending with `value`, or typing `text`)."""
        state: dict[str, Any] = {}
        block = input_block(view)
        if block is not None:
            element = block["element"]
            if text is not None:
                answer: dict[str, Any] = {"type": element["type"], "value": text}
            else:
                assert value is not None
                option = next(
                    o
                    for o in element["options"]
                    if o["value"] == value or o["value"].endswith(":" + value)
                )
                answer = {"type": element["type"], "selected_option": option}
            state = {block["block_id"]: {ANSWER_ACTION: answer}}
        n = next(self.serial)
        payload = {
            "type": "view_submission",
            "team": {"id": team_of(user), "domain": "example"},
            "user": {"id": user, "username": user.lower(), "team_id": team_of(user)},
            "api_app_id": "A0000001",
            "token": "verification",
            "trigger_id": f"trigger-{n}",
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
        }
        response = await self.interaction(payload)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json() if response.content else {}
        return result

    def sender(self) -> SlackSender:
        """The outbox sender wired like the app's."""
        return make_sender(self.adapter)


def seed(engine: Engine, *, now: datetime) -> None:
    """The demo data, the workspace mapping and the Slack accounts of the demo users."""
    with transaction(engine) as session:
        demo.seed(session=session, now=now)
        tenant = tenants.get_tenant(session=session, slug=demo.DEMO_TENANT)
        workspaces.map_workspace(
            session=session, channel="slack", external_id=TEAM, tenant=tenant, provider_code=None
        )
        workspaces.map_workspace(
            session=session,
            channel="slack",
            external_id=PROVIDER_TEAM,
            tenant=None,
            provider_code="TLN",
        )
        for handle, external in (("demo-requester", REQUESTER), ("demo-agent", AGENT)):
            user = users.get_user_by_handle(session=session, handle=handle)
            assert user is not None
            users.link_identity(session=session, user=user, channel="slack", external_id=external)


class JumpingClock(ManualClock):
    """A manual clock whose sleeps jump to their deadline (the worker's pacing never blocks)."""

    async def sleep_until(
        self,
        deadline: datetime | None,
        wake: asyncio.Event | None = None,
        *,
        at_most: float | None = None,
    ) -> None:
        """Jump to `deadline` at once."""
        if deadline is not None and deadline > self.now():
            self.set(deadline)


@pytest.fixture
async def make_world(
    fake: FakeSlack, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[str], Any]]:
    """Build the world for a language: the users' Slack locale and the agents' language."""
    worlds: list[World] = []
    engines: list[Engine] = []

    async def build(lang: str) -> World:
        for key, value in env_for(fake, db_url, lang).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        settings = get_settings()
        engine = make_engine(db_url)
        engines.append(engine)
        clock = JumpingClock(FRIDAY_1730)
        seed(engine, now=clock.now())
        fake.locales.update(
            {REQUESTER: LOCALES[lang], AGENT: LOCALES[lang], STRANGER: LOCALES[lang]}
        )
        app = create_app(settings=settings, engine=engine, plugins=[slack_plugin])
        adapter: SlackAdapter = app.state.slack
        adapter.clock = clock.now
        await adapter.start()
        # The app's lifespan does not run under ASGITransport: start its inbox drainer here.
        handlers = {"slack": adapter.handle_row}
        await stack.enter_async_context(
            draining(engine=engine, settings=settings, handlers=handlers)
        )
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        world = World(engine, settings, fake, adapter, http, clock, lang)
        worlds.append(world)
        return world

    async with contextlib.AsyncExitStack() as stack:
        yield build
        for world in worlds:
            for message in fake.messages.values():
                assert_wording(text_of(message), world.lang)
        for world in worlds:
            await world.http.aclose()
            await world.adapter.close()
    for engine in engines:
        engine.dispose()
    get_settings.cache_clear()
