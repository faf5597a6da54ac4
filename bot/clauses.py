"""Contract clauses in the reader's words: the lines shown on a card, in a quote, in a breach
message or in a claim (`pricing.notes` says which clauses; this module words them)."""

from __future__ import annotations

from bot.i18n import Translator
from pricing.notes import Where, notes_for
from pricing.schema import ContractPack


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
