"""Secrets never leave the process: a whole Slack session (and refused requests) logs
neither the bot token nor the signing secret, at any level; request bodies are not logged."""

from __future__ import annotations

import logging

import pytest

from bot import redact
from tests.slack.conftest import REQUESTER, SECRET, TOKEN, World


async def test_a_session_logs_no_secret_and_no_body(
    make_world: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world: World = await make_world("en")  # type: ignore[operator]
    redact.install(world.settings)
    await world.command(REQUESTER, "new")
    await world.say(REQUESTER, "private-body-marker web01 is down")
    assert (
        await world.post("{not json", content_type="application/json", sign=False)
    ).status_code == 401
    refused = await world.post("token=x&text=private-body-marker", sign=False)
    assert refused.status_code == 401
    text = "\n".join(logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert "HTTP Request: POST http://testserver/slack/events" in text
    assert TOKEN not in text
    assert SECRET not in text
    # Incoming request bodies are never logged (the Web API client's own DEBUG lines show
    # what the bot sends, which is not the user's request).
    incoming = [r for r in caplog.records if not r.name.startswith("slack_sdk.web")]
    assert not any("private-body-marker" in r.getMessage() for r in incoming)
