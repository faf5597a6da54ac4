"""The outbox sender: what Slack's answers mean, 429 Retry-After, pacing per channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from bot.channels.slack import store
from bot.channels.slack.sender import SlackSender
from bot.db.engine import transaction
from bot.db.models import ChannelIdentity, Notification, NotificationStatus
from bot.worker.outbox import OutboxDrainer
from bot.worker.senders import Delivery, OutboxMessage
from tests.slack.conftest import AGENTS, REQUESTER, TOKEN, World
from tests.slack.fake_slack import Failure


def message(chat_id: str = REQUESTER, *, audience: str = "customer", n: int = 1) -> OutboxMessage:
    return OutboxMessage(
        id=n,
        idempotency_key=f"k{n}",
        channel="slack",
        chat_id=chat_id,
        lang="en",
        text=f"Ticket TLN-2026-00000{n} <is> resolved & closed.",
        event="resolved",
        audience=audience,
    )


def add_rows(world: World, chat_id: str, count: int, *, audience: str = "customer") -> None:
    with transaction(world.engine) as session:
        for n in range(count):
            session.add(
                Notification(
                    idempotency_key=f"test:{chat_id}:{n}",
                    audience=audience,
                    event="resolved",
                    channel="slack",
                    chat_id=chat_id,
                    lang="en",
                    text=f"message {n}",
                    next_attempt_at=world.clock.now(),
                    created_at=world.clock.now(),
                )
            )


async def test_delivered_with_escaped_text(make_world):
    world: World = await make_world("en")
    result = await world.sender().send(message())
    assert result.outcome is Delivery.DELIVERED
    [call] = world.fake.of("chat.postMessage")
    assert (
        result.external_id == world.fake.messages[("D" + REQUESTER[1:], result.external_id)]["ts"]
    )
    assert "&lt;is&gt; resolved &amp; closed" in call.args["text"]
    assert call.args["unfurl_links"] in (False, "0", 0)


async def test_rate_limited_reports_retry_after(make_world):
    world: World = await make_world("en")
    world.fake.fail_next("chat.postMessage", Failure(429, "ratelimited", {"Retry-After": "7"}))
    result = await world.sender().send(message())
    assert result.outcome is Delivery.RETRY_AFTER
    assert result.retry_after_seconds == 7


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        ("channel_not_found", Delivery.UNREACHABLE),
        ("is_archived", Delivery.UNREACHABLE),
        ("invalid_blocks", Delivery.PERMANENT_FAILURE),
        ("msg_too_long", Delivery.PERMANENT_FAILURE),
        ("internal_error", Delivery.RETRY_AFTER),
    ],
)
async def test_errors_are_classified(make_world, error, outcome):
    world: World = await make_world("en")
    world.fake.fail_next("chat.postMessage", Failure(200, error))
    result = await world.sender().send(message())
    assert result.outcome is outcome
    assert result.error == error
    if outcome is Delivery.RETRY_AFTER:
        assert result.retry_after_seconds is None  # the worker's backoff


async def test_network_failure_is_transient(make_world):
    world: World = await make_world("en")
    closed = AsyncWebClient(token=TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    sender = SlackSender(
        client=closed, store=store.ThreadRoots(world.engine), settings=world.settings
    )
    result = await sender.send(message())
    assert result.outcome is Delivery.RETRY_AFTER
    assert result.retry_after_seconds is None


async def test_retry_after_is_honoured_by_the_worker(make_world):
    world: World = await make_world("en")
    add_rows(world, REQUESTER, 1)
    world.fake.fail_next("chat.postMessage", Failure(429, "ratelimited", {"Retry-After": "30"}))
    drainer = OutboxDrainer(
        engine=world.engine, settings=world.settings, clock=world.clock, sender=world.sender()
    )
    start = world.clock.now()
    await drainer.drain()
    with transaction(world.engine) as session:
        row = session.exec(select(Notification)).one()
        assert row.status is NotificationStatus.PENDING
        assert row.next_attempt_at >= start + timedelta(seconds=30)
        due = row.next_attempt_at
    world.clock.set(due)
    await drainer.drain()
    with transaction(world.engine) as session:
        row = session.exec(select(Notification)).one()
    assert row.status is NotificationStatus.SENT
    assert row.attempts == 2


async def test_one_message_per_second_per_channel(make_world):
    world: World = await make_world("en")
    sender = world.sender()
    assert sender.limits.per_chat_per_second == 1
    add_rows(world, AGENTS, 3, audience="agents")
    start = world.clock.now()
    drainer = OutboxDrainer(
        engine=world.engine, settings=world.settings, clock=world.clock, sender=sender
    )
    assert await drainer.drain() == 3
    assert world.clock.now() - start >= timedelta(seconds=2)  # paced: 0 s, 1 s, 2 s
    assert len(world.fake.of("chat.postMessage")) == 3


async def test_unreachable_user_is_marked(make_world):
    world: World = await make_world("en")
    add_rows(world, REQUESTER, 1)
    world.fake.fail_next("chat.postMessage", Failure(200, "user_not_found"))
    drainer = OutboxDrainer(
        engine=world.engine, settings=world.settings, clock=world.clock, sender=world.sender()
    )
    await drainer.drain()
    with transaction(world.engine) as session:
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.external_id == REQUESTER)
        ).one()
        row = session.exec(select(Notification).where(Notification.chat_id == REQUESTER)).one()
    assert identity.reachable is False
    assert row.status is NotificationStatus.DEAD
