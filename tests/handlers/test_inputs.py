"""Inputs that used to crash the core, answered instead: numbers, periods, forged payloads,
« Back » in the agent flows, long and dirty text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import ChannelIdentity, Ticket
from bot.numbers import parse_decimal, parse_int
from handlers.edge import clean_event, locale_of
from handlers.model import InboundEvent, RefusalReason
from tests.handlers.conftest import FRIDAY_1730, Chat
from tests.handlers.test_intake import express_incident

REF = "TLN-2026-000001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("²", None),
        ("①", None),
        ("٣", None),
        ("９", None),
        ("-1", None),
        ("+1", None),
        ("1" * 5000, None),
        ("0", None),
        ("1441", None),
        ("", None),
    ],
)
def test_parse_int_takes_ascii_digits_within_bounds(text: str, expected: int | None) -> None:
    assert parse_int(text, low=1, high=1440) == expected


def test_parse_decimal_refuses_exponents_and_excess_precision() -> None:
    bounds = {"low": Decimal(-100), "high": Decimal(100)}
    assert parse_decimal("2,25", **bounds) == Decimal("2.25")
    for text in ("1E+400", "NaN", "Infinity", "1.00001", "101", "²"):
        assert parse_decimal(text, **bounds) is None


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("9999", "2000"),
        ("0000-01", "2000"),
        ("1999", "2000"),
        ("2026-13", "01"),
        ("2026-00", "01"),
        ("99999d", "1"),
        ("tomorrow", "month, week"),
    ],
)
def test_report_periods_are_validated(chat: type[Chat], argument: str, words: str) -> None:
    manager = chat("demo-manager")
    manager.send("/lang en")
    for command in ("sla", "credits"):
        answer = manager.send(f"/{command} {argument}")
        assert words in answer
        assert manager.outcome is not None
        assert manager.outcome.refusal is not None
        assert manager.outcome.refusal.reason is RefusalReason.INVALID_INPUT


@pytest.mark.parametrize("typed", ["²", "①", "1" * 5000])
def test_unicode_and_huge_numbers_at_a_minutes_prompt(chat: type[Chat], typed: str) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    answer = agent.send(f"/log {REF} {typed}")
    assert "between 1 and 1440" in answer


def test_unicode_digit_at_a_choice(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    requester.send("/new")
    answer = requester.send("²")
    assert requester.outcome is not None
    assert requester.outcome.refusal is not None
    assert answer


def test_back_and_forged_payloads_in_the_reclassify_flow(chat: type[Chat], seeded: Engine) -> None:
    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    agent.send(f"/reclassify {REF}")
    agent.pick("The intervention")
    answer = agent.send("back")
    assert "What changes?" in answer  # « Back » answers, with the previous question
    agent.pick("The intervention")
    token = agent.last_options[0].payload.split(":")[1]
    forged = agent.send(action=f"c:{token}:no-such-intervention")
    assert "Pick one of the options" in forged
    assert agent.outcome is not None
    assert agent.outcome.refusal is not None
    assert agent.outcome.refusal.reason is RefusalReason.INVALID_ANSWER
    back = agent.last_options[-2]
    assert "Back" in back.label
    assert "What changes?" in agent.send(action=back.payload)
    with transaction(seeded) as session:
        assert session.exec(select(Ticket)).one().intervention_id != "no-such-intervention"


def test_a_huge_unknown_command_is_not_echoed_whole(chat: type[Chat]) -> None:
    requester = chat("demo-requester")
    answer = requester.send("/" + "x" * 100_000)
    assert len(answer) < 400


def test_the_channel_edge_cleans_and_bounds_events() -> None:
    event = InboundEvent(
        channel="console",
        chat_id="c" * 500,
        user_external_id="u\x00",
        received_at=FRIDAY_1730,
        text="a\x00b\u202ec\r\n" + "y" * 10_000,
        action="z" * 1000,
        platform_locale="nl-BE" + "x" * 30,
        display_name="\x07Ann",
    )
    cleaned = clean_event(event, default_locale="nl")
    assert cleaned.text is not None
    assert cleaned.text.startswith("abc\n")
    assert cleaned.text.endswith("(ingekort)")
    assert len(cleaned.text) <= 4000
    assert len(cleaned.chat_id) == 120
    assert cleaned.user_external_id == "u"
    assert cleaned.action is not None
    assert len(cleaned.action) == 200
    assert cleaned.platform_locale is None
    assert cleaned.display_name == "Ann"
    assert clean_event(cleaned, default_locale="nl") == cleaned
    assert locale_of("nl-BE") == "nl-BE"
    assert locale_of("x" * 11) is None


def test_a_long_platform_locale_is_never_stored(chat: type[Chat], seeded: Engine) -> None:
    requester = chat("demo-requester", platform_locale="en-GB-oxendict-extra-long")
    assert requester.send("/help")
    with transaction(seeded) as session:
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "demo-requester")
        ).one()
        assert identity.platform_locale is None or len(identity.platform_locale) <= 10
