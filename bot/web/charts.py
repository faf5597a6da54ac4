"""SLA figures of the dashboard: targets met and breached per contract, and the monthly chart.

Only targets with an outcome count: compliance = met / (met + breached); a target still
running is "in progress". Counted in SQL from each ticket's stored outcome, per contract
(never merged across contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from bot.db.models import Contract, Tenant, Ticket
from bot.i18n import Translator
from bot.services.actors import Actor, ticket_visibility
from bot.services.reports import Period
from bot.wording import contract_title
from pricing.loader import get_pack

MONTHS = 12
# Okabe–Ito: readable with every common colour-vision deficiency.
BAR = "#0072B2"
EMPTY = "#BBBBBB"
INK = "#222222"


@dataclass(frozen=True)
class Outcomes:
    """One target's counts: met, breached, still running."""

    met: int
    breached: int
    running: int

    @property
    def percent(self) -> Decimal | None:
        """met / (met + breached), None when no target has an outcome yet."""
        decided = self.met + self.breached
        if not decided:
            return None
        return (Decimal(self.met) * 100 / decided).quantize(Decimal("0.1"))


def _sums() -> list[Any]:
    def flag(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    response = col(Ticket.response_due).is_not(None)
    resolution = col(Ticket.resolution_due).is_not(None)
    resolved = col(Ticket.resolved_at).is_not(None)
    return [
        flag(and_(response, col(Ticket.responded_at).is_not(None), ~col(Ticket.response_breached))),
        flag(and_(response, col(Ticket.response_breached))),
        flag(and_(response, col(Ticket.responded_at).is_(None), ~col(Ticket.response_breached))),
        flag(and_(resolution, resolved, ~col(Ticket.resolution_breached))),
        flag(and_(resolution, col(Ticket.resolution_breached))),
        flag(and_(resolution, col(Ticket.resolved_at).is_(None), ~col(Ticket.resolution_breached))),
    ]


def _grouped(
    *, session: Session, actor: Actor, start: datetime, end: datetime
) -> dict[int, tuple[int, Outcomes, Outcomes]]:
    """contract id → (tickets, response outcomes, resolution outcomes) of tickets logged then."""
    query = (
        select(Ticket.contract_id, func.count(), *_sums())
        .where(Ticket.logged_at >= start, Ticket.logged_at < end, ticket_visibility(actor))
        .group_by(col(Ticket.contract_id))
    )
    found = {}
    for contract_id, n, *s in session.exec(query).all():
        values = [int(v) for v in s]
        found[int(contract_id)] = (
            int(n),
            Outcomes(*values[0:3]),
            Outcomes(*values[3:6]),
        )
    return found


def compliance_rows(
    *, session: Session, actor: Actor, period: Period, now: datetime, t: Translator
) -> list[dict[str, Any]]:
    """Per contract with tickets logged in the period: customer, contract, both targets."""
    grouped = _grouped(session=session, actor=actor, start=period.start, end=period.end)
    rows = []
    for contract_id, (n, response, resolution) in grouped.items():
        contract = session.get(Contract, contract_id)
        assert contract is not None
        tenant = session.get(Tenant, contract.tenant_id)
        pack = get_pack(contract.pack_id)
        rows.append(
            {
                "customer": tenant.name if tenant is not None else "?",
                "contract": f"{pack.provider} — {contract_title(contract.label, pack, t.lang)}",
                "tickets": n,
                "response": response,
                "resolution": resolution,
            }
        )
    return sorted(rows, key=lambda r: (r["customer"], r["contract"]))


def period_words(t: Translator, period: Period, zone: str) -> str:
    """A period in the reader's language: `novembre 2026`, `the week of …`, `2026`."""
    local = period.start.astimezone(ZoneInfo(zone))
    if period.kind == "month":
        return format_date(local.date(), "LLLL y", locale=t.babel_locale)
    if period.kind == "week":
        return t.gettext("the week of %(date)s") % {
            "date": format_date(local.date(), "d MMM y", locale=t.babel_locale)
        }
    if period.kind == "days":
        return t.ngettext("the last %(n)d day", "the last %(n)d days", period.days) % {
            "n": period.days
        }
    return str(local.year)


def _months(now: datetime, zone: str) -> list[tuple[date, datetime, datetime]]:
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    year, month = local.year, local.month
    months = []
    for _ in range(MONTHS):
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        months.append(
            (
                first,
                datetime(first.year, first.month, 1, tzinfo=tz),
                datetime(following.year, following.month, 1, tzinfo=tz),
            )
        )
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def compliance_chart(
    *, session: Session, actor: Actor, now: datetime, t: Translator, zone: str
) -> str:
    """An SVG bar chart: SLA compliance (both targets) per month over the last twelve months."""
    width, height, left, bottom, top = 960, 420, 70, 60, 60
    plot_w, plot_h = width - left - 20, height - top - bottom
    step = plot_w / MONTHS
    title = escape(t.gettext("SLA compliance per month (targets met)"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        'font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="32" font-size="22" fill="{INK}">{title}</text>',
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h - plot_h * tick / 100
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#dddddd"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{y + 6:.1f}" font-size="16" text-anchor="end" '
            f'fill="{INK}">{escape(t.number(tick))} %</text>'
        )
    for index, (first, start, end) in enumerate(_months(now, zone)):
        grouped = _grouped(session=session, actor=actor, start=start, end=end)
        met = sum(r.met + s.met for _n, r, s in grouped.values())
        breached = sum(r.breached + s.breached for _n, r, s in grouped.values())
        x = left + index * step + step * 0.15
        label = escape(format_date(first, "MMM yy", locale=t.babel_locale))
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 24}" font-size="16" '
            f'text-anchor="middle" fill="{INK}">{label}</text>'
        )
        if not met + breached:
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - 2}" width="{step * 0.7:.1f}" height="2" '
                f'fill="{EMPTY}"/>'
            )
            continue
        share = Decimal(met) * 100 / (met + breached)
        bar = float(plot_h * share / 100)
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar:.1f}" width="{step * 0.7:.1f}" '
            f'height="{bar:.1f}" fill="{BAR}"/>'
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{top + plot_h - bar - 6:.1f}" font-size="15" '
            f'text-anchor="middle" fill="{INK}">{escape(t.number(share.quantize(Decimal(1))))} %'
            "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
