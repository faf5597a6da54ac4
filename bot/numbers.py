"""The one place where typed numbers are read: ASCII digits only, always within bounds.

`str.isdigit` accepts `²` and `①` (which `int` then refuses) and `int` reads 4,300 digits
before refusing more; both crashed the core. Everything a person types goes through here.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext

_INTEGER = re.compile(r"[0-9]{1,18}", re.ASCII)
_DECIMAL = re.compile(r"[+-]?[0-9]{1,18}(?:[.,][0-9]{1,18})?", re.ASCII)

# Wide enough for every bounded amount and every sum of them, exact for 36 digits.
AMOUNT_CONTEXT = Context(prec=60, Emax=99, Emin=-99)


def parse_int(text: str, *, low: int, high: int) -> int | None:
    """The integer `text` spells in ASCII digits (surrounding blanks allowed) if within
    [low, high]; None otherwise, never an exception."""
    cleaned = text.strip()
    if not _INTEGER.fullmatch(cleaned):
        return None
    value = int(cleaned)
    return value if low <= value <= high else None


def looks_numeric(text: str) -> bool:
    """Whether `text` is meant as a number (any script's digits), to answer it as one."""
    cleaned = text.strip()
    return bool(cleaned) and len(cleaned) <= 40 and all(c.isdigit() for c in cleaned)


def parse_decimal(text: str, *, low: Decimal, high: Decimal, places: int = 4) -> Decimal | None:
    """A plain decimal (`12`, `-3.5`, `2,25`) within [low, high] with at most `places`
    decimals; None for exponents, NaN, infinities, other scripts' digits or anything else."""
    cleaned = text.strip()
    if not _DECIMAL.fullmatch(cleaned):
        return None
    with localcontext(AMOUNT_CONTEXT):
        try:
            value = Decimal(cleaned.replace(",", "."))
        except InvalidOperation:
            return None
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            return None
        return value if low <= value <= high else None
