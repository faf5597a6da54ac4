"""/availability [period]: measured availability, target, remedy and claim deadline.

Customer managers see their own contracts; provider managers and admins name the customer
(`/availability [period] SLUG`) and see its contracts with the providers they serve.
"""

from __future__ import annotations

import re

from sqlmodel import select

from bot.db.models import Contract, Role, Tenant
from bot.services import availability
from bot.services.availability_words import availability_text
from bot.services.errors import InputError
from handlers.context import Context
from handlers.model import RefusalReason, Text, echo
from pricing.loader import get_pack
from pricing.terms import pack_zone

PERIOD = re.compile(r"[0-9]{4}(-[0-9]{1,2})?", re.ASCII)


def availability_command(ctx: Context, argument: str) -> None:
    """/availability [2026|2026-11] [customer]: each contract's figure over the period."""
    words = argument.split()
    period = next((w for w in words if PERIOD.fullmatch(w)), "")
    others = [w for w in words if w != period]
    actor = ctx.require_actor
    if actor.is_staff:
        contracts = _customer_contracts(ctx, others)
        if contracts is None:
            return
    else:
        tenant = ctx.tenant
        if tenant is None or tenant.id is None or actor.role is Role.REQUESTER:
            ctx.refuse(ctx._("You are not allowed to do that."), RefusalReason.ACCESS_DENIED)
            return
        if others:
            _unknown_period(ctx)
            return
        contracts = availability.contracts_of(session=ctx.session, tenant_id=tenant.id)
    if not contracts:
        ctx.say(Text(ctx._("None of your contracts promises an availability.")))
        return
    blocks: list[str] = []
    for contract in contracts:
        pack = get_pack(contract.pack_id)
        remedy = availability.availability_remedy(pack, contract.service_level)
        assert remedy is not None
        try:
            chosen = availability.periods(
                text=period, remedy=remedy, zone=pack_zone(pack), now=ctx.now
            )
        except InputError as exc:
            reason = str(exc.params.get("reason"))
            if reason == "month":
                text = ctx._("Months go from 01 to 12, for example 2026-11.")
            elif reason == "year":
                text = ctx._("Years go from %(low)d to %(high)d.") % {
                    "low": availability.MIN_YEAR,
                    "high": availability.MAX_YEAR,
                }
            else:
                text = ctx._("Unknown period. Use 2026 or 2026-11 (default: the current one).")
            ctx.refuse(text, RefusalReason.INVALID_INPUT)
            return
        for chosen_period in chosen:
            figure = availability.measure(
                session=ctx.session, contract=contract, period=chosen_period, now=ctx.now
            )
            blocks.append(availability_text(ctx.t, figure))
    ctx.say(Text("\n\n".join(blocks)))


def _unknown_period(ctx: Context) -> None:
    text = ctx._("Unknown period. Use 2026 or 2026-11 (default: the current one).")
    ctx.refuse(text, RefusalReason.INVALID_INPUT)


def _customer_contracts(ctx: Context, words: list[str]) -> list[Contract] | None:
    """Staff name the customer; its contracts with the providers they serve (None: refused)."""
    if len(words) != 1:
        text = ctx._("Name the customer: /availability [period] CUSTOMER (its short name).")
        ctx.refuse(text, RefusalReason.INVALID_INPUT)
        return None
    tenant = ctx.session.exec(select(Tenant).where(Tenant.slug == words[0].lower())).first()
    if tenant is None or tenant.id is None:
        text = ctx._("No customer %(slug)s.") % {"slug": echo(words[0], 40)}
        ctx.refuse(text, RefusalReason.NOT_FOUND)
        return None
    actor = ctx.require_actor
    return [
        contract
        for contract in availability.contracts_of(session=ctx.session, tenant_id=tenant.id)
        if actor.role is Role.ADMIN or get_pack(contract.pack_id).provider_code in actor.providers
    ]
