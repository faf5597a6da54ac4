"""Limits before work on `/slack/events`: the signature is checked on the raw body before
any parsing (unsigned or bad → 401, signed but malformed → 400, never 500), and a body over
the limit is refused with 413 without being read whole."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels.slack.plugin import EVENTS_PATH
from tests.slack.conftest import SECRET, World, signed_headers

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CHUNK = 64 * 1024


@pytest.fixture
async def world(make_world: Any) -> World:
    built: World = await make_world("en")
    return built


@pytest.mark.parametrize(
    ("body", "content_type", "headers"),
    [
        ("{not json", JSON, {}),
        ("[1, 2, 3]", JSON, {}),
        ('{"type": "url_verification", "challenge": "x"}', JSON, {}),
        ("payload=%7Bnot", FORM, {}),
        ("{}", JSON, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"}),
        ("{}", JSON, {"X-Slack-Request-Timestamp": "1" * 40, "X-Slack-Signature": "v0=abc"}),
    ],
)
async def test_unsigned_or_badly_signed_requests_get_401(
    world: World, body: str, content_type: str, headers: dict[str, str]
) -> None:
    response = await world.post(body, content_type=content_type, headers=headers, sign=False)
    assert response.status_code == 401


async def test_a_signature_for_another_body_gets_401(world: World) -> None:
    headers = signed_headers("{}")
    response = await world.post('{"a": 1}', content_type=JSON, headers=headers, sign=False)
    assert response.status_code == 401


async def test_a_stale_signature_gets_401(world: World) -> None:
    body = '{"type": "event_callback"}'
    headers = signed_headers(body, timestamp=1_000_000_000)
    response = await world.post(body, content_type=JSON, headers=headers, sign=False)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", JSON),
        ("[1, 2, 3]", JSON),
        ('"a string"', JSON),
        ("payload=%7Bnot", FORM),
        ("payload=%5B1%5D", FORM),
        ("a=1&&&b", FORM),
    ],
)
async def test_signed_but_malformed_bodies_get_400(
    world: World, body: str, content_type: str
) -> None:
    response = await world.post(body, content_type=content_type)
    assert response.status_code == 400


async def test_a_signed_non_utf8_body_gets_400(world: World) -> None:
    body = b'{"text": "\xff\xfe"}'
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    headers = {
        "Content-Type": JSON,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    response = await world.http.post(EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 400


async def test_the_url_verification_challenge_still_works(world: World) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    response = await world.post(body, content_type=JSON)
    assert response.status_code == 200
    assert "abc123" in response.text


async def test_a_body_over_the_limit_gets_413_without_being_read_whole(world: World) -> None:
    limit = world.settings.webhook_max_body_bytes
    consumed = 0

    async def fifty_megabytes() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(50 * 1024 * 1024 // CHUNK):
            consumed += CHUNK
            yield b"x" * CHUNK

    response = await world.http.post(
        EVENTS_PATH, content=fifty_megabytes(), headers={"Content-Type": JSON}
    )
    assert response.status_code == 413
    assert consumed <= limit + 2 * CHUNK  # the rest of the 50 MB was never pulled


async def test_an_announced_length_over_the_limit_gets_413_at_once(world: World) -> None:
    limit = world.settings.webhook_max_body_bytes
    body = b"x" * (limit + 1)
    response = await world.http.post(
        EVENTS_PATH, content=body, headers={"Content-Type": JSON, **signed_headers("x")}
    )
    assert response.status_code == 413
