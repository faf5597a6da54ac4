"""Who hears a milestone, per pack: the routing settings of the pack's `escalation`.

Routing is data (`escalation` in the pack):

- a warning is an `at_risk` ping to the agents (`escalation.at_risk: agents`), or to the
  agents and the managers (`manager`);
- the due instant pings the agents;
- a breach tells the customer (with the remedy) and the agents, and the managers when
  `escalation.breach` is `manager`.

Milestones never climb the contract's escalation levels: where the contract defines no time
trigger (Proximus 002: "aucun facteur déclencheur temporel"), a level is requested with
`/escalate` (`bot/services/escalation.py`). At-risk pings are internal to the desk; staff
pings name the level the ticket was escalated to, if any, and the customer's breach message
says how to escalate, by phone when the pack says escalation starts with a call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.services.notify import escalation_ladder
from bot.services.notify.routing import MANAGERS, Recipient
from bot.sla.clock import MilestoneKind
from pricing.schema import ContractPack


@dataclass(frozen=True)
class Ping:
    """What a milestone becomes: the event, its recipients, and whether to give the phone."""

    event: str
    recipients: frozenset[Recipient]
    phone: bool = False


def plan(
    *,
    pack: ContractPack,
    priority: str,
    kind: MilestoneKind,
    fraction: Decimal | None = None,
    fractions: Sequence[Decimal] = (),
) -> Ping:
    """The ping for one milestone of a ticket of this pack and priority."""
    agents = frozenset({Recipient.PROVIDER_AGENTS})
    if kind is MilestoneKind.WARNING:
        recipients = agents | MANAGERS if pack.escalation.at_risk == "manager" else agents
        return Ping("at_risk", recipients)
    if kind is MilestoneKind.DUE:
        return Ping("due", agents)
    recipients = agents | {Recipient.CUSTOMER}
    if pack.escalation.breach == "manager":
        recipients |= MANAGERS
    phone = bool(escalation_ladder(pack, priority)) and pack.escalation.phone_only
    return Ping("breached", recipients, phone=phone)
