"""The intake shows the facts before the customer commits (issue 14, second half)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Ticket
from tests.handlers.conftest import Chat, Clock
from tests.handlers.i18n_check import assert_language

TEXTS = {
    "fr": {
        "contract": "Telenet — Hosting & Cloud",
        "express": "Express — 3 crédits / quart d'heure — réponse : 4 h ouvrables",
        "response": "Réponse avant le lun. 23 nov. 2026 10:30 (UTC+01:00) — "
        "le week-end ne compte pas",
        "held": "Réservé à l'ouverture du ticket : 6 crédits",
        "after": "Solde après la réservation : 34 crédits",
        "top_up": "des packs de 10 crédits sont ajoutés automatiquement et facturés",
        "unknown": "au moins 3 crédits ; le coût final dépend du temps passé",
        "same": "Même contact que la dernière fois",
        "foo": "foo n'est pas une adresse e-mail",
        "phone": "n'est pas un numéro de téléphone valide",
        "christmas": "Noël et le week-end ne comptent pas",
        "unfinished": "Vous avez une demande inachevée",
    },
    "nl": {
        "contract": "Telenet — Hosting & Cloud",
        "express": "Express — 3 credits / kwartier — reactie: 4 werkuren",
        "response": "Reactie vóór ma 23 nov 2026 10:30 (UTC+01:00) — het weekend telt niet mee",
        "held": "Gereserveerd bij het openen van het ticket: 6 credits",
        "after": "Saldo na de reservering: 34 credits",
        "top_up": "worden automatisch pakketten van 10 credits toegevoegd en gefactureerd",
        "unknown": "minstens 3 credits; de uiteindelijke kost hangt af van de bestede tijd",
        "same": "Dezelfde contactpersoon als de vorige keer",
        "foo": "foo is geen e-mailadres",
        "phone": "is geen geldig telefoonnummer",
        "christmas": "Kerstmis en het weekend tellen niet mee",
        "unfinished": "U hebt een onafgewerkte aanvraag",
    },
    "en": {
        "contract": "Telenet — Hosting & Cloud",
        "express": "Express — 3 credits / quarter hour — response: 4 business hours",
        "response": "Response before Mon 23 Nov 2026 10:30 (UTC+01:00) — "
        "the weekend does not count",
        "held": "Held when the ticket opens: 6 credits",
        "after": "Balance after the hold: 34 credits",
        "top_up": "packs of 10 credits are added automatically and invoiced",
        "unknown": "at least 3 credits; the final cost depends on the time spent",
        "same": "Same contact as last time",
        "foo": "foo is not an e-mail address",
        "phone": "is not a valid phone number",
        "christmas": "Christmas Day and the weekend do not count",
        "unfinished": "You have an unfinished request",
    },
}
LANGS = ["fr", "nl", "en"]


@pytest.mark.parametrize("lang", LANGS)
def test_first_question_accepts_a_description(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    requester.send("/new")
    requester.send("internet down")
    # Searched across all the customer's contracts: each match names its provider.
    labels = [o.label for o in requester.last_options]
    assert any(label.endswith("· Proximus") for label in labels)


def _speaking(chat: type[Chat], lang: str, handle: str = "demo-requester") -> Chat:
    requester = chat(handle)
    requester.send(f"/lang {lang}")
    requester.exchanges = 0
    return requester


def _telenet_until_confirm(requester: Chat, *, estimate: str = "30") -> str:
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    requester.choose("dedicated-server-down-not-hardware")
    requester.choose("express")
    requester.send("web01.example.be")
    requester.choose(estimate)
    return requester.send("web01 answers no ping since 17:00")


@pytest.mark.parametrize("lang", LANGS)
def test_contract_picker_and_priced_priorities(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    requester.send("/new")
    labels = [o.label for o in requester.last_options]
    assert TEXTS[lang]["contract"] in labels
    assert any(label.startswith("Proximus — ") for label in labels)
    assert all(len(label) <= 75 for label in labels)
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    answer = requester.choose("dedicated-server-down-not-hardware")
    assert TEXTS[lang]["express"] in answer
    assert_language(answer, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_summary_shows_due_instants_hold_and_balance_after(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    answer = _telenet_until_confirm(requester)
    texts = TEXTS[lang]
    # Friday 17:30: 4 business hours from Monday 8:30 (the weekend is named).
    assert texts["response"] in answer
    assert texts["held"] in answer
    assert texts["after"] in answer
    assert texts["top_up"] in answer
    assert_language(answer, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_unknown_estimate_is_a_minimum(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    answer = _telenet_until_confirm(requester, estimate="0")
    assert TEXTS[lang]["unknown"] in answer


@pytest.mark.parametrize("lang", LANGS)
def test_due_instant_pushed_by_christmas_names_it(
    chat: type[Chat], clock: Clock, lang: str
) -> None:
    clock.now = datetime(2026, 12, 24, 16, 30, tzinfo=UTC)  # Thursday 17:30 in Brussels
    requester = _speaking(chat, lang)
    answer = _telenet_until_confirm(requester)
    assert TEXTS[lang]["christmas"] in answer


@pytest.mark.parametrize("lang", LANGS)
def test_back_three_times_keeps_every_answer(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    first = _telenet_until_confirm(requester)
    for _step in range(3):
        requester.pick("«")
    # Back at the server question: every later answer is offered again.
    assert any("web01.example.be" in o.label for o in requester.last_options)
    requester.choose("~keep")
    requester.choose("~keep")
    again = requester.choose("~keep")
    assert again == first
    answer = requester.choose("~open")
    assert "TLN-2026-000001" in answer


def _alteo_ticket(requester: Chat, contacts: tuple[str, str, str] | None) -> str:
    requester.send("/new")
    requester.pick("Alteo")
    requester.choose("support-level-1")
    requester.choose("service-outage")
    requester.choose("critical")
    requester.send("srv-12.alteo.example")
    if contacts is None:
        return requester.log[-1][1]
    for value in contacts:
        requester.send(value)
    requester.send("The site answers 502 since noon")
    return requester.choose("~open")


@pytest.mark.parametrize("lang", LANGS)
def test_contacts_checked_then_prefilled(chat: type[Chat], seeded: Engine, lang: str) -> None:
    requester = _speaking(chat, lang)
    texts = TEXTS[lang]
    requester.send("/new")
    requester.pick("Alteo")
    requester.choose("support-level-1")
    requester.choose("service-outage")
    requester.choose("critical")
    requester.send("srv-12.alteo.example")
    requester.send("Jean Dupont")
    assert texts["phone"] in requester.send("12")
    requester.send("+32 2 555 12 34")
    answer = requester.send("foo")
    assert texts["foo"] in answer
    assert_language(answer, lang)
    requester.send("J.Dupont@Example.be")
    requester.send("The site answers 502 since noon")
    requester.choose("~open")
    # The next ticket on the same contract offers the same contact in one question.
    answer = _alteo_ticket(requester, None)
    assert texts["same"] in answer
    assert "Jean Dupont" in answer
    assert "+32 2 555 12 34" in answer
    requester.choose("~same")
    requester.send("Backups fail since Monday")
    requester.choose("~open")
    with transaction(seeded) as session:
        second = session.exec(select(Ticket).order_by(Ticket.id.desc())).first()  # type: ignore[union-attr]
        assert second is not None
        assert second.details["contact-email"] == "J.Dupont@example.be"
        assert second.details["contact-phone"] == "+32 2 555 12 34"


@pytest.mark.parametrize("lang", LANGS)
def test_abandoned_intake_is_offered_again(chat: type[Chat], clock: Clock, lang: str) -> None:
    requester = _speaking(chat, lang)
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    requester.choose("dedicated-server-down-not-hardware")
    requester.choose("express")
    clock.advance(minutes=10)
    answer = requester.send("/new")
    assert TEXTS[lang]["unfinished"] in answer
    answer = requester.choose("~resume")
    assert requester.last_options  # back at the question it was left on
    requester.send("web01.example.be")
    requester.choose("30")
    answer = requester.send("web01 answers no ping since 17:00")
    assert TEXTS[lang]["held"] in answer


@pytest.mark.parametrize("lang", LANGS)
def test_proximus_p1_with_prefilled_contacts_in_nine_messages(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    _proximus_p1(requester, first=True)
    requester.exchanges = 0
    answer = _proximus_p1(requester, first=False)
    assert "PXS-2026-000002" in answer
    assert requester.exchanges <= 9
    for _sent, reply in requester.log[-requester.exchanges :]:
        assert_language(reply, lang)


def _proximus_p1(requester: Chat, *, first: bool) -> str:
    answer = requester.send("/new internet down")
    assert "Proximus" in answer
    answer = requester.choose(f"{_proximus_contract(requester)}/no-internet")
    answer = requester.choose("p1")
    # The phone notice comes first, before the remaining questions.
    assert answer.index("☎") < answer.index("\n\n")
    requester.send("CID-778812")
    requester.send("SN-44-0192")
    requester.send("Rue de la Loi 16, 1000 Bruxelles")
    if first:
        requester.send("Jean Dupont")
        requester.send("j@example.be")
        requester.send("+32 2 555 12 34")
    else:
        requester.choose("~same")
    requester.choose("~keep")  # the words given with /new are the description
    return requester.choose("~open")


def _proximus_contract(requester: Chat) -> str:
    payload = next(o.payload for o in requester.last_options if o.payload.endswith("/no-internet"))
    return payload.rsplit(":", 1)[1].split("/")[0]


@pytest.mark.parametrize("lang", LANGS)
def test_telenet_quarter_hour_ticket_in_seven_messages(chat: type[Chat], lang: str) -> None:
    requester = _speaking(chat, lang)
    requester.send("/new server down")
    payload = next(
        o.payload
        for o in requester.last_options
        if o.payload.endswith("/dedicated-server-down-not-hardware")
    )
    requester.send(action=payload)
    requester.choose("express")
    requester.send("web01.example.be")
    requester.send("1h30")
    requester.choose("~keep")
    answer = requester.choose("~open")
    assert "TLN-2026-000001" in answer
    assert requester.exchanges <= 7
