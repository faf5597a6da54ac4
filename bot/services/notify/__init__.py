"""Who is told what: ticket events become outbox rows, one per destination, in its language.

Split by job:

- `routing`: who hears an event (neutral recipients: customer, owner, agents of the
  provider, managers of the tenant, managers of the provider), turned into destinations
  through the channel registry's agents' rooms; the on-duty roster; the mentions;
- `hold`: customer messages held outside the contract's business hours;
- `templates`: the message texts and the agents' buttons;
- `remedies`: what a missed target owes, in words (from `ContractTerms.remedies_for`);
- `escalation`: the contract's escalation ladder and its sentences;
- `outbox`: writing the rows (`emit`, `emit_to_user`; many at once with `OutboxBatch`),
  idempotent by key.

Rows are written in the caller's transaction; senders (per channel) drain the outbox.
"""

from __future__ import annotations

from bot.services.notify.cache import cache_destinations, remember_contract
from bot.services.notify.escalation import escalation_ladder
from bot.services.notify.outbox import (
    OutboxBatch,
    RowWithFiles,
    emit,
    emit_to_user,
    rows_with_files,
    unwritten_destinations,
    write_with_files,
)
from bot.services.notify.remedies import applicable_remedies, remedy_params
from bot.services.notify.routing import (
    Destination,
    Recipient,
    destinations_for,
    resolve_staff,
)
from bot.services.notify.templates import render

__all__ = [
    "Destination",
    "OutboxBatch",
    "Recipient",
    "applicable_remedies",
    "cache_destinations",
    "destinations_for",
    "emit",
    "emit_to_user",
    "RowWithFiles",
    "rows_with_files",
    "unwritten_destinations",
    "write_with_files",
    "escalation_ladder",
    "remedy_params",
    "remember_contract",
    "render",
    "resolve_staff",
]
