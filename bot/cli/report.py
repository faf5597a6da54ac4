"""`supportbot report`: a tenant's figures of a period as CSV, PNG or text."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer
from sqlmodel import select

from bot.db.engine import get_engine, transaction
from bot.db.models import Tenant, utcnow
from bot.i18n import LANGUAGES, Translator
from bot.reports import bundle
from bot.reports.periods import parse_period
from bot.services import figures
from bot.services.errors import InputError
from pricing.loader import load_packs


class Format(StrEnum):
    """What `report` writes."""

    CSV = "csv"
    PNG = "png"
    TXT = "txt"


PERIOD_HINT = "use week, month, quarter, year, YYYY-MM, YYYY or Nd (e.g. 30d)"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def report(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug, e.g. demo-customer."),
    provider: str | None = typer.Option(
        None, "--provider", help="Only this provider's contracts (code, e.g. TLN)."
    ),
    period: str = typer.Option("month", "--period", help=PERIOD_HINT + "."),
    output_format: Format = typer.Option(Format.TXT, "--format", help="csv, png or txt."),
    output: Path | None = typer.Option(
        None, "--output", help="File to write (default: standard output; png needs a file)."
    ),
    lang: str | None = typer.Option(None, "--lang", help="fr, nl or en (default: the tenant's)."),
) -> None:
    """A tenant's report of a period: tickets CSV, compliance chart PNG, or the figures."""
    code = None if provider is None else provider.strip().upper()
    if code is not None and code not in {p.provider_code for p in load_packs().values()}:
        raise _fail(f"unknown provider {provider!r}")
    if output_format is Format.PNG and output is None:
        raise _fail("--format png needs --output FILE")
    now = utcnow()
    with transaction(get_engine()) as session:
        found = session.exec(select(Tenant).where(Tenant.slug == tenant.strip())).first()
        if found is None or found.id is None:
            raise _fail(f"unknown tenant {tenant!r}")
        language = lang or found.default_locale
        if language not in LANGUAGES:
            raise _fail(f"unknown language {language!r} (fr, nl or en)")
        try:
            chosen = parse_period(text=period, now=now, zone=found.zone)
        except InputError as exc:
            raise _fail(f"{exc}: {period!r} ({PERIOD_HINT})") from None
        scope = figures.Scope(tenant_id=found.id, provider_code=code)
        made = bundle.build(
            session=session, scope=scope, period=chosen, now=now, t=Translator(language)
        )
    data = {
        Format.CSV: made.csv,
        Format.PNG: made.chart,
        Format.TXT: (made.text + "\n").encode(),
    }[output_format]
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror}") from None
    typer.echo(f"{output}: {output_format.value}, {made.tickets} tickets in {chosen.key}")
