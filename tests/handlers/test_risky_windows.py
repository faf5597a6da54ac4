"""Alteo 4.1.3: a change whose wished execution time falls in a risky window is warned
about, with the out-of-hours billing note, before the customer confirms."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from handlers.execution_window import WhenError, parse_local, risky_reasons
from pricing.loader import get_pack
from tests.handlers.conftest import Chat, Clock
from tests.handlers.i18n_check import assert_language

PARIS = ZoneInfo("Europe/Paris")
ALTEO = get_pack("alteo-hosting")
BEFORE_EASTER = datetime(2027, 3, 25, 9, 0, tzinfo=UTC)  # Thursday before Easter 2027

REASONS = {
    # (local wished time, reasons in fr, reasons in en)
    "easter-monday": (
        datetime(2027, 3, 29, 10, 0, tzinfo=PARIS),
        ["Lundi de Pâques est un jour férié"],
        ["Easter Monday is a public holiday"],
    ),
    "dst-sunday": (
        datetime(2027, 3, 28, 10, 0, tzinfo=PARIS),
        ["c'est le week-end"],
        ["it is a weekend"],
    ),
    "good-friday-afternoon": (
        datetime(2027, 3, 26, 14, 0, tzinfo=PARIS),
        ["c'est un vendredi après-midi"],
        ["it is a Friday afternoon"],
    ),
    "christmas-eve-afternoon": (
        datetime(2026, 12, 24, 16, 30, tzinfo=PARIS),
        ["c'est l'après-midi de la veille de Noël", "c'est après 16:00 un jour de semaine"],
        ["it is the afternoon before Christmas Day", "it is after 16:00 on a weekday"],
    ),
    "christmas": (
        datetime(2026, 12, 25, 9, 0, tzinfo=PARIS),
        ["Noël est un jour férié"],
        ["Christmas Day is a public holiday"],
    ),
    "tuesday-evening": (
        datetime(2026, 12, 22, 17, 0, tzinfo=PARIS),
        ["c'est après 16:00 un jour de semaine"],
        ["it is after 16:00 on a weekday"],
    ),
    "christmas-eve-morning": (datetime(2026, 12, 24, 10, 0, tzinfo=PARIS), [], []),
    "tuesday-after-easter": (datetime(2027, 3, 30, 10, 0, tzinfo=PARIS), [], []),
}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_risky_windows_on_holidays_and_dst(case: str) -> None:
    local, french, english = REASONS[case]
    assert risky_reasons(translator("fr"), ALTEO, local) == french
    assert risky_reasons(translator("en"), ALTEO, local) == english


def test_a_time_skipped_by_the_change_to_summer_time_is_refused() -> None:
    with pytest.raises(WhenError, match="02:30"):
        parse_local(translator("en"), "2027-03-28 02:30", zone="Europe/Paris", now=BEFORE_EASTER)
    # After the change, wall-clock time is CEST (UTC+2).
    local = parse_local(
        translator("en"), "28/03/2027 10:00", zone="Europe/Paris", now=BEFORE_EASTER
    )
    assert local.astimezone(UTC) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


TEXTS = {
    "fr": {
        "when": "Quand le travail doit-il être exécuté",
        "risky": "⚠ Le moment souhaité est risqué : Lundi de Pâques est un jour férié.",
        "billing": "facturé au tarif des heures non ouvrées",
        "past": "doit être dans le futur",
    },
    "en": {
        "when": "When should the work be done",
        "risky": "⚠ The wished time is risky: Easter Monday is a public holiday.",
        "billing": "billed at the current out-of-hours rate",
        "past": "must be in the future",
    },
}


def _to_when(requester: Chat) -> str:
    requester.send("/new")
    requester.pick("Alteo")
    requester.choose("support-level-3")
    requester.choose("update-assistance")
    requester.choose("minor")
    requester.send("srv-12.alteo.example")
    requester.send("Jean Dupont")
    requester.send("+33 1 23 45 67 89")
    return requester.send("jean@example.fr")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_change_on_easter_monday_warned_before_confirmation(
    chat: type[Chat], clock: Clock, lang: str
) -> None:
    clock.now = BEFORE_EASTER
    requester = chat("demo-requester")
    requester.send(f"/lang {lang}")
    texts = TEXTS[lang]
    assert texts["when"] in _to_when(requester)
    assert texts["past"] in requester.send("2027-03-01 10:00")
    requester.send("2027-03-29 10:00")
    requester.choose("60")
    answer = requester.send("PHP 8.3 upgrade of the web server")
    assert texts["risky"] in answer
    assert texts["billing"] in answer
    assert_language(answer, lang)
    # « Back » to the time question keeps the answer; a safe time removes the warning.
    for _step in range(3):
        answer = requester.pick("«")
    assert texts["when"] in answer
    requester.send("2027-03-30 10:00")
    requester.choose("~keep")
    answer = requester.choose("~keep")
    assert "⚠" not in answer
    assert "30" in answer


def test_as_soon_as_possible_needs_no_warning(chat: type[Chat], clock: Clock) -> None:
    clock.now = BEFORE_EASTER
    requester = chat("demo-requester")
    requester.send("/lang en")
    _to_when(requester)
    requester.choose("~now")
    requester.choose("60")
    answer = requester.send("PHP 8.3 upgrade of the web server")
    assert "⚠" not in answer
    assert "Wished execution time" not in answer
