"""`supportbot quote`, `supportbot ledger …` and `supportbot remedies …`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from sqlmodel import Session, col, select

from bot.db.models import Contract, LedgerEntry, User, utcnow
from bot.services import ledger, timebank
from bot.services.contracts import terms_of
from bot.services.errors import ServiceError
from pricing import quotes as quotes_module
from pricing import remedies
from pricing.remedies import RemedyError, RemedyResult
from pricing.schema import ContractPack, PriceRuleType
from pricing.terms import AccountKind, pack_zone

CENT = Decimal("0.01")

ledger_app = typer.Typer(
    help="Contract accounts: show balances and entries, buy credits or hours, adjust.",
    no_args_is_help=True,
)
remedies_app = typer.Typer(
    help=(
        "SLA remedies: compute what the provider owes. One command per remedy; each reads its "
        "numbers from a pack (--pack, default the provider's) so another pack with the same "
        "remedy type can reuse it."
    ),
    no_args_is_help=True,
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


class CliError(ValueError):
    """A command-line value or lookup that cannot be used."""


def _fail(message: str) -> typer.Exit:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    typer.echo(f"error: {first}", err=True)
    return typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (CliError, ServiceError, RemedyError, LookupError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _pack(pack_id: str) -> ContractPack:
    from pricing.loader import get_pack

    return get_pack(pack_id)


def _decimal(text: str, what: str, *, allow_negative: bool = False) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise CliError(f"{what} {text!r} is not a number")
    if value < 0 and not allow_negative:
        raise CliError(f"{what} must not be negative, got {text}")
    return value


def _month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        date(year, month, 1)
    except ValueError:
        raise CliError(f"month {text!r} is not YYYY-MM") from None
    return year, month


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- quote


def quote(
    pack: str = typer.Option(..., "--pack", help="Contract pack id, e.g. telenet-hosting-cloud."),
    intervention: str = typer.Option(..., "--intervention", help="Intervention id."),
    priority: str = typer.Option(..., "--priority", help="Priority id, e.g. standard, express."),
    minutes: int | None = typer.Option(
        None, "--minutes", help="Estimated minutes (per-quarter-hour prices)."
    ),
    units: int | None = typer.Option(None, "--units", help="Number of units (per-unit prices)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Price an intervention at a priority; exit 0 even when the priority is not available."""
    with _errors():
        if minutes is not None and minutes < 0:
            raise CliError(f"--minutes must not be negative, got {minutes}")
        if units is not None and units < 1:
            raise CliError(f"--units must be at least 1, got {units}")
        contract_pack = _pack(pack)
        result = quotes_module.quote(
            pack=contract_pack,
            intervention_id=intervention,
            priority=priority,
            minutes=minutes,
            units=units,
        )
    if as_json:
        payload = {
            "rule": result.rule.value,
            "credits": _text(result.credits),
            "rate": _text(result.rate),
            "quarters": result.quarters,
            "units": result.units,
            "estimate": result.estimate,
            "available": result.available,
            "max_priority": result.max_priority,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    unit = contract_pack.balance.unit.value
    head = f"{intervention} at {priority}: "
    if not result.available:
        typer.echo(f"{head}not available; highest priority allowed: {result.max_priority}")
        return
    if result.credits is None:
        typer.echo(f"{head}price on request (agreed with the provider before the work)")
        return
    if result.rule is PriceRuleType.FREE:
        typer.echo(f"{head}free")
        return
    amount = f"{'from ' if result.estimate else ''}{result.credits} {unit}"
    detail = {
        PriceRuleType.PER_QUARTER_HOUR: (
            f"{result.quarters} started quarter hour(s) x {result.rate} {unit}"
        ),
        PriceRuleType.PER_UNIT: f"{result.units} {result.unit} x {result.rate}",
        PriceRuleType.FIXED: "fixed price",
    }.get(result.rule, "")
    estimate = "; estimate" if result.estimate else ""
    typer.echo(f"{head}{amount} ({detail}{estimate})")


# --------------------------------------------------------------------------- ledger


@contextmanager
def _session() -> Iterator[Session]:
    from bot.db.engine import get_engine, transaction
    from bot.db.migrate import DatabaseNotReadyError

    try:
        engine = get_engine()
    except DatabaseNotReadyError as exc:
        raise CliError(str(exc)) from None
    with transaction(engine) as session:
        yield session


def _tenant_contracts(session: Session, slug: str) -> list[Contract]:
    from bot.services.tenants import get_tenant

    tenant = get_tenant(session=session, slug=slug)
    query = select(Contract).where(Contract.tenant_id == tenant.id).order_by(col(Contract.id))
    return list(session.exec(query).all())


def _account(session: Session, slug: str, contract_id: int | None) -> Contract:
    contracts = _tenant_contracts(session, slug)
    if contract_id is not None:
        for contract in contracts:
            if contract.id == contract_id:
                return contract
        raise CliError(f"tenant {slug!r} has no contract {contract_id}")
    prepaid = [
        c
        for c in contracts
        if c.active and terms_of(session=session, contract=c).account is not AccountKind.NONE
    ]
    if len(prepaid) == 1:
        return prepaid[0]
    if not prepaid:
        raise CliError(f"tenant {slug!r} has no prepaid account")
    ids = ", ".join(str(c.id) for c in prepaid)
    raise CliError(f"tenant {slug!r} has several accounts ({ids}): choose one with --contract")


def _actor(session: Session, handle: str | None) -> int | None:
    if handle is None:
        return None
    user = session.exec(select(User).where(User.handle == handle)).first()
    if user is None:
        raise CliError(f"unknown user {handle!r}")
    return user.id


def _entry_json(row: LedgerEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "type": str(row.type),
        "amount": str(row.amount),
        "ticket_id": row.ticket_id,
        "actor_id": row.actor_id,
        "reason": row.reason,
        "invoice_line": row.invoice_line,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "related_id": row.related_id,
    }


@ledger_app.command("show")
def ledger_show(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Balances per contract and their entries (time banks are brought up to date first)."""
    with _errors(), _session() as session:
        contracts = _tenant_contracts(session, tenant)
        accounts: list[dict[str, Any]] = []
        now = utcnow()
        for contract in contracts:
            assert contract.id is not None
            pack = _pack(contract.pack_id)
            if terms_of(session=session, contract=contract).account is AccountKind.TIME_BANK:
                timebank.ensure_period(session=session, contract_id=contract.id, now=now, pack=pack)
            rows = ledger.entries(session=session, contract_id=contract.id)
            accounts.append(
                {
                    "contract_id": contract.id,
                    "pack": contract.pack_id,
                    "label": contract.label,
                    "active": contract.active,
                    "unit": pack.balance.unit.value,
                    "balance": str(ledger.balance(session=session, contract_id=contract.id)),
                    "available": str(ledger.available(session=session, contract_id=contract.id)),
                    "entries": [_entry_json(row) for row in rows],
                }
            )
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "accounts": accounts}, indent=2))
        return
    if not accounts:
        typer.echo(f"{tenant}: no contracts")
    for account in accounts:
        unit = account["unit"]
        typer.echo(
            f"contract {account['contract_id']} ({account['pack']}): balance "
            f"{account['balance']} {unit}, available {account['available']} {unit}"
        )
        for entry in account["entries"]:
            ticket = f" ticket {entry['ticket_id']}" if entry["ticket_id"] else ""
            text = entry["invoice_line"] or entry["reason"] or ""
            typer.echo(
                f"  #{entry['id']} {entry['at'][:16]} {entry['type']:<10} "
                f"{entry['amount']:>8}{ticket}  {text}".rstrip()
            )


@ledger_app.command("buy")
def ledger_buy(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    credits: str = typer.Option(
        ..., "--credits", help="Amount in the account's unit (credits; hours for a time bank)."
    ),
    contract: int | None = typer.Option(
        None, "--contract", help="Contract id (needed when the tenant has several accounts)."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Handle of the user recording it."),
) -> None:
    """Record a purchase of credits (or of extra hours on a time bank)."""
    with _errors(), _session() as session:
        amount = _decimal(credits, "--credits")
        account = _account(session, tenant, contract)
        assert account.id is not None
        pack = _pack(account.pack_id)
        actor_id = _actor(session, actor)
        kind = terms_of(session=session, contract=account, pack=pack).account
        if kind is AccountKind.NONE:
            raise CliError(f"contract {account.id} ({account.pack_id}) is invoiced, not prepaid")
        if kind is AccountKind.TIME_BANK:
            row = timebank.buy_extra(
                session=session,
                contract_id=account.id,
                hours=amount,
                now=utcnow(),
                actor_id=actor_id,
                pack=pack,
            )
        else:
            row = ledger.purchase(
                session=session, contract_id=account.id, amount=amount, actor_id=actor_id, pack=pack
            )
        after = ledger.balance(session=session, contract_id=account.id)
    unit = pack.balance.unit.value
    typer.echo(f"contract {account.id}: +{row.amount} {unit}, balance {after} {unit}")


@ledger_app.command("adjust")
def ledger_adjust(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    amount: str = typer.Option(..., "--amount", help="Signed amount, e.g. 5 or -2.5."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with the entry)."),
    contract: int | None = typer.Option(
        None, "--contract", help="Contract id (needed when the tenant has several accounts)."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Handle of the user recording it."),
) -> None:
    """Record an administrator's correction with its reason."""
    with _errors(), _session() as session:
        value = _decimal(amount, "--amount", allow_negative=True)
        account = _account(session, tenant, contract)
        assert account.id is not None
        pack = _pack(account.pack_id)
        row = ledger.adjust(
            session=session,
            contract_id=account.id,
            amount=value,
            reason=reason,
            actor_id=_actor(session, actor),
            pack=pack,
        )
        after = ledger.balance(session=session, contract_id=account.id)
    unit = pack.balance.unit.value
    typer.echo(f"contract {account.id}: {row.amount:+} {unit}, balance {after} {unit}")


# --------------------------------------------------------------------------- remedies


def _shown(result: RemedyResult) -> Decimal:
    # Euros are shown to the cent (the computation itself stays exact).
    return result.amount.quantize(CENT) if result.unit == "eur" else result.amount


def _print_remedy(result: RemedyResult, as_json: bool) -> None:
    deadline = result.claim_deadline.isoformat() if result.claim_deadline else None
    if as_json:
        payload = {
            "amount": str(_shown(result)),
            "unit": result.unit,
            "basis": result.basis,
            "clause": result.clause,
            "claim_deadline": deadline,
            "remedy_id": result.remedy_id,
            "capped": result.capped,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(f"{_shown(result)} {result.unit}: {result.basis} [{result.clause}]")
    if deadline:
        typer.echo(f"claim by {deadline}")


def _remedy_command(compute: Callable[[], RemedyResult], as_json: bool) -> None:
    with _errors():
        result = compute()
    _print_remedy(result, as_json)


REMEDY_ID = typer.Option(None, "--remedy-id", help="Remedy id when the pack has several.")
MONTHLY_FEE = typer.Option(..., "--monthly-fee", help="Monthly fee of the service (EUR).")
ALREADY = typer.Option("0", "--already-granted", help="Amount already granted under the cap.")


@remedies_app.command("telenet-waiver")
def telenet_waiver(
    pack: str = typer.Option("telenet-hosting-cloud", "--pack", help="Pack with a waiver."),
    credits_due: str | None = typer.Option(
        None, "--credits-due", help="Credits due (else computed from the intervention)."
    ),
    intervention: str | None = typer.Option(None, "--intervention", help="Intervention id."),
    priority: str | None = typer.Option(None, "--priority", help="Priority id."),
    minutes: int | None = typer.Option(None, "--minutes", help="Minutes recorded."),
    units: int | None = typer.Option(None, "--units", help="Units (per-unit prices)."),
    remedy_id: str | None = REMEDY_ID,
    as_json: bool = JSON_OPTION,
) -> None:
    """Credits waived when a response or resolution time is missed (type waiver)."""

    def compute() -> RemedyResult:
        contract_pack = _pack(pack)
        remedy = remedies.find_remedy(contract_pack, "waiver", remedy_id)
        if credits_due is not None:
            due = _decimal(credits_due, "--credits-due")
        elif intervention and priority:
            if minutes is not None and minutes < 0:
                raise CliError(f"--minutes must not be negative, got {minutes}")
            charged = quotes_module.charge_for(
                pack=contract_pack,
                intervention_id=intervention,
                priority=priority,
                recorded_minutes=minutes or 0,
                units=units,
            )
            if not charged.available:
                raise CliError(f"{priority} is not available (highest: {charged.max_priority})")
            if charged.credits is None:
                raise CliError("price on request: give --credits-due")
            due = charged.credits
        else:
            raise CliError("give --credits-due, or --intervention and --priority")
        return remedies.waiver(
            remedy=remedy, credits_due=due, unit=contract_pack.balance.unit.value
        )

    _remedy_command(compute, as_json)


@remedies_app.command("proximus-p1")
def proximus_p1(
    monthly_fee: str = MONTHLY_FEE,
    month: str = typer.Option(..., "--month", help="Month of the breaches, YYYY-MM."),
    breaches: int = typer.Option(1, "--breaches", help="Missed P1 restorations that month."),
    already_granted: str = ALREADY,
    pack: str = typer.Option("proximus-internet", "--pack", help="Pack with the remedy."),
    remedy_id: str | None = REMEDY_ID,
    as_json: bool = JSON_OPTION,
) -> None:
    """Service credit per missed P1 restoration, capped per month (service_credit_per_breach)."""

    def compute() -> RemedyResult:
        year, number = _month(month)
        if breaches < 0:
            raise CliError(f"--breaches must not be negative, got {breaches}")
        return remedies.service_credit_per_breach(
            remedy=remedies.find_remedy(_pack(pack), "service_credit_per_breach", remedy_id),
            monthly_fee=_decimal(monthly_fee, "--monthly-fee"),
            breaches=breaches,
            breach_day=date(year, number, 1),
            already_granted=_decimal(already_granted, "--already-granted"),
        )

    _remedy_command(compute, as_json)


@remedies_app.command("proximus-availability")
def proximus_availability(
    monthly_fee: str = MONTHLY_FEE,
    availability: str = typer.Option(..., "--availability", help="Measured percent, e.g. 99.6."),
    period_end: str | None = typer.Option(
        None, "--period-end", help="Last day of the measured year (gives the claim deadline)."
    ),
    pack: str = typer.Option("proximus-internet", "--pack", help="Pack with the remedy."),
    remedy_id: str | None = REMEDY_ID,
    as_json: bool = JSON_OPTION,
) -> None:
    """Percent of the monthly fee when availability is below a threshold (availability_table)."""

    def compute() -> RemedyResult:
        return remedies.availability_table(
            remedy=remedies.find_remedy(_pack(pack), "availability_table", remedy_id),
            monthly_fee=_decimal(monthly_fee, "--monthly-fee"),
            availability=_decimal(availability, "--availability"),
            period_end=_day(period_end, "--period-end") if period_end else None,
        )

    _remedy_command(compute, as_json)


@remedies_app.command("alteo-availability")
def alteo_availability(
    monthly_fee: str = MONTHLY_FEE,
    downtime_minutes: str = typer.Option(
        ..., "--downtime-minutes", help="Downtime in the month, minutes (decimals allowed)."
    ),
    month: str = typer.Option(..., "--month", help="Month measured, YYYY-MM."),
    pack: str = typer.Option("alteo-hosting", "--pack", help="Pack with the remedy."),
    remedy_id: str | None = REMEDY_ID,
    as_json: bool = JSON_OPTION,
) -> None:
    """Percent per started slice of downtime below the monthly target (availability_per_slice)."""

    def compute() -> RemedyResult:
        year, number = _month(month)
        contract_pack = _pack(pack)
        zone = pack_zone(contract_pack)
        return remedies.availability_per_slice(
            remedy=remedies.find_remedy(contract_pack, "availability_per_slice", remedy_id),
            monthly_fee=_decimal(monthly_fee, "--monthly-fee"),
            downtime_minutes=_decimal(downtime_minutes, "--downtime-minutes"),
            period_minutes=remedies.month_minutes(year, number, zone),
        )

    _remedy_command(compute, as_json)


@remedies_app.command("alteo-gtr")
def alteo_gtr(
    monthly_fee: str = MONTHLY_FEE,
    overrun_minutes: str = typer.Option(
        ..., "--overrun-minutes", help="Minutes beyond the guaranteed restoration time."
    ),
    already_granted: str = ALREADY,
    pack: str = typer.Option("alteo-hosting", "--pack", help="Pack with the remedy."),
    remedy_id: str | None = REMEDY_ID,
    as_json: bool = JSON_OPTION,
) -> None:
    """Percent of the monthly fee by overrun step, cumulated cap (gtr_overrun)."""

    def compute() -> RemedyResult:
        return remedies.gtr_overrun(
            remedy=remedies.find_remedy(_pack(pack), "gtr_overrun", remedy_id),
            monthly_fee=_decimal(monthly_fee, "--monthly-fee"),
            overrun_minutes=_decimal(overrun_minutes, "--overrun-minutes", allow_negative=True),
            already_granted=_decimal(already_granted, "--already-granted"),
        )

    _remedy_command(compute, as_json)
