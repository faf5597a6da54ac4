"""Load contract packs from YAML, cross-check them, and render them as plain JSON data.

A pack is accepted whole or refused whole: any schema error or broken cross-reference
raises :class:`PackError` naming the file, the field path and the reason.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import holidays
import yaml
from pydantic import ValidationError

from pricing.schema import (
    LANGS,
    Calendar,
    Category,
    ContractPack,
    Intervention,
    Labels,
    PriceRule,
    PriceRuleType,
    Priority,
    SlaTarget,
)
from pricing.terms import OptionError, parse_option

DEFAULT_PACKS_DIR = Path(__file__).resolve().parent / "packs"
PACK_SUFFIXES = (".yaml", ".yml")

__all__ = [
    "DEFAULT_PACKS_DIR",
    "PackError",
    "PackIssue",
    "UnknownInterventionError",
    "UnknownPackError",
    "check_pack",
    "clear_cache",
    "find_intervention",
    "get_pack",
    "load_pack_file",
    "load_packs",
    "max_priority",
    "pack_json_schema",
    "pack_to_json",
]


@dataclass(frozen=True, slots=True)
class PackIssue:
    """One problem in a pack: where (file, field path) and why."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.reason}"


class PackError(Exception):
    """A pack file that cannot be used; the message lists every issue, one per line."""

    def __init__(self, issues: Iterable[PackIssue]) -> None:
        self.issues: tuple[PackIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @classmethod
    def single(cls, file: str | Path, path: str, reason: str) -> PackError:
        """An error with one issue."""
        return cls([PackIssue(str(file), path, reason)])


class UnknownPackError(LookupError):
    """No pack with this id among the loaded packs."""

    def __init__(self, pack_id: str, known: Iterable[str]) -> None:
        self.pack_id = pack_id
        self.known = tuple(sorted(known))
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown pack {pack_id!r} (known packs: {listed})")


class UnknownInterventionError(LookupError):
    """No intervention with this id in the pack."""

    def __init__(self, pack_id: str, intervention_id: str) -> None:
        self.pack_id = pack_id
        self.intervention_id = intervention_id
        super().__init__(f"unknown intervention {intervention_id!r} in pack {pack_id!r}")


# --------------------------------------------------------------------------- YAML


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError.single(path, "", f"cannot read the file ({exc})") from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise PackError.single(path, where, f"invalid YAML: {reason}") from exc
    except yaml.YAMLError as exc:
        raise PackError.single(path, "", f"invalid YAML: {exc}") from exc


# --------------------------------------------------------------------------- validation


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    """Render a pydantic location, naming list items by their id when they have one."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label: str = str(item)
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    label = node["id"]
            else:
                node = None
            parts.append(f"[{label}]")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            parts.append(f".{item}" if parts else item)
    return "".join(parts)


def _validation_issues(file: str, exc: ValidationError, data: Any) -> list[PackIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        reason = error["msg"]
        value = error.get("input")
        if error["type"] != "missing" and isinstance(value, str | int | float | bool):
            reason = f"{reason} (got {value!r})"
        issues.append(PackIssue(file, _format_loc(tuple(error["loc"]), data), reason))
    return issues


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for item in ids:
        if item in seen and item not in dups:
            dups.append(item)
        seen.add(item)
    return dups


def _check_targets(
    targets: list[SlaTarget],
    prefix: str,
    kinds: set[str],
    priorities: set[str],
    calendars: set[str],
) -> Iterator[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for i, target in enumerate(targets):
        at = f"{prefix}[{i}]"
        if target.kind not in kinds:
            yield f"{at}.kind", f"unknown kind {target.kind!r}"
        if target.priority not in priorities:
            yield f"{at}.priority", f"unknown priority {target.priority!r}"
        if (target.kind, target.priority) in pairs:
            yield at, f"second target for ({target.kind}, {target.priority})"
        pairs.add((target.kind, target.priority))
        for name in ("response", "resolution"):
            rule = getattr(target, name)
            calendar = getattr(rule, "calendar", None)
            if calendar is not None and calendar not in calendars:
                yield f"{at}.{name}.calendar", f"unknown calendar {calendar!r}"


def _check_options(pack: ContractPack) -> Iterator[tuple[str, str]]:
    """Each option's default is a valid value of it; each option the pack reads is declared."""
    numeric = {o.id for o in pack.options if o.type in ("decimal", "int")}
    for option in pack.options:
        at = f"options[{option.id}]"
        bounded = any(bound is not None for bound in (option.gt, option.ge, option.le))
        if bounded and option.id not in numeric:
            yield at, f"bounds apply to numbers only, not to type {option.type!r}"
        if option.default is not None:
            try:
                parse_option(option, option.default, pack)
            except OptionError as exc:
                yield f"{at}.default", exc.reason
    read: list[tuple[str, str]] = []
    targets = [("sla_targets", pack.sla_targets)] + [
        (f"service_levels[{level.id}].targets", level.targets) for level in pack.service_levels
    ]
    for prefix, entries in targets:
        for i, target in enumerate(entries):
            for name in ("response", "resolution"):
                hours_option = getattr(getattr(target, name), "hours_option", None)
                if hours_option is not None:
                    read.append((f"{prefix}[{i}].{name}.hours_option", hours_option))
    bank = pack.balance.time_bank
    if bank is not None:
        read.append(("balance.time_bank.monthly_allowance_option", bank.monthly_allowance_option))
    dates = {o.id for o in pack.options if o.type == "date"}
    for c, category in enumerate(pack.categories):
        fee = category.one_off_fee
        if fee is None:
            continue
        read.append((f"categories[{c}].one_off_fee.fee_option", fee.fee_option))
        if fee.free_after_option is not None and fee.free_after_option not in dates:
            yield (
                f"categories[{c}].one_off_fee.free_after_option",
                f"reads option {fee.free_after_option!r}, which options must declare as a date",
            )
    for at, option_id in read:
        if option_id not in numeric:
            yield at, f"reads option {option_id!r}, which options must declare as a number"


def _check_calendar(calendar: Calendar, at: str) -> Iterator[tuple[str, str]]:
    try:
        zoneinfo.ZoneInfo(calendar.zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        yield f"{at}.zone", f"unknown time zone {calendar.zone!r}"
    if calendar.holidays is not None:
        supported = holidays.list_supported_countries()
        if calendar.holidays.country not in supported:
            yield f"{at}.holidays.country", f"no holidays for {calendar.holidays.country!r}"
    for day in calendar.business_days:
        if not calendar.windows.get(day):
            yield f"{at}.business_days", f"business day {day!r} has no window"


def _check_prices(
    intervention: Intervention, at: str, ranked: list[Priority], units: set[str]
) -> Iterator[tuple[str, str]]:
    priority_ids = [p.id for p in ranked]
    for priority_id in priority_ids:
        if priority_id not in intervention.prices:
            yield f"{at}.prices", f"no price rule for priority {priority_id!r}"
    for priority_id, rule in intervention.prices.items():
        if priority_id not in priority_ids:
            yield f"{at}.prices.{priority_id}", f"unknown priority {priority_id!r}"
        if rule.unit is not None and rule.unit not in units:
            yield f"{at}.prices.{priority_id}.unit", f"unknown unit {rule.unit!r}"
    available = [
        p.id
        for p in ranked
        if p.id in intervention.prices
        and intervention.prices[p.id].rule is not PriceRuleType.NOT_AVAILABLE
    ]
    if not available:
        yield f"{at}.prices", "every priority is not_available"
        return
    ceiling = available[-1]
    for priority in ranked[: priority_ids.index(ceiling)]:
        below = intervention.prices.get(priority.id)
        if below is not None and below.rule is PriceRuleType.NOT_AVAILABLE:
            yield (
                f"{at}.prices.{priority.id}",
                f"not_available below the available priority {ceiling!r} "
                "(the ceiling must be the highest available priority)",
            )


def check_pack(pack: ContractPack) -> list[tuple[str, str]]:
    """Cross-reference checks the schema cannot express, as (field path, reason) pairs."""
    problems: list[tuple[str, str]] = []
    add = problems.append
    named = {
        "priorities": [p.id for p in pack.priorities],
        "kinds": [k.id for k in pack.kinds],
        "calendars": [c.id for c in pack.calendars],
        "units": [u.id for u in pack.units],
        "categories": [c.id for c in pack.categories],
        "service_levels": [s.id for s in pack.service_levels],
        "remedies": [r.id for r in pack.remedies],
        "options": [o.id for o in pack.options],
        "intake.details": [d.id for d in pack.intake.details],
        "categories[*].interventions": [i.id for c in pack.categories for i in c.interventions],
    }
    for field, ids in named.items():
        for dup in _duplicates(ids):
            add((field, f"duplicate id {dup!r}"))
    for dup in _duplicates(str(p.rank) for p in pack.priorities):
        add(("priorities", f"duplicate rank {dup}"))

    priorities = set(named["priorities"])
    kinds = set(named["kinds"])
    calendars = set(named["calendars"])
    units = set(named["units"])
    ranked = sorted(pack.priorities, key=lambda p: p.rank)

    if pack.default_calendar not in calendars:
        add(("default_calendar", f"unknown calendar {pack.default_calendar!r}"))
    for calendar in pack.calendars:
        problems.extend(_check_calendar(calendar, f"calendars[{calendar.id}]"))

    for category in pack.categories:
        for intervention in category.interventions:
            at = f"categories[{category.id}].interventions[{intervention.id}]"
            for kind in intervention.kinds:
                if kind not in kinds:
                    add((f"{at}.kinds", f"unknown kind {kind!r}"))
            for level_id in intervention.service_levels or []:
                if level_id not in named["service_levels"]:
                    add((f"{at}.service_levels", f"unknown service level {level_id!r}"))
            problems.extend(_check_prices(intervention, at, ranked, units))

    problems.extend(_check_targets(pack.sla_targets, "sla_targets", kinds, priorities, calendars))
    # Ids "formula:tier" group tiers by formula; each group has at most one default tier.
    groups: dict[str, list[str]] = {}
    for level in pack.service_levels:
        if level.default:
            groups.setdefault(level.id.split(":")[0], []).append(level.id)
    for group, defaults in groups.items():
        if len(defaults) > 1:
            add(("service_levels", f"more than one default for {group!r}: {', '.join(defaults)}"))
    for level in pack.service_levels:
        at = f"service_levels[{level.id}]"
        if level.calendar is not None and level.calendar not in calendars:
            add((f"{at}.calendar", f"unknown calendar {level.calendar!r}"))
        problems.extend(
            _check_targets(level.targets, f"{at}.targets", kinds, priorities, calendars)
        )

    for remedy in pack.remedies:
        for key, known in (("priority", priorities), ("kind", kinds)):
            for value in remedy.applies_to.get(key, []):
                if value not in known:
                    add((f"remedies[{remedy.id}].applies_to.{key}", f"unknown {key} {value!r}"))
    office = pack.escalation.office_hours_calendar
    if office is not None and office not in calendars:
        add(("escalation.office_hours_calendar", f"unknown calendar {office!r}"))
    rungs = {rung.level for rung in pack.escalation.levels}
    outage = pack.escalation.general_outage_level
    if outage is not None and outage not in rungs:
        add(("escalation.general_outage_level", f"no escalation level {outage}"))
    for value in pack.escalation.kinds:
        if value not in kinds:
            add(("escalation.kinds", f"unknown kind {value!r}"))
    for rung in pack.escalation.levels:
        for value in rung.applies_to_priorities:
            if value not in priorities:
                add((f"escalation.levels[{rung.level}]", f"unknown priority {value!r}"))
    for detail in pack.intake.details:
        for kind in detail.kinds:
            if kind not in kinds:
                add((f"intake.details[{detail.id}].kinds", f"unknown kind {kind!r}"))
    for i, phone in enumerate(pack.intake.phone_required):
        if phone.priority not in priorities:
            add((f"intake.phone_required[{i}].priority", f"unknown priority {phone.priority!r}"))

    problems.extend(_check_options(pack))
    balance = pack.balance
    if balance.auto_top_up and balance.default_pack_size is None:
        option = balance.pack_size_option
        if option is None or option not in named["options"]:
            add(("balance", "auto_top_up needs default_pack_size or a pack_size_option in options"))
    if pack.non_routine is not None and pack.non_routine.price.unit not in (None, *units):
        add(("non_routine.price.unit", f"unknown unit {pack.non_routine.price.unit!r}"))
    return problems


def _parse_pack(data: Any, file: str) -> ContractPack:
    if not isinstance(data, dict):
        raise PackError.single(file, "", "a pack must be a YAML mapping at the top level")
    try:
        pack = ContractPack.model_validate(data)
    except ValidationError as exc:
        raise PackError(_validation_issues(file, exc, data)) from exc
    problems = check_pack(pack)
    if problems:
        raise PackError(PackIssue(file, path, reason) for path, reason in problems)
    return pack


def load_pack_file(path: Path) -> ContractPack:
    """Read, validate and cross-check one pack file; raise PackError if anything is wrong."""
    return _parse_pack(_read_yaml(path), str(path))


def _pack_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in PACK_SUFFIXES and p.is_file())


def _load_directory(directory: Path) -> dict[str, ContractPack]:
    if not directory.is_dir():
        raise PackError.single(directory, "", "not a directory")
    packs: dict[str, ContractPack] = {}
    origin: dict[str, str] = {}
    issues: list[PackIssue] = []
    for file in _pack_files(directory):
        try:
            pack = load_pack_file(file)
        except PackError as exc:
            issues.extend(exc.issues)
            continue
        if pack.id in packs:
            reason = f"pack id {pack.id!r} already used by {origin[pack.id]}"
            issues.append(PackIssue(str(file), "id", reason))
            continue
        packs[pack.id] = pack
        origin[pack.id] = str(file)
    if issues:
        raise PackError(issues)
    return dict(sorted(packs.items()))


@functools.cache
def _default_packs() -> dict[str, ContractPack]:
    return _load_directory(DEFAULT_PACKS_DIR)


def load_packs(directory: Path | None = None) -> dict[str, ContractPack]:
    """Every pack in ``directory`` (default: the shipped packs, cached) by id."""
    if directory is None:
        return dict(_default_packs())
    return _load_directory(directory)


def clear_cache() -> None:
    """Forget the cached default packs (they are read again on next use)."""
    _default_packs.cache_clear()


def get_pack(pack_id: str) -> ContractPack:
    """The shipped pack with this id; raise UnknownPackError if there is none."""
    packs = _default_packs()
    try:
        return packs[pack_id]
    except KeyError:
        raise UnknownPackError(pack_id, packs) from None


# --------------------------------------------------------------------------- helpers


def find_intervention(pack: ContractPack, intervention_id: str) -> tuple[Category, Intervention]:
    """The category and intervention with this id; raise UnknownInterventionError if none."""
    for category in pack.categories:
        for intervention in category.interventions:
            if intervention.id == intervention_id:
                return category, intervention
    raise UnknownInterventionError(pack.id, intervention_id)


def max_priority(pack: ContractPack, intervention: Intervention) -> Priority:
    """The highest-rank priority the requester may choose for this intervention (its ceiling)."""
    available = set(intervention.available_priorities)
    candidates = [p for p in pack.priorities if p.id in available]
    if not candidates:
        raise ValueError(f"intervention {intervention.id!r} has no available priority")
    return max(candidates, key=lambda p: p.rank)


def staff_priorities(pack: ContractPack, intervention: Intervention) -> list[Priority]:
    """The priorities staff may set on this intervention, highest first.

    The customer's ceiling binds staff too, unless the pack lets the desk set the priority
    at its sole discretion (`desk_sets_priority`): then every priority of the pack.
    """
    ranked = sorted(pack.priorities, key=lambda p: -p.rank)
    if pack.desk_sets_priority:
        return ranked
    available = set(intervention.available_priorities)
    return [p for p in ranked if p.id in available]


def priced_priority(pack: ContractPack, intervention: Intervention, priority: str) -> str:
    """The priority whose price applies: one the desk set above the ceiling costs the ceiling's."""
    if priority in intervention.available_priorities or not pack.desk_sets_priority:
        return priority
    return max_priority(pack, intervention).id


def _labels_json(labels: Labels, lang: str | None) -> dict[str, str]:
    if lang is None:
        return {code: labels.get(code) for code in LANGS}
    return {lang: labels.get(lang)}


def _decimal_json(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _price_json(rule: PriceRule) -> dict[str, str | None]:
    return {"rule": rule.rule.value, "credits": _decimal_json(rule.credits), "unit": rule.unit}


def pack_to_json(pack: ContractPack, lang: str | None = None) -> dict[str, Any]:
    """The pack's catalog as plain JSON data; with ``lang``, labels hold that language only."""
    if lang is not None and lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (use {', '.join(LANGS)})")
    ranked = sorted(pack.priorities, key=lambda p: p.rank)
    return {
        "id": pack.id,
        "provider": pack.provider,
        "version": pack.version,
        "source": [ref.file for ref in pack.source],
        "priorities": [
            {"id": p.id, "rank": p.rank, "labels": _labels_json(p.labels, lang)} for p in ranked
        ],
        "categories": [
            {
                "id": category.id,
                "labels": _labels_json(category.labels, lang),
                "interventions": [
                    {
                        "id": item.id,
                        "labels": _labels_json(item.labels, lang),
                        "kinds": list(item.kinds),
                        "max_priority": max_priority(pack, item).id,
                        "response_applies": item.response_applies,
                        "resolution_applies": item.resolution_applies,
                        "prices": {
                            p.id: _price_json(item.prices[p.id])
                            for p in ranked
                            if p.id in item.prices
                        },
                    }
                    for item in category.interventions
                ],
            }
            for category in pack.categories
        ],
        "service_levels": [
            {
                "id": level.id,
                "labels": _labels_json(level.labels, lang),
                "default": level.default,
                "calendar": level.calendar,
                "availability_target": _decimal_json(level.availability_target),
            }
            for level in pack.service_levels
        ],
    }


def pack_json_schema() -> str:
    """The JSON Schema of a pack file, as committed in ``pricing/pack.schema.json``."""
    schema = ContractPack.model_json_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
