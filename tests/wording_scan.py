"""Scan what users are shown: no pack, priority, kind or other catalog id, and no French
contract text in a Dutch or English message.

The transcript harnesses (tests/handlers, tests/telegram, tests/slack) pass every reply
through `assert_wording`, so the whole transcript suite is scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from pydantic import BaseModel

from pricing.loader import load_packs
from pricing.schema import ContractPack, Labels
from tests.handlers.i18n_check import _catalog

SCANNED = {"replies": 0}

_SLUG_EDGE_BEFORE = r"(?<![\w/.@:-])"
_SLUG_EDGE_AFTER = r"(?![\w/@-]|:\w)"


def _pack_ids(pack: ContractPack) -> Iterable[tuple[str, str]]:
    yield "pack id", pack.id
    for priority in pack.priorities:
        yield "priority id", priority.id
    for kind in pack.kinds:
        yield "kind id", kind.id
    for category in pack.categories:
        yield "category id", category.id
        for item in category.interventions:
            yield "intervention id", item.id
    for level in pack.service_levels:
        yield "service level id", level.id
    for calendar in pack.calendars:
        yield "calendar id", calendar.id
    for unit in pack.units:
        yield "unit id", unit.id
    for detail in pack.intake.details:
        yield "detail id", detail.id


def _words(lang: str) -> frozenset[str]:
    """Every word a message in `lang` may legitimately use: its catalog and pack labels."""
    return _words_cached(lang)


@cache
def _words_cached(lang: str) -> frozenset[str]:
    texts = list(_catalog(lang).values()) + list(_catalog(lang).keys() if lang == "en" else [])
    for pack in load_packs().values():
        texts.extend(_labels_in(pack, lang))
    return frozenset(w.lower() for text in texts for w in re.findall(r"[\w-]+", text))


def _labels_in(pack: ContractPack, lang: str) -> Iterable[str]:
    for value in _walk(pack):
        if isinstance(value, Labels):
            yield value.get(lang)


def _walk(node: object) -> Iterable[object]:
    yield node
    if isinstance(node, Labels):
        return
    if isinstance(node, list | tuple):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _walk(item)
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name))


@cache
def _ids() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    found: dict[str, str] = {}
    for pack in load_packs().values():
        for what, value in _pack_ids(pack):
            found.setdefault(value, what)
    return tuple(
        (what, value, re.compile(_SLUG_EDGE_BEFORE + re.escape(value) + _SLUG_EDGE_AFTER))
        for value, what in sorted(found.items())
    )


@cache
def _french_only() -> tuple[str, ...]:
    """Contract text that exists only in French: clause references with words, and French
    labels that differ from both translations."""
    texts: set[str] = set()
    for pack in load_packs().values():
        for value in _walk(pack):
            french = isinstance(value, Labels) and value.fr not in {value.nl, value.en}
            if french and isinstance(value, Labels) and len(value.fr) >= 20:
                texts.add(value.fr)
        for value in _clauses(pack):
            words = re.sub(r"^[\d.;,\s()A-Z]*", "", value)
            if len(words) >= 12 and re.search(r"[a-zà-ÿ]{4}", words):
                texts.add(words)
    return tuple(sorted(texts, key=len, reverse=True))


def _clauses(pack: ContractPack) -> Iterable[str]:
    for value in _walk(pack):
        clause = getattr(value, "clause", None)
        if isinstance(clause, str):
            yield clause
        for name in ("clauses",):
            items = getattr(value, name, None)
            if isinstance(items, list):
                yield from (item for item in items if isinstance(item, str))


def problems(text: str, lang: str | None) -> list[str]:
    """What is wrong with `text` shown to a user speaking `lang` (None: not known)."""
    found = []
    for what, value, pattern in _ids():
        if not pattern.search(text):
            continue
        plain_word = "-" not in value and ":" not in value and not re.search(r"\d", value)
        # A one-word id ("incident", "standard") is also a word: flag it only where the
        # message's language never uses that word.
        if plain_word and (lang is None or value in _words(lang)):
            continue
        found.append(f"{what} {value!r}")
    if lang in {"nl", "en"}:
        for french in _french_only():
            if french in text:
                found.append(f"French contract text {french[:60]!r}")
    return found


def assert_wording(text: str, lang: str | None) -> None:
    """Fail when `text` shows an id or, in Dutch or English, French contract text."""
    SCANNED["replies"] += 1
    wrong = problems(text, lang)
    assert not wrong, f"{', '.join(wrong)} shown to a user ({lang}):\n{text}"


def guess_language(text: str) -> str | None:
    """The language whose catalog phrases the text uses (None when it cannot tell)."""
    scores = {}
    for lang in ("fr", "nl", "en"):
        own = _catalog(lang)
        others = set()
        for other in ("fr", "nl", "en"):
            if other != lang:
                others.update(_catalog(other).values())
        phrases = {
            (v or k).split("%(")[0].strip() for k, v in own.items() if (v or k) not in others
        }
        scores[lang] = sum(1 for p in phrases if len(p) >= 12 and p in text)
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > 0 and list(scores.values()).count(scores[best]) == 1 else None
