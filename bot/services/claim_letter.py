"""Claims in the reader's words: one line of `/claims`, and the claim letter a customer sends
to its provider (fr, nl or en) with the clause, the facts, the figures and the amount.

Clause references that are French headings (Proximus names no clause numbers) are shown in a
French text only; other languages read the remedy's own label, which names the same clause.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date

from bot.clauses import clause_lines, clause_ref
from bot.db.models import Claim, ClaimStatus
from bot.i18n import Translator
from bot.wording import amount_text
from pricing.schema import ContractPack


def status_text(t: Translator, status: str) -> str:
    """A claim's status in words."""
    _ = t.gettext
    return {
        ClaimStatus.OPEN.value: _("open: you may claim it"),
        ClaimStatus.CLAIMED.value: _("claimed: sent to the provider"),
        ClaimStatus.GRANTED.value: _("granted automatically"),
        ClaimStatus.EXPIRED.value: _("expired: the deadline has passed"),
    }.get(status, status)


def remedy_label(t: Translator, claim: Claim, pack: ContractPack) -> str:
    """The remedy's name in the reader's language."""
    remedy = next((r for r in pack.remedies if r.id == claim.remedy_id), None)
    return remedy.labels.get(t.lang) if remedy is not None else claim.remedy_id


def amount_of(t: Translator, claim: Claim, pack: ContractPack) -> str:
    """The claim's amount in its unit (euros, or the pack's credits or hours)."""
    if claim.unit == "eur":
        return t.euros(claim.amount)
    return amount_text(t, claim.amount, pack)


def _day(t: Translator, day: date) -> str:
    return format_date(day, "long", locale=t.babel_locale)


def claim_line(t: Translator, claim: Claim, pack: ContractPack) -> str:
    """One claim in a list: number, remedy, period, amount, status and deadline."""
    parts = [
        f"#{claim.id}",
        remedy_label(t, claim, pack),
        t.gettext("period %(period)s") % {"period": claim.period},
        amount_of(t, claim, pack),
        status_text(t, claim.status),
    ]
    reference = claim.facts.get("ticket")
    if reference:
        parts.insert(2, reference)
    if claim.deadline is not None and claim.status == ClaimStatus.OPEN.value:
        parts.append(t.gettext("claim by %(date)s") % {"date": _day(t, claim.deadline)})
    return " · ".join(parts)


def letter(
    *,
    t: Translator,
    claim: Claim,
    pack: ContractPack,
    customer: str,
    contract: str,
    signer: str,
    today: date,
) -> str:
    """The claim letter to the provider, in the reader's language."""
    _ = t.gettext
    clause = clause_ref(claim.clause, t.lang)
    values = {
        "provider": pack.provider,
        "customer": customer,
        "contract": contract,
        "remedy": remedy_label(t, claim, pack),
        "clause": clause or "",
        "period": claim.period,
        "amount": amount_of(t, claim, pack),
        "date": _day(t, today),
        "event_day": _day(t, claim.event_day),
        "number": str(claim.id),
    }
    lines = [
        _("To %(provider)s, customer support") % values,
        _("From %(customer)s, %(date)s") % values,
        "",
        _("Subject: claim no. %(number)s under our contract “%(contract)s”") % values,
        "",
        _("We claim the following remedy: %(remedy)s.") % values,
    ]
    if clause:
        lines.append(_("Clause of the contract: %(clause)s.") % values)
    lines += ["", _("Facts:")]
    reference = claim.facts.get("ticket")
    if reference:
        missed = claim.facts.get("missed") or "resolution"
        target = _("response") if missed == "response" else _("resolution")
        lines.append(
            "• "
            + _("ticket %(ref)s: the %(target)s time was missed on %(event_day)s.")
            % {**values, "ref": reference, "target": target}
        )
    else:
        lines.append("• " + _("event of %(event_day)s, period %(period)s.") % values)
    lines += ["", _("Figures:")]
    fee = claim.facts.get("monthly_fee")
    if fee:
        lines.append("• " + t.field(_("Monthly fee"), t.euros(Decimal(fee))))
    earlier = claim.facts.get("earlier")
    if earlier is not None and Decimal(earlier) > 0:
        lines.append(
            "• " + t.field(_("Already claimed for this period"), t.euros(Decimal(earlier)))
        )
    lines.append("• " + t.field(_("Amount claimed"), values["amount"]))
    if claim.deadline is not None:
        lines.append(
            "• "
            + _("This claim is made within the contractual deadline (%(deadline)s).")
            % {"deadline": _day(t, claim.deadline)}
        )
    notes = clause_lines(t=t, pack=pack, where="claim", remedy_type=claim.remedy_type)
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        _("Please confirm the credit in writing."),
        "",
        signer,
        customer,
    ]
    return "\n".join(lines)
