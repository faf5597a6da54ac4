"""SSL certificates of customers' domains and their expiry reminders (Telenet web hosting 5.2.2).

The provider tells the customer in advance that a certificate expires: reminders go 30, 14
and 7 days before the expiry date, each once, with the catalog's renewal intervention.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from sqlmodel import Session, col, select

from bot.db.models import Certificate, Tenant
from bot.services.errors import InputError, NotFoundError

#: Days before expiry when the customer is reminded.
REMINDER_DAYS = (30, 14, 7)
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _tenant(session: Session, slug: str) -> Tenant:
    tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise NotFoundError(f"no tenant {slug!r}", tenant=slug)
    return tenant


def _domain(text: str) -> str:
    domain = text.strip().lower().rstrip(".")
    if len(domain) > 253 or not _DOMAIN.match(domain):
        raise InputError(f"{text!r} is not a domain name")
    return domain


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add(*, session: Session, tenant_slug: str, domain: str, expires: str) -> Certificate:
    """Record (or update) a tenant's certificate; a new expiry date resets its reminders."""
    tenant = _tenant(session, tenant_slug)
    assert tenant.id is not None
    name = _domain(domain)
    expires_on = _date(expires)
    row = session.exec(
        select(Certificate).where(Certificate.tenant_id == tenant.id, Certificate.domain == name)
    ).first()
    if row is None:
        row = Certificate(tenant_id=tenant.id, domain=name, expires_on=expires_on)
    elif row.expires_on != expires_on:
        row.expires_on = expires_on
        row.reminders = []
    session.add(row)
    session.flush()
    return row


def import_csv(*, session: Session, text: str) -> list[Certificate]:
    """Rows ``tenant,domain,expires`` (a header line is allowed); all or nothing."""
    rows: list[Certificate] = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        if number == 1 and fields[0].strip().lower() == "tenant":
            continue
        if len(fields) != 3:
            raise InputError(f"line {number}: expected tenant,domain,expires")
        try:
            rows.append(
                add(session=session, tenant_slug=fields[0], domain=fields[1], expires=fields[2])
            )
        except (InputError, NotFoundError) as exc:
            raise InputError(f"line {number}: {exc}") from None
    return rows


def certificates(*, session: Session, tenant_id: int | None = None) -> list[Certificate]:
    """Certificates by expiry date, for a tenant or all."""
    query = select(Certificate).order_by(col(Certificate.expires_on), col(Certificate.domain))
    if tenant_id is not None:
        query = query.where(Certificate.tenant_id == tenant_id)
    return list(session.exec(query).all())


def reminders_due(*, session: Session, today: date) -> list[tuple[Certificate, int]]:
    """Certificates entering a reminder step (30, 14, 7 days) not yet reminded for it."""
    due: list[tuple[Certificate, int]] = []
    for row in certificates(session=session):
        left = (row.expires_on - today).days
        if left < 0:
            continue
        pending = [d for d in REMINDER_DAYS if left <= d and d not in row.reminders]
        if pending:
            due.append((row, min(pending)))
    return due


def mark_reminded(*, session: Session, certificate: Certificate, days: int) -> None:
    """Record the reminder ``days`` before expiry (and the earlier steps it covers)."""
    steps = {*certificate.reminders, *(d for d in REMINDER_DAYS if d >= days)}
    certificate.reminders = sorted(steps)
    session.add(certificate)
