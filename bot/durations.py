"""Durations typed by people: "90", "1h30", "1 h 30", "1,5 h", "90 min", "2 hours"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

_NUMBER = r"\d+(?:[.,]\d+)?"
_HOURS = r"(?:h|hr|hrs|hour|hours|heure|heures|u|uur|uren)"
_MINUTES = r"(?:m|min|mins|minute|minutes|minuut|minuten)"
_PATTERNS = (
    re.compile(rf"^(?P<m>{_NUMBER})\s*(?:{_MINUTES})?$", re.ASCII),
    re.compile(rf"^(?P<h>{_NUMBER})\s*{_HOURS}$", re.ASCII),
    re.compile(rf"^(?P<h>\d+)\s*{_HOURS}\s*(?P<m>[0-5]?\d)\s*(?:{_MINUTES})?$", re.ASCII),
    re.compile(r"^(?P<h>\d+):(?P<m>[0-5]\d)$", re.ASCII),
)


class DurationError(StrEnum):
    """Why a typed duration was refused."""

    UNREADABLE = "unreadable"
    ZERO = "zero"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration in whole minutes, or the reason it was refused."""

    minutes: int | None
    error: DurationError | None = None


def parse_minutes(text: str, *, maximum: int) -> Duration:
    """Whole minutes (rounded up) of a typed duration between 1 and `maximum` minutes."""
    cleaned = " ".join(text.strip().lower().split())
    for pattern in _PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        parts = match.groupdict()
        try:
            hours = Decimal((parts.get("h") or "0").replace(",", "."))
            minutes = Decimal((parts.get("m") or "0").replace(",", "."))
        except InvalidOperation:
            break
        total = hours * 60 + minutes
        whole = int(total.to_integral_value(rounding="ROUND_CEILING"))
        if whole <= 0:
            return Duration(minutes=None, error=DurationError.ZERO)
        if whole > maximum:
            return Duration(minutes=None, error=DurationError.TOO_LONG)
        return Duration(minutes=whole)
    return Duration(minutes=None, error=DurationError.UNREADABLE)
