"""Property-based fuzzing of the conversation state machine.

Random text, commands, stale and forged payloads and real clicks, in any order: the core
never raises, always answers within the channels' limits, and leaves a valid state.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Conversation
from bot.services import demo
from bot.settings import Settings
from handlers.states import State
from tests.handlers.conftest import FRIDAY_1730, Chat, Clock

COMMANDS = [
    "/new",
    "/cancel",
    "/help",
    "/tickets",
    "/tickets all closed",
    "/ticket TLN-2026-000001",
    "/ticket",
    "/comment TLN-2026-000001 hello",
    "/comment",
    "/balance",
    "/lang nl",
    "/lang en",
    "/lang xx",
    "/ack TLN-2026-000001",
    "/queue",
    "/reclassify TLN-2026-000001",
    "/pause TLN-2026-000001",
    "/resume TLN-2026-000001",
    "/log TLN-2026-000001 abc",
    "/resolve TLN-2026-000001 99999",
    "/close TLN-2026-000001",
    "/status",
    "/sla 2026-13",
    "/credits week",
    "/start",
    "/start XYZ",
    "/",
    "back",
    "retour",
]

step = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=80)),
    st.tuples(st.just("text"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("text"), st.integers(min_value=0, max_value=120).map(str)),
    st.tuples(st.just("click"), st.integers(min_value=0, max_value=200).map(str)),
    st.tuples(
        st.just("action"),
        st.one_of(
            st.text(max_size=70),
            st.builds(lambda a, b: f"c:{a}:{b}", st.text(max_size=10), st.text(max_size=40)),
            st.sampled_from(["t:ack:TLN-2026-000001", "t:resolve:NOPE", "t:zap:x", "c::", "t:"]),
        ),
    ),
)

_TEMPLATE: dict[str, Path] = {}


def _template() -> Path:
    """A migrated, seeded database file shared by all examples (copied per example)."""
    if "path" not in _TEMPLATE:
        from bot.db.migrate import upgrade

        folder = Path(tempfile.mkdtemp(prefix="fuzz-template-"))
        path = folder / "template.db"
        upgrade(url=f"sqlite:///{path}")
        engine = make_engine(f"sqlite:///{path}")
        with transaction(engine) as session:
            demo.seed(session=session, now=FRIDAY_1730)
        engine.dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    handle=st.sampled_from(["demo-requester", "demo-agent", "demo-manager", "stranger"]),
    steps=st.lists(step, min_size=1, max_size=25),
)
def test_any_sequence_is_answered_without_corrupting_state(
    handle: str, steps: list[tuple[str, str]]
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        path = folder / "fuzz.db"
        shutil.copyfile(_template(), path)
        engine = make_engine(f"sqlite:///{path}")
        chat = Chat(
            engine=engine,
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            clock=Clock(),
            handle=handle,
        )
        # Open one ticket first so ticket commands have something to act on.
        if handle == "demo-requester":
            chat.send("/new")
        for kind, value in steps:
            if kind == "click" and chat.last_options:
                index = int(value) % len(chat.last_options)
                chat.send(action=chat.last_options[index].payload)
            elif kind == "action":
                chat.send(action=value)
            else:
                chat.send(value or " ")
            chat.clock.advance(minutes=3)
        with transaction(engine) as session:
            for conversation in session.exec(select(Conversation)):
                assert conversation.state in {s.value for s in State}
                if conversation.state == State.IDLE.value:
                    assert conversation.back_stack == []
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
