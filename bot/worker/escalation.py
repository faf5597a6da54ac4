"""Who hears a milestone, per pack: the routing ladder and the contract's escalation rungs.

Routing is data (`escalation` in the pack):

- a warning is an `at_risk` ping to the agents (`escalation.at_risk: agents`), or to the
  agents and the managers (`manager`);
- the due instant pings the agents;
- a breach tells the customer (with the remedy) and the agents, and the managers when
  `escalation.breach` is `manager`.

Where the pack's rungs name priorities (Proximus: levels 0-5 for P1 and P2 incidents),
each successive milestone of a clock climbs one rung: the first warning names level 0, the
next level 1, and so on up to the breach (clamped at the top rung). Staff pings name the
rung reached; the customer's breach message says how to escalate, by phone when the pack
says escalation is by phone only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.services.notify import escalation_ladder
from bot.sla.clock import MilestoneKind
from pricing.schema import ContractPack, EscalationLevel


@dataclass(frozen=True)
class Ping:
    """What a milestone becomes: the event, its audiences and the escalation rung."""

    event: str
    audiences: frozenset[str]
    level: EscalationLevel | None = None
    phone: bool = False


def step_of(kind: MilestoneKind, fraction: Decimal | None, fractions: Sequence[Decimal]) -> int:
    """The milestone's rank in its clock: warnings 0..n-1 by fraction, then due, then breach."""
    ordered = sorted(fractions)
    if kind is MilestoneKind.WARNING:
        return bisect_left(ordered, fraction if fraction is not None else Decimal(0))
    return len(ordered) + (0 if kind is MilestoneKind.DUE else 1)


def plan(
    *,
    pack: ContractPack,
    priority: str,
    kind: MilestoneKind,
    fraction: Decimal | None,
    fractions: Sequence[Decimal],
) -> Ping:
    """The ping for one milestone of a ticket of this pack and priority."""
    ladder = escalation_ladder(pack, priority)
    level = ladder[min(step_of(kind, fraction, fractions), len(ladder) - 1)] if ladder else None
    managers = frozenset({"managers"})
    if kind is MilestoneKind.WARNING:
        audiences = frozenset({"agents"})
        if pack.escalation.at_risk == "manager":
            audiences |= managers
        return Ping("at_risk", audiences, level)
    if kind is MilestoneKind.DUE:
        return Ping("due", frozenset({"agents"}), level)
    audiences = frozenset({"customer", "agents"})
    if pack.escalation.breach == "manager":
        audiences |= managers
    return Ping("breached", audiences, level, phone=bool(ladder) and pack.escalation.phone_only)
