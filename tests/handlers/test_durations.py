"""One parser for every typed duration: requesters' estimates and agents' minutes."""

from __future__ import annotations

import pytest

from bot.durations import DurationError, parse_minutes
from tests.handlers.conftest import Chat
from tests.handlers.test_intake import express_incident


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("90", 90),
        ("1h30", 90),
        ("1 h 30", 90),
        ("1,5 h", 90),
        ("1.5h", 90),
        ("90 min", 90),
        ("90min", 90),
        ("2 hours", 120),
        ("2 heures", 120),
        ("2 uur", 120),
        ("1u30", 90),
        ("1:30", 90),
        ("0,1 h", 6),
        ("  45  ", 45),
    ],
)
def test_durations_people_type(typed: str, minutes: int) -> None:
    assert parse_minutes(typed, maximum=1440).minutes == minutes


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("0", DurationError.ZERO),
        ("0 h", DurationError.ZERO),
        ("25 h", DurationError.TOO_LONG),
        ("100000", DurationError.TOO_LONG),
        ("1" * 5000, DurationError.TOO_LONG),
        ("soon", DurationError.UNREADABLE),
        ("-5", DurationError.UNREADABLE),
        ("²", DurationError.UNREADABLE),
        ("١٢", DurationError.UNREADABLE),
        ("1h 75", DurationError.UNREADABLE),
        ("", DurationError.UNREADABLE),
    ],
)
def test_durations_refused_with_a_reason(typed: str, error: DurationError) -> None:
    result = parse_minutes(typed, maximum=1440)
    assert result.minutes is None
    assert result.error is error


TEXTS = {
    "fr": ("Une durée nulle", "plus de 24 heures", "Tapez une durée"),
    "nl": ("Een duur van nul", "meer dan 24 uur", "Typ een duur"),
    "en": ("A duration of zero", "more than 24 hours", "Type a duration"),
}


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_estimate_refusals_are_explained(chat: type[Chat], lang: str) -> None:
    requester = chat("demo-requester")
    requester.send(f"/lang {lang}")
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    requester.choose("dedicated-server-down-not-hardware")
    requester.choose("express")
    requester.send("web01.example.be")
    zero, long, unreadable = TEXTS[lang]
    assert zero in requester.send("0 min")
    assert long in requester.send("30 h")
    assert unreadable in requester.send("a while")
    answer = requester.send("1 h 30")
    assert "web01" not in answer  # moved on to the description question
    assert requester.outcome is not None
    assert requester.outcome.refusal is None


def test_agents_type_durations_the_same_way(chat: type[Chat]) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    answer = agent.send("/log TLN-2026-000001 1h30")
    assert "1 h 30" in answer or "1:30" in answer or "90" in answer
    assert agent.outcome is not None
    assert agent.outcome.refusal is None
