"""Who is told what: ticket events become outbox rows, one per destination, in its language.

Rows are written in the caller's transaction with a unique idempotency key, so a retried
operation or a re-fired milestone never produces a second message. Senders (per channel)
drain the outbox; nothing here talks to a platform. A COMMIT that wrote rows wakes the
in-process senders (`bot.worker.wake`).

Breach messages carry the pack's remedy (a waiver, or a service credit to claim and until
when); staff pings carry the pack's escalation rung when it has a ladder for the priority.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date
from pydantic import SecretStr
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.db.models import (
    AgentProvider,
    ChannelIdentity,
    Contract,
    Notification,
    NotificationStatus,
    Role,
    Tenant,
    Ticket,
    User,
)
from bot.i18n import Translator, translator
from bot.services.billing import ticket_quote
from bot.services.users import language_of
from bot.settings import Settings, current_settings
from bot.sla.calendar import calendar_for
from bot.wording import cost_sentence, zone_of
from bot.worker import wake
from pricing.loader import find_intervention, get_pack
from pricing.quotes import QuoteError
from pricing.remedies import RemedyError, claim_deadline, service_credit_per_breach
from pricing.schema import ContractPack, EscalationLevel, PriceRuleType, Remedy

CUSTOMER_EVENTS = frozenset(
    {
        "opened",
        "responded",
        "priority_changed",
        "intervention_changed",
        "paused",
        "resumed",
        "resolved",
        "closed",
        "breached",
        "agent_comment",
    }
)
AGENT_EVENTS = frozenset({"opened", "at_risk", "breached", "customer_comment", "due"})
MANAGER_EVENTS = frozenset({"breached"})
AUDIENCES = frozenset({"customer", "agents", "managers"})
_T = TypeVar("_T")
#: Remedy types owed per missed target (the others are computed over a period, not a ticket).
PER_BREACH_REMEDIES = frozenset({"waiver", "service_credit_per_breach", "gtr_overrun"})


@dataclass(frozen=True)
class Destination:
    """One place a message goes, and in which language."""

    audience: str
    channel: str
    chat_id: str
    lang: str
    user_id: int | None = None
    hold_outside_hours: bool = False


def _user_destinations(
    *, session: Session, user: User, audience: str, settings: Settings
) -> list[Destination]:
    if not user.active:
        return []  # offboarded: nothing reaches them
    tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
    query = select(ChannelIdentity).where(
        ChannelIdentity.user_id == user.id,
        ChannelIdentity.reachable == True,  # noqa: E712
    )
    found = []
    for identity in session.exec(query).all():
        lang = language_of(
            user=user, identity=identity, tenant=tenant, default=settings.default_locale
        )
        found.append(
            Destination(
                audience=audience,
                channel=identity.channel,
                chat_id=identity.external_id,
                lang=lang,
                user_id=user.id,
                hold_outside_hours=audience == "customer" and not user.notify_outside_hours,
            )
        )
    return found


def _provider_users(*, session: Session, provider_code: str, role: Role) -> list[User]:
    query = (
        select(User)
        .join(AgentProvider, col(AgentProvider.user_id) == col(User.id))
        .where(AgentProvider.provider_code == provider_code, User.role == role)
        .order_by(col(User.id))
    )
    return list(session.exec(query).all())


def _configured(secret: SecretStr | None) -> bool:
    """A token is configured when set and not blank."""
    return secret is not None and bool(secret.get_secret_value().strip())


def _agent_destinations(
    *, session: Session, pack: ContractPack, settings: Settings
) -> list[Destination]:
    groups: list[Destination] = []
    group = settings.telegram_agents_groups.get(pack.provider_code)
    if group is not None and _configured(settings.telegram_token):
        groups.append(
            Destination("agents", "telegram", str(group), settings.default_locale, None, False)
        )
    channel = settings.slack_agents_channels.get(pack.provider_code)
    if channel is not None and _configured(settings.slack_bot_token):
        groups.append(Destination("agents", "slack", channel, settings.default_locale, None, False))
    if groups:
        return groups
    found: list[Destination] = []
    agents = _provider_users(session=session, provider_code=pack.provider_code, role=Role.AGENT)
    # Pings go to the agents on duty; when nobody is, to every agent rather than to no one.
    for agent in [a for a in agents if a.on_duty] or agents:
        found.extend(
            _user_destinations(session=session, user=agent, audience="agent", settings=settings)
        )
    return found


def _manager_destinations(
    *, session: Session, ticket: Ticket, pack: ContractPack, settings: Settings
) -> list[Destination]:
    managers = [  # a customer manager hears only of their own tenant's tickets
        m
        for m in _provider_users(
            session=session, provider_code=pack.provider_code, role=Role.MANAGER
        )
        if m.tenant_id is None
    ]
    query = select(User).where(User.role == Role.MANAGER, User.tenant_id == ticket.tenant_id)
    managers.extend(session.exec(query).all())
    found: list[Destination] = []
    seen: set[int | None] = set()
    for manager in managers:
        if manager.id in seen:
            continue
        seen.add(manager.id)
        found.extend(
            _user_destinations(session=session, user=manager, audience="manager", settings=settings)
        )
    return found


def destinations_for(
    *,
    session: Session,
    ticket: Ticket,
    pack: ContractPack,
    event: str,
    settings: Settings,
    audiences: Collection[str] | None = None,
) -> list[Destination]:
    """Everyone who hears of `event` on `ticket` (or the given audiences), with their language."""
    if audiences is not None:
        unknown = set(audiences) - AUDIENCES
        if unknown:
            raise ValueError(f"unknown audiences: {', '.join(sorted(unknown))}")
    wanted = set(audiences) if audiences is not None else None
    found: list[Destination] = []
    if (event in CUSTOMER_EVENTS) if wanted is None else ("customer" in wanted):

        def customer() -> list[Destination]:
            requester = session.get(User, ticket.requester_id)
            if requester is None or requester.tenant_id not in (None, ticket.tenant_id):
                return []  # gone, or moved to another tenant
            return _user_destinations(
                session=session, user=requester, audience="customer", settings=settings
            )

        found.extend(_cached(session, ("customer", ticket.requester_id), customer))
    if (event in AGENT_EVENTS) if wanted is None else ("agents" in wanted):
        found.extend(
            _cached(
                session,
                ("agents", pack.provider_code),
                lambda: _agent_destinations(session=session, pack=pack, settings=settings),
            )
        )
    if (event in MANAGER_EVENTS) if wanted is None else ("managers" in wanted):
        found.extend(
            _cached(
                session,
                ("managers", pack.provider_code, ticket.tenant_id),
                lambda: _manager_destinations(
                    session=session, ticket=ticket, pack=pack, settings=settings
                ),
            )
        )
    return found


_CACHE_KEY = "supportbot.notify.cache"


def cache_destinations(session: Session) -> None:
    """Remember destinations and packs for the rest of this session (a dispatcher batch)."""
    session.info[_CACHE_KEY] = {}


def _cached(session: Session, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    cache: dict[tuple[object, ...], Any] | None = session.info.get(_CACHE_KEY)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    value: _T = cache[key]
    return value


def _next_opening(pack: ContractPack, now: datetime) -> datetime | None:
    """When the pack's default window next opens, or None when `now` is inside it."""
    source = next(c for c in pack.calendars if c.id == pack.default_calendar)
    calendar = calendar_for(source)
    day = calendar.local_date(now)
    for offset in range(0, 21):
        current = day + timedelta(days=offset)
        for start, end in calendar.windows_on(current):
            if start <= now < end:
                return None
            if start > now:
                return start
    return None


