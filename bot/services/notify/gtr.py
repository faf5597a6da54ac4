"""The GTR sentence of a resolved outage (Alteo 5.2): overrun, step, amount, the month's cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.i18n import Translator


def _minutes(t: Translator, value: str) -> str:
    return t.duration(timedelta(minutes=int(value)))


def gtr_sentence(*, t: Translator, params: dict[str, str]) -> str:
    """` …` the GTR facts of a resolved ticket in the reader's language, or `` without any."""
    overrun = params.get("gtr.overrun")
    if overrun is None:
        return ""
    _ = t.gettext
    values = {
        "took": _minutes(t, params.get("gtr.took", "0")),
        "guaranteed": _minutes(t, params.get("gtr.guaranteed", "0")),
        "excluded": _minutes(t, params.get("gtr.excluded", "0")),
        "overrun": _minutes(t, overrun),
        "percent": t.number(Decimal(params.get("gtr.percent", "0"))),
        "clause": params.get("gtr.clause", ""),
    }
    parts: list[str] = []
    if overrun == "0":
        parts.append(
            _(
                "Service restored in %(took)s, within the guaranteed %(guaranteed)s "
                "(clause %(clause)s)."
            )
            % values
        )
    else:
        parts.append(
            _(
                "Service restored in %(took)s: %(overrun)s beyond the guaranteed %(guaranteed)s "
                "(clause %(clause)s), which gives %(percent)s %% of the monthly fee."
            )
            % values
        )
        amount = params.get("gtr.amount")
        if amount is not None:
            money = {
                "amount": t.euros(Decimal(amount)),
                "total": t.euros(Decimal(params.get("gtr.month_total", amount))),
                "cap": t.euros(Decimal(params.get("gtr.cap", "0"))),
            }
            if params.get("gtr.capped"):
                parts.append(
                    _(
                        "Under the cap of one monthly fee, %(amount)s may be claimed "
                        "(GTR penalties this month: %(total)s of %(cap)s at most)."
                    )
                    % money
                )
            else:
                parts.append(
                    _(
                        "You may claim %(amount)s as a credit note "
                        "(GTR penalties this month: %(total)s of %(cap)s at most)."
                    )
                    % money
                )
    if params.get("gtr.excluded", "0") != "0":
        parts.append(_("Announced maintenance (%(excluded)s) is not counted.") % values)
    return " " + " ".join(parts)
