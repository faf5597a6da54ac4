"""Managers' figures in words and charts, in the reader's language.

Shared by the chat commands (`/status`, `/sla`, `/credits`), `supportbot report` and the
monthly report: one wording everywhere. Contracts, priorities and units are named with the
pack's labels in the reader's language, never by id.
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.charts.backlog import backlog_chart
from bot.charts.compliance import compliance_chart
from bot.charts.credits import credits_chart
from bot.db.models import Claim
from bot.i18n import Translator
from bot.reports.periods import Period
from bot.services.figures import (
    Backlog,
    ContractRef,
    CreditFigures,
    MonthlyCompliance,
    MonthlyCredits,
    Satisfaction,
    SlaFigures,
    TargetFigures,
)
from bot.wording import contract_title, priority_label
from pricing.loader import load_packs

MAX_SERIES = 8  # lines on one chart; more would not be readable on a phone


def period_words(t: Translator, period: Period) -> str:
    """A period in words: `novembre 2026`, `week van 16 nov. 2026`, `Q4 2026`, `2026`."""
    local = period.start.astimezone(ZoneInfo(period.zone))
    locale = t.babel_locale
    if period.kind == "month":
        return format_date(local.date(), "LLLL y", locale=locale)
    if period.kind == "week":
        return t.gettext("the week of %(date)s") % {
            "date": format_date(local.date(), "d MMM y", locale=locale)
        }
    if period.kind == "quarter":
        return t.gettext("quarter %(n)s of %(year)s") % {
            "n": (local.month - 1) // 3 + 1,
            "year": local.year,
        }
    if period.kind == "days":
        return t.ngettext("the last %(n)d day", "the last %(n)d days", period.days) % {
            "n": period.days
        }
    return str(local.year)


def contract_name(t: Translator, ref: ContractRef) -> str:
    """`Tenant — contract title` in the reader's language."""
    pack = load_packs().get(ref.pack_id)
    title = ref.label or "" if pack is None else contract_title(ref.label, pack, t.lang)
    return f"{ref.tenant} — {title}" if title else ref.tenant


def amount(t: Translator, value: Decimal, unit: str) -> str:
    """An amount in an account's unit: credits, hours or euros."""
    if unit == "hours":
        return t.gettext("%(n)s h") % {"n": t.number(value)}
    if unit == "eur":
        return t.euros(value)
    return t.credits(value)


def percent(t: Translator, value: Decimal | None) -> str:
    """`87,5 %` in the locale, or the words for no figure."""
    return t.gettext("no outcome yet") if value is None else f"{t.number(value)} %"


# --------------------------------------------------------------------------- SLA


def _target_line(
    t: Translator, label: str, now: TargetFigures, before: TargetFigures | None
) -> str:
    parts = [
        t.gettext("%(target)s: %(percent)s (%(met)s of %(total)s met)")
        % {
            "target": label,
            "percent": percent(t, now.percent),
            "met": now.met,
            "total": now.decided,
        }
    ]
    if now.in_progress:
        parts.append(
            t.gettext("%(n)s in progress, %(risk)s at risk")
            % {"n": now.in_progress, "risk": now.at_risk}
        )
    previous = None if before is None else before.percent
    parts.append(t.gettext("previous period: %(percent)s") % {"percent": percent(t, previous)})
    return " — ".join(parts)


def _has_target(now: TargetFigures, before: TargetFigures | None) -> bool:
    """Whether a target shows at all (a contract without a response time has none)."""
    return bool(now.decided or now.in_progress or (before is not None and before.decided))


