"""A request outside the catalog: opened without a price, quoted by the desk, accepted or
declined by the customer; resolution charges the accepted price and nothing before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import LedgerEntry, Notification, Ticket
from tests.handlers.conftest import Chat
from tests.handlers.i18n_check import assert_language

REF = "TLN-2026-000001"
TEXTS = {
    "fr": {
        "other": "Autre demande (sur devis)",
        "agreed": "convenus avec le service des Ventes",
        "sent": "devis de 12 crédits envoyé",
        "accepted": "devis accepté",
        "declined": "devis refusé",
        "told": "devis de 12 crédits — Ajout d'un disque",
    },
    "nl": {
        "other": "Andere aanvraag (op offerte)",
        "agreed": "met de verkoopafdeling afgesproken",
        "sent": "offerte van 12 credits verstuurd",
        "accepted": "offerte aanvaard",
        "declined": "offerte geweigerd",
        "told": "offerte van 12 credits — Ajout d'un disque",
    },
    "en": {
        "other": "Other request (on quote)",
        "agreed": "agreed with Sales before the work starts",
        "sent": "quote of 12 credits sent",
        "accepted": "quote accepted",
        "declined": "quote declined",
        "told": "quote of 12 credits — Ajout d'un disque",
    },
}


def _open_on_quote(chat: type[Chat], lang: str) -> tuple[Chat, Chat]:
    requester = chat("demo-requester")
    requester.send(f"/lang {lang}")
    agent = chat("demo-agent")
    agent.send(f"/lang {lang}")
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    labels = [o.label for o in requester.last_options]
    assert TEXTS[lang]["other"] in labels
    answer = requester.choose("on-quote-request")
    assert TEXTS[lang]["agreed"] in answer
    requester.send("web01.example.be")
    answer = requester.send("Add a second 2 TB disk to web01")
    assert_language(answer, lang)
    requester.choose("~open")
    return requester, agent


def _charges(engine: Engine) -> list[Decimal]:
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket)).one()
        entries = session.exec(select(LedgerEntry).where(LedgerEntry.ticket_id == ticket.id))
        return [e.amount for e in entries if e.type.value == "charge"]


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_quote_accepted_then_charged_at_resolution(
    chat: type[Chat], seeded: Engine, lang: str
) -> None:
    requester, agent = _open_on_quote(chat, lang)
    texts = TEXTS[lang]
    answer = agent.send(f"/quote {REF} 12 Ajout d'un disque de 2 To, installation comprise")
    assert texts["sent"] in answer
    with transaction(seeded) as session:
        told = session.exec(select(Notification).where(Notification.event == "quote_proposed"))
        notice = told.one()
        assert texts["told"] in notice.text
        assert [a["payload"] for a in notice.actions] == [f"t:quote-yes:{REF}", f"t:quote-no:{REF}"]
    answer = requester.send(action=f"t:quote-yes:{REF}")
    assert texts["accepted"] in answer
    assert _charges(seeded) == []  # nothing charged before the work is done
    # A second click on the same buttons is told the quote is answered.
    requester.send(action=f"t:quote-no:{REF}")
    assert requester.outcome is not None
    assert requester.outcome.refusal is not None
    agent.send(f"/resolve {REF} 45")
    assert _charges(seeded) == [Decimal(-12)]


def test_declined_quote_charges_nothing_and_may_be_revised(
    chat: type[Chat], seeded: Engine
) -> None:
    requester, agent = _open_on_quote(chat, "en")
    agent.send(f"/quote {REF} 150 € Disk and installation")
    answer = requester.send(action=f"t:quote-no:{REF}")
    assert TEXTS["en"]["declined"] in answer
    answer = agent.send(f"/quote {REF} 8 credits Installation only, disk supplied by you")
    assert "quote of 8 credits sent" in answer
    agent.send(f"/resolve {REF} 30")
    assert _charges(seeded) == []  # the revised quote was never accepted


def test_quote_only_on_requests_on_quote(chat: type[Chat]) -> None:
    from tests.handlers.test_intake import express_incident

    express_incident(chat("demo-requester"))
    agent = chat("demo-agent")
    agent.send("/lang en")
    assert "priced by the contract" in agent.send(f"/quote {REF} 12 Something")
    assert "Write it as" in agent.send(f"/quote {REF} twelve")
