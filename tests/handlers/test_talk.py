"""Transcripts of the customer's conversation on a ticket, in French, Dutch and English:
messages and files, a reply to a notification, solved or not, reopen, rating, search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.telegram.store import remember_message
from bot.db.engine import transaction
from bot.db.models import (
    LedgerEntry,
    LedgerEntryType,
    Notification,
    Ticket,
    TicketAttachment,
    TicketSatisfaction,
    TicketStatus,
)
from bot.services.conversation import auto_close_at, close_unanswered
from bot.settings import Settings
from handlers.model import Attachment, AttachmentKind
from pricing.loader import get_pack
from tests.handlers.conftest import Chat, Clock, link
from tests.handlers.i18n_check import assert_language
from tests.handlers.test_intake import express_incident

REF = "TLN-2026-000001"
LANGS = ["fr", "nl", "en"]
PHOTO = Attachment(
    kind=AttachmentKind.PHOTO, file_id="AgAD-photo-1", name="photo.jpg", size=120_000
)
SCAN = Attachment(
    kind=AttachmentKind.DOCUMENT,
    file_id="BQAD-doc-2",
    name="error.pdf",
    size=48_000,
    mime="application/pdf",
)
WORDS = {
    "fr": {
        "which": "Est-ce au sujet d'une de vos demandes ?",
        "add": "Ajouter à",
        "added": "Ajouté à TLN-2026-000001 avec 1 fichier",
        "added_text": "Ajouté à TLN-2026-000001 ; l'équipe de support en est informée.",
        "kept": "C'est noté : 1 fichier rejoindra",
        "kept2": "C'est noté : 2 fichiers rejoindront",
        "joined": "2 fichiers ajoutés à TLN-2026-000001.",
        "solved?": "Le problème est-il résolu ?",
        "what": "Qu'est-ce qui ne fonctionne toujours pas",
        "reopened": "TLN-2026-000001 est rouvert",
        "closed": "Merci. TLN-2026-000001 est fermé.",
        "rate": "Êtes-vous satisfait",
        "rated": "Merci pour votre évaluation (4/5).",
        "comment": "Voulez-vous ajouter un commentaire ?",
        "recorded": "Merci, votre commentaire est enregistré.",
        "window": "jusqu'à 10 jours après sa fermeture",
        "too_large": "est trop volumineux",
        "found": "Vos tickets correspondant à",
        "none": "Aucun de vos tickets ne correspond",
        "auto": "aucune réponse n'est venue 5 jours ouvrables après sa résolution",
        "timeline": "📎 photo.jpg (120 kB)",
    },
    "nl": {
        "which": "Gaat dit over een van uw aanvragen?",
        "add": "Toevoegen aan",
        "added": "Toegevoegd aan TLN-2026-000001 met 1 bestand",
        "added_text": "Toegevoegd aan TLN-2026-000001; het supportteam is op de hoogte.",
        "kept": "Genoteerd: 1 bestand wordt",
        "kept2": "Genoteerd: 2 bestanden worden",
        "joined": "2 bestanden toegevoegd aan TLN-2026-000001.",
        "solved?": "Is het opgelost?",
        "what": "Wat werkt er nog steeds niet",
        "reopened": "TLN-2026-000001 is heropend",
        "closed": "Bedankt. TLN-2026-000001 is gesloten.",
        "rate": "Hoe tevreden bent u",
        "rated": "Bedankt voor uw beoordeling (4/5).",
        "comment": "Wilt u een opmerking toevoegen?",
        "recorded": "Bedankt, uw opmerking is genoteerd.",
        "window": "tot 10 dagen na het sluiten",
        "too_large": "is te groot",
        "found": "Uw tickets die overeenkomen met",
        "none": "Geen van uw tickets komt overeen",
        "auto": "er kwam geen antwoord binnen 5 werkdagen na de oplossing",
        "timeline": "📎 photo.jpg (120 kB)",
    },
    "en": {
        "which": "Is this about one of your requests?",
        "add": "Add this to",
        "added": "Added to TLN-2026-000001 with 1 file",
        "added_text": "Added to TLN-2026-000001; the support team is told.",
        "kept": "Kept: 1 file will join",
        "kept2": "Kept: 2 files will join",
        "joined": "2 files joined TLN-2026-000001.",
        "solved?": "Is it solved?",
        "what": "What is still not working",
        "reopened": "TLN-2026-000001 is reopened",
        "closed": "Thank you. TLN-2026-000001 is closed.",
        "rate": "How satisfied are you",
        "rated": "Thank you for your rating (4/5).",
        "comment": "Would you like to add a comment?",
        "recorded": "Thank you, your comment is recorded.",
        "window": "up to 10 days after closing",
        "too_large": "is too large",
        "found": "Your tickets matching",
        "none": "None of your tickets matches",
        "auto": "no answer came 5 business days after it was resolved",
        "timeline": "📎 photo.jpg (120 kB)",
    },
}


def _customer(chat: Callable[..., Chat], lang: str) -> Chat:
    requester = chat("demo-requester")
    requester.send(f"/lang {lang}")
    return requester


def _agent(chat: Callable[..., Chat]) -> Chat:
    agent = chat("demo-agent")
    agent.send("/lang en")
    return agent


def _rows(engine: Engine, event: str) -> list[Notification]:
    with transaction(engine) as session:
        query = select(Notification).where(Notification.event == event)
        return list(session.exec(query.order_by(Notification.id)).all())  # type: ignore[arg-type]


def _ticket(engine: Engine) -> Ticket:
    with transaction(engine) as session:
        return session.exec(select(Ticket)).one()


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_on_an_open_ticket_reaches_the_agents(
    chat: Callable[..., Chat], seeded: Engine, lang: str
) -> None:
    requester = _customer(chat, lang)
    express_incident(requester)
    words = WORDS[lang]
    # Without a caption: which request is it about? The open ticket comes first.
    answer = requester.send(attachments=(PHOTO,))
    assert words["which"] in answer
    assert requester.last_options[0].label.startswith(f"{words['add']} {REF}")
    answer = requester.send("1")
    assert words["added"] in answer
    # With a caption: the same question, then the caption and the file join the ticket.
    requester.send("It fails since this morning", attachments=(SCAN,))
    requester.send("1")
    rows = _rows(seeded, "customer_comment")
    agents = [r for r in rows if r.audience != "customer"]
    assert agents, "the agents hear of the files"
    assert {a["file_id"] for r in agents for a in r.attachments} == {
        PHOTO.file_id,
        SCAN.file_id,
    }
    assert any("It fails since this morning" in r.text and "error.pdf" in r.text for r in agents)
    with transaction(seeded) as session:
        stored = session.exec(select(TicketAttachment)).all()
        assert [(a.kind, a.name, a.size) for a in stored] == [
            ("photo", "photo.jpg", 120_000),
            ("document", "error.pdf", 48_000),
        ]
    # The ticket's timeline lists the files under the message that brought them.
    answer = requester.send(f"/ticket {REF}")
    assert words["timeline"] in answer
    assert "error.pdf" in answer
    for _sent, reply in requester.log[1:]:
        assert_language(reply, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_at_intake_joins_the_description(
    chat: Callable[..., Chat], seeded: Engine, lang: str
) -> None:
    requester = _customer(chat, lang)
    words = WORDS[lang]
    requester.send("/new")
    requester.pick("Hosting & Cloud")
    requester.choose("dedicated-servers")
    requester.choose("dedicated-server-down-not-hardware")
    requester.choose("express")
    requester.send("web01.example.be")
    description_question = requester.send("30")
    # A photo without a caption is kept and the description asked again.
    answer = requester.send(attachments=(PHOTO,))
    assert words["kept"] in answer
    assert description_question.splitlines()[-1] in answer
    # A photo with a caption: the caption is the description.
    answer = requester.send("web01 answers no ping since 17:00", attachments=(SCAN,))
    assert words["kept2"] in answer
    answer = requester.send("1")  # open the ticket
    assert REF in answer
    assert words["joined"] in answer
    ticket = _ticket(seeded)
    assert ticket.description == "web01 answers no ping since 17:00"
    agents = [r for r in _rows(seeded, "customer_comment") if r.audience != "customer"]
    assert agents
    assert [a["file_id"] for a in agents[0].attachments] == [PHOTO.file_id, SCAN.file_id]
    for _sent, reply in requester.log[1:]:
        assert_language(reply, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_reply_to_a_notification_joins_the_ticket(
    chat: Callable[..., Chat], seeded: Engine, settings: Settings, clock: Clock, lang: str
) -> None:
    link(seeded, handle="demo-requester", channel="telegram", external_id="5001")
    requester = Chat(
        engine=seeded, settings=settings, clock=clock, handle="5001", channel="telegram"
    )
    requester.send(f"/lang {lang}")
    express_incident(requester)
    ticket = _ticket(seeded)
    assert ticket.id is not None
    # The sender remembered the "opened" notification it delivered as message 555.
    remember_message(engine=seeded, ticket_id=ticket.id, chat_id="5001", message_id=555)
    answer = requester.send("The second server is down too", reply_to="555")
    assert WORDS[lang]["added_text"] in answer
    rows = [r for r in _rows(seeded, "customer_comment") if r.audience != "customer"]
    assert any("The second server is down too" in r.text for r in rows)
    # A reply to a message of no ticket is a loose message: which request is it about?
    answer = requester.send("And the mail?", reply_to="999")
    assert WORDS[lang]["which"] in answer


@pytest.mark.parametrize("lang", LANGS)
def test_not_solved_reopens_then_solved_closes_and_is_rated(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, lang: str
) -> None:
    requester = _customer(chat, lang)
    words = WORDS[lang]
    express_incident(requester)
    agent = _agent(chat)
    clock.advance(minutes=20)
    agent.send(f"/resolve {REF} 30")
    assert _ticket(seeded).status is TicketStatus.RESOLVED
    [resolved] = [r for r in _rows(seeded, "resolved") if r.audience == "customer"]
    assert words["solved?"] in resolved.text
    payloads = [a["payload"] for a in resolved.actions]
    assert payloads == [f"t:solved:{REF}", f"t:unsolved:{REF}"]
    # "No, it isn't": the reason, then the ticket goes back to the team.
    answer = requester.send(action=payloads[1])
    assert words["what"] in answer
    answer = requester.send("web01 is down again")
    assert words["reopened"] in answer
    ticket = _ticket(seeded)
    assert ticket.status is TicketStatus.RESPONDED
    assert ticket.resolved_at is None
    reopened = _rows(seeded, "reopened")
    assert reopened
    assert all("web01 is down again" in r.text for r in reopened)
    # Resolved again: told again, and nothing more is charged.
    clock.advance(minutes=20)
    agent.send(f"/resolve {REF} 15")
    again = [r for r in _rows(seeded, "resolved") if r.audience == "customer"]
    assert len(again) == 2
    with transaction(seeded) as session:
        charges = session.exec(
            select(LedgerEntry).where(LedgerEntry.type == LedgerEntryType.CHARGE)
        ).all()
        assert len(charges) == 1
    # "Yes, it is solved": closed, then the rating and its optional comment.
    answer = requester.send(action=f"t:solved:{REF}")
    assert words["closed"] in answer
    assert words["rate"] in answer
    assert [o.payload for o in requester.last_options] == [f"t:rate{n}:{REF}" for n in range(1, 6)]
    answer = requester.send(action=f"t:rate4:{REF}")
    assert words["rated"] in answer
    assert words["comment"] in answer
    answer = requester.send("Quick and clear")
    assert words["recorded"] in answer
    assert _ticket(seeded).status is TicketStatus.CLOSED
    with transaction(seeded) as session:
        rating = session.exec(select(TicketSatisfaction)).one()
        assert (rating.score, rating.comment) == (4, "Quick and clear")
    # A second "solved" click on the old notification is refused, nothing changes.
    requester.send(action=f"t:solved:{REF}")
    assert requester.outcome is not None
    assert requester.outcome.refusal is not None
    for _sent, reply in requester.log[1:]:
        assert_language(reply, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_reopen_within_the_window_only(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, lang: str
) -> None:
    requester = _customer(chat, lang)
    express_incident(requester)
    agent = _agent(chat)
    agent.send(f"/resolve {REF} 30")
    agent.send(f"/close {REF}")
    closed = [r for r in _rows(seeded, "closed") if r.audience == "customer"]
    assert closed
    assert [a["payload"] for a in closed[0].actions][-1] == f"t:rate5:{REF}"
    clock.advance(days=9)
    answer = requester.send(f"/reopen {REF} the backup job fails again")
    assert WORDS[lang]["reopened"] in answer
    agent.send(f"/resolve {REF} 15")
    agent.send(f"/close {REF}")
    clock.advance(days=11)
    answer = requester.send(f"/reopen {REF} still failing")
    assert WORDS[lang]["window"] in answer
    assert _ticket(seeded).status is TicketStatus.CLOSED


@pytest.mark.parametrize("lang", LANGS)
def test_unanswered_resolution_closes_after_five_business_days(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings, lang: str
) -> None:
    requester = _customer(chat, lang)
    express_incident(requester)
    agent = _agent(chat)
    agent.send(f"/resolve {REF} 30")  # Friday 20 November 17:30
    ticket = _ticket(seeded)
    assert ticket.resolved_at is not None
    pack = get_pack("telenet-hosting-cloud")
    # Mon 23 … Fri 27 November are the five business days: it closes that Friday evening.
    due = auto_close_at(pack=pack, resolved_at=ticket.resolved_at, days=5)
    assert due.astimezone().date().isoformat() in ("2026-11-27", "2026-11-28")
    with transaction(seeded) as session:
        assert (
            close_unanswered(session=session, now=due - timedelta(minutes=1), settings=settings)
            == 0
        )
    with transaction(seeded) as session:
        assert close_unanswered(session=session, now=due, settings=settings) == 1
    with transaction(seeded) as session:  # another worker, or the same one again
        assert (
            close_unanswered(session=session, now=due + timedelta(hours=1), settings=settings) == 0
        )
    assert _ticket(seeded).status is TicketStatus.CLOSED
    [closed] = [r for r in _rows(seeded, "closed") if r.audience == "customer"]
    assert WORDS[lang]["auto"] in closed.text
    assert WORDS[lang]["rate"] in closed.text


@pytest.mark.parametrize("lang", LANGS)
def test_search_over_the_customers_own_tickets(
    chat: Callable[..., Chat], seeded: Engine, lang: str
) -> None:
    requester = _customer(chat, lang)
    express_incident(requester)
    requester.send(f"/comment {REF} the raid controller beeps")
    for words in ("ping", "raid controller", REF.lower(), "hardware"):
        answer = requester.send(f"/search {words}")
        assert WORDS[lang]["found"] in answer, words
        assert REF in answer
    answer = requester.send("/search printer")
    assert WORDS[lang]["none"] in answer
    # Another customer's person does not find it.
    other = chat("demo-manager")
    answer = other.send("/search ping")
    assert REF not in answer


@pytest.mark.parametrize("lang", LANGS)
def test_files_over_the_limits_are_refused_in_the_users_language(
    seeded: Engine, clock: Clock, lang: str
) -> None:
    settings = Settings(_env_file=None, attachment_max_bytes=100_000)  # type: ignore[call-arg]
    requester = Chat(engine=seeded, settings=settings, clock=clock, handle="demo-requester")
    requester.send(f"/lang {lang}")
    express_incident(requester)
    answer = requester.send(f"/attach {REF}", attachments=(PHOTO,))
    assert WORDS[lang]["too_large"] in answer
    assert "photo.jpg" in answer
    with transaction(seeded) as session:
        assert session.exec(select(TicketAttachment)).all() == []


def test_an_agents_reply_with_a_file_reaches_the_customer(
    chat: Callable[..., Chat], seeded: Engine
) -> None:
    express_incident(chat("demo-requester"))
    agent = _agent(chat)
    answer = agent.send(f"/reply {REF}", attachments=(SCAN,))
    assert "Reply sent to the customer" in answer
    [row] = [r for r in _rows(seeded, "agent_comment") if r.audience == "customer"]
    assert [a["file_id"] for a in row.attachments] == [SCAN.file_id]
    assert "error.pdf" in row.text
