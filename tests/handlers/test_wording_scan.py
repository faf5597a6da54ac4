"""The wording scan applied to every transcript reply catches what it must."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import Chat
from tests.wording_scan import SCANNED, guess_language, problems


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("Contrat : proximus-internet", "fr", "pack id 'proximus-internet'"),
        ("Priorität p1 gekozen", "nl", "priority id 'p1'"),
        ("Priority: critical", "fr", "priority id 'critical'"),
        ("Kind: on-demand-support", "en", "kind id 'on-demand-support'"),
        ("Intervention: dedicated-server-down-not-hardware", "en", "intervention id"),
        ("Level internet-pro-plus:premium", "en", "service level id"),
        ("See 4.1.3. Mises à jour et Installations", "en", "French contract text"),
        ("Zie 4.2. Intervention ponctuelle", "nl", "French contract text"),
    ],
)
def test_the_scan_flags_ids_and_french_clauses(text: str, lang: str, found: str) -> None:
    assert any(found in problem for problem in problems(text, lang)), problems(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Priorité : Express — 3 crédits / quart d'heure", "fr"),
        ("Type d'intervention : Incident", "fr"),
        ("Uw ticket is geopend. P1 — Volledige onderbreking", "nl"),
        ("Mail: jean@example-site.be, site www.proximus-internet-example.be", "en"),
        ("Voir 4.1.3. Mises à jour et Installations", "fr"),
    ],
)
def test_the_scan_accepts_proper_wording(text: str, lang: str) -> None:
    assert problems(text, lang) == []


def test_the_scan_runs_on_every_transcript_reply(chat: type[Chat]) -> None:
    before = SCANNED["replies"]
    requester = chat("demo-requester")
    requester.send("/lang en")
    requester.send("/new")
    assert SCANNED["replies"] == before + 2


def test_language_of_a_platform_message_is_guessed() -> None:
    assert (
        guess_language(
            "Votre ticket est ouvert. Conservez sa référence pour tout échange ultérieur : X"
        )
        == "fr"
    )
    assert guess_language("12:30") is None
