"""The claim register in chat (customer managers) and the certificate renewal button.

`/claims` lists what the company may claim or has claimed, `/claimletter ID [fr|nl|en]`
writes the letter to send to the provider, `/claimed ID` records that it was sent (once,
guarded). A certificate reminder's button (`r:ssl:ID`) opens the renewal ticket from the
catalog, once per certificate.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import select

from bot.db.models import Certificate, Claim, ClaimStatus, Contract, Ticket
from bot.i18n import translator
from bot.numbers import parse_int
from bot.services import accounts, claims, tickets
from bot.services.claim_letter import claim_line, letter
from bot.services.errors import InvalidStateError, NotFoundError
from bot.services.reminders import RENEWAL_PREFIX, renewal_contract
from bot.services.ticket_sla import ticket_clocks
from bot.wording import contract_title
from handlers.context import Context
from handlers.model import RefusalReason, Text
from handlers.render import quote_text, ticket_card
from pricing.loader import find_intervention, get_pack
from pricing.quotes import quote
from pricing.schema import ContractPack, PriceRule, PriceRuleType

MAX_LISTED = 20
LANGS = ("fr", "nl", "en")


def _tenant_id(ctx: Context) -> int | None:
    """The customer company of a customer manager; refuses anyone else."""
    if ctx.tenant is None or ctx.tenant.id is None:
        ctx.refuse(
            ctx._("Claims are kept per customer company: only its managers see them."),
            RefusalReason.ACCESS_DENIED,
        )
        return None
    return ctx.tenant.id


def _claim(ctx: Context, argument: str, usage: str) -> Claim | None:
    tenant_id = _tenant_id(ctx)
    if tenant_id is None:
        return None
    words = argument.split()
    number = parse_int(words[0].lstrip("#"), low=1, high=2**31 - 1) if words else None
    if number is None:
        ctx.refuse(
            ctx._("Give the claim's number, as /claims shows it: %(usage)s") % {"usage": usage},
            RefusalReason.INVALID_INPUT,
        )
        return None
    try:
        return claims.claim_of_tenant(session=ctx.session, claim_id=number, tenant_id=tenant_id)
    except NotFoundError:
        ctx.refuse(
            ctx._("No claim #%(id)s for your company. Send /claims for the list.") % {"id": number},
            RefusalReason.NOT_FOUND,
        )
        return None


def _pack_of(ctx: Context, claim: Claim) -> tuple[Contract, str]:
    contract = ctx.session.get(Contract, claim.contract_id)
    assert contract is not None
    return contract, contract.pack_id


def claims_command(ctx: Context, argument: str) -> None:
    """/claims: the company's remedies, newest first, with status and deadline."""
    tenant_id = _tenant_id(ctx)
    if tenant_id is None:
        return
    claims.expire(session=ctx.session, today=ctx.now.astimezone(ZoneInfo(_zone(ctx))).date())
    rows = claims.list_claims(session=ctx.session, tenant_id=tenant_id)
    if not rows:
        ctx.say(Text(ctx._("No remedy recorded for your company: nothing to claim.")))
        return
    lines = [ctx._("Remedies of your contracts (newest first):")]
    for claim in rows[:MAX_LISTED]:
        _contract, pack_id = _pack_of(ctx, claim)
        lines.append("• " + claim_line(ctx.t, claim, get_pack(pack_id)))
    if len(rows) > MAX_LISTED:
        lines.append(ctx._("…and %(n)d older ones.") % {"n": len(rows) - MAX_LISTED})
    if any(c.status == ClaimStatus.OPEN.value for c in rows):
        lines.append(
            ctx._("/claimletter ID writes the letter to send; /claimed ID records it as sent.")
        )
    ctx.say(Text("\n".join(lines)))


def _zone(ctx: Context) -> str:
    return ctx.tenant.zone if ctx.tenant is not None else ctx.settings.zone


def claimletter_command(ctx: Context, argument: str) -> None:
    """/claimletter ID [fr|nl|en]: the claim letter, in the user's language or the one named."""
    claim = _claim(ctx, argument, "/claimletter 12 [fr|nl|en]")
    if claim is None:
        return
    words = argument.split()
    lang = words[1].lower() if len(words) > 1 else ctx.t.lang
    if lang not in LANGS:
        ctx.refuse(ctx._("Letters are written in fr, nl or en."), RefusalReason.INVALID_INPUT)
        return
    if claim.status == ClaimStatus.GRANTED.value:
        ctx.refuse(
            ctx._("Claim #%(id)s was applied automatically: there is nothing to send.")
            % {"id": claim.id},
            RefusalReason.INVALID_STATE,
        )
        return
    if claim.status == ClaimStatus.EXPIRED.value:
        ctx.refuse(
            ctx._("Claim #%(id)s has expired: its deadline has passed.") % {"id": claim.id},
            RefusalReason.INVALID_STATE,
        )
        return
    contract, pack_id = _pack_of(ctx, claim)
    pack = get_pack(pack_id)
    assert ctx.tenant is not None
    t = translator(lang)
    text = letter(
        t=t,
        claim=claim,
        pack=pack,
        customer=ctx.tenant.name,
        contract=contract_title(contract.label, pack, lang),
        signer=ctx.require_user.display_name,
        today=ctx.now.astimezone(ZoneInfo(_zone(ctx))).date(),
    )
    ctx.say(Text(text))
    if claim.status == ClaimStatus.OPEN.value:
        ctx.say(
            Text(
                ctx._("Once sent to %(provider)s, record it with /claimed %(id)s.")
                % {"provider": pack.provider, "id": claim.id}
            )
        )


