"""A channel's own write runs in the event's transaction: kept with its effects, rolled back
with them, and in a read-only command's short write transaction too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from bot.db import open_questions
from bot.settings import Settings
from handlers import core
from handlers.core import process
from handlers.model import InboundEvent
from tests.handlers.conftest import Clock

QUESTION = {"channel": "console", "chat_id": "c", "user_key": "demo-requester"}


def _event(clock: Clock, text_: str) -> InboundEvent:
    return InboundEvent(
        channel="console",
        chat_id="demo-requester",
        user_external_id="demo-requester",
        received_at=clock.now,
        text=text_,
    )


def _remember(engine: Engine, now: datetime) -> None:
    open_questions.remember(engine=engine, message_id="41", body="", now=now, **QUESTION)


class Take:
    """Takes the open question on the event's connection and says whether it found one."""

    def __init__(self) -> None:
        self.found: tuple[str, str] | None = None
        self.connections: list[Connection] = []

    def __call__(self, connection: Connection) -> None:
        self.connections.append(connection)
        self.found = open_questions.take_on(connection, **QUESTION)


def _left(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM open_questions")).scalar_one())


def test_the_write_commits_with_the_event(seeded: Engine, settings: Settings, clock: Clock) -> None:
    _remember(seeded, clock.now)
    take = Take()
    outcome = process(engine=seeded, event=_event(clock, "/new"), settings=settings, along=take)
    assert outcome.question is not None
    assert take.found == ("41", "")
    assert len(take.connections) == 1
    assert _left(seeded) == 0


def test_a_read_only_command_runs_it_in_a_short_write_transaction(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    _remember(seeded, clock.now)
    assert core.reads_only(_event(clock, "/help"))
    take = Take()
    process(engine=seeded, event=_event(clock, "/help"), settings=settings, along=take)
    assert take.found == ("41", "")
    assert _left(seeded) == 0


def test_a_failed_event_rolls_the_write_back(
    seeded: Engine, settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _remember(seeded, clock.now)

    def broken(**_kwargs: Any) -> Any:
        raise RuntimeError("the handling broke")

    monkeypatch.setattr(core, "handle_event", broken)
    take = Take()
    outcome = process(engine=seeded, event=_event(clock, "/new"), settings=settings, along=take)
    assert outcome.refusal is not None  # "something went wrong", told to the user
    assert take.found == ("41", "")  # it ran, then its transaction was rolled back
    assert _left(seeded) == 1
