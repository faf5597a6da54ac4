"""Open tickets by priority and age: stacked bars, one bar per priority."""

from __future__ import annotations

from babel import Locale

from bot.charts.style import PALETTE, empty, figure, number_axis, png


def backlog_chart(
    *,
    title: str,
    priorities: list[str],
    ages: list[str],
    counts: list[list[int]],
    locale: Locale,
    empty_text: str,
) -> bytes:
    """PNG: for each priority label, its open tickets stacked by age (`counts[p][age]`)."""
    with figure(title) as (fig, axes):
        if not priorities or not any(sum(row) for row in counts):
            empty(axes, empty_text)
            return png(fig)
        bottoms = [0] * len(priorities)
        for index, age in enumerate(ages):
            values = [row[index] for row in counts]
            axes.barh(
                priorities,
                values,
                left=bottoms,
                color=PALETTE[index % len(PALETTE)],
                label=age,
                hatch=("", "//", "..")[index % 3],
                edgecolor="white",
            )
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.invert_yaxis()  # the pack's first (most urgent) priority on top
        number_axis(axes, locale, which="x")
        axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        axes.legend(loc="lower right")
        return png(fig)