def claimed_command(ctx: Context, argument: str) -> None:
    """/claimed ID: record that the claim was sent to the provider (once)."""
    claim = _claim(ctx, argument, "/claimed 12")
    if claim is None:
        return
    assert claim.id is not None
    try:
        claim = claims.mark_claimed(
            session=ctx.session, claim_id=claim.id, tenant_id=claim.tenant_id, now=ctx.now
        )
    except InvalidStateError as exc:
        text = {
            ClaimStatus.CLAIMED.value: ctx._("Claim #%(id)s was already recorded as sent."),
            ClaimStatus.GRANTED.value: ctx._(
                "Claim #%(id)s was applied automatically: there is nothing to send."
            ),
            ClaimStatus.EXPIRED.value: ctx._("Claim #%(id)s has expired: its deadline has passed."),
        }.get(str(exc.params.get("status")), ctx._("Claim #%(id)s cannot change now."))
        ctx.refuse(text % {"id": claim.id}, RefusalReason.INVALID_STATE)
        return
    _contract, pack_id = _pack_of(ctx, claim)
    day = ctx.now.astimezone(ZoneInfo(_zone(ctx))).date()
    ctx.say(
        Text(
            ctx._("Claim #%(id)s recorded as sent to %(provider)s on %(date)s.")
            % {
                "id": claim.id,
                "provider": get_pack(pack_id).provider,
                "date": format_date(day, "long", locale=ctx.t.babel_locale),
            }
        )
    )


def renewal_button(ctx: Context, payload: str) -> None:
    """The reminder's button: open the certificate's renewal ticket (once per certificate)."""
    number = parse_int(payload.removeprefix(RENEWAL_PREFIX), low=1, high=2**31 - 1)
    # The row lock makes two presses (two chats, two people) open one ticket.
    certificate = (
        None
        if number is None
        else ctx.session.exec(
            select(Certificate)
            .where(Certificate.id == number)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    )
    if (
        certificate is None
        or ctx.tenant is None
        or certificate.tenant_id != ctx.tenant.id
        or ctx.require_actor.is_staff
    ):
        ctx.refuse(ctx._("This choice has expired."), RefusalReason.EXPIRED)
        return
    if certificate.renewal_ticket_id is not None:
        _already(ctx, certificate)
        return
    found = renewal_contract(session=ctx.session, tenant_id=certificate.tenant_id)
    if found is None:
        ctx.refuse(
            ctx._("None of your contracts covers certificate renewal: contact your provider."),
            RefusalReason.INVALID_STATE,
        )
        return
    contract, pack = found
    renewal = pack.certificate_renewal
    assert renewal is not None
    _category, row = find_intervention(pack, renewal.intervention)
    priority = renewal.priority or row.default_priority or _lowest(pack, row.prices)
    estimate = quote(pack=pack, intervention_id=row.id, priority=priority)
    check = accounts.check_can_request(
        session=ctx.session, contract=contract, pack=pack, quote=estimate, now=ctx.now
    )
    if not check.allowed:
        ctx.refuse(
            ctx._("Your balance does not cover this request: top up first, then press again."),
            RefusalReason.INVALID_STATE,
        )
        return
    description = translator(ctx.tenant.default_locale or "fr").gettext(
        "Renewal of the SSL certificate of %(domain)s, which expires on %(date)s."
    ) % {"domain": certificate.domain, "date": certificate.expires_on.isoformat()}
    ticket = tickets.open_ticket(
        session=ctx.session,
        actor=ctx.require_actor,
        contract=contract,
        intervention_id=row.id,
        kind=row.kinds[0],
        priority=priority,
        description=description,
        details={"domain": certificate.domain},
        now=ctx.now,
    )
    certificate.renewal_ticket_id = ticket.id
    ctx.session.add(certificate)
    clocks = ticket_clocks(session=ctx.session, ticket=ticket, now=ctx.now)
    ctx.acted(
        "open",
        ticket,
        ctx._("Renewal ticket %(ref)s opened for the certificate of %(domain)s.")
        % {"ref": ticket.reference, "domain": certificate.domain},
    )
    ctx.say(
        ticket_card(
            t=ctx.t,
            ticket=ticket,
            pack=pack,
            clocks=clocks,
            cost=quote_text(ctx.t, estimate, pack),
        )
    )


def _already(ctx: Context, certificate: Certificate) -> None:
    ticket = ctx.session.get(Ticket, certificate.renewal_ticket_id)
    reference = ticket.reference if ticket is not None else "?"
    ctx.say(
        Text(
            ctx._("The renewal ticket of %(domain)s is already open: %(ref)s.")
            % {"domain": certificate.domain, "ref": reference}
        )
    )


def _lowest(pack: ContractPack, prices: dict[str, PriceRule]) -> str:
    """The lowest priority at which the row may be requested."""
    return next(
        p.id
        for p in sorted(pack.priorities, key=lambda p: p.rank)
        if p.id in prices and prices[p.id].rule is not PriceRuleType.NOT_AVAILABLE
    )
