"""Installing the Slack app: the manifest, the admin CLI, Socket Mode."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlmodel import select
from typer.testing import CliRunner

from bot.channels.slack.adapter import SlackAdapter
from bot.channels.slack.plugin import EVENTS_PATH
from bot.channels.slack.store import SlackStore
from bot.cli.main import app as cli
from bot.db.engine import transaction
from bot.db.models import Tenant, Workspace
from bot.inbox.drainer import draining
from bot.settings import get_settings
from handlers.core import entry
from tests.slack.conftest import REQUESTER, World, text_of
from tests.slack.fake_slack import TEAM

REPO = Path(__file__).resolve().parents[2]
SOURCES = (REPO / "bot" / "channels" / "slack").glob("*.py")


def test_manifest_matches_the_app():
    manifest = yaml.safe_load((REPO / "docker" / "slack-manifest.yaml").read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == get_settings().slack_command
    urls = [
        command["url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    # Issue 13: agents' thread messages (public and private channels) reach the app too.
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
        "message.channels",
        "message.groups",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:history", "users:read"} <= scopes
    assert {"channels:history", "groups:history", "reactions:write", "files:read"} <= scopes


def test_every_web_api_method_called_is_in_the_fake():
    called: set[str] = set()
    for path in SOURCES:
        called |= set(re.findall(r"client\.([a-z]+_[A-Za-z]+)\(", path.read_text()))
    methods = {name.replace("_", ".", 1) for name in called}
    assert methods <= {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "views.open",
        "views.update",
        "views.publish",
        "users.info",
        "reactions.add",
        "files.info",  # issue 14: a file_share without the file's details (files:read)
        # files_upload_v2 is files.getUploadURLExternal, a POST of the bytes to the URL it
        # gives, then files.completeUploadExternal: the fake serves all three.
        "files.upload_v2",
    }, methods


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tenant", "demo-customer"], "tenant demo-customer"),
        (["--provider", "tln"], "provider TLN"),
    ],
)
async def test_map_workspace(make_world, args, expected):
    world: World = await make_world("en")
    runner = CliRunner()
    result = runner.invoke(cli, ["slack", "map-workspace", "t0NEW0001", *args])
    assert result.exit_code == 0, result.output
    assert expected in result.output
    with transaction(world.engine) as session:
        row = session.exec(select(Workspace).where(Workspace.external_id == "T0NEW0001")).one()
        tenant = session.get(Tenant, row.tenant_id) if row.tenant_id else None
    assert (tenant.slug if tenant else row.provider_code) in expected
    listed = runner.invoke(cli, ["slack", "workspaces"])
    assert "T0NEW0001" in listed.output
    assert TEAM in listed.output


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--tenant", "demo-customer", "--provider", "TLN"],
        ["--provider", "NOPE"],
        ["--tenant", "nope"],
    ],
)
async def test_map_workspace_refuses(make_world, args):
    await make_world("en")
    result = CliRunner().invoke(cli, ["slack", "map-workspace", "T0NEW0002", *args])
    assert result.exit_code == 2


async def test_socket_mode_delivers_a_slash_command(make_world):
    world: World = await make_world("en")
    adapter = SlackAdapter(
        settings=world.settings,
        store=SlackStore(world.engine),
        core=entry(engine=world.engine, settings=world.settings),
        clock=world.clock.now,
    )
    await adapter.start()
    handler = AsyncSocketModeHandler(adapter.app, world.fake.app_token)
    await handler.connect_async()
    # Socket Mode stores events in the inbox too: `slack socket` runs a drainer beside it.
    handlers = {"slack": adapter.handle_row}
    drainer = draining(engine=world.engine, settings=world.settings, handlers=handlers)
    await drainer.__aenter__()
    try:
        for _ in range(200):
            if world.fake.sockets:
                break
            await asyncio.sleep(0.01)
        await world.fake.push(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": TEAM,
                    "channel_id": "D" + REQUESTER[1:],
                    "user_id": REQUESTER,
                    "command": "/support",
                    "text": "help",
                    "trigger_id": "trigger-socket",
                    "response_url": world.fake.response_url("socket"),
                },
            }
        )
        for _ in range(300):
            if world.fake.socket_acks and world.fake.of("chat.postMessage"):
                break
            await asyncio.sleep(0.01)
            await adapter.drain()
    finally:
        await drainer.__aexit__(None, None, None)
        await handler.close_async()
        await adapter.close()
    assert world.fake.socket_acks[0]["envelope_id"] == "env-1"
    assert "/support new" in text_of(world.fake.of("chat.postMessage")[-1].args)
