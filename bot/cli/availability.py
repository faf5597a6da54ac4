"""`supportbot availability`: a customer's measured availability, target, remedy, deadline."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import typer
from sqlmodel import select

from bot.db.engine import get_engine, transaction
from bot.db.models import Tenant, utcnow
from bot.i18n import translator
from bot.services import availability
from bot.services.availability_words import availability_text
from bot.services.errors import InputError
from pricing.loader import get_pack
from pricing.terms import pack_zone


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _json(figure: availability.Measure) -> dict[str, Any]:
    result = figure.result
    return {
        "contract_id": figure.contract.id,
        "pack": figure.contract.pack_id,
        "period": figure.period.label,
        "complete": figure.complete,
        "availability_percent": str(figure.availability.quantize(Decimal("0.0001"))),
        "downtime_minutes": str(figure.downtime_minutes.quantize(Decimal("0.01"))),
        "maintenance_excluded_minutes": str(figure.excluded_minutes.quantize(Decimal("0.01"))),
        "period_minutes": str(figure.total_minutes),
        "target_percent": str(figure.remedy.availability_target),
        "max_downtime_minutes": (
            None
            if figure.remedy.max_downtime_minutes is None
            else str(figure.remedy.max_downtime_minutes)
        ),
        "missed": figure.missed,
        "remedy_id": figure.remedy.id,
        "clause": figure.remedy.clause,
        "percent_of_monthly_fee": str(figure.percent),
        "amount_eur": str(result.amount) if figure.fee_known else None,
        "claim_deadline": (
            result.claim_deadline.isoformat() if figure.missed and result.claim_deadline else None
        ),
        "tickets": figure.tickets,
    }


def availability_command(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    contract: int | None = typer.Option(None, "--contract", help="One contract id."),
    period: str = typer.Option(
        "", "--period", help="2026 (a year) or 2026-11 (a month); default: the current one."
    ),
    lang: str = typer.Option("en", "--lang", help="fr, nl or en (text output)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Measured availability from outage tickets: figure, target, remedy and claim deadline."""
    now = utcnow()
    with transaction(get_engine()) as session:
        row = session.exec(select(Tenant).where(Tenant.slug == tenant)).first()
        if row is None or row.id is None:
            raise _fail(f"no tenant {tenant!r}")
        contracts = availability.contracts_of(
            session=session, tenant_id=row.id, contract_id=contract
        )
        if not contracts:
            which = f"contract {contract}" if contract is not None else f"tenant {tenant!r}"
            raise _fail(f"{which} has no contract that promises an availability")
        figures: list[availability.Measure] = []
        for item in contracts:
            pack = get_pack(item.pack_id)
            remedy = availability.availability_remedy(pack, item.service_level)
            assert remedy is not None
            try:
                chosen = availability.periods(
                    text=period, remedy=remedy, zone=pack_zone(pack), now=now
                )
            except InputError:
                raise _fail(f"--period {period!r}: use YYYY or YYYY-MM") from None
            figures += [
                availability.measure(session=session, contract=item, period=p, now=now)
                for p in chosen
            ]
        if as_json:
            typer.echo(json.dumps([_json(f) for f in figures], ensure_ascii=False))
            return
        t = translator(lang)
        typer.echo("\n\n".join(availability_text(t, f) for f in figures))
