"""Contract clauses in the reader's words: the lines shown on a card, in a quote, in a breach
message or in a claim (`pricing.notes` says which clauses; this module words them)."""

from __future__ import annotations

import re

from bot.i18n import Translator
from pricing.notes import Where, notes_for
from pricing.schema import ContractPack

_REF = r"\d+(?:\.\d+)*\.?(?: ?\(?[a-z]\)?)?"
_NUMBERED = re.compile(rf"{_REF}(?:[,;] ?{_REF})*")
_LEADING = re.compile(r"(\d+(?:\.\d+)*)\.?\s")


def clause_ref(clause: str, lang: str) -> str | None:
    """The clause as shown in `lang`: numbers everywhere, French headings in French only
    (``5.1. SLA 99,9 % …`` is ``5.1`` in Dutch and English; a heading alone is nothing)."""
    clause = " ".join(clause.split())
    if lang == "fr" or _NUMBERED.fullmatch(clause):
        return clause
    leading = _LEADING.match(clause)
    return leading.group(1) if leading else None


def clause_lines(
    *,
    t: Translator,
    pack: ContractPack,
    where: Where,
    intervention_id: str | None = None,
    kind: str | None = None,
    target: str | None = None,
    remedy_type: str | None = None,
) -> list[str]:
    """One line per clause the reader must see here, in their language, naming the clause."""
    lines: list[str] = []
    for note in notes_for(
        pack,
        where=where,
        intervention_id=intervention_id,
        kind=kind,
        target=target,
        remedy_type=remedy_type,
    ):
        text = " ".join(note.labels.get(t.lang).split())
        if note.clause:
            text = t.gettext("%(text)s (clause %(clause)s)") % {"text": text, "clause": note.clause}
        lines.append("ℹ️ " + text)
    return lines
