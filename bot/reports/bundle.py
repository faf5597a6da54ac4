"""One report of a period: its text, its compliance chart and its tickets export.

Used by `supportbot report` and by the monthly report sent to managers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.db.models import Claim, ClaimStatus
from bot.i18n import Translator
from bot.reports import export, render
from bot.reports.periods import Period, last_months
from bot.services import figures


@dataclass(frozen=True)
class Report:
    """A period's report in one language."""

    period: Period
    text: str
    chart: bytes
    csv: bytes
    tickets: int


def open_claims(*, session: Session, scope: figures.Scope, today_end: datetime) -> list[Claim]:
    """Remedies still claimable in the scope, nearest deadline first."""
    query = select(Claim).where(
        col(Claim.status) == ClaimStatus.OPEN.value,
        scope.where(contract_id=Claim.contract_id, tenant_id=Claim.tenant_id),
    )
    found = list(session.exec(query.order_by(col(Claim.deadline), col(Claim.id))).all())
    return [c for c in found if c.deadline is None or c.deadline >= today_end.date()]


def build(
    *,
    session: Session,
    scope: figures.Scope,
    period: Period,
    now: datetime,
    t: Translator,
    title: str | None = None,
) -> Report:
    """The figures of `period` (SLA, backlog, credits, claims), the chart of the 12 months
    ending with it, and the CSV of its tickets."""
    sla = figures.sla_figures(session=session, scope=scope, period=period, now=now)
    rated = figures.satisfaction(session=session, scope=scope, period=period)
    credit = figures.credit_figures(session=session, scope=scope, period=period)
    last = min(period.end, now) - timedelta(microseconds=1)
    months = last_months(now=last, zone=period.zone)
    monthly = figures.monthly_compliance(session=session, scope=scope, months=months, now=now)
    claims = open_claims(session=session, scope=scope, today_end=now)
    parts = [title] if title else []
    parts += [
        render.sla_text(t, sla, period=period, satisfaction=rated),
        render.credits_text(t, credit, period=period),
        render.claims_text(t, claims),
    ]
    rows = export.ticket_rows(session=session, scope=scope, period=period, now=now)
    return Report(
        period=period,
        text="\n\n".join(parts),
        chart=render.compliance_png(t, monthly, months),
        csv=export.to_csv(rows, t=t, zone=period.zone),
        tickets=len(rows),
    )
