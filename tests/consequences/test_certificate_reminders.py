"""Issue 15, certificates (Telenet web hosting 5.2.2): a certificate expiring on Monday
5 April 2027 is announced 30, 14 and 7 days ahead (6 March, 22 March, and Easter Monday
29 March, the day after the DST change), once each, in each reader's language, with a
button that opens the renewal ticket from the Telenet catalog, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.console import ConsoleSession
from bot.db.engine import transaction
from bot.db.models import Certificate, Notification, Tenant, Ticket
from bot.services import certificates, reminders, tenants
from bot.settings import Settings
from pricing.loader import find_intervention, get_pack
from tests.consequences.claimkit import add_customer_manager
from tests.handlers.conftest import Chat, Clock


def _remind(engine: Engine, settings: Settings, at: datetime) -> int:
    with transaction(engine) as session:
        return reminders.send_certificate_reminders(session=session, now=at, settings=settings)


def _rows(engine: Engine) -> list[Notification]:
    with transaction(engine) as session:
        query = select(Notification).where(Notification.event == "certificate_reminder")
        return list(session.exec(query.order_by(Notification.id)).all())  # type: ignore[arg-type]


def _add(engine: Engine, domain: str, expires: str) -> int:
    with transaction(engine) as session:
        row = certificates.add(
            session=session, tenant_slug="demo-customer", domain=domain, expires=expires
        )
        assert row.id is not None
        return row.id


def test_the_renewal_intervention_is_in_the_telenet_hosting_catalog() -> None:
    pack = get_pack("telenet-webhosting")
    assert pack.certificate_renewal is not None
    _category, row = find_intervention(pack, pack.certificate_renewal.intervention)
    assert row.labels.en == "Request and creation of an SSL certificate"


def test_reminders_30_14_7_days_with_a_renewal_button(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    add_customer_manager(seeded, "chef-nl", "nl")
    add_customer_manager(seeded, "boss-en", "en")
    cert_id = _add(seeded, "Shop.Example.be", "2027-04-05")
    assert _remind(seeded, settings, datetime(2027, 3, 5, 9, 0, tzinfo=UTC)) == 0  # 31 days
    assert _remind(seeded, settings, datetime(2027, 3, 6, 9, 0, tzinfo=UTC)) == 2
    assert _remind(seeded, settings, datetime(2027, 3, 6, 15, 0, tzinfo=UTC)) == 0  # once
    first = _rows(seeded)
    by_lang = {n.lang: n for n in first}
    assert set(by_lang) == {"nl", "en"}
    assert by_lang["nl"].text.startswith(
        "Het SSL-certificaat van shop.example.be vervalt op 5 april 2027, over 30 dagen."
    )
    assert "expires on 5 April 2027, in 30 days" in by_lang["en"].text
    assert by_lang["nl"].actions == [
        {"label": "Verlengingsticket openen", "payload": f"r:ssl:{cert_id}"}
    ]
    assert _remind(seeded, settings, datetime(2027, 3, 22, 8, 0, tzinfo=UTC)) == 2  # 14 days

    # The Dutch manager presses the button: the renewal ticket opens, in Dutch, once.
    clock.now = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
    chef = chat("chef-nl")
    opened = chef.send(action=f"r:ssl:{cert_id}")
    assert "Verlengingsticket TLW-2027-" in opened
    assert "Aanvraag en aanmaak van een SSL-certificaat" in opened
    with transaction(seeded) as session:
        cert = session.get(Certificate, cert_id)
        assert cert is not None
        renewal = session.get(Ticket, cert.renewal_ticket_id)
        assert renewal is not None
        assert renewal.intervention_id == "ssl-certificate-request"
        assert renewal.details == {"domain": "shop.example.be"}
        assert "shop.example.be" in renewal.description
        reference = renewal.reference
    boss = chat("boss-en")
    assert f"already open: {reference}" in boss.send(action=f"r:ssl:{cert_id}")
    assert "is al geopend" in chef.send(action=f"r:ssl:{cert_id}")
    with transaction(seeded) as session:
        assert len(session.exec(select(Ticket)).all()) == 1

    # Easter Monday, the day after the DST change: the 7-day reminder, without a button now.
    assert _remind(seeded, settings, datetime(2027, 3, 29, 7, 0, tzinfo=UTC)) == 2
    last = _rows(seeded)[-2:]
    assert all("7" in n.text for n in last)
    assert all(n.actions == [] for n in last)
    assert _remind(seeded, settings, datetime(2027, 4, 6, 7, 0, tzinfo=UTC)) == 0  # expired


def test_a_forged_or_foreign_button_opens_nothing(
    chat: Callable[..., Chat], seeded: Engine, clock: Clock, settings: Settings
) -> None:
    cert_id = _add(seeded, "www.example.com", "2026-12-31")
    with transaction(seeded) as session:
        other = tenants.add_tenant(session=session, slug="other", name="Other SA")
        assert other.id is not None
        foreign = Certificate(
            tenant_id=other.id, domain="other.example", expires_on=clock.now.date()
        )
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Christmas season: 30 days left
    requester = chat("demo-requester")  # the customer has no manager: its requester is told
    assert _remind(seeded, settings, clock.now) == 1
    [row] = _rows(seeded)
    assert row.lang == "fr"
    assert (
        "Le certificat SSL de www.example.com expire le 31 décembre 2026, dans 30 jours."
        in row.text
    )
    assert "a expiré" in requester.send(action=f"r:ssl:{foreign_id}")
    assert "a expiré" in requester.send(action="r:ssl:999999")
    assert "a expiré" in chat("demo-agent").send(action=f"r:ssl:{cert_id}")
    assert "Ticket de renouvellement" in requester.send(action=f"r:ssl:{cert_id}")
    with transaction(seeded) as session:
        assert session.exec(select(Tenant).where(Tenant.slug == "other")).one()


def test_the_console_numbers_the_renewal_button(
    seeded: Engine, clock: Clock, settings: Settings
) -> None:
    _add(seeded, "www.example.be", "2027-04-05")
    clock.now = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # Easter Monday, after the DST change
    assert _remind(seeded, settings, clock.now) == 1  # the requester: no manager
    console = ConsoleSession(
        engine=seeded, settings=settings, handle="demo-requester", clock=lambda: clock.now
    )
    [note] = console.inbox()
    assert note.endswith(
        "dans 7 jours. Le bouton ci-dessous ouvre le ticket de renouvellement.\n"
        "  1. Ouvrir le ticket de renouvellement"
    )
    answer = "\n".join(console.send("1"))
    assert (
        "Ticket de renouvellement TLW-2027-000001 ouvert pour le certificat de www.example.be"
        in (answer)
    )
    assert "│ Intervention" in answer
