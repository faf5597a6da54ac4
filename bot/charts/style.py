"""The charts' shared look: figure size, fonts, the Okabe-Ito palette, PNG output."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

from babel import Locale
from babel.numbers import format_decimal
from cycler import cycler

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100  # 1000 × 600 px
FONT_SIZE = 15

_RC: Any = {
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE + 3,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE - 2,
    "ytick.labelsize": FONT_SIZE - 2,
    "legend.fontsize": FONT_SIZE - 3,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "supportbot",
}


def _pyplot() -> ModuleType:
    """matplotlib, imported on the first chart only (it costs a server's start-up dearly)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory only
    from matplotlib import pyplot

    return pyplot


@contextmanager
def figure(title: str) -> Iterator[tuple[Figure, Axes]]:
    """A new figure with one axes and the charts' style."""
    from matplotlib.figure import Figure

    with _pyplot().rc_context(_RC):
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
        axes = fig.add_subplot()
        axes.set_title(title)
        yield fig, axes


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp in the metadata: equal data, equal bytes)."""
    buffer = io.BytesIO()
    with _pyplot().rc_context(_RC):
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def number_axis(axes: Axes, locale: Locale, *, suffix: str = "", which: str = "y") -> None:
    """Tick labels as numbers in the locale (`1 234,5`), optionally with a unit suffix."""

    def label(value: float, _position: object) -> str:
        text = format_decimal(Decimal(str(round(value, 2))), locale=locale)
        return f"{text}{suffix}"

    from matplotlib.ticker import FuncFormatter

    axis = axes.yaxis if which == "y" else axes.xaxis
    axis.set_major_formatter(FuncFormatter(label))


def empty(axes: Axes, message: str) -> None:
    """Say there is nothing to draw, in the middle of the axes."""
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
