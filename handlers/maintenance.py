"""/maintenance for provider managers: announce, list and cancel planned maintenance in chat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models import Role
from bot.numbers import parse_int
from bot.services import maintenance, planned_works
from bot.services.errors import InputError, InvalidStateError, NotFoundError
from bot.services.maintenance_notices import local_zone, provider_packs
from handlers.context import Context
from handlers.model import RefusalReason, Text, echo
from pricing.loader import load_packs
from pricing.terms import pack_zone

EMERGENCY_FLAG = "--emergency"
TENANTS_FLAG = "--tenants="
USAGE = "/maintenance add START MINUTES SERVICES [--emergency] [--tenants=a,b] | list | cancel ID"


def maintenance_command(ctx: Context, argument: str) -> None:
    """/maintenance add|list|cancel: planned works of the provider the manager serves."""
    actor = ctx.require_actor
    if not actor.is_staff or actor.role not in (Role.MANAGER, Role.ADMIN):
        text = ctx._("Planned maintenance is announced by the provider's managers.")
        ctx.refuse(text, RefusalReason.ACCESS_DENIED)
        return
    verb, _sep, rest = argument.strip().partition(" ")
    verb = verb.lower() or "list"
    if verb == "list":
        _list(ctx)
    elif verb == "add":
        _add(ctx, rest)
    elif verb == "cancel":
        _cancel(ctx, rest)
    else:
        _usage(ctx)


def _usage(ctx: Context) -> None:
    ctx.refuse(ctx._("Write it as: %(usage)s") % {"usage": USAGE}, RefusalReason.INVALID_INPUT)


def _list(ctx: Context) -> None:
    codes = sorted(ctx.require_actor.providers) or None
    rows = [
        w
        for w in maintenance.windows(session=ctx.session, since=ctx.now)
        if codes is None or w.provider_code in codes
    ]
    if not rows:
        ctx.say(Text(ctx._("No planned maintenance ahead.")))
        return
    lines = [ctx._("Planned maintenance:")]
    for window in rows:
        zone = local_zone(window).key
        line = ctx._("#%(id)s %(provider)s, %(start)s to %(end)s: %(services)s") % {
            "id": window.id,
            "provider": next(
                (p.provider for p in provider_packs(window.provider_code)), window.provider_code
            ),
            "start": ctx.t.datetime(window.starts_at, zone),
            "end": ctx.t.datetime(window.ends_at, zone),
            "services": window.services,
        }
        if window.emergency:
            line += " " + ctx._("(emergency)")
        lines.append("• " + line)
    ctx.say(Text("\n".join(lines)))


def _add(ctx: Context, rest: str) -> None:
    words = rest.split()
    emergency = EMERGENCY_FLAG in words
    slugs = [
        slug
        for w in words
        if w.startswith(TENANTS_FLAG)
        for slug in w[len(TENANTS_FLAG) :].lower().split(",")
        if slug
    ]
    words = [w for w in words if w != EMERGENCY_FLAG and not w.startswith(TENANTS_FLAG)]
    served = sorted(ctx.require_actor.providers)
    provider = served[0] if len(served) == 1 else None
    if words and words[0].upper() in _known_codes():
        if served and words[0].upper() not in served:
            text = ctx._("You do not serve %(code)s.") % {"code": words[0].upper()}
            ctx.refuse(text, RefusalReason.ACCESS_DENIED)
            return
        provider = words.pop(0).upper()
    if provider is None:
        text = ctx._("Name the provider first: /maintenance add CODE START MINUTES SERVICES.")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    if len(words) < 3:
        _usage(ctx)
        return
    packs = provider_packs(provider)
    zone = ZoneInfo(pack_zone(packs[0]))
    try:
        start = datetime.fromisoformat(words[0])
    except ValueError:
        text = ctx._("The start is a date and time like 2027-04-12T22:00 (the contract's time).")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    minutes = parse_int(words[1], low=1, high=maintenance.MAX_MINUTES)
    if minutes is None:
        text = ctx._("The duration is a number of minutes from 1 to %(max)d.") % {
            "max": maintenance.MAX_MINUTES
        }
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    try:
        window = planned_works.announce(
            session=ctx.session,
            provider_code=provider,
            starts_at=start,
            minutes=minutes,
            services=" ".join(words[2:])[:500],
            tenant_slugs=slugs,
            emergency=emergency,
            now=ctx.now,
            actor_id=ctx.require_actor.id,
        )
    except maintenance.NoticeTooShortError as exc:
        text = ctx._(
            "%(provider)s must announce planned maintenance at least %(notice)s calendar days "
            "ahead (clause %(clause)s); this start is %(days)s day(s) away. For urgent works "
            "add --emergency: customers are told it is an emergency."
        ) % {
            "provider": packs[0].provider,
            "notice": exc.params.get("notice_days"),
            "clause": exc.params.get("clause"),
            "days": exc.params.get("days"),
        }
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    except NotFoundError as exc:
        text = ctx._("No customer %(slug)s.") % {"slug": echo(str(exc.params.get("tenant")), 40)}
        ctx.refuse(text, RefusalReason.NOT_FOUND)
        return
    except InputError:
        text = ctx._("The start must be in the future.")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return
    text = ctx._(
        "Maintenance #%(id)s announced: %(start)s to %(end)s. The customers concerned are told "
        "now, the day before and when it ends."
    ) % {
        "id": window.id,
        "start": ctx.t.datetime(window.starts_at, zone.key),
        "end": ctx.t.datetime(window.ends_at, zone.key),
    }
    ctx.say(Text(text))


def _cancel(ctx: Context, rest: str) -> None:
    window_id = parse_int(rest.strip().lstrip("#"), low=1, high=2**31)
    if window_id is None:
        _usage(ctx)
        return
    codes = ctx.require_actor.providers
    found = next(
        (
            w
            for w in maintenance.windows(session=ctx.session, include_cancelled=True)
            if w.id == window_id
        ),
        None,
    )
    if found is None or (codes and found.provider_code not in codes):
        ctx.refuse(
            ctx._("No maintenance #%(id)s of yours.") % {"id": window_id}, RefusalReason.NOT_FOUND
        )
        return
    try:
        planned_works.cancel(session=ctx.session, window_id=window_id, now=ctx.now)
    except (InvalidStateError, NotFoundError):
        text = ctx._("Maintenance #%(id)s has ended or is already cancelled.") % {"id": window_id}
        ctx.refuse(text, RefusalReason.INVALID_STATE)
        return
    text = ctx._("Maintenance #%(id)s cancelled; the customers concerned are told.")
    ctx.say(Text(text % {"id": window_id}))


def _known_codes() -> set[str]:
    return {p.provider_code for p in load_packs().values()}
