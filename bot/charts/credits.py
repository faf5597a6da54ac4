"""An account's balance and burn per month: bars for what was spent, a line for the balance."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.dates import format_date

from bot.charts.style import PALETTE, empty, figure, number_axis, png
from bot.reports.periods import Period


def credits_chart(
    *,
    title: str,
    months: list[Period],
    spent: list[Decimal],
    balance: list[Decimal],
    spent_label: str,
    balance_label: str,
    locale: Locale,
    empty_text: str,
) -> bytes:
    """PNG: per month, what was charged (bars) and the balance at the month's end (line)."""
    with figure(title) as (fig, axes):
        if not any(spent) and not any(balance):
            empty(axes, empty_text)
            return png(fig)
        positions = list(range(len(months)))
        axes.bar(positions, [float(v) for v in spent], color=PALETTE[1], label=spent_label)
        axes.plot(
            positions,
            [float(v) for v in balance],
            color=PALETTE[0],
            marker="o",
            linewidth=2.5,
            markersize=8,
            label=balance_label,
        )
        axes.set_xticks(positions)
        axes.set_xticklabels(
            [format_date(m.start.date(), "MMM yy", locale=locale) for m in months], rotation=45
        )
        number_axis(axes, locale)
        axes.legend(loc="upper left")
        return png(fig)
