"""The wished execution time of a change, and why the provider advises against it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_time

from bot.i18n import Translator
from bot.sla.calendar import calendar_for
from pricing.schema import ContractPack

#: Where the intake keeps the answer among the ticket's details.
EXECUTION_TIME = "execution-time"
_FORMATS = (
    re.compile(
        r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[ T]+(?P<h>\d{1,2})[:h.](?P<mi>\d{2})$"
    ),
    re.compile(
        r"^(?P<d>\d{1,2})[/.](?P<mo>\d{1,2})[/.](?P<y>\d{4})\s+(?P<h>\d{1,2})[:h.](?P<mi>\d{2})$"
    ),
)


class WhenError(ValueError):
    """A wished time that cannot be used, with the localized reason."""


def parse_local(t: Translator, text: str, *, zone: str, now: datetime) -> datetime:
    """The aware instant of a local date and time typed by the customer (in `zone`)."""
    cleaned = " ".join(text.strip().lower().split())
    match = next((m for m in (f.match(cleaned) for f in _FORMATS) if m is not None), None)
    if match is None:
        raise WhenError(
            t.gettext("Write the date and time as %(example)s.") % {"example": "2026-12-22 10:00"}
        )
    try:
        local = datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            tzinfo=ZoneInfo(zone),
        )
    except ValueError:
        raise WhenError(
            t.gettext("Write the date and time as %(example)s.") % {"example": "2026-12-22 10:00"}
        ) from None
    # A wall-clock time skipped by the change to summer time does not survive a round trip.
    back = local.astimezone(UTC).astimezone(ZoneInfo(zone))
    if (back.hour, back.minute) != (local.hour, local.minute):
        raise WhenError(
            t.gettext(
                "%(time)s does not exist on that day: the clocks move forward. Pick another time."
            )
            % {"time": local.strftime("%H:%M")}
        )
    if local.astimezone(UTC) <= now:
        raise WhenError(t.gettext("The execution time must be in the future."))
    return local


def risky_reasons(t: Translator, pack: ContractPack, local: datetime) -> list[str]:
    """Why the provider advises against executing a change at `local` (empty: no reason)."""
    windows = pack.risky_windows
    if windows is None:
        return []
    source = next(c for c in pack.calendars if c.id == windows.calendar)
    calendar = calendar_for(source)
    day: date = local.date()
    wall = local.time().replace(tzinfo=None)
    afternoon = wall >= windows.afternoon_from
    reasons = []
    holiday = calendar.holiday(day, language=t.lang)
    tomorrow = calendar.holiday(day + timedelta(days=1), language=t.lang)
    if holiday is not None:
        reasons.append(t.gettext("%(holiday)s is a public holiday") % {"holiday": holiday})
    elif day.weekday() >= 5:
        reasons.append(t.gettext("it is a weekend"))
    else:
        if tomorrow is not None and afternoon:
            reasons.append(
                t.gettext("it is the afternoon before %(holiday)s") % {"holiday": tomorrow}
            )
        if day.weekday() == 4 and afternoon:
            reasons.append(t.gettext("it is a Friday afternoon"))
        if wall >= windows.weekday_after:
            reasons.append(
                t.gettext("it is after %(time)s on a weekday")
                % {"time": format_time(windows.weekday_after, "HH:mm", locale=t.babel_locale)}
            )
    return reasons


def risky_text(t: Translator, pack: ContractPack, local: datetime) -> str | None:
    """The contract's warning and out-of-hours billing note when `local` is risky."""
    reasons = risky_reasons(t, pack, local)
    if not reasons or pack.risky_windows is None:
        return None
    windows = pack.risky_windows
    head = t.gettext("⚠ The wished time is risky: %(reasons)s.") % {"reasons": "; ".join(reasons)}
    return "\n".join((head, windows.warning.get(t.lang), windows.out_of_hours_note.get(t.lang)))
