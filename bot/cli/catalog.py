"""`supportbot catalog …`: list, show, validate and search contract packs."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from pricing.loader import (
    PACK_SUFFIXES,
    PackError,
    UnknownPackError,
    get_pack,
    load_pack_file,
    load_packs,
    max_priority,
    pack_json_schema,
    pack_to_json,
)
from pricing.schema import BalanceUnit, ContractPack, Intervention, PriceRule, PriceRuleType
from pricing.search import search_catalog

app = typer.Typer(help="Contract packs: list, show, validate, search.", no_args_is_help=True)


class Lang(StrEnum):
    """A language of the product."""

    fr = "fr"
    nl = "nl"
    en = "en"


_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "free": "gratuit",
        "fixed": "{n} crédits / intervention",
        "per_unit": "{n} crédits / {unit}",
        "per_quarter_hour": "{n} crédits / 15 min",
        "fixed_hours": "{n} h / intervention",
        "per_unit_hours": "{n} h / {unit}",
        "per_quarter_hour_hours": "{n} h / 15 min",
        "on_request": "sur demande",
        "not_available": "non disponible",
        "no_times": "pas de temps de réponse ni de résolution",
        "no_response": "pas de temps de réponse",
        "no_resolution": "pas de temps de résolution",
        "priorities": "Priorités",
        "other": "Autres interventions",
    },
    "nl": {
        "free": "gratis",
        "fixed": "{n} credits / interventie",
        "per_unit": "{n} credits / {unit}",
        "per_quarter_hour": "{n} credits / 15 min",
        "fixed_hours": "{n} u / interventie",
        "per_unit_hours": "{n} u / {unit}",
        "per_quarter_hour_hours": "{n} u / 15 min",
        "on_request": "op aanvraag",
        "not_available": "niet beschikbaar",
        "no_times": "geen reactie- of oplostijd",
        "no_response": "geen reactietijd",
        "no_resolution": "geen oplostijd",
        "priorities": "Prioriteiten",
        "other": "Andere interventies",
    },
    "en": {
        "free": "free",
        "fixed": "{n} credits / intervention",
        "per_unit": "{n} credits / {unit}",
        "per_quarter_hour": "{n} credits / 15 min",
        "fixed_hours": "{n} h / intervention",
        "per_unit_hours": "{n} h / {unit}",
        "per_quarter_hour_hours": "{n} h / 15 min",
        "on_request": "on request",
        "not_available": "not available",
        "no_times": "no response or resolution time",
        "no_response": "no response time",
        "no_resolution": "no resolution time",
        "priorities": "Priorities",
        "other": "Other interventions",
    },
}


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
PackArg = Annotated[
    str, typer.Argument(metavar="PACK", help="Pack id, e.g. telenet-hosting-cloud.")
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _pack(pack_id: str) -> ContractPack:
    try:
        return get_pack(pack_id)
    except UnknownPackError as exc:
        raise _fail(str(exc)) from None
    except PackError as exc:
        raise _fail(f"the shipped packs are broken: {exc}", code=1) from None


def _amount(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang in ("fr", "nl") else text


def _price_text(pack: ContractPack, rule: PriceRule, lang: str) -> str:
    words = _WORDS[lang]
    if rule.rule in (PriceRuleType.FREE, PriceRuleType.ON_REQUEST, PriceRuleType.NOT_AVAILABLE):
        return words[rule.rule.value]
    unit = next((u.labels.get(lang) for u in pack.units if u.id == rule.unit), rule.unit or "")
    amount = _amount(rule.credits or Decimal(0), lang)
    # A time bank counts hours: its prices are hours of the bank, never credits.
    key = rule.rule.value + ("_hours" if pack.balance.unit is BalanceUnit.HOURS else "")
    return words[key].format(n=amount, unit=unit)


def _timing_note(pack: ContractPack, item: Intervention, lang: str) -> str | None:
    words = _WORDS[lang]
    targets = [*pack.sla_targets, *(t for level in pack.service_levels for t in level.targets)]
    has_resolution = any(target.resolution is not None for target in targets)
    if not item.response_applies and (not item.resolution_applies or not has_resolution):
        return words["no_times"] if has_resolution else words["no_response"]
    if not item.response_applies:
        return words["no_response"]
    if not item.resolution_applies and has_resolution:
        return words["no_resolution"]
    return None


def _show_text(pack: ContractPack, lang: str) -> list[str]:
    ranked = sorted(pack.priorities, key=lambda p: p.rank)
    lines = [
        f"{pack.id}: {pack.title.get(lang)} ({pack.provider}, version {pack.version})",
        f"{_WORDS[lang]['priorities']}: " + ", ".join(p.labels.get(lang) for p in ranked),
    ]
    for category in pack.categories:
        lines.append("")
        lines.append(f"{category.labels.get(lang)} [{category.id}]")
        for item in category.interventions:
            lines.append(f"  {item.id}: {item.labels.get(lang)}")
            prices = "; ".join(
                f"{p.labels.get(lang)}: {_price_text(pack, item.prices[p.id], lang)}"
                for p in ranked
                if p.id in item.prices
            )
            ceiling = max_priority(pack, item).labels.get(lang)
            note = _timing_note(pack, item, lang)
            lines.append(f"      {prices}  (max {ceiling}{f'; {note}' if note else ''})")
    if pack.non_routine is not None and pack.non_routine.allowed:
        lines.append("")
        text = pack.non_routine.labels.get(lang) if pack.non_routine.labels else ""
        lines.append(f"{_WORDS[lang]['other']}: {_price_text(pack, pack.non_routine.price, lang)}")
        if text:
            lines.append(f"  {text}")
    return lines


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command("list")
def list_packs(
    as_json: JsonFlag = False,
) -> None:
    """List the shipped contract packs."""
    try:
        packs = load_packs()
    except PackError as exc:
        raise _fail(f"the shipped packs are broken: {exc}", code=1) from None
    rows = [
        {
            "id": pack.id,
            "provider": pack.provider,
            "version": pack.version,
            "title": pack.title.model_dump(),
            "categories": len(pack.categories),
            "interventions": sum(len(c.interventions) for c in pack.categories),
        }
        for pack in packs.values()
    ]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        counts = f"{row['categories']} categories, {row['interventions']} interventions"
        typer.echo(f"{row['id']}\t{row['provider']}\tversion {row['version']}\t{counts}")


@app.command()
def show(
    pack_id: PackArg,
    as_json: JsonFlag = False,
    lang: Annotated[
        Lang | None,
        typer.Option(help="Language of the labels (text default: en; JSON default: all three)."),
    ] = None,
) -> None:
    """Show a pack's categories, interventions and prices per priority."""
    pack = _pack(pack_id)
    if as_json:
        _echo_json(pack_to_json(pack, lang.value if lang else None))
        return
    for line in _show_text(pack, lang.value if lang else "en"):
        typer.echo(line)


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in PACK_SUFFIXES))
        else:
            files.append(path)
    return files


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Pack files, or directories of pack files.")],
) -> None:
    """Check pack files against the schema and their cross-references; exit 1 on error."""
    failed = False
    for path in _expand(paths):
        try:
            pack = load_pack_file(path)
        except PackError as exc:
            failed = True
            for issue in exc.issues:
                typer.echo(f"error: {issue}", err=True)
            continue
        count = sum(len(c.interventions) for c in pack.categories)
        typer.echo(
            f"ok: {path} ({pack.id}: {len(pack.categories)} categories, {count} interventions)"
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def search(
    pack_id: PackArg,
    text: Annotated[str, typer.Argument(help="Free text, as a customer would write it.")],
    lang: Annotated[Lang | None, typer.Option(help="Language of the text, if known.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="Maximum number of results.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Find the interventions of a pack that best match a free-text request."""
    pack = _pack(pack_id)
    hits = search_catalog(pack, text, lang.value if lang else None, limit)
    if as_json:
        _echo_json(
            [
                {
                    "id": hit.intervention_id,
                    "category": hit.category_id,
                    "labels": hit.labels.model_dump(),
                    "score": hit.score,
                }
                for hit in hits
            ]
        )
        return
    if not hits:
        typer.echo("no match")
        return
    shown = lang.value if lang else "en"
    for hit in hits:
        typer.echo(f"{hit.score:5.1f}  {hit.intervention_id}  {hit.labels.get(shown)}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of pack files (redirect it to pricing/pack.schema.json)."""
    typer.echo(pack_json_schema(), nl=False)
