"""Transcript harness: drive the core as a channel would, with a controlled clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.channels.console import render
from bot.db.engine import transaction
from bot.inbox.replies import dump_outcome, load_outcome
from bot.services import demo, users
from bot.settings import Settings
from handlers.core import handle_event
from handlers.model import Attachment, InboundEvent, Option, Outcome, check_limits, reply_options
from tests.wording_scan import assert_wording

# Friday 20 November 2026, 17:30 in Brussels (the acceptance instant).
FRIDAY_1730 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)


@dataclass
class Clock:
    """A settable clock."""

    now: datetime = FRIDAY_1730

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@dataclass
class Chat:
    """One user's conversation: send lines, read what the bot answered."""

    engine: Engine
    settings: Settings
    clock: Clock
    handle: str
    channel: str = "console"
    platform_locale: str | None = None
    workspace_id: str | None = None
    last_options: tuple[Option, ...] = ()
    outcome: Outcome | None = None  # the core's last outcome
    exchanges: int = 0
    log: list[tuple[str, str]] = field(default_factory=list)

    def send(
        self,
        text: str | None = None,
        *,
        action: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        reply_to: str | None = None,
    ) -> str:
        """Send text (a number picks an option of the last question) and return the answer;
        `attachments` are files sent with it, `reply_to` the bot message it answers."""
        if (
            text is not None
            and text.isascii()
            and text.isdigit()
            and len(text) < 4
            and 1 <= int(text) <= len(self.last_options)
        ):
            action, text = self.last_options[int(text) - 1].payload, None
        event = InboundEvent(
            channel=self.channel,
            chat_id=self.handle,
            user_external_id=self.handle,
            received_at=self.clock.now,
            text=text,
            action=action,
            platform_locale=self.platform_locale,
            workspace_id=self.workspace_id,
            attachments=attachments,
            reply_to=reply_to,
        )
        with transaction(self.engine) as session:
            outcome = handle_event(session=session, event=event, settings=self.settings)
        self.outcome = outcome
        # Stored on its inbox row until sent (`bot.inbox.replies`): every shape comes back.
        assert load_outcome(dump_outcome(outcome)) == outcome
        assert outcome.replies, f"no answer to {text or action!r}"
        blocks: list[str] = []
        options: tuple[Option, ...] = ()
        for reply in outcome.replies:
            check_limits(reply)
            body, _opts = render(reply)
            blocks.append(body)
            if reply_options(reply):
                options = reply_options(reply)
        self.last_options = options
        self.exchanges += 1
        answer = "\n\n".join(blocks)
        assert_wording(answer, outcome.lang)
        self.log.append((text or action or "", answer))
        return answer

    def choose(self, value: str) -> str:
        """Click the option whose payload carries `value` (an intervention or category id)."""
        for option in self.last_options:
            if option.payload.endswith(f":{value}"):
                return self.send(action=option.payload)
        payloads = [o.payload for o in self.last_options]
        raise AssertionError(f"no option for {value!r} in {payloads}")

    def pick(self, label_part: str) -> str:
        """Click the option whose label contains `label_part`."""
        for option in self.last_options:
            if label_part.lower() in option.label.lower():
                return self.send(action=option.payload)
        labels = [o.label for o in self.last_options]
        raise AssertionError(f"no option containing {label_part!r} in {labels}")


@pytest.fixture
def clock() -> Clock:
    """The test clock, Friday 17:30 Brussels."""
    return Clock()


@pytest.fixture
def settings() -> Settings:
    """Default settings, no tokens, no .env."""
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def seeded(engine: Engine, clock: Clock) -> Engine:
    """The per-test database with the demo data."""
    with transaction(engine) as session:
        demo.seed(session=session, now=clock.now)
    return engine


@pytest.fixture
def chat(seeded: Engine, settings: Settings, clock: Clock) -> Callable[..., Chat]:
    """A factory: `chat("demo-requester")` gives that user's conversation."""

    def make(
        handle: str, platform_locale: str | None = None, workspace_id: str | None = None
    ) -> Chat:
        return Chat(
            engine=seeded,
            settings=settings,
            clock=clock,
            handle=handle,
            platform_locale=platform_locale,
            workspace_id=workspace_id,
        )

    return make


def link(engine: Engine, *, handle: str, channel: str, external_id: str) -> None:
    """Link another channel account to a demo user."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        users.link_identity(session=session, user=user, channel=channel, external_id=external_id)
