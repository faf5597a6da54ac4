"""What a missed target owes the customer, in words: the contract's remedies for a breach.

The remedies come from `ContractTerms.remedies_for`, the question billing asks too, so a
waiver is announced exactly when billing waives; the monthly fee is the contract's typed
option (`ContractTerms.monthly_fee`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session

from bot.clauses import clause_ref
from bot.db.models import Ticket
from bot.i18n import Translator
from bot.services import claims
from bot.services.billing import ticket_quote
from bot.services.notify.cache import cached, contract_of
from pricing.quotes import QuoteError
from pricing.remedies import RemedyError, claim_deadline
from pricing.schema import ContractPack, PriceRuleType, Remedy
from pricing.terms import ContractTerms, OptionError, pack_zone


def terms_of(*, session: Session, ticket: Ticket, pack: ContractPack) -> ContractTerms:
    """The ticket's contract terms (its stored options, the ticket's service level)."""

    def build() -> ContractTerms:
        contract = contract_of(session, ticket.contract_id)
        return ContractTerms(
            pack=pack, service_level=ticket.service_level, raw_options=dict(contract.options)
        )

    return cached(session, ("terms", ticket.contract_id, ticket.service_level), build)


def applicable_remedies(*, terms: ContractTerms, ticket: Ticket, target: str) -> list[Remedy]:
    """The contract's per-breach remedies for this ticket and missed target."""
    return terms.remedies_for(target=target, kind=ticket.kind, priority=ticket.priority)


def _monthly_fee(terms: ContractTerms) -> Decimal | None:
    try:
        return terms.monthly_fee
    except OptionError:  # a stored value from before options were checked
        return None


def remedy_params(
    *, session: Session, ticket: Ticket, pack: ContractPack, target: str, at: datetime
) -> dict[str, str]:
    """The facts of what is owed for a missed target, as `render` params of a breach."""
    terms = terms_of(session=session, ticket=ticket, pack=pack)
    day = at.astimezone(ZoneInfo(pack_zone(pack))).date()
    params: dict[str, str] = {}
    ids: list[str] = []
    for remedy in applicable_remedies(terms=terms, ticket=ticket, target=target):
        if remedy.type == "waiver" and _free(pack, ticket):
            continue  # nothing is charged, so nothing is waived
        ids.append(remedy.id)
        deadline: date | None = claim_deadline(remedy, day)
        fee = _monthly_fee(terms) if remedy.type == "service_credit_per_breach" else None
        if fee is not None:
            try:
                claim = claims.p1_service_credit(
                    session=session,
                    ticket=ticket,
                    contract=contract_of(session, ticket.contract_id),
                    terms=terms,
                    breach_day=day,
                    now=at,
                )
            except (RemedyError, ArithmeticError):
                claim = None
            if claim is not None:
                # The room left under the month's cap, from the claim register.
                params[f"remedy.{remedy.id}.amount"] = str(claim.amount)
                if claim.amount == 0:
                    params[f"remedy.{remedy.id}.capped"] = "1"
                deadline = claim.deadline
        if deadline is not None:
            params[f"remedy.{remedy.id}.deadline"] = deadline.isoformat()
    if ids:
        params["remedies"] = ",".join(ids)
    return params


def _free(pack: ContractPack, ticket: Ticket) -> bool:
    """Whether the ticket's intervention costs nothing at its priority."""
    try:
        return ticket_quote(pack=pack, ticket=ticket).rule is PriceRuleType.FREE
    except QuoteError:
        return False


def remedy_text(
    *, t: Translator, pack: ContractPack, params: dict[str, str], staff: bool = False
) -> str:
    """The remedy sentences of a breach message, in the reader's language: addressed to the
    customer, or (`staff`: agents and managers) about the customer."""
    legacy = params.get(f"remedy_{t.lang}", params.get("remedy", ""))
    ids = [i for i in params.get("remedies", "").split(",") if i]
    sentences = [legacy] if legacy else []
    by_id = {remedy.id: remedy for remedy in pack.remedies}
    for remedy_id in ids:
        remedy = by_id.get(remedy_id)
        if remedy is not None:
            sentence = _remedy_sentence(t=t, pack=pack, remedy=remedy, params=params)
            if staff:
                sentence = t.gettext("Told to the customer: %(remedy)s") % {"remedy": sentence}
            sentences.append(sentence)
    return " ".join(s for s in sentences if s)


def _remedy_sentence(
    *, t: Translator, pack: ContractPack, remedy: Remedy, params: dict[str, str]
) -> str:
    _ = t.gettext
    amount = params.get(f"remedy.{remedy.id}.amount")
    deadline = params.get(f"remedy.{remedy.id}.deadline")
    values = {
        # The clause as readers of the language see it (the French reference otherwise).
        "clause": remedy.clause_labels.get(t.lang) if remedy.clause_labels else remedy.clause,
        "label": remedy.labels.get(t.lang),
        "amount": t.euros(Decimal(amount)) if amount else "",
        "deadline": (
            format_date(date.fromisoformat(deadline), "long", locale=t.babel_locale)
            if deadline
            else ""
        ),
    }
    if remedy.type == "waiver":
        return (
            _(
                "The credits due for this intervention are waived: you will not be charged "
                "for it (clause %(clause)s)."
            )
            % values
        )
    clause = clause_ref(remedy.clause, t.lang)
    if clause is None:
        # The clause is a French heading (Proximus): other languages read the remedy's label.
        return _unnumbered_sentence(t=t, remedy=remedy, params=params, values=values)
    values["clause"] = clause
    if remedy.type == "service_credit_per_breach":
        if params.get(f"remedy.{remedy.id}.capped"):
            return (
                _(
                    "No further service credit for this breach: this month's credits already "
                    "reach the cap of one monthly fee (clause %(clause)s)."
                )
                % values
            )
        if amount and deadline:
            text = _(
                "You may claim a service credit of %(amount)s (clause %(clause)s) until "
                "%(deadline)s; it is not granted automatically."
            )
        elif deadline:
            text = _(
                "You may claim a service credit (%(label)s, clause %(clause)s) until "
                "%(deadline)s; it is not granted automatically."
            )
        else:
            text = _("You may claim a service credit (%(label)s, clause %(clause)s).")
        return text % values
    if deadline:
        return (
            _("You may claim compensation (%(label)s, clause %(clause)s) until %(deadline)s.")
            % values
        )
    return _("You may claim compensation (%(label)s, clause %(clause)s).") % values


def _unnumbered_sentence(
    *, t: Translator, remedy: Remedy, params: dict[str, str], values: dict[str, str]
) -> str:
    """A remedy sentence without its clause (a French heading), for non-French readers."""
    _ = t.gettext
    amount, deadline = values["amount"], values["deadline"]
    if remedy.type == "service_credit_per_breach":
        if params.get(f"remedy.{remedy.id}.capped"):
            return _(
                "No further service credit for this breach: this month's credits already "
                "reach the cap of one monthly fee."
            )
        if amount and deadline:
            text = _(
                "You may claim a service credit of %(amount)s until %(deadline)s; it is not "
                "granted automatically."
            )
        elif deadline:
            text = _(
                "You may claim a service credit (%(label)s) until %(deadline)s; it is not "
                "granted automatically."
            )
        else:
            text = _("You may claim a service credit (%(label)s).")
        return text % values
    if deadline:
        return _("You may claim compensation (%(label)s) until %(deadline)s.") % values
    return _("You may claim compensation (%(label)s).") % values
