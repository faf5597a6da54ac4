"""An availability figure in words: the figure, the target, the remedy and the claim deadline."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from babel.dates import format_date

from bot.i18n import Translator
from bot.services.availability import Measure
from bot.wording import contract_title
from pricing.loader import get_pack


def _minutes(t: Translator, value: Decimal) -> str:
    """A duration to the second: `43 min 12 s` (Alteo's tolerance is not whole minutes)."""
    seconds = int(value * 60)
    text = t.duration(timedelta(seconds=seconds))
    return f"{text} {seconds % 60} s" if seconds % 60 else text


def period_words(t: Translator, label: str) -> str:
    """`novembre 2026` for `2026-11`; a year stays a year."""
    if len(label) == 7:
        day = date(int(label[:4]), int(label[5:]), 1)
        return format_date(day, "LLLL y", locale=t.babel_locale)
    return label


def availability_text(t: Translator, figure: Measure) -> str:
    """The availability of one contract over one period, with what it owes and until when."""
    _ = t.gettext
    pack = get_pack(figure.contract.pack_id)
    remedy = figure.remedy
    values = {
        "contract": contract_title(figure.contract.label, pack, t.lang),
        "period": period_words(t, figure.period.label),
        "figure": t.number(figure.availability.quantize(Decimal("0.001"))),
        "down": _minutes(t, figure.downtime_minutes),
        "excluded": _minutes(t, figure.excluded_minutes),
        "n": len(figure.tickets),
        "target": t.number(remedy.availability_target or Decimal(100)),
        "tolerated": _minutes(t, remedy.max_downtime_minutes or Decimal(0)),
        "percent": t.number(figure.percent),
        "clause": remedy.clause,
        "label": remedy.labels.get(t.lang),
    }
    lines = [
        _("Availability of %(contract)s, %(period)s: %(figure)s %%.") % values
        if figure.complete
        else _("Availability of %(contract)s, %(period)s so far: %(figure)s %%.") % values
    ]
    lines.append(
        t.ngettext(
            "Downtime: %(down)s, from %(n)d outage ticket.",
            "Downtime: %(down)s, from %(n)d outage tickets.",
            len(figure.tickets),
        )
        % values
    )
    if figure.excluded_minutes > 0:
        lines.append(_("Announced maintenance not counted: %(excluded)s.") % values)
    if remedy.max_downtime_minutes is not None:
        lines.append(
            _("Target: %(target)s %% (at most %(tolerated)s of downtime a month).") % values
        )
    else:
        lines.append(_("Target: %(target)s %%.") % values)
    if not figure.missed:
        lines.append(_("The target is met: no remedy is due."))
        return "\n".join(lines)
    if figure.fee_known:
        values["amount"] = t.euros(figure.result.amount)
        lines.append(
            _(
                "Remedy: %(percent)s %% of the monthly fee, %(amount)s "
                "(%(label)s; clause %(clause)s)."
            )
            % values
        )
    else:
        lines.append(
            _(
                "Remedy: %(percent)s %% of the monthly fee (%(label)s; clause %(clause)s); "
                "the contract's monthly fee is not recorded."
            )
            % values
        )
    deadline = figure.result.claim_deadline
    if deadline is not None:
        lines.append(
            _("Claim it before %(deadline)s; it is not granted automatically.")
            % {"deadline": format_date(deadline, "long", locale=t.babel_locale)}
        )
    else:
        lines.append(
            _("Claim it through a support ticket; the contract sets no deadline for the claim.")
        )
    return "\n".join(lines)
