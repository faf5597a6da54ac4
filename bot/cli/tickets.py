"""`supportbot ticket open` and `ticket show`: the chat's ticket services, for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from sqlmodel import Session, col, select

from bot.channels.console import render
from bot.db.engine import get_engine, transaction
from bot.db.models import Contract, Role, Tenant, Ticket, User
from bot.i18n import translator
from bot.services import billing, tickets, users
from bot.services.actors import actor_for
from bot.services.errors import ServiceError
from bot.services.ticket_sla import ticket_clocks
from bot.settings import get_settings
from handlers.desk import staff_card
from pricing.loader import UnknownInterventionError, find_intervention, get_pack

app = typer.Typer(help="Tickets: open one for a customer, show one.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _user(session: Session, handle: str) -> User:
    user = users.get_user_by_handle(session=session, handle=handle)
    if user is None:
        raise _fail(f"no user with the handle {handle!r}")
    return user


def _contract(session: Session, user: User, wanted: str, requester: User | None) -> Contract:
    """A contract by id, or by pack id among the customer's active contracts."""
    if wanted.isdigit():
        contract = session.get(Contract, int(wanted))
        if contract is None or not contract.active:
            raise _fail(f"no active contract {wanted}")
        return contract
    tenant_id = (requester or user).tenant_id
    if tenant_id is None:
        raise _fail("staff give a contract id (--contract 12), or --for a customer's person")
    query = select(Contract).where(
        Contract.tenant_id == tenant_id,
        Contract.pack_id == wanted,
        Contract.active == True,  # noqa: E712
    )
    found = session.exec(query).first()
    if found is None:
        raise _fail(f"the customer has no active contract of pack {wanted!r}")
    return found


def _representative(session: Session, contract: Contract) -> User:
    """The customer's first person (a requester, else a manager) to be the requester."""
    query = (
        select(User)
        .where(User.tenant_id == contract.tenant_id)
        .where(col(User.role).in_((Role.REQUESTER, Role.MANAGER)))
        .order_by(col(User.role).desc(), col(User.id))
    )
    found = session.exec(query).first()
    if found is None:
        raise _fail("the customer has nobody to be the requester: invite one first")
    return found


def _details(pairs: list[str]) -> dict[str, str]:
    details: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--detail takes KEY=VALUE, not {pair!r}")
        details[key.strip()] = value.strip()
    return details


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--logged must be an ISO instant with its offset, not {text!r}") from None
    if instant.tzinfo is None:
        raise _fail("--logged needs an offset, e.g. 2026-11-20T17:30:00+01:00")
    return instant.astimezone(UTC)


