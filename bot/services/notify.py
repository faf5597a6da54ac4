"""Who is told what: ticket events become outbox rows, one per destination, in its language.

Rows are written in the caller's transaction with a unique idempotency key, so a retried
operation or a re-fired milestone never produces a second message. Senders (per channel)
drain the outbox; nothing here talks to a platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.db.models import (
    AgentProvider,
    ChannelIdentity,
    Notification,
    NotificationStatus,
    Role,
    Tenant,
    Ticket,
    User,
)
from bot.i18n import Translator, translator
from bot.services.users import language_of
from bot.settings import Settings, get_settings
from bot.sla.calendar import calendar_for
from bot.wording import amount_text
from pricing.loader import find_intervention, get_pack
from pricing.schema import ContractPack

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


def _agent_destinations(
    *, session: Session, pack: ContractPack, settings: Settings
) -> list[Destination]:
    groups: list[Destination] = []
    group = settings.telegram_agents_groups.get(pack.provider_code)
    if group is not None and settings.telegram_token is not None:
        groups.append(
            Destination("agents", "telegram", str(group), settings.default_locale, None, False)
        )
    channel = settings.slack_agents_channels.get(pack.provider_code)
    if channel is not None and settings.slack_bot_token is not None:
        groups.append(Destination("agents", "slack", channel, settings.default_locale, None, False))
    if groups:
        return groups
    found: list[Destination] = []
    for agent in _provider_users(
        session=session, provider_code=pack.provider_code, role=Role.AGENT
    ):
        found.extend(
            _user_destinations(session=session, user=agent, audience="agent", settings=settings)
        )
    return found


def _manager_destinations(
    *, session: Session, ticket: Ticket, pack: ContractPack, settings: Settings
) -> list[Destination]:
    managers = _provider_users(session=session, provider_code=pack.provider_code, role=Role.MANAGER)
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
    *, session: Session, ticket: Ticket, pack: ContractPack, event: str, settings: Settings
) -> list[Destination]:
    """Everyone who hears of `event` on `ticket`, each with their language."""
    found: list[Destination] = []
    if event in CUSTOMER_EVENTS:
        requester = session.get(User, ticket.requester_id)
        if requester is not None:
            found.extend(
                _user_destinations(
                    session=session, user=requester, audience="customer", settings=settings
                )
            )
    if event in AGENT_EVENTS:
        found.extend(_agent_destinations(session=session, pack=pack, settings=settings))
    if event in MANAGER_EVENTS:
        found.extend(
            _manager_destinations(session=session, ticket=ticket, pack=pack, settings=settings)
        )
    return found


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


def render(
    *, event: str, t: Translator, ticket: Ticket, pack: ContractPack, params: dict[str, str]
) -> str:
    """The text of a notification for one reader."""
    _ = t.gettext
    _category, intervention = find_intervention(pack, ticket.intervention_id)
    label = intervention.labels.get(t.lang)
    zone = next(c.zone for c in pack.calendars if c.id == pack.default_calendar)

    def when(key: str) -> str:
        value = params.get(key)
        if not value:
            return _("no target")
        return t.datetime(datetime.fromisoformat(value), zone)

    priority = next((p.labels.get(t.lang) for p in pack.priorities if p.id == ticket.priority), "")
    cost = ""
    if event == "resolved":
        cost = _cost_sentence(t=t, pack=pack, params=params)
    values = {
        "ref": ticket.reference,
        "intervention": label,
        "priority": priority,
        "reason": params.get("reason", ""),
        "response_due": when("response_due"),
        "resolution_due": when("resolution_due"),
        "text": params.get("text", ""),
        "remedy": params.get(f"remedy_{t.lang}", params.get("remedy", "")),
        "target": _("response") if params.get("target") == "response" else _("resolution"),
        "due": when("due"),
        "percent": params.get("percent", ""),
        "cost": cost,
    }
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
    return templates[event] % values


def _cost_sentence(*, t: Translator, pack: ContractPack, params: dict[str, str]) -> str:
    """What resolving cost, in words."""
    charged = Decimal(params.get("charged") or "0")
    waived = Decimal(params.get("waived") or "0")
    if waived > 0:
        return t.gettext("%(amount)s not charged: an SLA target was missed.") % {
            "amount": amount_text(t, waived, pack)
        }
    if params.get("on_request"):
        return t.gettext("The price is invoiced as agreed with the provider.")
    if charged > 0:
        return t.gettext("%(amount)s charged.") % {"amount": amount_text(t, charged, pack)}
    return t.gettext("No charge.")


def _insert_ignoring_duplicates(session: Session, row: Notification) -> bool:
    """Insert unless the idempotency key exists; returns whether a row was written."""
    values = row.model_dump(exclude={"id"})
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = session.execute(insert(Notification).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
) -> int:
    """Write one outbox row per destination of `event`; `key` makes the event idempotent."""
    settings = settings or get_settings()
    pack = get_pack(_pack_id(session, ticket))
    excluded = set(exclude_user_ids)
    written = 0
    opening: datetime | None | bool = False  # computed lazily, once
    for destination in destinations_for(
        session=session, ticket=ticket, pack=pack, event=event, settings=settings
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
        row = Notification(
            idempotency_key=(
                f"{key}|{destination.audience}|{destination.channel}|{destination.chat_id}"
            )[:200],
            ticket_id=ticket.id,
            user_id=destination.user_id,
            audience=destination.audience,
            event=event,
            channel=destination.channel,
            chat_id=destination.chat_id,
            lang=destination.lang,
            text=text,
            actions=_actions_for(event, destination, ticket),
            status=status,
            next_attempt_at=next_attempt,
            created_at=now,
        )
        written += int(_insert_ignoring_duplicates(session, row))
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
    from bot.db.models import Contract

    contract = session.get(Contract, ticket.contract_id)
    assert contract is not None
    return contract.pack_id
