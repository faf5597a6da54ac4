"""/availability [period]: the customer's measured availability, target, remedy and deadline."""

from __future__ import annotations

from bot.services import availability
from bot.services.availability_words import availability_text
from bot.services.errors import InputError
from handlers.context import Context
from handlers.model import RefusalReason, Text
from pricing.loader import get_pack
from pricing.terms import pack_zone


def availability_command(ctx: Context, argument: str) -> None:
    """/availability [2026|2026-11]: each contract's figure over the period (default: current)."""
    tenant = ctx.tenant
    if tenant is None or tenant.id is None:
        text = ctx._("This command shows a customer's own contracts: it is for customer managers.")
        ctx.refuse(text, RefusalReason.ACCESS_DENIED)
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
                text=argument, remedy=remedy, zone=pack_zone(pack), now=ctx.now
            )
        except InputError as exc:
            ctx.refuse(
                _period_error(ctx, str(exc.params.get("reason"))), RefusalReason.INVALID_INPUT
            )
            return
        for period in chosen:
            figure = availability.measure(
                session=ctx.session, contract=contract, period=period, now=ctx.now
            )
            blocks.append(availability_text(ctx.t, figure))
    ctx.say(Text("\n\n".join(blocks)))


def _period_error(ctx: Context, reason: str) -> str:
    if reason == "month":
        return ctx._("Months go from 01 to 12, for example 2026-11.")
    if reason == "year":
        return ctx._("Years go from %(low)d to %(high)d.") % {
            "low": availability.MIN_YEAR,
            "high": availability.MAX_YEAR,
        }
    return ctx._("Unknown period. Use 2026 or 2026-11 (default: the current one).")
