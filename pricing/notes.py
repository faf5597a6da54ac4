"""Which contract clauses a reader must see, and where: on the card, in the quote, in a breach
message, in a claim.

Two sources, both from the pack: the catalog row's own ``notes`` (shown with the row on the
card and in the quote) and the pack's ``clause_notes`` (filtered by where they are shown, the
request kind, the missed target or the remedy type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pricing.loader import UnknownInterventionError, find_intervention
from pricing.schema import ContractPack, Labels

Where = Literal["card", "quote", "breach", "claim"]


@dataclass(frozen=True)
class Note:
    """One clause to show: its text in three languages and the clause it comes from."""

    labels: Labels
    clause: str | None


def notes_for(
    pack: ContractPack,
    *,
    where: Where,
    intervention_id: str | None = None,
    kind: str | None = None,
    target: str | None = None,
    remedy_type: str | None = None,
) -> list[Note]:
    """The clauses a reader of `where` must see, catalog row first."""
    notes: list[Note] = []
    if intervention_id is not None and where in ("card", "quote"):
        try:
            _category, row = find_intervention(pack, intervention_id)
        except UnknownInterventionError:
            row = None
        if row is not None and row.notes is not None:
            # A row's clause is often a French heading: the note is shown without it.
            notes.append(Note(labels=row.notes, clause=None))
    for note in pack.clause_notes:
        if where not in note.shown:
            continue
        if note.kinds and kind is not None and kind not in note.kinds:
            continue
        if note.targets and target is not None and target not in note.targets:
            continue
        if note.remedy_types and remedy_type is not None and remedy_type not in note.remedy_types:
            continue
        notes.append(Note(labels=note.labels, clause=note.clause))
    return notes
