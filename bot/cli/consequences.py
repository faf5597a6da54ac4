"""`supportbot maintenance …`, `supportbot ssl …` and `supportbot claims list`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from sqlmodel import select

from bot.db.engine import get_engine, transaction
from bot.db.models import Claim, Tenant, utcnow
from bot.services import certificates, claims, maintenance, planned_works
from bot.services.errors import ServiceError

maintenance_app = typer.Typer(
    help="Planned maintenance windows announced by a provider.", no_args_is_help=True
)
ssl_app = typer.Typer(help="SSL certificates of customers' domains.", no_args_is_help=True)
claims_app = typer.Typer(help="The register of remedies customers may claim.", no_args_is_help=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {str(message).splitlines()[0] if message else 'failed'}", err=True)
    return typer.Exit(2)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise _fail(f"{text!r} has no UTC offset (e.g. +01:00)")
    return value


# --------------------------------------------------------------------------- maintenance


@maintenance_app.command("add")
def maintenance_add(
    provider: str = typer.Option(..., "--provider", help="Provider code, e.g. ALT."),
    start: str = typer.Option(..., "--start", help="Start, ISO 8601 with offset."),
    minutes: int = typer.Option(..., "--minutes", help="Planned duration in minutes."),
    services: str = typer.Option(..., "--services", help="Services affected, in words."),
    tenants: list[str] = typer.Option(
        [], "--tenants", help="Tenant slugs affected (repeat; default: every customer)."
    ),
    emergency: bool = typer.Option(
        False, "--emergency", help="Urgent works: allowed with less notice than the contract's."
    ),
) -> None:
    """Announce planned maintenance; refused when the notice is shorter than the contract's."""
    starts_at = _instant(start)
    try:
        with transaction(get_engine()) as session:
            window = planned_works.announce(
                session=session,
                provider_code=provider.strip().upper(),
                starts_at=starts_at,
                minutes=minutes,
                services=services,
                tenant_slugs=[t for item in tenants for t in item.split(",") if t],
                emergency=emergency,
                now=utcnow(),
            )
            typer.echo(
                f"maintenance #{window.id}: {window.provider_code} "
                f"{window.starts_at.isoformat()} → {window.ends_at.isoformat()}"
                + (" (emergency)" if window.emergency else "")
            )
    except ServiceError as exc:
        raise _fail(str(exc)) from None


def _window_json(window: Any) -> dict[str, Any]:
    return {
        "id": window.id,
        "provider": window.provider_code,
        "start": window.starts_at.isoformat(),
        "end": window.ends_at.isoformat(),
        "services": window.services,
        "tenant_ids": window.tenant_ids,
        "emergency": window.emergency,
        "cancelled_at": window.cancelled_at.isoformat() if window.cancelled_at else None,
    }


@maintenance_app.command("list")
def maintenance_list(
    provider: str | None = typer.Option(None, "--provider", help="Provider code."),
    all_windows: bool = typer.Option(False, "--all", help="Include cancelled and past ones."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Announced windows, by start."""
    with transaction(get_engine()) as session:
        rows = maintenance.windows(
            session=session,
            provider_code=provider.upper() if provider else None,
            include_cancelled=all_windows,
            since=None if all_windows else utcnow(),
        )
        data = [_window_json(w) for w in rows]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    if not data:
        typer.echo("no maintenance window")
    for row in data:
        flags = " emergency" if row["emergency"] else ""
        flags += " cancelled" if row["cancelled_at"] else ""
        typer.echo(
            f"#{row['id']}\t{row['provider']}\t{row['start']} → {row['end']}\t"
            f"{row['services']}{flags}"
        )


@maintenance_app.command("cancel")
def maintenance_cancel(window_id: int = typer.Argument(..., help="Window id.")) -> None:
    """Cancel a window that has not ended."""
    try:
        with transaction(get_engine()) as session:
            planned_works.cancel(session=session, window_id=window_id, now=utcnow())
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"maintenance #{window_id} cancelled")


# --------------------------------------------------------------------------- ssl


@ssl_app.command("add")
def ssl_add(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug."),
    domain: str = typer.Option(..., "--domain", help="Domain of the certificate."),
    expires: str = typer.Option(..., "--expires", help="Expiry date, YYYY-MM-DD."),
) -> None:
    """Record a certificate (or its new expiry date)."""
    try:
        with transaction(get_engine()) as session:
            row = certificates.add(
                session=session, tenant_slug=tenant, domain=domain, expires=expires
            )
            typer.echo(f"certificate {row.domain} of {tenant} expires {row.expires_on}")
    except ServiceError as exc:
        raise _fail(str(exc)) from None


@ssl_app.command("import")
def ssl_import(
    file: Path = typer.Argument(..., help="CSV file: tenant,domain,expires (header allowed)."),
) -> None:
    """Import certificates from a CSV file, all or nothing."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from None
    try:
        with transaction(get_engine()) as session:
            rows = certificates.import_csv(session=session, text=text)
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{len(rows)} certificate(s) imported")


@ssl_app.command("list")
def ssl_list(
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant slug."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Certificates by expiry date."""
    with transaction(get_engine()) as session:
        slugs = {t.id: t.slug for t in session.exec(select(Tenant)).all()}
        tenant_id = next((i for i, s in slugs.items() if s == tenant), -1) if tenant else None
        rows = [
            {
                "tenant": slugs.get(row.tenant_id),
                "domain": row.domain,
                "expires": row.expires_on.isoformat(),
                "reminded": row.reminders,
            }
            for row in certificates.certificates(session=session, tenant_id=tenant_id)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("no certificate")
    for row in rows:
        typer.echo(f"{row['expires']}\t{row['tenant']}\t{row['domain']}")


# --------------------------------------------------------------------------- claims


def _claim_json(claim: Claim, slug: str | None) -> dict[str, Any]:
    return {
        "id": claim.id,
        "tenant": slug,
        "contract_id": claim.contract_id,
        "remedy_id": claim.remedy_id,
        "clause": claim.clause,
        "period": claim.period,
        "amount": str(claim.amount),
        "unit": claim.unit,
        "deadline": claim.deadline.isoformat() if claim.deadline else None,
        "status": claim.status,
        "facts": claim.facts,
    }


@claims_app.command("list")
def claims_list(
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant slug."),
    status: str | None = typer.Option(None, "--status", help="open, claimed, granted or expired."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remedies recorded for customers, newest first."""
    if status is not None and status not in {s.value for s in claims.ClaimStatus}:
        raise _fail("--status must be open, claimed, granted or expired")
    with transaction(get_engine()) as session:
        slugs = {t.id: t.slug for t in session.exec(select(Tenant)).all()}
        tenant_id = None
        if tenant is not None:
            tenant_id = next((i for i, s in slugs.items() if s == tenant), None)
            if tenant_id is None:
                raise _fail(f"no tenant {tenant!r}")
        claims.expire(session=session, today=utcnow().date())
        rows = [
            _claim_json(c, slugs.get(c.tenant_id))
            for c in claims.list_claims(session=session, tenant_id=tenant_id, status=status)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no claim")
    for row in rows:
        deadline = f" claim by {row['deadline']}" if row["deadline"] else ""
        typer.echo(
            f"#{row['id']}\t{row['tenant']}\t{row['period']}\t{row['amount']} {row['unit']}\t"
            f"{row['status']}\t{row['clause']}{deadline}"
        )
