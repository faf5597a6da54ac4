"""The SLA report's figures and charts, from the managers' services (`figures`, `bot.charts`).

Figures are per contract (never merged); compliance counts only targets with an outcome.
Charts are the same PNGs the chat attaches, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from bot.i18n import Translator
from bot.reports import render
from bot.reports.periods import Period, last_months
from bot.services import figures
from bot.services.actors import Actor
from bot.wording import contract_title
from pricing.loader import get_pack

CHARTS = ("compliance", "backlog", "credits")


def scope(actor: Actor) -> figures.Scope:
    """What a dashboard reader's figures cover: what they may see in chat."""
    return figures.Scope(actor=actor)


def contract_words(ref: figures.ContractRef, t: Translator) -> str:
    """`Provider — contract title` in the reader's language (never a pack id)."""
    pack = get_pack(ref.pack_id)
    return f"{pack.provider} — {contract_title(ref.label, pack, t.lang)}"


@dataclass(frozen=True)
class Change:
    """A figure compared with the previous period, in words and direction."""

    text: str
    better: bool | None


def _percent(t: Translator, value: Decimal | None) -> str:
    return t.gettext("no outcome yet") if value is None else f"{t.number(value)} %"


def _change(t: Translator, now: Decimal | None, before: Decimal | None) -> Change | None:
    if now is None or before is None:
        return None
    delta = now - before
    if delta == 0:
        return Change(t.gettext("same as the previous period"), None)
    sign = "+" if delta > 0 else "−"
    return Change(
        t.gettext("%(delta)s points on the previous period")
        % {"delta": f"{sign}{t.number(abs(delta))}"},
        delta > 0,
    )


@dataclass(frozen=True)
class TargetLine:
    """One target of one contract, ready to show."""

    percent: str
    met: int
    breached: int
    in_progress: int
    at_risk: int
    change: Change | None


@dataclass(frozen=True)
class ContractLine:
    """One contract's SLA figures over the period."""

    customer: str
    contract: str
    tickets: int
    response: TargetLine
    resolution: TargetLine


def _target(
    t: Translator, now: figures.TargetFigures, before: figures.TargetFigures | None
) -> TargetLine:
    return TargetLine(
        percent=_percent(t, now.percent),
        met=now.met,
        breached=now.breached,
        in_progress=now.in_progress,
        at_risk=now.at_risk,
        change=_change(t, now.percent, before.percent if before is not None else None),
    )


def sla_lines(
    *, session: Session, actor: Actor, period: Period, now: datetime, t: Translator
) -> list[ContractLine]:
    """Per contract with tickets logged in the period: both targets, against the period before."""
    lines = []
    for row in figures.sla_figures(session=session, scope=scope(actor), period=period, now=now):
        before = row.previous
        lines.append(
            ContractLine(
                customer=row.contract.tenant,
                contract=contract_words(row.contract, t),
                tickets=row.tickets,
                response=_target(t, row.response, before.response if before else None),
                resolution=_target(t, row.resolution, before.resolution if before else None),
            )
        )
    return lines


def chart_png(
    *, name: str, session: Session, actor: Actor, now: datetime, t: Translator, zone: str
) -> bytes | None:
    """One chart as PNG (the same the chat attaches), None when it has nothing to draw."""
    months = last_months(now=now, zone=zone)
    if name == "compliance":
        rows = figures.monthly_compliance(
            session=session, scope=scope(actor), months=months, now=now
        )
        return render.compliance_png(t, rows, months)
    if name == "backlog":
        return render.backlog_png(t, figures.backlog(session=session, scope=scope(actor), now=now))
    credits = figures.monthly_credits(session=session, scope=scope(actor), months=months)
    account = render.busiest_account(credits)
    return None if account is None else render.credits_png(t, account)
