"""The stored reply: every shape of the core's `Outcome` survives the round trip.

Every outcome the handler tests produce is also checked (`tests/handlers/conftest.py`).
"""

from __future__ import annotations

import pytest

from bot.inbox.replies import ReplyFormatError, dump_outcome, load_outcome
from handlers.model import (
    Acted,
    Choices,
    Confirm,
    Option,
    OptionKind,
    Outcome,
    OutgoingFile,
    Prompt,
    Question,
    Refusal,
    RefusalReason,
    Text,
    TicketCard,
)

YES = Option("Oui", "c:tok:yes")
NO = Option("Non", "c:tok:no", OptionKind.NAVIGATION)
BACK = Option("« Retour", "nav:back", OptionKind.NAVIGATION)


def _question_outcomes() -> list[Outcome]:
    choices = Choices(
        "Quel contrat ?",
        tuple(Option(f"Contrat {n} — « é »", f"c:tok:{n}") for n in range(12)),
        select_placeholder="Choisir…",
    )
    prompt = Prompt("Décrivez le problème", (BACK,))
    confirm = Confirm("Ouvrir le ticket ?", YES, NO, extra=(BACK,))
    found = []
    for reply in (choices, prompt, confirm):
        found.append(
            Outcome(
                lang="fr",
                replies=[Text("Noté."), reply],
                question=Question(token="tok", reply=reply),
            )
        )
    return found


def _outcomes() -> list[Outcome]:
    card = TicketCard(
        title="Ticket TLN-2026-000001",
        fields=(("Priorité", "P1"), ("Statut", "ouvert")),
        actions=(Option("Prendre", "t:take:TLN-2026-000001", OptionKind.TICKET_ACTION),),
        footer="Réponse due à 18:30",
    )
    acted = Acted(
        verb="ack",
        reference="TLN-2026-000001",
        summary="TLN-2026-000001 acknowledged",
        status="responded",
        actions=("pause", "resolve"),
        options=(Option("Pause", "t:pause:TLN-2026-000001", OptionKind.TICKET_ACTION),),
    )
    refusal = Refusal("Je ne vous connais pas encore.", RefusalReason.UNKNOWN_USER)
    return [
        Outcome(lang="en"),
        Outcome(lang="nl", replies=[Text("Hallo\nwereld 👋")]),
        *_question_outcomes(),
        Outcome(lang="fr", replies=[Text(refusal.text)], refusal=refusal),
        Outcome(
            lang="en",
            replies=[Text(acted.summary), card],
            acted=acted,
            ticket="TLN-2026-000001",
        ),
        Outcome(lang="en", replies=[Text("Dropped.")], cancelled=True, ticket="X-1"),
        Outcome(
            lang="en",
            replies=[Text("Your export")],
            files=[
                OutgoingFile("tickets.csv", "text/csv", b"a,b\n\x00\xff", caption="Export"),
                OutgoingFile("chart.png", "image/png", b"\x89PNG\r\n", caption=""),
            ],
        ),
    ]


@pytest.mark.parametrize("outcome", _outcomes())
def test_every_outcome_shape_survives_the_round_trip(outcome: Outcome) -> None:
    back = load_outcome(dump_outcome(outcome))
    assert back == outcome
    if outcome.question is not None:
        assert back.question is not None
        # Channels tell the question's message apart by identity.
        assert any(reply is back.question.reply for reply in back.replies)
        assert back.before_question == outcome.before_question


def test_a_question_not_among_the_replies_is_kept_too() -> None:
    prompt = Prompt("Why?")
    outcome = Outcome(lang="en", replies=[Text("a")], question=Question("t", prompt))
    back = load_outcome(dump_outcome(outcome))
    assert back == outcome


def test_a_file_still_to_draw_is_kept_without_bytes() -> None:
    deferred = OutgoingFile("chart.png", "image/png", render=lambda: b"png")
    back = load_outcome(dump_outcome(Outcome(lang="en", files=[deferred])))
    assert [(f.name, f.data, f.render) for f in back.files] == [("chart.png", b"", None)]


@pytest.mark.parametrize(
    "stored", ["", "[]", '{"v": 99}', '{"v": 1, "lang": "en", "replies": [{"type": "x"}]}']
)
def test_an_unreadable_reply_is_refused_plainly(stored: str) -> None:
    with pytest.raises(ReplyFormatError):
        load_outcome(stored)
