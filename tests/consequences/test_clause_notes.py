"""Issue 15, clauses kept only as notes are shown where they matter, in the reader's language:
in the quote (Proximus information requests may be billed; on-demand support fees and
refusal beyond 2 business days; Alteo backup restore only if in the quote), on the card
(Telenet 2.5: resolution time excludes backup restore), in the breach message (Telenet 5.1 b
liability cap, Proximus credits only on claim: see test_claim_register) and in the claim
letter (Alteo: credit notes within 30 days, liability cap)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, Ticket
from bot.i18n import translator
from bot.services import claims
from bot.services.claim_letter import letter
from pricing.loader import get_pack
from pricing.remedies import RemedyResult
from tests.consequences.claimkit import open_as
from tests.consequences.walk import open_ticket
from tests.handlers.conftest import Chat, Clock

# Easter Monday 29 March 2027, the day after the DST change: Belgian and French holiday.
EASTER_MONDAY_1000 = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


def test_quotes_show_the_billing_clauses_in_dutch_and_english(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = EASTER_MONDAY_1000
    requester = chat("demo-requester")
    requester.send("/lang nl")
    summary = open_ticket(
        requester,
        pack_id="proximus-internet",
        contract="internet",
        intervention="active-configuration-question",
        priority="p4",
        confirm=False,
    )
    assert "Proximus behoudt zich het recht voor materiaal en bijkomende werkuren" in summary
    assert "Proximus se réserve" not in summary
    requester.send("/cancel")
    requester.send("/lang en")
    summary = open_ticket(
        requester,
        pack_id="alteo-hosting",
        contract="ALTEO",
        intervention="backup-restore",
        priority="major",
        confirm=False,
    )
    assert "Possible when the backup option is in the quote" in summary
    assert "devis" not in summary


def test_the_telenet_card_says_backup_restore_is_not_counted(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = datetime(2027, 3, 26, 15, 0, tzinfo=UTC)  # Friday before DST and Easter
    requester = chat("demo-requester")
    requester.send("/lang en")
    open_ticket(
        requester,
        pack_id="telenet-hosting-cloud",
        contract="Hosting",
        intervention="operating-system-support",
        priority="standard",
    )
    with transaction(seeded) as session:
        reference = session.exec(select(Ticket)).one().reference
    card = requester.send(f"/ticket {reference}")
    assert (
        "The maximum resolution time does not include the time needed to restore data "
        "backups. (clause 2.5)" in card
    )
    requester.send("/lang nl")
    assert "databack-ups terug te zetten. (clausule 2.5)" in requester.send(f"/ticket {reference}")


def test_an_alteo_claim_letter_names_credit_notes_within_30_days(seeded: Engine) -> None:
    pack = get_pack("alteo-hosting")
    gtr = next(r for r in pack.remedies if r.type == "gtr_overrun")
    with transaction(seeded) as session:
        contract = session.exec(select(Contract).where(Contract.pack_id == pack.id)).one()
        claim = claims.record(
            session=session,
            key="gtr:test",
            contract=contract,
            result=RemedyResult(
                amount=Decimal("40"),
                unit="eur",
                basis="overrun of 1 h 20",
                clause=gtr.clause,
                claim_deadline=None,
                remedy_id=gtr.id,
            ),
            remedy_type=gtr.type,
            period="2026-12",
            event_day=date(2026, 12, 24),
            facts={"monthly_fee": "200"},
            now=EASTER_MONDAY_1000,
        )
        texts = {
            lang: letter(
                t=translator(lang),
                claim=claim,
                pack=pack,
                customer="Demo Customer SA",
                contract="Hosting",
                signer="Chef",
                today=date(2027, 3, 29),
            )
            for lang in ("fr", "nl", "en")
        }
    assert "avoirs non convertibles en numéraire, émis au plus tard 30 jours" in texts["fr"]
    assert (
        "creditnota's die niet in geld omzetbaar zijn, uitgegeven uiterlijk 30 dagen"
        in (texts["nl"])
    )
    assert (
        "credit notes that cannot be converted into cash, issued at most 30 days" in (texts["en"])
    )
    assert "(clause 3.1.6)" in texts["en"]
    assert "avoirs" not in texts["nl"]
    assert "avoirs" not in texts["en"]


def test_the_on_demand_support_card_names_its_fees_and_the_2_day_refusal(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # Christmas Eve
    reference = open_as(
        seeded,
        pack_id="proximus-internet",
        intervention="on-demand-support",
        priority="p4",
        kind="on-demand-support",
        now=clock.now,
    )
    requester = chat("demo-requester")
    requester.send("/lang en")
    card = requester.send(f"/ticket {reference}")
    assert "A fixed start fee and a recurring time-and-material fee" in card
    assert "more than 2 business days" in card
    requester.send("/lang fr")
    card = requester.send(f"/ticket {reference}")
    assert "notamment si l'implémentation prend plus de 2 Jours ouvrables" in card
