"""Breach remedies name a clause heading that is French text only to French readers; numbered
clauses are shown to everyone (Alteo's "5.1. SLA 99,9 % …" reads "5.1" in nl and en)."""

from __future__ import annotations

import pytest

from bot.clauses import clause_ref
from bot.i18n import translator
from bot.services.notify.remedies import remedy_text
from pricing.loader import get_pack

P1 = "p1-restoration-credit"


@pytest.mark.parametrize(
    ("clause", "lang", "shown"),
    [
        ("5.1 (a)", "en", "5.1 (a)"),
        ("5.1, 5.2", "nl", "5.1, 5.2"),
        ("5.1. SLA 99,9% ou Garantie de Temps de disponibilité (GTD)", "en", "5.1"),
        ("4.6. Sauvegardes", "nl", "4.6"),
        ("4.6. Sauvegardes", "fr", "4.6. Sauvegardes"),
        ("Description du Niveau de service — Recours", "en", None),
        (
            "Description du Niveau de service — Recours",
            "fr",
            "Description du Niveau de service — Recours",
        ),
    ],
)
def test_clause_ref(clause: str, lang: str, shown: str | None) -> None:
    assert clause_ref(clause, lang) == shown


def test_proximus_credit_sentences_in_dutch_and_english() -> None:
    pack = get_pack("proximus-internet")
    base = {"remedies": P1, f"remedy.{P1}.deadline": "2027-03-31"}
    capped = {**base, f"remedy.{P1}.amount": "0", f"remedy.{P1}.capped": "1"}
    owed = {**base, f"remedy.{P1}.amount": "150"}
    nl, en, fr = translator("nl"), translator("en"), translator("fr")
    assert remedy_text(t=nl, pack=pack, params=capped) == (
        "Geen bijkomende servicecredit voor deze overschrijding: de credits van deze maand "
        "bereiken al het plafond van één maandelijkse vergoeding."
    )
    assert remedy_text(t=en, pack=pack, params=owed) == (
        # Amounts are formatted by Babel for the reader (en_BE), since the wording issue.
        "You may claim a service credit of 150,00\xa0€ until 31 March 2027; it is not granted "
        "automatically."
    )
    assert remedy_text(t=en, pack=pack, params=base).startswith(
        "You may claim a service credit (Service credit of one month's service fee"
    )
    assert "clause Niveaux de service" in remedy_text(t=fr, pack=pack, params=owed)
