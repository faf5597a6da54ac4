"""A human timeline of how a due instant was reached: counted windows, skipped days, pauses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.sla.calendar import FOREVER, BusinessCalendar, Span, from_us, to_us
from bot.sla.clock import ResolvedTarget
from bot.sla.rules import Pause, normalise_pauses, rule_due_us
from pricing.schema import WEEKDAYS, SameDayRule

__all__ = ["DayLine", "Explanation", "explain_target", "format_duration", "render_explanation"]

_MAX_LISTED_DAYS = 120


@dataclass(frozen=True, slots=True)
class DayLine:
    """One local day of the timeline: counted and paused window time, or why it is skipped."""

    day: date
    counted: tuple[tuple[datetime, datetime], ...]
    paused: tuple[tuple[datetime, datetime], ...]
    skipped: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """The timeline of one target from logging to its due instant."""

    label: str
    calendar_id: str | None
    zone: ZoneInfo
    logged_at: datetime
    due_at: datetime | None
    days: tuple[DayLine, ...]
    pauses: tuple[Pause, ...]
    cutoff: str | None = None


def _subtract(span: Span, pauses: list[Span]) -> tuple[list[Span], list[Span]]:
    counted: list[Span] = []
    paused: list[Span] = []
    s, e = span
    for ps, pe in pauses:
        if pe <= s or ps >= e:
            continue
        if ps > s:
            counted.append((s, ps))
        paused.append((max(ps, s), min(pe, e)))
        s = max(s, pe)
        if s >= e:
            break
    if s < e:
        counted.append((s, e))
    return counted, paused


def _skip_reason(calendar: BusinessCalendar, day: date, language: str | None) -> str:
    holiday = calendar.holiday(day, language=language)
    if holiday is not None:
        return f"public holiday: {holiday}"
    info = calendar.day_info(day)
    if info.closure:
        return "closure"
    return "no window (weekend)" if day.weekday() >= 5 else "no window"


def same_day_cutoff(
    *, rule: SameDayRule, calendar: BusinessCalendar, logged_at: datetime
) -> str | None:
    """Which same-day cutoff applied to ``logged_at`` and what it decided, in words."""
    local = logged_at.astimezone(calendar.zone)
    day = local.date()
    cutoff = rule.cutoffs.get(WEEKDAYS[day.weekday()])
    spans = calendar.spans_on(day)
    if not spans:
        return f"same-day cutoff: none on {day:%a} (no window): the next day with a window"
    if cutoff is None:
        return f"same-day cutoff: none on {day:%a}: the close of today's window"
    close = from_us(spans[-1][1]).astimezone(calendar.zone)
    before = local < datetime.combine(day, cutoff, tzinfo=calendar.zone) and local < close
    decided = "the close of today's window" if before else "the next day with a window"
    side = "before" if before else "at or after"
    return f"same-day cutoff {cutoff:%H:%M} on {day:%a}: logged {side} it, so {decided}"


def explain_target(
    *,
    target: ResolvedTarget,
    logged_at: datetime,
    pauses: Iterable[Pause] = (),
    zone: ZoneInfo | None = None,
    language: str | None = "en_US",
) -> Explanation:
    """The day-by-day timeline of a resolved target from ``logged_at`` to its due instant."""
    pause_list = tuple(pauses)
    spans = normalise_pauses(pauses=pause_list, after=logged_at)
    logged = to_us(logged_at)
    due = rule_due_us(rule=target.rule, calendar=target.calendar, logged=logged, pauses=spans)
    calendar = target.calendar
    shown_zone = zone or (calendar.zone if calendar is not None else ZoneInfo("UTC"))
    days: list[DayLine] = []
    limit = due
    if limit is None and spans and spans[-1][1] >= FOREVER:
        limit = max(spans[-1][0], logged)  # held by an open pause: show the time counted so far
    if limit is not None and calendar is not None:
        day = calendar.local_date(logged_at)
        last = calendar.local_date(from_us(limit))
        while day <= last and len(days) < _MAX_LISTED_DAYS:
            counted: list[Span] = []
            paused: list[Span] = []
            for s, e in calendar.spans_on(day):
                a, b = max(s, logged), min(e, limit)
                if a < b:
                    c, p = _subtract((a, b), spans)
                    counted += c
                    paused += p
            skipped = None if calendar.spans_on(day) else _skip_reason(calendar, day, language)
            days.append(
                DayLine(
                    day=day,
                    counted=tuple((from_us(a), from_us(b)) for a, b in counted),
                    paused=tuple((from_us(a), from_us(b)) for a, b in paused),
                    skipped=skipped,
                )
            )
            day += timedelta(days=1)
    cutoff = (
        same_day_cutoff(rule=target.rule, calendar=calendar, logged_at=logged_at)
        if isinstance(target.rule, SameDayRule) and calendar is not None
        else None
    )
    return Explanation(
        cutoff=cutoff,
        label=target.label,
        calendar_id=None if calendar is None else calendar.id,
        zone=shown_zone,
        logged_at=logged_at,
        due_at=None if due is None else from_us(due),
        days=tuple(days),
        pauses=pause_list,
    )


def format_duration(*, value: timedelta) -> str:
    """A duration as ``2 h 30 min`` (days written as hours)."""
    minutes, seconds = divmod(int(value.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not hours:
        parts.append(f"{minutes} min")
    if seconds:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def _clock(instant: datetime, zone: ZoneInfo, day: date) -> str:
    local = instant.astimezone(zone)
    if local.date() > day and local.hour == 0 and local.minute == 0:
        return "24:00"
    return local.strftime("%H:%M") if local.second == 0 else local.strftime("%H:%M:%S")


def _stamp(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%a} {local.isoformat(timespec='seconds')}"


def render_explanation(*, explanation: Explanation, title: str) -> list[str]:
    """The explanation as lines of text for a terminal or a chat message."""
    zone = explanation.zone
    where = f"calendar {explanation.calendar_id}, " if explanation.calendar_id else ""
    lines = [f"{title}: {explanation.label} ({where}{zone.key})"]
    lines.append(f"  logged   {_stamp(explanation.logged_at, zone)}")
    if explanation.cutoff is not None:
        lines.append(f"  rule     {explanation.cutoff}")
    for pause in explanation.pauses:
        end = "still paused" if pause.end is None else _stamp(pause.end, zone)
        reason = f" ({pause.reason})" if pause.reason else ""
        lines.append(f"  pause    {_stamp(pause.start, zone)} -> {end}{reason}")
    for line in explanation.days:
        head = f"  {line.day.strftime('%a %Y-%m-%d')}"
        if line.skipped is not None:
            lines.append(f"{head}  skipped: {line.skipped}")
            continue
        parts = [
            f"{_clock(a, zone, line.day)}-{_clock(b, zone, line.day)}" for a, b in line.counted
        ]
        total = sum((b - a for a, b in line.counted), timedelta(0))
        text = f"counted {', '.join(parts)} ({format_duration(value=total)})" if parts else ""
        if line.paused:
            paused = ", ".join(
                f"{_clock(a, zone, line.day)}-{_clock(b, zone, line.day)}" for a, b in line.paused
            )
            text = f"{text}; paused {paused}" if text else f"paused {paused}"
        if not text:
            text = "no counted time (window closed before logging)"
        lines.append(f"{head}  {text}")
    if explanation.due_at is None:
        if explanation.label == "best effort":
            lines.append("  due      no due instant (best effort)")
        else:
            lines.append("  due      unknown while the clock is paused")
    else:
        lines.append(f"  due      {_stamp(explanation.due_at, zone)}")
    return lines
