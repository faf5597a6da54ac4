"""`supportbot claims list` and `claims letter` on a claim recorded from a P1 breach."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import engine_for, transaction
from bot.db.models import Certificate, Contract, Ticket
from bot.services import claims, demo
from bot.settings import get_settings
from pricing.loader import get_pack
from pricing.remedies import RemedyResult
from tests.consequences.claimkit import open_as
from tests.consequences.test_cli import one_line_error, run


@pytest.fixture
def database(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with transaction(engine) as session:
        demo.seed(session=session, now=datetime(2026, 12, 1, tzinfo=UTC))
    yield engine
    get_settings.cache_clear()
    engine_for(db_url).dispose()


def _claim(engine: Engine, status: claims.ClaimStatus = claims.ClaimStatus.OPEN) -> int:
    remedy = next(r for r in get_pack("proximus-internet").remedies if r.type.startswith("serv"))
    with transaction(engine) as session:
        contract = session.exec(
            select(Contract).where(Contract.pack_id == "proximus-internet")
        ).one()
        claim = claims.record(
            session=session,
            key=f"cli:{status.value}",
            contract=contract,
            result=RemedyResult(
                amount=Decimal(150),
                unit="eur",
                basis="P1 breach",
                clause=remedy.clause,
                claim_deadline=date(2099, 3, 31),
                remedy_id=remedy.id,
            ),
            remedy_type=remedy.type,
            period="2026-12",
            event_day=date(2026, 12, 24),
            facts={"ticket": "PXS-2026-000042", "monthly_fee": "150"},
            status=status,
            now=datetime(2026, 12, 28, tzinfo=UTC),
        )
        assert claim.id is not None
        return claim.id


def test_claims_list_and_letters_in_three_languages(database: Engine) -> None:
    claim_id = _claim(database)
    granted = _claim(database, claims.ClaimStatus.GRANTED)
    listed = json.loads(run("claims", "list", "--tenant", "demo-customer", "--json").stdout)
    assert [(row["id"], row["status"]) for row in listed] == [
        (granted, "granted"),
        (claim_id, "open"),
    ]
    dutch = run("claims", "letter", str(claim_id), "--lang", "nl", "--signer", "An Peeters")
    assert dutch.exit_code == 0, dutch.output
    assert f"Betreft: claim nr. {claim_id}" in dutch.stdout
    assert "ticket PXS-2026-000042: de oplostermijn werd op 24 december 2026 overschreden." in (
        dutch.stdout
    )
    assert "€ 150,00" in dutch.stdout.replace("\xa0", " ")
    assert "An Peeters" in dutch.stdout
    french = run("claims", "letter", str(claim_id))
    assert "Montant réclamé : 150,00" in french.stdout.replace("\xa0", " ")
    english = run("claims", "letter", str(claim_id), "--lang", "en")
    assert "Subject: claim no." in english.stdout
    assert "nothing to send" in one_line_error(run("claims", "letter", str(granted)))
    assert "no claim 999" in one_line_error(run("claims", "letter", "999"))
    assert "--lang" in one_line_error(run("claims", "letter", str(claim_id), "--lang", "de"))


def test_ssl_list_names_the_renewal_ticket(database: Engine) -> None:
    added = run(
        "ssl", "add", "--tenant", "demo-customer", "--domain", "a.be", "--expires", "2027-04-05"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(run("ssl", "list", "--json").stdout)[0]["renewal_ticket"] is None
    reference = open_as(
        database,
        pack_id="telenet-webhosting",
        intervention="ssl-certificate-request",
        priority="standard",
        kind="change",
        now=datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
    )
    with transaction(database) as session:
        cert = session.exec(select(Certificate)).one()
        cert.renewal_ticket_id = (
            session.exec(select(Ticket).where(Ticket.reference == reference)).one().id
        )
        session.add(cert)
    assert json.loads(run("ssl", "list", "--json").stdout)[0]["renewal_ticket"] == reference
