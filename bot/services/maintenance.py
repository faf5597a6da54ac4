"""Planned maintenance windows announced by a provider (Alteo 5.5, Proximus planned works).

A window is refused when its notice is shorter than the provider's packs require
(``maintenance_notice``), unless it is marked emergency: customers are then told so. Windows
are excluded from availability and restoration times where the pack says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.db.models import MaintenanceWindow, Tenant
from bot.services import maintenance_notices
from bot.services.errors import InputError, InvalidStateError, NotFoundError
from pricing.loader import load_packs
from pricing.schema import ContractPack, MaintenanceNotice
from pricing.terms import pack_zone

MAX_MINUTES = 7 * 24 * 60


class NoticeTooShortError(InputError):
    """The start is closer than the contract's notice (params: days, notice_days, clause)."""

    code = "maintenance_notice"


@dataclass(frozen=True)
class NoticeRule:
    """The strictest notice among a provider's packs."""

    pack: ContractPack
    notice: MaintenanceNotice


def notice_rule(provider_code: str) -> NoticeRule | None:
    """The longest maintenance notice any pack of the provider requires (None: no rule)."""
    rules = [
        NoticeRule(pack=pack, notice=pack.maintenance_notice)
        for pack in load_packs().values()
        if pack.provider_code == provider_code and pack.maintenance_notice is not None
    ]
    return max(rules, key=lambda r: r.notice.notice_days, default=None)


def _known_provider(provider_code: str) -> None:
    if not any(pack.provider_code == provider_code for pack in load_packs().values()):
        codes = ", ".join(sorted({pack.provider_code for pack in load_packs().values()}))
        raise InputError(f"unknown provider {provider_code!r}; known: {codes}")


def notice_days(*, rule: NoticeRule, starts_at: datetime, now: datetime) -> int:
    """Calendar days between the announcement and the start, by local date in the pack zone."""
    zone = ZoneInfo(pack_zone(rule.pack))
    return (starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days


def add(
    *,
    session: Session,
    provider_code: str,
    starts_at: datetime,
    minutes: int,
    services: str,
    tenant_slugs: list[str] | None = None,
    emergency: bool = False,
    now: datetime,
    actor_id: int | None = None,
) -> MaintenanceWindow:
    """Announce a window; refused when the notice is too short and it is not an emergency."""
    if starts_at.tzinfo is None:
        raise InputError("the start needs a UTC offset, e.g. 2027-03-29T22:00:00+02:00")
    if not 0 < minutes <= MAX_MINUTES:
        raise InputError(f"minutes must be between 1 and {MAX_MINUTES}, got {minutes}")
    if not services.strip():
        raise InputError("name the services affected")
    starts_at = starts_at.astimezone(UTC)
    if starts_at <= now:
        raise InputError("the start must be in the future")
    _known_provider(provider_code)
    rule = notice_rule(provider_code)
    if rule is not None and not emergency:
        days = notice_days(rule=rule, starts_at=starts_at, now=now)
        required = rule.notice.notice_days
        if days < required:
            raise NoticeTooShortError(
                f"{provider_code} must announce planned maintenance at least {required} "
                f"{rule.notice.day_type} days ahead (clause {rule.notice.clause}); this start "
                f"is {days} day(s) away: use --emergency for urgent works",
                days=days,
                notice_days=required,
                clause=rule.notice.clause or "",
            )
    tenant_ids: list[int] = []
    for slug in tenant_slugs or []:
        tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first()
        if tenant is None or tenant.id is None:
            raise NotFoundError(f"no tenant {slug!r}", tenant=slug)
        tenant_ids.append(tenant.id)
    window = MaintenanceWindow(
        provider_code=provider_code,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        services=services.strip(),
        tenant_ids=tenant_ids,
        emergency=emergency,
        created_at=now,
        created_by=actor_id,
    )
    session.add(window)
    session.flush()
    maintenance_notices.announce(
        session=session, window=window, stage=maintenance_notices.CREATED, now=now
    )
    return window


def cancel(*, session: Session, window_id: int, now: datetime) -> MaintenanceWindow:
    """Cancel a window that has not ended yet."""
    window = session.get(MaintenanceWindow, window_id)
    if window is None:
        raise NotFoundError(f"no maintenance window {window_id}", window=window_id)
    if window.cancelled_at is not None:
        raise InvalidStateError(f"maintenance window {window_id} is already cancelled")
    if window.ends_at <= now:
        raise InvalidStateError(f"maintenance window {window_id} has already ended")
    window.cancelled_at = now
    session.add(window)
    if window.starts_at > now or maintenance_notices.CREATED in window.notices:
        maintenance_notices.announce(
            session=session, window=window, stage=maintenance_notices.CANCELLED, now=now
        )
    return window


def windows(
    *,
    session: Session,
    provider_code: str | None = None,
    include_cancelled: bool = False,
    since: datetime | None = None,
) -> list[MaintenanceWindow]:
    """Windows by start, for a provider or all."""
    query = select(MaintenanceWindow).order_by(col(MaintenanceWindow.starts_at))
    if provider_code is not None:
        query = query.where(MaintenanceWindow.provider_code == provider_code)
    if not include_cancelled:
        query = query.where(col(MaintenanceWindow.cancelled_at).is_(None))
    if since is not None:
        query = query.where(MaintenanceWindow.ends_at > since)
    return list(session.exec(query).all())


def affects(window: MaintenanceWindow, tenant_id: int) -> bool:
    """Whether a window concerns a tenant (an empty list means every customer)."""
    return not window.tenant_ids or tenant_id in window.tenant_ids


def overlap_minutes(
    *, session: Session, provider_code: str, tenant_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) covered by announced windows for this tenant."""
    spans: list[tuple[datetime, datetime]] = []
    for window in windows(session=session, provider_code=provider_code):
        if not affects(window, tenant_id):
            continue
        a, b = max(start, window.starts_at), min(end, window.ends_at)
        if a < b:
            spans.append((a, b))
    return spans
