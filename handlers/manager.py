"""Manager commands: live status, SLA compliance and credits over a period."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.db.models import Role
from bot.services import people, reports
from bot.services.errors import InputError
from bot.wording import amount_text
from handlers.context import Context
from handlers.model import RefusalReason, Text, echo
from pricing.loader import get_pack


def _zone(ctx: Context) -> str:
    return ctx.tenant.zone if ctx.tenant is not None else ctx.settings.zone


def _period(ctx: Context, argument: str) -> reports.Period | None:
    try:
        return reports.parse_period(text=argument, now=ctx.now, zone=_zone(ctx))
    except InputError as exc:
        reason = exc.params.get("reason")
        if reason == "year":
            text = ctx._("Years go from %(low)d to %(high)d.") % {
                "low": reports.MIN_YEAR,
                "high": reports.MAX_YEAR,
            }
        elif reason == "month":
            text = ctx._("Months go from 01 to 12, for example 2026-11.")
        elif reason == "days":
            text = ctx._("A number of days goes from 1 to %(high)d, for example 30d.") % {
                "high": reports.MAX_PERIOD_DAYS
            }
        else:
            text = ctx._("Unknown period. Use: month, week, year, 2026-11, 2026 or 30d.")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return None


def _period_words(ctx: Context, period: reports.Period) -> str:
    """A period in the user's language: `novembre 2026`, `week van 16 nov. 2026`, `2026`."""
    local = period.start.astimezone(ZoneInfo(_zone(ctx)))
    locale = ctx.t.babel_locale
    if period.kind == "month":
        return format_date(local.date(), "LLLL y", locale=locale)
    if period.kind == "week":
        return ctx._("the week of %(date)s") % {
            "date": format_date(local.date(), "d MMM y", locale=locale)
        }
    if period.kind == "days":
        return ctx.t.ngettext("the last %(n)d day", "the last %(n)d days", period.days) % {
            "n": period.days
        }
    return str(local.year)


def status_command(ctx: Context, _argument: str) -> None:
    """/status: open tickets per tenant by priority, at risk and breached."""
    rows = reports.status(session=ctx.session, actor=ctx.require_actor, now=ctx.now)
    if not rows:
        ctx.say(Text(ctx._("No open tickets.")))
        return
    lines = [ctx._("Open tickets:")]
    for row in rows:
        counts = ", ".join(
            ctx.t.field(priority, str(n)) for priority, n in sorted(row.by_priority.items())
        )
        lines.append(f"• {row.tenant} — {counts}")
        if row.at_risk:
            lines.append("  " + ctx._("at risk: %(refs)s") % {"refs": ", ".join(row.at_risk)})
        if row.breached:
            lines.append("  " + ctx._("breached: %(refs)s") % {"refs": ", ".join(row.breached)})
    ctx.say(Text("\n".join(lines)))


def sla_command(ctx: Context, argument: str) -> None:
    """/sla [period]: SLA compliance per tenant and kind."""
    period = _period(ctx, argument)
    if period is None:
        return
    rows = reports.sla_compliance(
        session=ctx.session, actor=ctx.require_actor, period=period, now=ctx.now
    )
    words = _period_words(ctx, period)
    if not rows:
        ctx.say(Text(ctx._("No tickets logged in %(period)s.") % {"period": words}))
        return
    lines = [ctx._("SLA compliance, %(period)s:") % {"period": words}]
    for row in rows:
        percent = ctx._("no target") if row.percent is None else f"{ctx.t.number(row.percent)} %"
        lines.append(
            "• "
            + ctx._("%(tenant)s, %(kind)s: %(met)s of %(total)s met (%(percent)s)")
            % {
                "tenant": row.tenant,
                "kind": row.kind,
                "met": row.met,
                "total": row.with_target,
                "percent": percent,
            }
        )
    ctx.say(Text("\n".join(lines)))


def credits_command(ctx: Context, argument: str) -> None:
    """/credits [period]: credits charged, waived, bought and topped up per tenant."""
    period = _period(ctx, argument)
    if period is None:
        return
    rows = reports.credits(session=ctx.session, actor=ctx.require_actor, period=period)
    words = _period_words(ctx, period)
    if not rows:
        ctx.say(Text(ctx._("No credit movements in %(period)s.") % {"period": words}))
        return
    lines = [ctx._("Credits, %(period)s:") % {"period": words}]
    for row in rows:
        pack = get_pack(row.pack_id)
        lines.append(
            "• "
            + ctx._(
                "%(tenant)s (%(pack)s): charged %(charged)s, waived %(waived)s, "
                "bought %(bought)s, automatic top-ups %(topups)s"
            )
            % {
                "tenant": row.tenant,
                "pack": pack.title.get(ctx.t.lang),
                "charged": amount_text(ctx.t, row.charged, pack),
                "waived": amount_text(ctx.t, row.waived, pack),
                "bought": amount_text(ctx.t, row.purchased, pack),
                "topups": amount_text(ctx.t, row.topped_up, pack),
            }
        )
    ctx.say(Text("\n".join(lines)))


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