@app.command("open")
def ticket_open(
    handle: str = typer.Option(..., "--as", help="Who opens it: a customer's person, or staff."),
    contract_ref: str = typer.Option(..., "--contract", help="Contract id, or pack id."),
    intervention: str = typer.Option(..., "--intervention", help="Intervention id."),
    priority: str = typer.Option(..., "--priority", help="Priority id."),
    kind: str | None = typer.Option(None, "--kind", help="Kind id (default: the first)."),
    description: str = typer.Option("", "--description", help="What the customer reports."),
    detail: list[str] = typer.Option([], "--detail", help="KEY=VALUE, repeatable."),  # noqa: B008
    logged: str | None = typer.Option(None, "--logged", help="When reported (ISO, not future)."),
    for_handle: str | None = typer.Option(
        None, "--for", help="Staff: the customer's person who is the requester."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the ticket as JSON."),
) -> None:
    """Open a ticket, with the same checks as the chat (ceiling, balance, ids)."""
    now = datetime.now(UTC)
    try:
        with transaction(get_engine()) as session:
            user = _user(session, handle)
            actor = actor_for(session=session, user=user)
            requester = _user(session, for_handle) if for_handle else None
            contract = _contract(session, user, contract_ref, requester)
            if actor.is_staff and requester is None:
                requester = _representative(session, contract)
            pack = get_pack(contract.pack_id)
            try:
                _category, item = find_intervention(pack, intervention)
            except UnknownInterventionError:
                raise _fail(f"pack {pack.id} has no intervention {intervention!r}") from None
            if priority not in {p.id for p in pack.priorities}:
                raise _fail(f"pack {pack.id} has no priority {priority!r}")
            chosen_kind = kind or item.kinds[0]
            if chosen_kind not in {k.id for k in pack.kinds}:
                raise _fail(f"pack {pack.id} has no kind {chosen_kind!r}")
            ticket = tickets.open_ticket(
                session=session,
                actor=actor,
                contract=contract,
                intervention_id=intervention,
                kind=chosen_kind,
                priority=priority,
                description=description,
                details=_details(detail),
                now=now,
                requester=requester if actor.is_staff else None,
                logged_at=_instant(logged),
            )
            if as_json:
                typer.echo(json.dumps(ticket_json(session=session, ticket=ticket, now=now)))
            else:
                typer.echo(f"ticket {ticket.reference} opened")
    except ServiceError as exc:
        raise _fail(_service_message(exc)) from None


def _service_message(exc: ServiceError) -> str:
    params = exc.params
    if exc.code == "insufficient_balance":
        return f"insufficient balance: {params.get('shortfall')} short"
    return str(exc)


@app.command("show")
def ticket_show(
    reference: str = typer.Argument(..., help="Ticket reference."),
    as_json: bool = typer.Option(False, "--json", help="Every field as JSON."),
    lang: str = typer.Option("en", "--lang", help="Language of the card: fr, nl or en."),
) -> None:
    """The staff card of a ticket (or JSON with every field)."""
    now = datetime.now(UTC)
    with transaction(get_engine()) as session:
        ticket = session.exec(select(Ticket).where(Ticket.reference == reference.upper())).first()
        if ticket is None:
            raise _fail(f"no ticket {reference}")
        if as_json:
            typer.echo(json.dumps(ticket_json(session=session, ticket=ticket, now=now), indent=2))
            return
        t = translator(lang if lang in ("fr", "nl", "en") else get_settings().default_locale)
        for reply in staff_card(session=session, t=t, ticket=ticket, now=now, full=True):
            body, _options = render(reply)
            typer.echo(body)


def _clock_json(clock: Any) -> dict[str, Any] | None:
    if clock is None:
        return None
    return {
        "state": clock.state.value,
        "due_at": None if clock.due_at is None else clock.due_at.isoformat(),
        "remaining_seconds": (
            None if clock.remaining is None else int(clock.remaining.total_seconds())
        ),
    }


def _name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return None if user is None else user.handle


def ticket_json(*, session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """Every field of the staff card, as plain data."""
    contract, pack = tickets.contract_and_pack(session=session, ticket=ticket)
    tenant = session.get(Tenant, ticket.tenant_id)
    category, item = find_intervention(pack, ticket.intervention_id)
    clocks = ticket_clocks(session=session, ticket=ticket, now=now)
    cost = billing.ticket_cost(session=session, ticket=ticket)
    labels = {d.id: d.labels.get("en") for d in pack.intake.details}
    return {
        "reference": ticket.reference,
        "customer": None if tenant is None else {"slug": tenant.slug, "name": tenant.name},
        "requester": _name(session, ticket.requester_id),
        "created_by": _name(session, ticket.created_by_id),
        "contract": {
            "id": contract.id,
            "pack": pack.id,
            "provider": pack.provider,
            "label": contract.label,
            "service_level": contract.service_level,
        },
        "category": category.id,
        "intervention": item.id,
        "kind": ticket.kind,
        "priority": ticket.priority,
        "status": ticket.status.value,
        "owner": _name(session, ticket.owner_id),
        "logged_at": ticket.logged_at.isoformat(),
        "response": _clock_json(clocks.response),
        "resolution": _clock_json(clocks.resolution),
        "cost": {
            "recorded_minutes": tickets.recorded_minutes(session=session, ticket=ticket),
            "settled": cost.settled,
            "charged": str(cost.charged),
            "waived": str(cost.waived),
            "unit": pack.balance.unit.value,
        },
        "description": ticket.description,
        "details": [
            {"key": key, "label": labels.get(key, key), "value": value}
            for key, value in ticket.details.items()
        ],
        "timeline": [
            {
                "at": event.at.isoformat(),
                "type": event.type,
                "by": _name(session, event.actor_id),
                "reason": event.reason,
                "minutes": event.minutes,
                "changes": event.changes,
                "internal": event.type in tickets.INTERNAL_EVENTS,
            }
            for event in tickets.events_of(session=session, ticket=ticket, internal=True)
        ],
    }