class _Values(dict[str, str]):
    """Template values, some computed on first use."""

    def __init__(self, ready: dict[str, str], later: dict[str, Callable[[], str]]) -> None:
        super().__init__(ready)
        self.later = later

    def __missing__(self, key: str) -> str:
        value = self[key] = self.later[key]()
        return value


def render(
    *, event: str, t: Translator, ticket: Ticket, pack: ContractPack, params: dict[str, str]
) -> str:
    """The text of a notification for one reader."""
    _ = t.gettext
    _category, intervention = find_intervention(pack, ticket.intervention_id)
    label = intervention.labels.get(t.lang)
    zone = zone_of(pack)

    def when(key: str) -> str:
        value = params.get(key)
        if not value:
            return _("no target")
        return t.datetime(datetime.fromisoformat(value), zone)

    priority = next((p.labels.get(t.lang) for p in pack.priorities if p.id == ticket.priority), "")
    values = _Values(
        {
            "ref": ticket.reference,
            "intervention": label,
            "priority": priority,
            "reason": params.get("reason", ""),
            "text": params.get("text", ""),
            "target": _("response") if params.get("target") == "response" else _("resolution"),
            "percent": params.get("percent", ""),
        },
        # Computed only when the chosen template uses them (dates cost a Babel call each).
        {
            "response_due": lambda: when("response_due"),
            "resolution_due": lambda: when("resolution_due"),
            "due": lambda: when("due"),
            "remedy": lambda: _remedy_text(t=t, pack=pack, params=params),
            "cost": lambda: (
                _cost_sentence(t=t, pack=pack, params=params) if event == "resolved" else ""
            ),
        },
    )
    templates = {
        "opened": _(
            "Ticket %(ref)s opened: %(intervention)s, priority %(priority)s. "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "responded": _("Ticket %(ref)s: an agent has started working on your request."),
        "priority_changed": _(
            "Ticket %(ref)s: priority changed to %(priority)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "intervention_changed": _(
            "Ticket %(ref)s reclassified as %(intervention)s (%(reason)s). "
            "Response due %(response_due)s; resolution due %(resolution_due)s."
        ),
        "paused": _("Ticket %(ref)s: the SLA clock is stopped (%(reason)s)."),
        "resumed": _(
            "Ticket %(ref)s: the SLA clock runs again. Resolution due %(resolution_due)s."
        ),
        "resolved": _("Ticket %(ref)s is resolved. %(cost)s"),
        "closed": _("Ticket %(ref)s is closed."),
        "breached": _("Ticket %(ref)s: the %(target)s time was missed. %(remedy)s"),
        "agent_comment": _("Ticket %(ref)s, message from the support team: %(text)s"),
        "customer_comment": _("Ticket %(ref)s, message from the customer: %(text)s"),
        "at_risk": _(
            "Ticket %(ref)s (%(intervention)s, %(priority)s) is at risk: "
            "%(percent)s%% of the %(target)s time used, due %(due)s."
        ),
        "due": _("Ticket %(ref)s: the %(target)s time ends now (%(due)s)."),
    }
    if event == "opened" and params.get("audience") in ("agents", "agent"):
        return (
            _(
                "New ticket %(ref)s: %(intervention)s, priority %(priority)s. "
                "Response due %(response_due)s."
            )
            % values
        )
    text = (templates[event] % values).strip()
    extra = _escalation_text(t=t, pack=pack, ticket=ticket, event=event, params=params)
    return f"{text} {extra}" if extra else text


def applicable_remedies(*, pack: ContractPack, ticket: Ticket, target: str) -> list[Remedy]:
    """The pack's per-breach remedies whose filters match this ticket and target."""
    facts = {
        "kind": ticket.kind,
        "priority": ticket.priority,
        "target": target,
        "service_level": ticket.service_level,
    }
    found = []
    for remedy in pack.remedies:
        if remedy.type not in PER_BREACH_REMEDIES:
            continue
        if all(facts.get(key) in values for key, values in remedy.applies_to.items()):
            found.append(remedy)
    return found


def remedy_params(
    *, session: Session, ticket: Ticket, pack: ContractPack, target: str, at: datetime
) -> dict[str, str]:
    """The facts of what is owed for a missed target, as `render` params of a breach."""

    def load_options() -> dict[str, str]:
        contract = session.get(Contract, ticket.contract_id)
        return dict(contract.options) if contract is not None else {}

    options = _cached(session, ("options", ticket.contract_id), load_options)
    day = at.astimezone(ZoneInfo(_display_zone(pack))).date()
    params: dict[str, str] = {}
    ids: list[str] = []
    for remedy in applicable_remedies(pack=pack, ticket=ticket, target=target):
        if remedy.type == "waiver" and _free(pack, ticket):
            continue  # nothing is charged, so nothing is waived
        ids.append(remedy.id)
        deadline: date | None = claim_deadline(remedy, day)
        fee = options.get("monthly_fee")
        if remedy.type == "service_credit_per_breach" and fee:
            try:
                result = service_credit_per_breach(
                    remedy=remedy, monthly_fee=Decimal(str(fee)), breaches=1, breach_day=day
                )
            except (RemedyError, ArithmeticError):
                pass
            else:
                params[f"remedy.{remedy.id}.amount"] = str(result.amount)
                deadline = result.claim_deadline
        if deadline is not None:
            params[f"remedy.{remedy.id}.deadline"] = deadline.isoformat()
    if ids:
        params["remedies"] = ",".join(ids)
    return params


def _free(pack: ContractPack, ticket: Ticket) -> bool:
    """Whether the ticket's intervention costs nothing at its priority."""
    try:
        return ticket_quote(pack=pack, ticket=ticket).rule is PriceRuleType.FREE
    except QuoteError:
        return False


def _remedy_text(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """The remedy sentences of a breach message, in the reader's language."""
    legacy = params.get(f"remedy_{t.lang}", params.get("remedy", ""))
    ids = [i for i in params.get("remedies", "").split(",") if i]
    sentences = [legacy] if legacy else []
    by_id = {remedy.id: remedy for remedy in pack.remedies}
    for remedy_id in ids:
        remedy = by_id.get(remedy_id)
        if remedy is not None:
            sentences.append(_remedy_sentence(t=t, pack=pack, remedy=remedy, params=params))
    return " ".join(s for s in sentences if s)


def _remedy_sentence(
    *, t: Translator, pack: ContractPack, remedy: Remedy, params: dict[str, str]
) -> str:
    _ = t.gettext
    amount = params.get(f"remedy.{remedy.id}.amount")
    deadline = params.get(f"remedy.{remedy.id}.deadline")
    values = {
        "clause": remedy.clause,
        "label": remedy.labels.get(t.lang),
        "amount": f"€ {t.number(Decimal(amount))}" if amount else "",
        "deadline": (
            format_date(date.fromisoformat(deadline), "long", locale=t.babel_locale)
            if deadline
            else ""
        ),
    }
    if remedy.type == "waiver":
        return (
            _(
                "The credits due for this intervention are waived: you will not be charged "
                "for it (clause %(clause)s)."
            )
            % values
        )
    if remedy.type == "service_credit_per_breach":
        if amount and deadline:
            text = _(
                "You may claim a service credit of %(amount)s (clause %(clause)s) until "
                "%(deadline)s; it is not granted automatically."
            )
        elif deadline:
            text = _(
                "You may claim a service credit (%(label)s, clause %(clause)s) until "
                "%(deadline)s; it is not granted automatically."
            )
        else:
            text = _("You may claim a service credit (%(label)s, clause %(clause)s).")
        return text % values
    if deadline:
        return (
            _("You may claim compensation (%(label)s, clause %(clause)s) until %(deadline)s.")
            % values
        )
    return _("You may claim compensation (%(label)s, clause %(clause)s).") % values


def escalation_ladder(pack: ContractPack, priority: str) -> list[EscalationLevel]:
    """The contract's escalation rungs for a priority, lowest first (empty when none).

    Only rungs that name their priorities form a contractual ladder (Proximus: levels 0-5
    for P1 and P2); a pack whose rungs name none routes its pings by `escalation.at_risk`
    and `escalation.breach` alone.
    """
    levels = sorted(pack.escalation.levels, key=lambda level: level.level)
    return [level for level in levels if priority in level.applies_to_priorities]


def _escalation_text(
    *, t: Translator, pack: ContractPack, ticket: Ticket, event: str, params: dict[str, str]
) -> str:
    """The escalation sentence: the rung reached (staff), or how to escalate (customer)."""
    _ = t.gettext
    if params.get("audience") == "customer":
        if event != "breached" or not params.get("escalation_phone"):
            return ""
        numbers = _phone_numbers(pack, ticket.priority)
        phone = numbers.get(t.lang) or next(iter(numbers.values()), "")
        if not phone:
            return ""
        return _("You can escalate this incident by phone: call the Service Desk on %(phone)s.") % {
            "phone": phone
        }
    raw = params.get("escalation_level")
    if raw is None or not raw.isdigit():
        return ""
    level = next((lv for lv in pack.escalation.levels if lv.level == int(raw)), None)
    if level is None:
        return ""
    values = {"label": level.labels.get(t.lang), "hours": ""}
    if level.hours is not None:
        values["hours"] = level.hours.get(t.lang)
        return _("Escalation: %(label)s (%(hours)s).") % values
    return _("Escalation: %(label)s.") % values


def _phone_numbers(pack: ContractPack, priority: str) -> dict[str, str]:
    phones = pack.intake.phone_required
    chosen = next((p for p in phones if p.priority == priority), phones[0] if phones else None)
    return dict(chosen.numbers) if chosen is not None else {}


def _display_zone(pack: ContractPack) -> str:
    return next(c.zone for c in pack.calendars if c.id == pack.default_calendar)


def _cost_sentence(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """What resolving cost, in words."""
    return cost_sentence(
        t,
        pack,
        charged=Decimal(params.get("charged") or "0"),
        waived=Decimal(params.get("waived") or "0"),
        on_request=bool(params.get("on_request")),
        top_up_packs=int(params.get("top_up_packs") or 0),
    )


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, built once (parameters bound per row)."""
    table = Notification.__table__  # type: ignore[attr-defined]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING, not rowcount: psycopg reports -1 rows for INSERT … ON CONFLICT DO NOTHING.
    return insert(table).on_conflict_do_nothing().returning(table.c.id)


def _outbox_row(
    *,
    key: str,
    destination: Destination,
    event: str,
    text: str,
    now: datetime,
    ticket_id: int | None = None,
    actions: list[dict[str, str]] | None = None,
    status: NotificationStatus = NotificationStatus.PENDING,
    next_attempt_at: datetime | None = None,
) -> dict[str, Any]:
    """The column values of one outbox row (every column but the id)."""
    return {
        "idempotency_key": (
            f"{key}|{destination.audience}|{destination.channel}|{destination.chat_id}"
        )[:200],
        "ticket_id": ticket_id,
        "user_id": destination.user_id,
        "audience": destination.audience,
        "event": event,
        "channel": destination.channel,
        "chat_id": destination.chat_id,
        "lang": destination.lang,
        "text": text,
        "actions": actions or [],
        "status": status,
        "attempts": 0,
        "next_attempt_at": next_attempt_at or now,
        "last_error": None,
        "external_id": None,
        "created_at": now,
        "sent_at": None,
    }


def _insert_ignoring_duplicates(session: Session, row: Notification | dict[str, Any]) -> bool:
    """Insert unless the idempotency key exists; returns whether a row was written."""
    values = row.model_dump(exclude={"id"}) if isinstance(row, Notification) else row
    statement = _insert_statement(session.get_bind().dialect.name)
    return session.execute(statement, values).first() is not None


def emit(
    *,
    session: Session,
    ticket: Ticket,
    event: str,
    now: datetime,
    key: str,
    params: dict[str, str] | None = None,
    settings: Settings | None = None,
    exclude_user_ids: Iterable[int] = (),
    audiences: Collection[str] | None = None,
) -> int:
    """Write one outbox row per destination of `event`; `key` makes the event idempotent."""
    settings = settings or current_settings()
    pack = get_pack(_pack_id(session, ticket))
    excluded = set(exclude_user_ids)
    written = 0
    opening: datetime | None | bool = False  # computed lazily, once
    earliest: datetime | None = None
    for destination in destinations_for(
        session=session,
        ticket=ticket,
        pack=pack,
        event=event,
        settings=settings,
        audiences=audiences,
    ):
        if destination.user_id is not None and destination.user_id in excluded:
            continue
        text = render(
            event=event,
            t=translator(destination.lang),
            ticket=ticket,
            pack=pack,
            params={**(params or {}), "audience": destination.audience},
        )
        status = NotificationStatus.PENDING
        next_attempt = now
        if destination.hold_outside_hours:
            if opening is False:
                opening = _next_opening(pack, now)
            if isinstance(opening, datetime):
                status, next_attempt = NotificationStatus.HELD, opening
        row = _outbox_row(
            key=key,
            destination=destination,
            event=event,
            text=text,
            now=now,
            ticket_id=ticket.id,
            actions=_actions_for(event, destination, ticket),
            status=status,
            next_attempt_at=next_attempt,
        )
        if _insert_ignoring_duplicates(session, row):
            written += 1
            earliest = next_attempt if earliest is None else min(earliest, next_attempt)
    if earliest is not None:
        wake.outbox_written(session, earliest)
    return written


def emit_to_user(
    *,
    session: Session,
    user: User,
    audience: str,
    event: str,
    now: datetime,
    key: str,
    text: Callable[[Translator], str],
    ticket_id: int | None = None,
    channels: Collection[str] | None = None,
    settings: Settings | None = None,
) -> int:
    """Write one outbox row per reachable identity of `user` (digests, admin alerts)."""
    settings = settings or current_settings()
    written = 0
    for destination in _user_destinations(
        session=session, user=user, audience=audience, settings=settings
    ):
        if channels is not None and destination.channel not in channels:
            continue
        row = _outbox_row(
            key=key,
            destination=destination,
            event=event,
            text=text(translator(destination.lang)),
            now=now,
            ticket_id=ticket_id,
        )
        written += int(_insert_ignoring_duplicates(session, row))
    if written:
        wake.outbox_written(session, now)
    return written


def _actions_for(event: str, destination: Destination, ticket: Ticket) -> list[dict[str, str]]:
    """Buttons on agent pings (acknowledge, pause, resolve): payloads the core understands."""
    if destination.audience not in ("agents", "agent") or event not in ("opened", "at_risk"):
        return []
    t = translator(destination.lang)
    return [
        {"label": t.gettext("Acknowledge"), "payload": f"t:ack:{ticket.reference}"},
        {"label": t.gettext("Pause"), "payload": f"t:pause:{ticket.reference}"},
        {"label": t.gettext("Resolve"), "payload": f"t:resolve:{ticket.reference}"},
    ]


def _pack_id(session: Session, ticket: Ticket) -> str:
    def load() -> str:
        contract = session.get(Contract, ticket.contract_id)
        assert contract is not None
        return contract.pack_id

    return _cached(session, ("pack", ticket.contract_id), load)
