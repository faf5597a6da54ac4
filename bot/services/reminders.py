"""Reminders a customer must not miss: claim deadlines (30 and 7 days before) and certificate
expiries (30, 14 and 7 days before, Telenet web hosting 5.2.2), written to the outbox.

Each reminder has an idempotency key per claim or certificate, step and person: several
workers, or a restart, never send one twice. Claim reminders reach the customer's managers;
certificate reminders reach them too (its requesters when it has no manager), with a button
that opens the renewal ticket from the catalog.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session, col, select

from bot.db.models import Certificate, Claim, Contract, Role, Tenant, User
from bot.i18n import Translator
from bot.services import certificates, claims, notify, tenants
from bot.services.claim_letter import amount_of, remedy_label
from bot.settings import Settings, current_settings
from pricing.loader import get_pack
from pricing.schema import ContractPack

RENEWAL_PREFIX = "r:ssl:"


def renewal_payload(certificate: Certificate) -> str:
    """The payload of a reminder's renewal button."""
    return f"{RENEWAL_PREFIX}{certificate.id}"


def customer_readers(*, session: Session, tenant_id: int) -> list[User]:
    """Who hears a customer's reminders: its active managers, else its active requesters."""
    query = select(User).where(User.tenant_id == tenant_id, User.active == True)  # noqa: E712
    people = list(session.exec(query.order_by(col(User.id))).all())
    managers = [u for u in people if u.role is Role.MANAGER]
    return managers or [u for u in people if u.role is Role.REQUESTER]


def renewal_contract(*, session: Session, tenant_id: int) -> tuple[Contract, ContractPack] | None:
    """The tenant's active contract whose catalog renews certificates, if any."""
    for contract in tenants.active_contracts(session=session, tenant_id=tenant_id):
        pack = get_pack(contract.pack_id)
        if pack.certificate_renewal is not None:
            return contract, pack
    return None


def _day(t: Translator, day: date) -> str:
    return format_date(day, "long", locale=t.babel_locale)


def send_claim_reminders(
    *, session: Session, now: datetime, settings: Settings | None = None
) -> int:
    """Expire claims past their deadline, then remind the managers of deadlines near."""
    settings = settings or current_settings()
    today = now.astimezone(ZoneInfo(settings.zone)).date()
    claims.expire(session=session, today=today)
    written = 0
    for claim, days in claims.reminders_due(session=session, today=today):
        contract = session.get(Contract, claim.contract_id)
        assert contract is not None
        pack = get_pack(contract.pack_id)
        left = (claim.deadline - today).days if claim.deadline else 0

        text = partial(_claim_text, claim=claim, pack=pack, left=left)

        for user in customer_readers(session=session, tenant_id=claim.tenant_id):
            written += notify.emit_to_user(
                session=session,
                user=user,
                audience="manager" if user.role is Role.MANAGER else "customer",
                event="claim_reminder",
                now=now,
                key=f"{claims.claim_reminder_key(claim=claim, days=days)}:u{user.id}",
                text=text,
                settings=settings,
            )
        claims.mark_reminded(session=session, claim=claim, days=days)
    return written


def _claim_text(t: Translator, *, claim: Claim, pack: ContractPack, left: int) -> str:
    assert claim.deadline is not None
    values = {
        "id": claim.id,
        "remedy": remedy_label(t, claim, pack),
        "amount": amount_of(t, claim, pack),
        "provider": pack.provider,
        "deadline": _day(t, claim.deadline),
        "days": left,
    }
    head = (
        t.ngettext(
            "Reminder: claim #%(id)s (%(remedy)s, %(amount)s) must reach %(provider)s by "
            "%(deadline)s, in %(days)s day.",
            "Reminder: claim #%(id)s (%(remedy)s, %(amount)s) must reach %(provider)s by "
            "%(deadline)s, in %(days)s days.",
            left,
        )
        % values
    )
    how = (
        t.gettext(
            "Get the letter with /claimletter %(id)s, send it, then mark it sent with "
            "/claimed %(id)s."
        )
        % values
    )
    return f"{head} {how}"


def send_certificate_reminders(
    *, session: Session, now: datetime, settings: Settings | None = None
) -> int:
    """Tell customers a certificate expires in 30, 14 or 7 days, with the renewal button."""
    settings = settings or current_settings()
    today = now.astimezone(ZoneInfo(settings.zone)).date()
    written = 0
    for certificate, days in certificates.reminders_due(session=session, today=today):
        tenant = session.get(Tenant, certificate.tenant_id)
        assert tenant is not None
        assert tenant.id is not None
        renewal = renewal_contract(session=session, tenant_id=tenant.id)
        left = (certificate.expires_on - today).days

        text = partial(_certificate_text, cert=certificate, left=left, renewal=renewal is not None)
        actions = partial(_renewal_actions, cert=certificate, renewal=renewal is not None)

        for user in customer_readers(session=session, tenant_id=tenant.id):
            written += notify.emit_to_user(
                session=session,
                user=user,
                audience="manager" if user.role is Role.MANAGER else "customer",
                event="certificate_reminder",
                now=now,
                key=(
                    f"ssl-reminder:{certificate.id}:{certificate.expires_on.isoformat()}:"
                    f"{days}:u{user.id}"
                ),
                text=text,
                actions=actions,
                settings=settings,
            )
        certificates.mark_reminded(session=session, certificate=certificate, days=days)
    return written


def _renewal_actions(t: Translator, *, cert: Certificate, renewal: bool) -> list[dict[str, str]]:
    """The renewal button, while no renewal ticket was opened for the certificate."""
    if not renewal or cert.renewal_ticket_id is not None:
        return []
    return [{"label": t.gettext("Open the renewal ticket"), "payload": renewal_payload(cert)}]


def _certificate_text(t: Translator, *, cert: Certificate, left: int, renewal: bool) -> str:
    values = {"domain": cert.domain, "date": _day(t, cert.expires_on), "days": left}
    head = (
        t.ngettext(
            "The SSL certificate of %(domain)s expires on %(date)s, in %(days)s day.",
            "The SSL certificate of %(domain)s expires on %(date)s, in %(days)s days.",
            left,
        )
        % values
    )
    if not renewal:
        return head
    return head + " " + t.gettext("The button below opens the renewal ticket.")
