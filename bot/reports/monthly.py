"""The monthly report: last month's figures, chart and tickets CSV for every manager.

A customer manager gets their company's report; a provider manager one per customer of
their providers. Each is one outbox row per destination with the idempotency key
``report:{YYYY-MM}:u{user}:t{tenant}``: several workers, a crash and a restart, or a second
pass the same day never send it twice (the files are written only with a new row).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from sqlmodel import Session, col, select

from bot.db.models import Contract, Role, Tenant, User
from bot.i18n import Translator
from bot.reports import bundle, render
from bot.reports.periods import Period, month_period
from bot.services import figures, notify
from bot.services.actors import actor_for
from bot.settings import Settings
from pricing.loader import load_packs

EVENT = "monthly_report"
#: Holidays of the country of the bot's zone (the report's business days); Belgium otherwise.
COUNTRIES = {"Europe/Paris": "FR", "Europe/Brussels": "BE", "Europe/Luxembourg": "LU"}


def first_business_day(*, year: int, month: int, zone: str) -> date:
    """The month's first weekday that is not a public holiday."""
    country = COUNTRIES.get(zone, "BE")
    closed = holidays_lib.country_holidays(country, years=year)
    day = date(year, month, 1)
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day


def scheduled_at(*, settings: Settings, year: int, month: int) -> datetime:
    """When the report of the month before `year-month` goes out (aware, in the bot's zone)."""
    day = first_business_day(year=year, month=month, zone=settings.zone)
    return datetime.combine(day, settings.monthly_report_time, tzinfo=ZoneInfo(settings.zone))


def previous_month(*, now: datetime, zone: str) -> Period:
    """The calendar month before the one of `now`."""
    local = now.astimezone(ZoneInfo(zone)).date().replace(day=1) - timedelta(days=1)
    return month_period(local.year, local.month, ZoneInfo(zone))


def _tenants_of(session: Session, providers: frozenset[str]) -> list[Tenant]:
    packs = [p.id for p in load_packs().values() if p.provider_code in providers]
    query = (
        select(Tenant)
        .where(
            col(Tenant.id).in_(
                select(Contract.tenant_id).where(
                    col(Contract.pack_id).in_(packs), col(Contract.active).is_(True)
                )
            )
        )
        .order_by(col(Tenant.name), col(Tenant.id))
    )
    return list(session.exec(query).all())


def manager_ids(*, session: Session) -> list[int]:
    """The active managers, who get a report."""
    query = select(User.id).where(User.role == Role.MANAGER, col(User.active).is_(True))
    return [i for i in session.exec(query.order_by(col(User.id))).all() if i is not None]


def monthly_report_rows(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    period: Period,
    only: list[int] | None = None,
) -> list[notify.RowWithFiles]:
    """`period`'s report for every active manager (or those of `only`), built and not yet
    written (reads only: a report already written is not built again)."""
    rows: list[notify.RowWithFiles] = []
    query = select(User).where(User.role == Role.MANAGER, col(User.active).is_(True))
    if only is not None:
        query = query.where(col(User.id).in_(only))
    managers = session.exec(query.order_by(col(User.id))).all()
    for manager in managers:
        actor = actor_for(session=session, user=manager)
        if manager.tenant_id is not None:
            own = session.get(Tenant, manager.tenant_id)
            tenants = [] if own is None else [own]
        else:
            tenants = _tenants_of(session, actor.providers)
        for tenant in tenants:
            assert tenant.id is not None
            scope = figures.Scope(actor=actor, tenant_id=tenant.id)

            def build(
                t: Translator, scope: figures.Scope = scope, tenant: Tenant = tenant
            ) -> tuple[str, list[tuple[str, str, bytes]]]:
                title = t.gettext("Monthly report, %(period)s — %(company)s") % {
                    "period": render.period_words(t, period),
                    "company": tenant.name,
                }
                made = bundle.build(
                    session=session, scope=scope, period=period, now=now, t=t, title=title
                )
                files = [(f"sla-{period.key}.png", "image/png", made.chart)]
                files.append((f"tickets-{period.key}.csv", "text/csv", made.csv))
                return made.text, files

            rows += notify.rows_with_files(
                session=session,
                user=manager,
                audience="manager",
                event=EVENT,
                now=now,
                key=f"report:{period.key}:u{manager.id}:t{tenant.id}",
                build=build,
                settings=settings,
            )
    return rows


def send_monthly_reports(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    period: Period,
    only: list[int] | None = None,
) -> int:
    """Queue `period`'s report for every active manager (or those of `only`); returns the
    messages written."""
    rows = monthly_report_rows(
        session=session, settings=settings, now=now, period=period, only=only
    )
    return notify.write_with_files(session=session, rows=rows, now=now)
