"""Compliance per month over the last months: one line per contract and target."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.dates import format_date

from bot.charts.style import PALETTE, empty, figure, number_axis, png
from bot.reports.periods import Period


def compliance_chart(
    *,
    title: str,
    months: list[Period],
    series: list[tuple[str, list[Decimal | None]]],
    locale: Locale,
    empty_text: str,
) -> bytes:
    """PNG: compliance (%) per month; `series` are (label, one value or None per month)."""
    with figure(title) as (fig, axes):
        drawn = [(label, values) for label, values in series if any(v is not None for v in values)]
        if not drawn:
            empty(axes, empty_text)
            return png(fig)
        positions = list(range(len(months)))
        for index, (label, values) in enumerate(drawn):
            points = [
                (x, float(v)) for x, v in zip(positions, values, strict=True) if v is not None
            ]
            axes.plot(
                [x for x, _ in points],
                [y for _, y in points],
                marker="os^Dv<>p"[index % 8],
                linewidth=2.5,
                markersize=8,
                color=PALETTE[index % len(PALETTE)],
                label=label,
            )
        axes.set_ylim(0, 105)
        axes.set_xticks(positions)
        axes.set_xticklabels(
            [format_date(m.start.date(), "MMM yy", locale=locale) for m in months], rotation=45
        )
        number_axis(axes, locale, suffix=" %")
        axes.legend(loc="lower left")
        return png(fig)
