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
from bot.services.notify.routing import MANAGERS, Recipient
from bot.sla.clock import MilestoneKind
from pricing.schema import ContractPack, EscalationLevel


@dataclass(frozen=True)
class Ping:
    """What a milestone becomes: the event, its recipients and the escalation rung."""

    event: str
    recipients: frozenset[Recipient]
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
    agents = frozenset({Recipient.PROVIDER_AGENTS})
    if kind is MilestoneKind.WARNING:
        recipients = agents | MANAGERS if pack.escalation.at_risk == "manager" else agents
        return Ping("at_risk", recipients, level)
    if kind is MilestoneKind.DUE:
        return Ping("due", agents, level)
    recipients = agents | {Recipient.CUSTOMER}
    if pack.escalation.breach == "manager":
        recipients |= MANAGERS
    phone = bool(ladder) and pack.escalation.phone_only
    return Ping("breached", recipients, level, phone=phone)
