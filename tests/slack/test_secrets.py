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
    await world.post("{not json", content_type="application/json", sign=False)
    await world.post("token=x&text=private-body-marker", sign=False)
    text = "\n".join(logging.Formatter("%(message)s").format(r) for r in caplog.records)
    assert "chat.postMessage" in text or "HTTP Request" in text or text  # something was logged
    assert TOKEN not in text
    assert SECRET not in text
    assert "private-body-marker" not in text
