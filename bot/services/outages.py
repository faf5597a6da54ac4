"""Outage tickets: their downtime, announced maintenance taken out, and the GTR at resolution.

Downtime runs from the ticket (the customer's notification: Alteo 5.3, the Proximus incident)
to its resolution, minus the ticket's stop-clocks and the announced maintenance windows that
affect the customer, where the pack excludes them (Alteo 5.5 `maintenance_notice`, Proximus's
planned-works cause). The GTR (Alteo 5.2) is computed when an outage ticket is resolved:
the overrun beyond the guaranteed time, its step and percentage, the amount and the room left
under the monthly cap, recorded in the claim register (`bot/services/claims.py`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.db.models import Claim, Contract, Ticket
from bot.services import claims, maintenance
from bot.services.contracts import terms_of
from bot.services.maintenance_notices import excluded_from_sla
from bot.services.ticket_sla import ticket_clocks
from bot.sla.rules import Pause
from pricing.remedies import RemedyError, find_remedy, gtr_overrun
from pricing.schema import ContractPack, Remedy
from pricing.terms import ContractTerms

MINUTE = timedelta(minutes=1)


def maintenance_excluded(pack: ContractPack) -> bool:
    """Whether the pack takes announced maintenance out of its SLA (and availability, GTR)."""
    return excluded_from_sla(pack)


def maintenance_pauses(
    *, session: Session, pack: ContractPack, tenant_id: int, start: datetime, end: datetime
) -> list[Pause]:
    """The announced windows affecting the tenant inside [start, end), as stop-clock spans."""
    if not maintenance_excluded(pack) or end <= start:
        return []
    return [
        Pause(start=a, end=b, reason="maintenance")
        for a, b in maintenance.overlap_minutes(
            session=session,
            provider_code=pack.provider_code,
            tenant_id=tenant_id,
            start=start,
            end=end,
        )
    ]


def gtr_remedy(terms: ContractTerms, ticket: Ticket) -> Remedy | None:
    """The GTR remedy a ticket's missed resolution triggers (None: not an outage with a GTR)."""
    found = [
        r
        for r in terms.remedies_for(target="resolution", kind=ticket.kind, priority=ticket.priority)
        if r.type == "gtr_overrun"
    ]
    return find_remedy(terms.pack, "gtr_overrun", found[0].id) if found else None


def gtr_at_resolution(
    *, session: Session, ticket: Ticket, contract: Contract, pack: ContractPack, now: datetime
) -> dict[str, str]:
    """The GTR facts of a resolved outage ticket (`gtr.*` params), recorded once as a claim."""
    if ticket.resolved_at is None or ticket.id is None or contract.id is None:
        return {}
    terms = terms_of(session=session, contract=contract, pack=pack)
    remedy = gtr_remedy(terms, ticket)
    if remedy is None:
        return {}
    clock = ticket_clocks(session=session, ticket=ticket, now=now).resolution
    if clock is None or clock.target is None:
        return {}
    target = clock.target
    windows = maintenance_pauses(
        session=session,
        pack=pack,
        tenant_id=ticket.tenant_id,
        start=ticket.logged_at,
        end=ticket.resolved_at,
    )
    if windows:
        clock = clock.with_pauses(pauses=(*clock.pauses, *windows), now=now)
    excluded = sum(((p.end or now) - p.start for p in windows), timedelta(0))
    overrun = clock.elapsed - target
    params = {
        "gtr.took": str(int(clock.elapsed // MINUTE)),
        "gtr.guaranteed": str(int(target // MINUTE)),
        "gtr.excluded": str(int(excluded // MINUTE)),
        "gtr.clause": remedy.clause,
    }
    if overrun <= timedelta(0):
        return {**params, "gtr.overrun": "0"}
    # Whole minutes beyond the guarantee, rounded up: 60 min and 1 s is in the "+2 h" step.
    minutes = -(-overrun // MINUTE)
    params["gtr.overrun"] = str(minutes)
    step = _step(remedy, Decimal(minutes))
    params["gtr.percent"] = str(step)
    fee = terms.monthly_fee
    if fee is None:
        return params
    zone = ZoneInfo(terms.zone)
    day = ticket.logged_at.astimezone(zone).date()
    period = claims.month_label(day)
    key = f"{remedy.id}:ticket:{ticket.id}"
    claim = claims.get(session=session, key=key)
    if claim is None:
        granted = claims.recorded_in_period(
            session=session, contract_id=contract.id, remedy_id=remedy.id, period=period
        )
        try:
            result = gtr_overrun(
                remedy=remedy,
                monthly_fee=fee,
                overrun_minutes=Decimal(minutes),
                already_granted=granted,
                event_day=day,
            )
        except RemedyError:
            return params
        claim = claims.record(
            session=session,
            key=key,
            contract=contract,
            result=result,
            remedy_type=remedy.type,
            period=period,
            event_day=day,
            ticket=ticket,
            facts={
                "ticket": ticket.reference,
                "overrun_minutes": str(minutes),
                "percent": str(step),
                "monthly_fee": str(fee),
                "earlier": str(granted),
            },
            now=now,
        )
    return {**params, **_claim_params(session=session, claim=claim, fee=fee, remedy=remedy)}


def _step(remedy: Remedy, minutes: Decimal) -> Decimal:
    bounded = sorted(
        (s for s in remedy.steps if s.up_to_minutes is not None), key=lambda s: s.up_to_minutes or 0
    )
    for step in bounded:
        if minutes <= (step.up_to_minutes or 0):
            return step.percent
    beyond = [s for s in remedy.steps if s.up_to_minutes is None]
    return beyond[0].percent if beyond else bounded[-1].percent


def _claim_params(
    *, session: Session, claim: Claim, fee: Decimal, remedy: Remedy
) -> dict[str, str]:
    total = claims.recorded_in_period(
        session=session, contract_id=claim.contract_id, remedy_id=remedy.id, period=claim.period
    )
    cap = None if remedy.cap_monthly_fees is None else remedy.cap_monthly_fees * fee
    params = {
        "gtr.amount": str(claim.amount),
        "gtr.month_total": str(total),
        "gtr.claim": str(claim.id),
        "gtr.period": claim.period,
    }
    if cap is not None:
        params["gtr.cap"] = str(cap)
        if claim.amount < fee * Decimal(claim.facts.get("percent", "0")) / 100:
            params["gtr.capped"] = "1"
    return params
