"""Manager commands: live status, SLA compliance and credits over a period."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Engine

from bot.db.engine import read_transaction
from bot.db.models import Role
from bot.reports import bundle, export, render
from bot.reports.periods import MAX_PERIOD_DAYS, MAX_YEAR, MIN_YEAR, Period, last_months
from bot.reports.periods import parse_period as parse_report_period
from bot.services import figures, people
from bot.services.errors import InputError
from handlers.context import Context
from handlers.model import OutgoingFile, RefusalReason, Text, echo

PNG, CSV = "image/png", "text/csv"
MAX_CLAIMS = 5  # remedies listed under /sla; the monthly report lists them all


def _zone(ctx: Context) -> str:
    return ctx.tenant.zone if ctx.tenant is not None else ctx.settings.zone


def _period(ctx: Context, argument: str) -> Period | None:
    """The period a manager asked for, or a one-line refusal saying how to write one."""
    try:
        return parse_report_period(text=argument, now=ctx.now, zone=_zone(ctx))
    except InputError as exc:
        reason = exc.params.get("reason")
        if reason == "year":
            text = ctx._("Years go from %(low)d to %(high)d.") % {
                "low": MIN_YEAR,
                "high": MAX_YEAR,
            }
        elif reason == "month":
            text = ctx._("Months go from 01 to 12, for example 2026-11.")
        elif reason == "days":
            text = ctx._("A number of days goes from 1 to %(high)d, for example 30d.") % {
                "high": MAX_PERIOD_DAYS
            }
        elif reason == "future":
            text = ctx._("That period has not started yet.")
        else:
            text = ctx._("Unknown period. Use: month, week, quarter, year, 2026-11, 2026 or 30d.")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return None


def _scope(ctx: Context) -> figures.Scope:
    return figures.Scope(actor=ctx.require_actor)


def _attach(ctx: Context, name: str, caption: str, draw: Callable[[], bytes]) -> None:
    """Attach a chart, drawn after the event's transaction (`Outcome.render_files`)."""
    ctx.outcome.files.append(OutgoingFile(name=name, mime=PNG, caption=caption, render=draw))


def status_command(ctx: Context, _argument: str) -> None:
    """/status: open tickets per contract and priority, at risk and breached, with a chart."""
    rows = figures.backlog(session=ctx.session, scope=_scope(ctx), now=ctx.now)
    ctx.say(Text(render.backlog_text(ctx.t, rows)))
    if rows:
        caption = ctx._("Open tickets by priority and age")
        _attach(ctx, "backlog.png", caption, partial(render.backlog_png, ctx.t, rows))


def sla_command(ctx: Context, argument: str) -> None:
    """/sla [period]: compliance per contract and target, with the 12-month chart."""
    period = _period(ctx, argument)
    if period is None:
        return
    scope = _scope(ctx)
    rows = figures.sla_figures(session=ctx.session, scope=scope, period=period, now=ctx.now)
    rated = figures.satisfaction(session=ctx.session, scope=scope, period=period)
    text = render.sla_text(ctx.t, rows, period=period, satisfaction=rated)
    claims = bundle.open_claims(session=ctx.session, scope=scope, today_end=ctx.now)
    if claims:
        text += "\n" + render.claims_text(ctx.t, claims, limit=MAX_CLAIMS)
    ctx.say(Text(text))
    months = last_months(now=ctx.now, zone=_zone(ctx))
    bind, t, now = ctx.session.get_bind(), ctx.t, ctx.now
    engine = bind if isinstance(bind, Engine) else bind.engine

    def draw() -> bytes:
        # The twelve months are read with the chart, once the text is sent (their own read
        # transaction): the answer never waits for them. No ticket in them: no chart.
        with read_transaction(engine) as session:
            monthly = figures.monthly_compliance(
                session=session, scope=scope, months=months, now=now
            )
        return render.compliance_png(t, monthly, months) if monthly else b""

    _attach(ctx, "sla.png", ctx._("SLA compliance per month"), draw)


def credits_command(ctx: Context, argument: str) -> None:
    """/credits [period]: bought, charged, waived, paid, expired and balance per account."""
    period = _period(ctx, argument)
    if period is None:
        return
    scope = _scope(ctx)
    rows = figures.credit_figures(session=ctx.session, scope=scope, period=period)
    ctx.say(Text(render.credits_text(ctx.t, rows, period=period)))
    months = last_months(now=ctx.now, zone=_zone(ctx))
    monthly = figures.monthly_credits(session=ctx.session, scope=scope, months=months)
    account = render.busiest_account(monthly)
    if account is not None:
        caption = ctx._("Balance and spending per month")
        _attach(ctx, "credits.png", caption, partial(render.credits_png, ctx.t, account))


def export_command(ctx: Context, argument: str) -> None:
    """/export [period]: the period's tickets as a CSV file, one row per ticket."""
    period = _period(ctx, argument)
    if period is None:
        return
    rows = export.ticket_rows(session=ctx.session, scope=_scope(ctx), period=period, now=ctx.now)
    words = render.period_words(ctx.t, period)
    if not rows:
        ctx.say(Text(ctx._("No tickets logged in %(period)s.") % {"period": words}))
        return
    text = ctx.t.ngettext(
        "%(n)s ticket logged in %(period)s, one row each.",
        "%(n)s tickets logged in %(period)s, one row each.",
        len(rows),
    ) % {"n": len(rows), "period": words}
    ctx.say(Text(text))
    data = export.to_csv(rows, t=ctx.t, zone=_zone(ctx))
    ctx.outcome.files.append(
        OutgoingFile(name=f"tickets-{period.key}.csv", mime=CSV, data=data, caption=text)
    )


MAX_PEOPLE = 60  # a list longer than this is cut, with the count of the rest


def people_command(ctx: Context, _argument: str) -> None:
    """/people: a customer manager's colleagues; a provider manager's agents."""
    actor = ctx.require_actor
    if ctx.tenant is not None:
        found = people.people(session=ctx.session, tenant_id=ctx.tenant.id)
        title = ctx._("People of %(company)s:") % {"company": ctx.tenant.name}
    elif actor.providers:
        found = [
            person
            for code in sorted(actor.providers)
            for person in people.people(session=ctx.session, provider_code=code)
        ]
        title = ctx._("People serving %(providers)s:") % {
            "providers": ", ".join(sorted(actor.providers))
        }
    else:
        ctx.say(Text(ctx._("You belong to no company and serve no provider.")))
        return
    roles = {
        Role.REQUESTER: ctx._("requester"),
        Role.MANAGER: ctx._("manager"),
        Role.AGENT: ctx._("agent"),
        Role.ADMIN: ctx._("administrator"),
    }
    lines = [title]
    seen: set[int | None] = set()
    for person in found:
        if person.user.id in seen:
            continue
        seen.add(person.user.id)
        user = person.user
        channels = ", ".join(c.capitalize() for c in person.channels) or ctx._("no account linked")
        state = "" if user.active else " — " + ctx._("deactivated")
        lines.append(f"• {echo(user.display_name, 60)} ({roles[user.role]}) — {channels}{state}")
    shown = lines[: MAX_PEOPLE + 1]
    if len(lines) > len(shown):
        more = len(lines) - len(shown)
        shown.append(ctx.t.ngettext("… and %(n)d more", "… and %(n)d more", more) % {"n": more})
    if len(shown) == 1:
        shown.append(ctx._("Nobody yet."))
    ctx.say(Text("\n".join(shown)))
