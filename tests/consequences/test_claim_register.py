"""Issue 15, claim register: a Proximus P1 breach on Christmas Eve 2026 becomes an open claim;
customer managers list it (/claims), write the letter (fr, nl, en), are reminded 30 and 7
days before the deadline (31 March 2027, across the DST change of 28 March and Easter Monday
29 March), record it as sent once (/claimed), and an unclaimed one expires; a Telenet waiver
applied by billing is recorded as granted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Claim, Notification
from bot.services import reminders, tickets, users
from bot.settings import Settings
from tests.consequences.claimkit import add_customer_manager, open_as, run_milestones, ticket
from tests.handlers.conftest import Chat, Clock

PXS = "proximus-internet"
# Thursday 24 December 2026, 17:00 in Brussels: a P1 "no internet" with a 5-hour target in
# the Premium window (Mon-Fri 08-22) is due at 22:00; Christmas Day is a holiday.
CHRISTMAS_EVE_1700 = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
MONDAY_AFTER = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)


def _p1_breach(engine: Engine, settings: Settings) -> str:
    reference = open_as(
        engine, pack_id=PXS, intervention="no-internet", priority="p1", now=CHRISTMAS_EVE_1700
    )
    run_milestones(engine, settings, MONDAY_AFTER)
    return reference


def _claims(engine: Engine) -> list[Claim]:
    with transaction(engine) as session:
        return list(session.exec(select(Claim).order_by(Claim.id)).all())  # type: ignore[arg-type]


def _rows(engine: Engine, event: str) -> list[Notification]:
    with transaction(engine) as session:
        query = select(Notification).where(Notification.event == event)
        return list(session.exec(query.order_by(Notification.id)).all())  # type: ignore[arg-type]


def _remind(engine: Engine, settings: Settings, at: datetime) -> int:
    with transaction(engine) as session:
        return reminders.send_claim_reminders(session=session, now=at, settings=settings)


def test_a_p1_breach_is_claimed_from_the_chat_in_three_languages(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    reference = _p1_breach(seeded, settings)
    [claim] = _claims(seeded)
    assert (claim.status, claim.period, claim.amount) == ("open", "2026-12", Decimal(150))
    assert claim.deadline == date(2027, 3, 31)  # 3 months after the end of the month
    assert claim.facts["ticket"] == reference
    # The customer's breach message says the credit must be claimed (pack clause note).
    breach = [n.text for n in _rows(seeded, "breached") if n.audience == "customer"]
    assert any("jamais accordés d'office" in text for text in breach), breach

    add_customer_manager(seeded, "boss-fr", "fr")
    add_customer_manager(seeded, "chef-nl", "nl")
    boss, chef = chat("boss-fr"), chat("chef-nl")
    clock.now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    listed = boss.send("/claims")
    assert f"#{claim.id}" in listed
    assert reference in listed
    assert "150,00\xa0€" in listed
    assert "ouvert : vous pouvez le réclamer" in listed
    assert "à réclamer avant le 31 mars 2027" in listed
    assert "/claimletter" in listed

    dutch = chef.send(f"/claimletter {claim.id}")
    assert f"Betreft: claim nr. {claim.id}" in dutch
    assert "Servicekrediet van één maand dienstvergoeding" in dutch
    assert f"ticket {reference}: de oplostermijn werd op 24 december 2026 overschreden." in dutch
    assert "€\xa0150,00" in dutch
    assert "31 maart 2027" in dutch
    assert "nooit automatisch toegekend" in dutch
    assert "Niveaux de service" not in dutch  # no French clause heading in Dutch
    assert "Chef Nl" in dutch
    english = boss.send(f"/claimletter {claim.id} en")
    assert "We claim the following remedy: Service credit of one month's service fee" in english
    assert "Amount claimed: 150,00" in english  # Babel's en_BE, as everywhere in the bot
    assert "Niveaux de service" not in english
    # The French letter (for the provider) is asked by the French-speaking manager: a Dutch
    # chat shows no French contract text (the wording scan checks every reply).
    french = boss.send(f"/claimletter {claim.id} fr")
    assert "Clause du contrat : Niveaux de service" in french
    assert "Montant réclamé : 150,00\xa0€" in french

    # Reminders: 30 days before (1 March) and 7 days before (24 March), once each, to both
    # managers in their language; a second worker pass writes nothing.
    assert _remind(seeded, settings, datetime(2027, 2, 28, 9, 0, tzinfo=UTC)) == 0
    assert _remind(seeded, settings, datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) == 2
    assert _remind(seeded, settings, datetime(2027, 3, 1, 10, 0, tzinfo=UTC)) == 0
    assert _remind(seeded, settings, datetime(2027, 3, 23, 9, 0, tzinfo=UTC)) == 0
    assert _remind(seeded, settings, datetime(2027, 3, 24, 9, 0, tzinfo=UTC)) == 2
    assert _remind(seeded, settings, datetime(2027, 3, 29, 9, 0, tzinfo=UTC)) == 0
    texts = [n.text for n in _rows(seeded, "claim_reminder")]
    assert any("in 30 dagen" not in t and "over 30 dagen" in t for t in texts), texts
    assert any("dans 7 jours" in t and "/claimed" in t for t in texts), texts

    clock.now = datetime(2027, 3, 25, 10, 0, tzinfo=UTC)
    assert "geregistreerd als verstuurd naar Proximus" in chef.send(f"/claimed {claim.id}")
    assert "déjà enregistrée comme envoyée" in boss.send(f"/claimed {claim.id}")
    assert "réclamé : envoyé au fournisseur" in boss.send("/claims")
    [after] = _claims(seeded)
    assert after.status == "claimed"
    assert after.claimed_at == clock.now


def test_an_unclaimed_remedy_expires_after_its_deadline(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    _p1_breach(seeded, settings)
    [claim] = _claims(seeded)
    add_customer_manager(seeded, "chef-nl", "nl")
    # A worker down until the last day (22:00 in Brussels) sends one reminder, not two.
    assert _remind(seeded, settings, datetime(2027, 3, 31, 20, 0, tzinfo=UTC)) == 1
    assert _remind(seeded, settings, datetime(2027, 4, 1, 8, 0, tzinfo=UTC)) == 0
    [expired] = _claims(seeded)
    assert expired.status == "expired"
    chef = chat("chef-nl")
    clock.now = datetime(2027, 4, 2, 9, 0, tzinfo=UTC)
    assert "vervallen: de termijn is verstreken" in chef.send("/claims")
    assert "is vervallen" in chef.send(f"/claimletter {claim.id}")
    assert "is vervallen" in chef.send(f"/claimed {claim.id}")


def test_who_may_see_claims(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    _p1_breach(seeded, settings)
    [claim] = _claims(seeded)
    clock.now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    requester = chat("demo-requester")
    assert "n'est pas disponible pour votre rôle" in requester.send("/claims")
    provider_manager = chat("demo-manager")
    provider_manager.send("/lang en")
    assert "only its managers see them" in provider_manager.send("/claims")
    add_customer_manager(seeded, "boss-fr", "fr")
    boss = chat("boss-fr")
    assert "/claims" in boss.send("/help")
    assert "/claimletter ID [fr|nl|en]" in boss.send("/help")
    assert f"Aucune réclamation n°{claim.id + 7}" in boss.send(f"/claimed {claim.id + 7}")
    assert "Indiquez le numéro" in boss.send("/claimed")
    assert "fr, nl ou en" in boss.send(f"/claimletter {claim.id} de")
    assert "/claims" not in requester.send("/help")


def test_a_telenet_waiver_is_recorded_as_granted(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    # Friday 24 December 2026 is not a holiday but Christmas is: an Express incident logged on
    # Christmas Eve at 17:00 misses its 4 working hours after the holiday.
    reference = open_as(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="operating-system-support",
        priority="express",
        now=CHRISTMAS_EVE_1700,
    )
    run_milestones(seeded, settings, datetime(2026, 12, 30, 9, 0, tzinfo=UTC))
    breach = [n.text for n in _rows(seeded, "breached") if n.audience == "customer"]
    assert any("25 000 EUR" in text for text in breach), breach  # the liability cap (5.1 b)
    with transaction(seeded) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        row = session.exec(
            select(tickets.Ticket).where(tickets.Ticket.reference == reference)
        ).one()
        tickets.resolve(
            session=session,
            actor=tickets.actor_for(session=session, user=agent),
            ticket=row,
            minutes=30,
            now=datetime(2026, 12, 30, 10, 0, tzinfo=UTC),
        )
    [claim] = _claims(seeded)
    assert claim.status == "granted"
    assert claim.remedy_type == "waiver"
    assert claim.amount > 0
    assert claim.facts["ticket"] == ticket(seeded, reference).reference
    add_customer_manager(seeded, "boss-en", "en")
    boss = chat("boss-en")
    clock.now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert "granted automatically" in boss.send("/claims")
    assert "nothing to send" in boss.send(f"/claimletter {claim.id}")


def test_the_dutch_breach_message_names_no_french_clause(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    # Proximus names its remedies by French headings, not numbers: a Dutch reader gets the
    # remedy's own words and the pack's Dutch note, never "Niveaux de service …".
    clock.now = CHRISTMAS_EVE_1700
    chat("demo-requester").send("/lang nl")
    _p1_breach(seeded, settings)
    [text] = [n.text for n in _rows(seeded, "breached") if n.audience == "customer"]
    # Amounts are formatted by Babel for the reader (nl), since the wording issue.
    assert "U kunt tot 31 maart 2027 een servicecredit van €\xa0150,00 aanvragen" in text
    assert "nooit automatisch toegekend" in text
    assert "Niveaux" not in text
    assert "Recours" not in text
