"""`supportbot sla …`: due instants and their explanation."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from bot.sla.clock import DueInstants, ResolvedTarget, SlaLookupError, compute_due
from bot.sla.explain import explain_target, render_explanation
from bot.sla.rules import Pause, RuleError
from pricing.loader import PackError, get_pack
from pricing.schema import ContractPack
from pricing.terms import ContractTerms, OptionError

app = typer.Typer(help="SLA deadlines: compute and explain due instants.", no_args_is_help=True)

PACK = typer.Option(..., "--pack", help="Contract pack id, e.g. telenet-hosting-cloud.")
SERVICE_LEVEL = typer.Option(
    None, "--service-level", help="Service level id (default: the pack's default)."
)
INTERVENTION = typer.Option(None, "--intervention", help="Intervention id from the catalog.")
KIND = typer.Option(..., "--kind", help="Request kind: incident, change, information, ...")
PRIORITY = typer.Option(..., "--priority", help="Priority id, e.g. express or p1.")
LOGGED = typer.Option(..., "--logged", help="Logging instant, ISO 8601 with an offset.")
PAUSES = typer.Option(
    None, "--pause", help="Stop-clock interval START/END (ISO 8601; END empty = still paused)."
)
OPTIONS = typer.Option(
    None, "--option", help="Contract option KEY=VALUE, e.g. gtr_hours=2 (repeatable)."
)


class InputError(ValueError):
    """A command-line value cannot be used."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _instant(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{what} {text!r} has no UTC offset (write e.g. {text}+01:00)")
    return value


def _pauses(values: list[str] | None) -> list[Pause]:
    pauses: list[Pause] = []
    for value in values or []:
        start_text, sep, end_text = value.partition("/")
        if not sep:
            raise InputError(f"pause {value!r} must be START/END (END may be empty)")
        start = _instant(start_text, "pause start")
        end = _instant(end_text, "pause end") if end_text.strip() else None
        if end is not None and end < start:
            raise InputError(f"pause {value!r} ends before it starts")
        pauses.append(Pause(start=start, end=end))
    return pauses


def _options(values: list[str] | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise InputError(f"option {value!r} must be KEY=VALUE")
        options[key.strip()] = text.strip()
    return options


def _pack(pack_id: str) -> ContractPack:
    try:
        return get_pack(pack_id)
    except (LookupError, OSError, ValueError, PackError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot load pack {pack_id!r}: {message}") from None


def _show(value: datetime | None, zone: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def _label(target: ResolvedTarget | None) -> str | None:
    return None if target is None else target.label


def _compute(
    *,
    pack: str,
    service_level: str | None,
    intervention: str | None,
    kind: str,
    priority: str,
    logged: str,
    pause: list[str] | None,
    option: list[str] | None,
) -> tuple[ContractPack, datetime, list[Pause], DueInstants]:
    """Parse the shared arguments and compute the due instants (exit 2 on bad input)."""
    try:
        logged_at = _instant(logged, "--logged")
        pauses = _pauses(pause)
        contract = _pack(pack)
        terms = ContractTerms.of(contract, options=_options(option), service_level=service_level)
        result = compute_due(
            contract,
            kind=kind,
            priority=priority,
            service_level=service_level,
            intervention=intervention,
            logged_at=logged_at,
            pauses=pauses,
            terms=terms,
        )
    except (InputError, OptionError, SlaLookupError, RuleError) as exc:
        raise _fail(str(exc)) from None
    return contract, logged_at, pauses, result


@app.command()
def due(
    pack: str = PACK,
    service_level: str | None = SERVICE_LEVEL,
    intervention: str | None = INTERVENTION,
    kind: str = KIND,
    priority: str = PRIORITY,
    logged: str = LOGGED,
    pause: list[str] | None = PAUSES,
    option: list[str] | None = OPTIONS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the response and resolution due instants of a ticket."""
    contract, logged_at, pauses, result = _compute(
        pack=pack,
        service_level=service_level,
        intervention=intervention,
        kind=kind,
        priority=priority,
        logged=logged,
        pause=pause,
        option=option,
    )
    zone = ZoneInfo(result.targets.display_zone)
    payload = {
        "response_due": _show(result.response_due, zone),
        "resolution_due": _show(result.resolution_due, zone),
        "response_target": _label(result.targets.response),
        "resolution_target": _label(result.targets.resolution),
    }
    if as_json:
        typer.echo(json.dumps(payload))
        return
    for name in ("response", "resolution"):
        target = payload[f"{name}_target"]
        when = payload[f"{name}_due"]
        if when is None:
            when = "none" if target in (None, "best effort") else "none (clock paused)"
        typer.echo(f"{name + ' due:':16}{when}  ({target or 'no target'})")


@app.command()
def explain(
    pack: str = PACK,
    service_level: str | None = SERVICE_LEVEL,
    intervention: str | None = INTERVENTION,
    kind: str = KIND,
    priority: str = PRIORITY,
    logged: str = LOGGED,
    pause: list[str] | None = PAUSES,
    option: list[str] | None = OPTIONS,
) -> None:
    """Explain day by day how the response and resolution due instants are reached."""
    contract, logged_at, pauses, result = _compute(
        pack=pack,
        service_level=service_level,
        intervention=intervention,
        kind=kind,
        priority=priority,
        logged=logged,
        pause=pause,
        option=option,
    )
    zone = ZoneInfo(result.targets.display_zone)
    level = result.targets.service_level
    heading = f"{contract.id}: {kind} / {priority}" + (f" / {level}" if level else "")
    typer.echo(heading)
    for name, target in (
        ("response", result.targets.response),
        ("resolution", result.targets.resolution),
    ):
        typer.echo("")
        if target is None:
            typer.echo(f"{name}: no target")
            continue
        explanation = explain_target(target=target, logged_at=logged_at, pauses=pauses, zone=zone)
        for line in render_explanation(explanation=explanation, title=name):
            typer.echo(line)