def sla_text(
    t: Translator,
    rows: list[SlaFigures],
    *,
    period: Period,
    satisfaction: Satisfaction | None,
) -> str:
    """`/sla`: per contract, response and resolution compliance against the previous period."""
    words = period_words(t, period)
    if not rows:
        return t.gettext("No tickets logged in %(period)s.") % {"period": words}
    lines = [
        t.gettext("SLA compliance, %(period)s (compared with %(previous)s):")
        % {"period": words, "previous": period_words(t, period.previous())}
    ]
    for row in rows:
        before = row.previous
        lines.append(
            "• "
            + t.ngettext("%(contract)s: %(n)s ticket", "%(contract)s: %(n)s tickets", row.tickets)
            % {"contract": contract_name(t, row.contract), "n": row.tickets}
        )
        for label, now, then in (
            (t.gettext("Response"), row.response, None if before is None else before.response),
            (
                t.gettext("Resolution"),
                row.resolution,
                None if before is None else before.resolution,
            ),
        ):
            if _has_target(now, then):
                lines.append("  " + _target_line(t, label, now, then))
    lines.append(
        t.gettext(
            "Compliance counts only targets already met or missed; open ones are in progress."
        )
    )
    lines.append(satisfaction_text(t, satisfaction))
    return "\n".join(lines)


def satisfaction_text(t: Translator, satisfaction: Satisfaction | None) -> str:
    """The customers' ratings, or that there is none."""
    if satisfaction is None or satisfaction.average is None:
        return t.gettext("Satisfaction: no data.")
    return t.ngettext(
        "Satisfaction: %(average)s on average (%(n)s answer).",
        "Satisfaction: %(average)s on average (%(n)s answers).",
        satisfaction.answers,
    ) % {"average": t.number(satisfaction.average), "n": satisfaction.answers}


def compliance_png(t: Translator, rows: list[MonthlyCompliance], months: list[Period]) -> bytes:
    """The compliance chart: response and resolution per contract, month by month."""
    series: list[tuple[str, list[Decimal | None]]] = []
    for row in rows:
        name = contract_name(t, row.contract)
        series.append((f"{name} · {t.gettext('Response')}", row.response))
        series.append((f"{name} · {t.gettext('Resolution')}", row.resolution))
    return compliance_chart(
        title=t.gettext("SLA compliance per month"),
        months=months,
        series=series[:MAX_SERIES],
        locale=t.babel_locale,
        empty_text=t.gettext("No target met or missed in these months."),
    )


# --------------------------------------------------------------------------- backlog


def age_labels(t: Translator) -> list[str]:
    """The backlog's age buckets (`AGE_BUCKETS`: a day, a week) in words."""
    return [t.gettext("less than a day"), t.gettext("1 to 7 days"), t.gettext("more than 7 days")]


def _priority(t: Translator, ref: ContractRef, priority: str) -> str:
    pack = load_packs().get(ref.pack_id)
    return priority if pack is None else priority_label(pack, priority, t.lang)


def backlog_text(t: Translator, rows: list[Backlog]) -> str:
    """`/status`: open tickets per contract and priority, at risk, breached, stopped."""
    if not rows:
        return t.gettext("No open tickets.")
    lines = [t.gettext("Open tickets:")]
    for row in rows:
        lines.append(
            "• "
            + t.gettext("%(contract)s: %(open)s open, %(risk)s at risk, %(breached)s breached")
            % {
                "contract": contract_name(t, row.contract),
                "open": row.open,
                "risk": row.at_risk,
                "breached": row.breached,
            }
        )
        for line in row.priorities:
            text = t.field(_priority(t, row.contract, line.priority), str(line.open))
            details = []
            if line.at_risk:
                details.append(t.gettext("%(n)s at risk") % {"n": line.at_risk})
            if line.breached:
                details.append(t.gettext("%(n)s breached") % {"n": line.breached})
            if line.paused:
                details.append(t.gettext("%(n)s clock stopped") % {"n": line.paused})
            lines.append("  " + text + (f" ({', '.join(details)})" if details else ""))
    return "\n".join(lines)


def backlog_png(t: Translator, rows: list[Backlog]) -> bytes:
    """The backlog chart: open tickets by priority (per contract) and age."""
    labels: list[str] = []
    counts: list[list[int]] = []
    many = len(rows) > 1
    for row in rows:
        for line in row.priorities:
            label = _priority(t, row.contract, line.priority)
            if many:
                label = f"{row.contract.tenant} · {label}"
            labels.append(label[:40])
            counts.append(list(line.by_age))
    return backlog_chart(
        title=t.gettext("Open tickets by priority and age"),
        priorities=labels[:12],
        ages=age_labels(t),
        counts=counts[:12],
        locale=t.babel_locale,
        empty_text=t.gettext("No open tickets."),
    )


