"""Localized wording of domain values shared by handlers and notifications."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.i18n import Translator
from pricing.loader import find_intervention
from pricing.schema import ContractPack
from pricing.terms import pack_zone


def zone_of(pack: ContractPack) -> str:
    """The zone in which a pack's instants are shown (`pricing.terms.pack_zone`)."""
    return pack_zone(pack)


def priority_label(pack: ContractPack, priority: str, lang: str) -> str:
    """A priority's label."""
    return next((p.labels.get(lang) for p in pack.priorities if p.id == priority), priority)


def kind_label(pack: ContractPack, kind: str, lang: str) -> str:
    """A request kind's label."""
    return next((k.labels.get(lang) for k in pack.kinds if k.id == kind), kind)


def intervention_label(pack: ContractPack, intervention_id: str, lang: str) -> str:
    """An intervention's label."""
    _category, intervention = find_intervention(pack, intervention_id)
    return intervention.labels.get(lang)


def due_text(t: Translator, due: datetime | None, zone: str) -> str:
    """A due instant, or the words for no target."""
    return t.gettext("no target") if due is None else t.datetime(due, zone)


def amount_text(t: Translator, amount: Decimal, pack: ContractPack) -> str:
    """An amount in the pack's balance unit."""
    unit = pack.balance.unit.value
    if unit == "hours":
        return t.gettext("%(n)s h") % {"n": t.number(amount)}
    if unit == "eur":
        return t.euros(amount)
    return t.credits(amount)


def cost_sentence(
    t: Translator,
    pack: ContractPack,
    *,
    charged: Decimal,
    waived: Decimal,
    on_request: bool = False,
    top_up_packs: int = 0,
    owed: Decimal = Decimal(0),
    staff: bool = False,
) -> str:
    """What a ticket cost once settled, in words (staff read the ledger's terms)."""
    if waived > 0:
        waiver = (
            t.gettext("%(amount)s waived: an SLA target was missed.")
            if staff
            else t.gettext("%(amount)s not charged: an SLA target was missed.")
        )
        return waiver % {"amount": amount_text(t, waived, pack)}
    if on_request:
        if staff:
            return t.gettext("price on request: invoice as agreed.")
        return t.gettext("The price is invoiced as agreed with the provider.")
    if charged <= 0:
        return t.gettext("No charge.")
    sentence = t.gettext("%(amount)s charged.") % {"amount": amount_text(t, charged, pack)}
    if top_up_packs:
        sentence += " " + t.ngettext(
            "%(n)s credit pack added automatically and invoiced.",
            "%(n)s credit packs added automatically and invoiced.",
            top_up_packs,
        ) % {"n": top_up_packs}
    if owed > 0:
        sentence += " " + owed_sentence(t, pack, owed)
    return sentence


def contract_title(label: str | None, pack: ContractPack, lang: str) -> str:
    """A contract's name: the customer's own label, else the pack's title in `lang`.

    A label that is one of the pack's titles (the default written at `contract add`) is the
    title, shown in the reader's language rather than the one it was stored in.
    """
    titles = {pack.title.fr, pack.title.nl, pack.title.en}
    return label if label and label not in titles else pack.title.get(lang)


def owed_sentence(t: Translator, pack: ContractPack, owed: Decimal) -> str:
    """A negative balance without automatic top-up: what is owed and how to settle it."""
    return t.gettext(
        "The balance is negative: %(amount)s owed. Buy service credits from %(provider)s "
        "to settle it."
    ) % {"amount": amount_text(t, owed, pack), "provider": pack.provider}