# --------------------------------------------------------------------------- credits


def credits_text(t: Translator, rows: list[CreditFigures], *, period: Period) -> str:
    """`/credits`: per account, bought, charged, waived (SLA), paid, expired, balance."""
    words = period_words(t, period)
    if not rows:
        return t.gettext("No credit movements in %(period)s.") % {"period": words}
    lines = [
        t.gettext("Credits, %(period)s (compared with %(previous)s):")
        % {"period": words, "previous": period_words(t, period.previous())}
    ]
    for row in rows:
        unit = row.unit
        before = row.previous
        lines.append("• " + contract_name(t, row.contract))
        bought = row.bought + row.topped_up + row.allowance
        lines.append(
            "  "
            + t.gettext(
                "charged %(charged)s, of which %(waived)s waived because an SLA target was "
                "missed: %(paid)s paid"
            )
            % {
                "charged": amount(t, row.charged, unit),
                "waived": amount(t, row.waived, unit),
                "paid": amount(t, row.net_charged, unit),
            }
        )
        lines.append(
            "  "
            + t.gettext("added %(bought)s (automatic top-ups: %(topups)s), expired %(expired)s")
            % {
                "bought": amount(t, bought, unit),
                "topups": amount(t, row.topped_up, unit),
                "expired": amount(t, row.expired, unit),
            }
        )
        if row.adjusted:
            lines.append(
                "  " + t.gettext("corrections: %(n)s") % {"n": amount(t, row.adjusted, unit)}
            )
        lines.append(
            "  "
            + t.gettext("balance at the end of the period: %(balance)s")
            % {"balance": amount(t, row.balance, unit)}
        )
        paid_before = None if before is None else before.net_charged
        lines.append(
            "  "
            + t.gettext("paid in the previous period: %(paid)s")
            % {
                "paid": t.gettext("nothing")
                if paid_before is None
                else amount(t, paid_before, unit)
            }
        )
    return "\n".join(lines)


def busiest_account(rows: list[MonthlyCredits]) -> MonthlyCredits | None:
    """The prepaid account (credits or hours) that spent most, None without one."""
    accounts = [r for r in rows if r.unit != "eur" and (any(r.spent) or any(r.balance))]
    if not accounts:
        return None
    return max(accounts, key=lambda r: (sum(r.spent), r.contract.sort_key))


def credits_png(t: Translator, row: MonthlyCredits) -> bytes:
    """The credits chart of one account: spending and balance month by month."""
    unit_words = amount(t, Decimal(2), row.unit).split(" ", 1)[-1]
    title = t.gettext("%(contract)s: balance and spending") % {
        "contract": contract_name(t, row.contract)
    }
    return credits_chart(
        title=title,
        months=row.months,
        spent=row.spent,
        balance=row.balance,
        spent_label=t.gettext("spent (%(unit)s)") % {"unit": unit_words},
        balance_label=t.gettext("balance at month end (%(unit)s)") % {"unit": unit_words},
        locale=t.babel_locale,
        empty_text=t.gettext("No credit movements in these months."),
    )


# --------------------------------------------------------------------------- claims


def claims_text(t: Translator, claims: list[Claim], *, limit: int | None = None) -> str:
    """Remedies the customer can still claim, nearest deadline first (at most `limit`)."""
    if not claims:
        return t.gettext("No remedy to claim.")
    lines = [t.gettext("Remedies you can claim:")]
    shown = claims if limit is None else claims[:limit]
    for claim in shown:
        deadline = (
            t.gettext("no deadline")
            if claim.deadline is None
            else format_date(claim.deadline, "long", locale=t.babel_locale)
        )
        lines.append(
            "• "
            + t.gettext("%(amount)s (event of %(day)s): claim before %(deadline)s")
            % {
                "amount": amount(t, claim.amount, claim.unit),
                "day": format_date(claim.event_day, "long", locale=t.babel_locale),
                "deadline": deadline,
            }
        )
    if len(claims) > len(shown):
        more = len(claims) - len(shown)
        lines.append(t.ngettext("… and %(n)d more", "… and %(n)d more", more) % {"n": more})
    return "\n".join(lines)
